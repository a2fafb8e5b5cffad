"""Data-subject requests (PIPL arts. 44-47 and 24): access, a machine-readable copy, correction, deletion,
opting out of personalised marketing, withdrawing a consent, and a human review of an automated decision.

A request is received from the H5 pages, the console, the API or the CLI and gets a due time: consent
withdrawal and the opt-out within 24 hours (both are carried out at once when received), the others
within 15 working days (our internal target, inside the law's limits; ``operations.calendar`` counts
mainland working days with 调休). It is completed by someone in compliance, which does the work:

* ``access`` / ``portability``: a JSON copy of everything the serving database holds about the person
  (sensitive fields decrypted: it is their own data), written 0600 under ``<data_dir>/dsr/<customer>/``
  with its SHA-256; the customer downloads it from the H5 page;
* ``correction``: the handler records which source system was corrected (the golden record follows the
  channels; the next refresh brings the corrected value);
* ``deletion``: under a legal hold, or with a contract inside its retention period (Insurance Law art.
  87), processing is restricted (``erasure.restrict``) and the records are deleted when the period
  ends (``retention``); otherwise everything is erased (``erasure.erase``);
* ``human_review``: the handler's review of the automated decision, in words.

Completion stores what was done per store and a proof: SHA-256 over the canonical JSON of the request and
its outcome, shown to the customer. Every step is in the request's trail (``dsr_event``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, inspect, select

from shouhu.compliance import erasure
from shouhu.errors import InvalidInput
from shouhu.filemodes import private_dir
from shouhu.operations.calendar import BusinessCalendar, load_calendar
from shouhu.privacy.crypto import FieldCipher
from shouhu.storage import dsr as store
from shouhu.storage import journeys as consent_store


@dataclass(frozen=True)
class Kind:
    code: str
    zh: str
    en: str
    hours: int = 0          # due within this many hours (0: working days)
    working_days: int = 15


KINDS: dict[str, Kind] = {k.code: k for k in (
    Kind("access", "查阅个人信息", "Access my data"),
    Kind("portability", "复制/转移个人信息", "A copy of my data"),
    Kind("correction", "更正个人信息", "Correct my data"),
    Kind("deletion", "删除个人信息", "Delete my data"),
    Kind("opt_out_personalised", "关闭个性化推荐", "No personalised marketing", hours=24),
    Kind("consent_withdrawal", "撤回同意", "Withdraw a consent", hours=24),
    Kind("human_review", "人工复核自动化决策", "Human review of an automated decision"),
)}
IMMEDIATE = ("opt_out_personalised", "consent_withdrawal")  # carried out when received
CHANNELS = ("h5", "console", "api", "cli")
CORRECTABLE = ("name", "phone", "email", "address", "birth_date", "occupation", "other")
PURPOSES = ("marketing", "health_data", "profiling", "partner_sharing")
STATUS_LABELS = {"open": ("处理中", "Open"), "done": ("已完成", "Done"), "rejected": ("已驳回", "Rejected")}
SENSITIVE_SUFFIXES = ("_bidx", "token_hash")  # search indexes and token hashes: not personal data to give back


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def due_at(kind: str, received: datetime, calendar: BusinessCalendar | None = None) -> datetime:
    k = KINDS[kind]
    if k.hours:
        return received + timedelta(hours=k.hours)
    return (calendar or load_calendar()).add_working_days(received, k.working_days)


def _detail(kind: str, detail: dict[str, Any] | None) -> dict[str, Any]:
    d = {k: v for k, v in (detail or {}).items() if v not in (None, "")}
    for k, v in d.items():
        if not isinstance(v, str | int | float | bool) or len(str(v)) > 500:
            raise InvalidInput(f"detail.{k}: must be a short text (at most 500 characters)", field=f"detail.{k}")
    if kind == "correction":
        if d.get("field") not in CORRECTABLE:
            raise InvalidInput(f"detail.field: which information to correct: one of {', '.join(CORRECTABLE)}",
                               field="detail.field")
        if not str(d.get("value", "")).strip():
            raise InvalidInput("detail.value: missing (what it should say)", field="detail.value")
    if kind == "consent_withdrawal" and d.get("purpose") not in PURPOSES:
        raise InvalidInput(f"detail.purpose: the consent to withdraw: one of {', '.join(PURPOSES)}",
                           field="detail.purpose")
    return d


def submit(engine: Engine, customer_id: str, kind: str, channel: str, actor: str,
           detail: dict[str, Any] | None = None, *, now: datetime | None = None,
           calendar: BusinessCalendar | None = None) -> dict[str, Any]:
    """Receive a request; a consent withdrawal or an opt-out is carried out at once and completed."""
    if kind not in KINDS:
        raise InvalidInput(f"kind: {kind!r} is not one of {', '.join(KINDS)}", field="kind")
    if channel not in CHANNELS:
        raise InvalidInput(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}", field="channel")
    clean = _detail(kind, detail)
    at = _now(now)
    with engine.begin() as conn:
        rid = store.add_request(conn, {
            "customer_id": customer_id, "kind": kind, "channel": channel, "status": "open",
            "received_at": _stamp(at), "due_at": _stamp(due_at(kind, at, calendar)),
            "detail": json.dumps(clean, ensure_ascii=False, sort_keys=True), "received_by": actor})
        store.add_event(conn, rid, _stamp(at), actor, "received", None)
    if kind in IMMEDIATE:
        purposes = [clean["purpose"]] if kind == "consent_withdrawal" else ["profiling"]
        consent_store.record_consent(engine, [{"customer_id": customer_id, "purpose": p, "channel": "any",
                                               "granted": False, "source": "dsr", "actor": actor,
                                               "note": f"data-subject request {rid}"} for p in purposes], at)
        return _finish(engine, rid, "system", {"consent_withdrawn": purposes, "effective": _stamp(at)}, at)
    found = store.request_row(engine, rid)
    assert found is not None
    return found


def _proof(row: dict[str, Any], outcome: dict[str, Any], completed_at: str) -> str:
    body = {"id": row["id"], "customer_id": row["customer_id"], "kind": row["kind"],
            "received_at": row["received_at"], "detail": row["detail"], "completed_at": completed_at,
            "outcome": outcome}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def _finish(engine: Engine, request_id: int, actor: str, outcome: dict[str, Any], at: datetime,
            status: str = "done") -> dict[str, Any]:
    row = store.request_row(engine, request_id)
    if row is None:
        raise InvalidInput(f"request: there is no request {request_id}", field="request")
    completed = _stamp(at)
    with engine.begin() as conn:
        if not store.close_request(conn, request_id, {
                "status": status, "completed_at": completed, "completed_by": actor,
                "outcome": json.dumps(outcome, ensure_ascii=False, sort_keys=True, default=str),
                "proof_hash": _proof(row, outcome, completed)}):
            raise InvalidInput(f"request: request {request_id} is already {row['status']}", field="request")
        store.add_event(conn, request_id, completed, actor, status, outcome.get("note"))
    done = store.request_row(engine, request_id)
    assert done is not None
    return done


def verify_proof(row: dict[str, Any]) -> bool:
    """Whether a completed request's proof matches its stored outcome (nothing was changed since)."""
    return bool(row.get("proof_hash")) and row["proof_hash"] == _proof(row, row["outcome"] or {},
                                                                        str(row["completed_at"]))


def reject(engine: Engine, request_id: int, actor: str, reason: str, now: datetime | None = None) -> dict[str, Any]:
    if len(reason.strip()) < 2:
        raise InvalidInput("reason: say why the request is refused (the customer is told)", field="reason")
    return _finish(engine, request_id, actor, {"note": reason.strip()}, _now(now), status="rejected")


def note(engine: Engine, request_id: int, actor: str, text: str, now: datetime | None = None) -> None:
    with engine.begin() as conn:
        store.add_event(conn, request_id, _stamp(_now(now)), actor, "note", text[:2000])


# --- doing the work -------------------------------------------------------------------------------------

def subject_copy(engine: Engine, cipher: FieldCipher, customer_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row about the person in the serving database, table by table, sensitive fields decrypted
    (``*_enc`` → the clear value under the name without the suffix); search indexes left out."""
    md = MetaData()
    md.reflect(engine)
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            t = md.tables[name]
            if "customer_id" not in t.c or name in ("subject_key", "customer_search_token"):
                continue
            rows = []
            for r in conn.execute(select(t).where(t.c.customer_id == customer_id)):
                row: dict[str, Any] = {}
                for k, v in r._mapping.items():
                    if k.endswith(SENSITIVE_SUFFIXES):
                        continue
                    if k.endswith("_enc") and isinstance(v, str):
                        try:
                            row[k[:-4]] = cipher.decrypt(v)
                        except ValueError:
                            row[k[:-4]] = None
                    else:
                        row[k] = v.isoformat() if isinstance(v, date | datetime) else v
                rows.append(row)
            if rows:
                out[name] = rows
    return out


def write_copy(engine: Engine, cipher: FieldCipher, data_dir: Path, request: dict[str, Any],
               warehouse: Any = None) -> dict[str, Any]:
    """The copy as a JSON file only its owner (the service account) can read; returns path, sha256, counts.
    With the warehouse, what the channels sent about the person (``src_*`` rows) is in it too."""
    customer = str(request["customer_id"])
    data: dict[str, Any] = {"customer_id": customer, "request": request["id"], "made_at": _stamp(datetime.now(UTC)),
                            "tables": subject_copy(engine, cipher, customer)}
    if warehouse is not None:
        with engine.connect() as conn:
            records = erasure.records_of(conn, customer)
        data["sources"] = erasure.warehouse_rows(warehouse, customer, records)
    folder = Path(data_dir) / "dsr" / customer
    private_dir(folder)
    path = folder / f"request-{request['id']}.json"
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True, default=str)
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return {"file": str(path.relative_to(data_dir)), "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "rows": {k: len(v) for k, v in data["tables"].items()},
            "source_rows": {k: len(v) for k, v in data.get("sources", {}).items()}}


def copy_path(data_dir: Path, request: dict[str, Any]) -> Path | None:
    """The copy file of a completed access or portability request, if it still exists."""
    outcome = request.get("outcome") or {}
    if request.get("status") != "done" or not outcome.get("file"):
        return None
    path = Path(data_dir) / str(outcome["file"])
    return path if path.is_file() else None


def deletion_plan(engine: Engine, customer_id: str, warehouse: Any = None, today: date | None = None
                  ) -> dict[str, Any]:
    """What a deletion would do now: ``erase``, or ``restrict`` with the reason (a legal hold, a contract
    inside its retention period) and until when."""
    from shouhu.compliance import retention

    holds = store.active_holds(engine, customer_id)
    if holds:
        return {"action": "restrict", "reason": "legal_hold", "until": None,
                "holds": [{"id": h["id"], "reason": h["reason"]} for h in holds]}
    contracts = retention.contracts_of(engine, customer_id, warehouse, today or date.today())
    kept = [c for c in contracts if c["retained"]]
    if kept:
        until = max((c["retain_until"] for c in kept if c["retain_until"]), default=None)
        return {"action": "restrict", "reason": "contract_retention", "until": until,
                "policies": [c["policy_no"] for c in kept]}
    return {"action": "erase", "reason": "no_retention", "until": None}


def complete(engine: Engine, request_id: int, actor: str, *, cipher: FieldCipher | None = None,
             data_dir: Path | None = None, warehouse: Any = None, note_text: str = "",
             now: datetime | None = None) -> dict[str, Any]:
    """Do what the request asks and close it with its proof (see the module docstring)."""
    row = store.request_row(engine, request_id)
    if row is None:
        raise InvalidInput(f"request: there is no request {request_id}", field="request")
    if row["status"] != "open":
        raise InvalidInput(f"request: request {request_id} is already {row['status']}", field="request")
    kind, customer = row["kind"], str(row["customer_id"])
    outcome: dict[str, Any] = {"note": note_text.strip()} if note_text.strip() else {}
    if kind in ("access", "portability"):
        if cipher is None or data_dir is None:
            raise InvalidInput("a copy needs the field key and the data directory", field="request")
        outcome |= write_copy(engine, cipher, data_dir, row, warehouse)
    elif kind in ("correction", "human_review"):
        if len(note_text.strip()) < 2:
            what = "which source system was corrected, and how" if kind == "correction" else "the review's result"
            raise InvalidInput(f"note: say {what} (the customer is told)", field="note")
    elif kind == "deletion":
        plan = deletion_plan(engine, customer, warehouse)
        if plan["action"] == "restrict":
            why = "legal hold" if plan["reason"] == "legal_hold" else \
                f"contract records kept until {plan['until'] or 'the retention period ends'} (Insurance Law art. 87)"
            done = erasure.restrict(engine, customer, why, plan["until"], request_id)
            _withdraw_all(engine, customer, actor, request_id)
        else:
            done = erasure.erase(engine, customer, warehouse=warehouse, data_dir=data_dir, request_id=request_id)
        outcome |= {"plan": plan} | done.to_dict()
    elif kind in IMMEDIATE:  # normally completed when received; a re-run records the withdrawal again
        purposes = [row["detail"]["purpose"]] if kind == "consent_withdrawal" else ["profiling"]
        consent_store.record_consent(engine, [{"customer_id": customer, "purpose": p, "channel": "any",
                                               "granted": False, "source": "dsr", "actor": actor,
                                               "note": f"data-subject request {request_id}"} for p in purposes],
                                     _now(now))
        outcome["consent_withdrawn"] = purposes
    return _finish(engine, request_id, actor, outcome, _now(now))


def _withdraw_all(engine: Engine, customer: str, actor: str, request_id: int) -> None:
    """A restricted person is used for nothing but storage: every optional consent is withdrawn in the
    ledger, so journeys, next best actions and exports leave them out through their usual checks."""
    consent_store.record_consent(engine, [{"customer_id": customer, "purpose": p, "channel": "any", "granted": False,
                                           "source": "dsr", "actor": actor,
                                           "note": f"restricted: data-subject request {request_id}"}
                                          for p in PURPOSES], datetime.now(UTC))


def overdue(engine: Engine, now: datetime | None = None) -> list[dict[str, Any]]:
    at = _stamp(_now(now))
    return [r for r in store.list_requests(engine, status="open", limit=10_000) if r["due_at"] < at]


def label(kind: str, lang: str) -> str:
    k = KINDS.get(kind)
    return kind if k is None else (k.zh if lang == "zh" else k.en)
