"""The compliance review workflow over stored versions: import → submit → approve (or reject) → publish → retire.

* Import stores each file as a draft version unless the same content hash is stored already.
* Submitting runs the rule checker: a blocking finding keeps the item a draft (refused, findings named).
* Approving needs a reviewer other than the one who imported the version (four eyes), and a note when
  there are warnings to confirm. Rejecting sends it back to draft, with a note.
* Publishing checks the rules again (they may have changed since the review) and retires the version
  that was published before, so exactly one version of an item is live.
Every change is logged with the findings seen at that moment (``content_review_event``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shouhu.content import diseases, library, rules
from shouhu.content.model import ContentError, Item, Status, check_transition, item_from_stored
from shouhu.storage import content as store

S = Status


def import_directory(engine: Any, folder: Path, actor: str) -> dict[str, Any]:
    """Validate every file of ``folder`` (all or nothing), then store new versions as drafts."""
    items = library.load_directory(folder, list(diseases.catalogue()))
    created: list[dict[str, Any]] = []
    unchanged: list[dict[str, Any]] = []
    for it in items:
        values = {"item_id": it.item_id, "content_hash": it.content_hash, "kind": it.kind, "title": it.title,
                  "lang": it.lang, "audience": it.audience, "body": it.body, "meta": it.meta(),
                  "source_file": it.source_file}
        number, new = store.add_version(engine, values, actor)
        (created if new else unchanged).append({"item_id": it.item_id, "version": number,
                                                "content_hash": it.content_hash})
    return {"files": len(items), "created": created, "unchanged": unchanged}


def stored_item(row: dict[str, Any]) -> Item:
    return item_from_stored(row["item_id"], row["body"], row["content_hash"], row["meta"])


def _latest(engine: Any, item_id: str, status: str) -> dict[str, Any]:
    """The latest version in ``status``; else the latest of all (the transition check then names its status)."""
    rows = store.versions(engine, item_id)
    if not rows:
        raise ContentError(f"item_id: no item {item_id!r} (import it first)", field="item_id")
    return ([r for r in rows if r["status"] == status] or rows)[-1]


def _move(engine: Any, row: dict[str, Any], target: str, actor: str, note: str,
          findings: list[rules.Finding], changes: dict[str, Any] | None = None) -> dict[str, Any]:
    check_transition(row["item_id"], row["status"], target)
    done = store.move(engine, row["item_id"], row["version"], row["status"], target, actor, note=note,
                      findings=[f.to_dict() for f in findings], changes=changes)
    if not done:
        raise ContentError(f"{row['item_id']} v{row['version']} changed meanwhile; reload and try again",
                           field="status")
    return {"item_id": row["item_id"], "version": row["version"], "status": target,
            "findings": [f.to_dict() for f in findings]}


def submit(engine: Any, item_id: str, actor: str) -> dict[str, Any]:
    """Send the latest draft to review; refused while a blocking rule finds anything."""
    row = _latest(engine, item_id, S.DRAFT.value)
    check_transition(item_id, row["status"], S.IN_REVIEW.value)
    findings = rules.require_clean(stored_item(row), confirmed_warnings=True)
    return _move(engine, row, S.IN_REVIEW.value, actor, "submitted", findings,
                 {"rules_version": rules.rules_version()})


def approve(engine: Any, item_id: str, reviewer: str, note: str = "", *, confirm_warnings: bool = False
            ) -> dict[str, Any]:
    row = _latest(engine, item_id, S.IN_REVIEW.value)
    check_transition(item_id, row["status"], S.APPROVED.value)
    if reviewer == row["imported_by"]:
        raise ContentError(f"reviewer: {reviewer} imported this version; another person must approve it",
                           field="reviewer")
    findings = rules.check(stored_item(row))
    if any(f.severity == "warn" for f in findings) and not (confirm_warnings and note.strip()):
        raise rules.ComplianceRefused(item_id, [f for f in findings if f.severity == "warn"])
    rules.require_clean(stored_item(row), confirmed_warnings=True)
    return _move(engine, row, S.APPROVED.value, reviewer, note or "approved", findings,
                 {"reviewed_by": reviewer[:64], "reviewed_at": store.now(), "review_note": note})


def reject(engine: Any, item_id: str, reviewer: str, note: str) -> dict[str, Any]:
    if not note.strip():
        raise ContentError("note: say why the item is sent back", field="note")
    row = _latest(engine, item_id, S.IN_REVIEW.value)
    return _move(engine, row, S.DRAFT.value, reviewer, note, rules.check(stored_item(row)),
                 {"reviewed_by": reviewer[:64], "reviewed_at": store.now(), "review_note": note})


def publish(engine: Any, item_id: str, actor: str) -> dict[str, Any]:
    row = _latest(engine, item_id, S.APPROVED.value)
    check_transition(item_id, row["status"], S.PUBLISHED.value)
    findings = rules.require_clean(stored_item(row), confirmed_warnings=True)
    for old in store.versions(engine, item_id, S.PUBLISHED.value):
        _move(engine, old, S.RETIRED.value, actor, f"superseded by v{row['version']}", [],
              {"retired_at": store.now()})
    return _move(engine, row, S.PUBLISHED.value, actor, "published", findings, {"published_at": store.now()})


def retire(engine: Any, item_id: str, actor: str, note: str) -> dict[str, Any]:
    if not note.strip():
        raise ContentError("note: say why the item is retired", field="note")
    row = _latest(engine, item_id, S.PUBLISHED.value)
    return _move(engine, row, S.RETIRED.value, actor, note, [], {"retired_at": store.now()})


def queue(engine: Any, status: str | None = None) -> list[dict[str, Any]]:
    """The latest version of every item (or every version in ``status``), with its rule findings now."""
    rows = store.versions(engine, status=status)
    latest: dict[str, dict[str, Any]] = {}
    for r in rows:
        latest[r["item_id"]] = r
    out = rows if status else list(latest.values())
    return [{"item_id": r["item_id"], "version": r["version"], "status": r["status"], "kind": r["kind"],
             "title": r["title"], "content_hash": r["content_hash"], "imported_by": r["imported_by"],
             "findings": [f.to_dict() for f in rules.check(stored_item(r))]} for r in out]
