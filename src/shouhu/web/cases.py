"""Service cases for the API, the console and the H5: scoped reads, audited writes.

A case is seen by whoever sees its customer (404 otherwise). Every write is audited (``case_opened``,
``case_status``, ``case_reopened``, ``case_comment``, ``case_checklist``, ``case_reveal``); a refused
transition is 409. The sensitive fields of a case (new address, new account number, new beneficiary)
are stored encrypted and shown masked; a reveal needs the reveal grant and is audited.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request

from shouhu.access.policy import Principal, can_reveal, row_rule
from shouhu.access.roles import Role
from shouhu.errors import InvalidInput
from shouhu.operations import cases as ops
from shouhu.operations.calendar import BusinessCalendar, load_calendar
from shouhu.storage import audit
from shouhu.storage import cases as store
from shouhu.storage import customers as customer_store
from shouhu.web.auth import record
from shouhu.web.customers import record_or_404
from shouhu.web.state import AppState


def now() -> datetime:
    return datetime.now().astimezone()


@lru_cache(maxsize=8)
def _rules(data_dir: Path) -> tuple[BusinessCalendar, dict[str, ops.SlaPolicy]]:
    cal_file, sla_file = data_dir / "calendar.toml", data_dir / "sla.toml"
    return (load_calendar(cal_file if cal_file.exists() else None),
            ops.load_sla(sla_file if sla_file.exists() else None))


def rules(state: AppState) -> tuple[BusinessCalendar, dict[str, ops.SlaPolicy]]:
    """The business calendar and SLA policies (DATA_DIR/calendar.toml and sla.toml when present)."""
    return _rules(Path(state.settings.data_dir))


def _labels(row: dict[str, Any], lang: str) -> dict[str, Any]:
    i = 0 if lang == "zh" else 1
    state = ops.sla_state(row, now())
    fields = json.loads(row["payload_masked"]) if row.get("payload_masked") else {}
    specs = {s.name: s for s in ops.FIELDS[row["case_type"]]}
    shown = [{"name": k, "label": specs[k].zh if i == 0 else specs[k].en, "value": v,
              "sensitive": specs[k].sensitive} for k, v in fields.items() if k in specs]
    checklist = [c | {"label": ops.DOCUMENT_LABELS.get(c["code"], (c["code"], c["code"]))[i]}
                 for c in json.loads(row.get("checklist") or "[]")]
    return {"type_label": ops.CaseType(row["case_type"]).label(lang),
            "status_label": ops.CaseStatus(row["status"]).label(lang),
            "priority_label": ops.PRIORITIES.get(int(row["priority"]), ("", ""))[i],
            "claim_type_label": ops.ClaimType(row["claim_type"]).label(lang) if row.get("claim_type") else None,
            "sla_state": state, "sla_label": ops.SLA_LABELS[state][i], "fields": shown, "checklist": checklist}


def shaped(row: dict[str, Any], lang: str) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("payload_enc", "payload_masked", "checklist")}
    return out | _labels(row, lang)


def case_or_404(state: AppState, principal: Principal, case_id: int) -> dict[str, Any]:
    row = store.get_case(state.engine, row_rule(principal), case_id)
    if row is None:
        raise HTTPException(404, f"no case {case_id} that you may see")
    return row


def _policy_nos(state: AppState, principal: Principal, customer_id: str) -> list[str]:
    return [str(p["policy_no"]) for p in customer_store.detail(state.engine, row_rule(principal),
                                                               customer_id)["policies"]]


def open_case(state: AppState, principal: Principal, request: Request, *, customer_id: str, case_type: str,
              subject: str, detail: str = "", policy_no: str | None = None, claim_type: str | None = None,
              priority: int = 2, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """Open a case about a customer the principal sees (a customer: themselves, from the H5)."""
    customer = record_or_404(state, principal, customer_id)
    by_customer = principal.role is Role.CUSTOMER
    try:
        kind = ops.check_type(case_type)
        if by_customer and kind not in ops.H5_TYPES:
            raise InvalidInput(f"case_type: from the H5 only {', '.join(ops.H5_TYPES)}", field="case_type")
        clear, secret = ops.check_fields(kind, fields or {})
        if kind in ops.NEEDS_POLICY and not policy_no:
            raise InvalidInput(f"policy_no: required for {kind}", field="policy_no")
        if policy_no and policy_no not in _policy_nos(state, principal, customer_id):
            raise InvalidInput(f"policy_no: {policy_no} is not a policy of this customer", field="policy_no")
        if kind == "claim_help" and not claim_type:
            raise InvalidInput("claim_type: required for claim_help", field="claim_type")
        checklist = ops.checklist(claim_type if kind == "claim_help" else None)
        values: dict[str, Any] = {
            "customer_id": customer_id, "household_id": customer.get("household_id"), "policy_no": policy_no,
            "case_type": kind, "status": ops.CaseStatus.OPEN.value, "priority": ops.check_priority(priority),
            "subject": audit.scrub(ops.check_subject(subject)), "detail": audit.scrub(detail.strip())[:4000] or None,
            "claim_type": claim_type if kind == "claim_help" else None,
            "checklist": json.dumps(checklist) if checklist else None,
            "payload_enc": state.cipher.encrypt(json.dumps(secret, ensure_ascii=False)) if secret else None,
            "payload_masked": json.dumps({k: audit.scrub(v) for k, v in clear.items()} |
                                         {k: ops.mask_value(k, v) for k, v in secret.items()},
                                         ensure_ascii=False) if clear or secret else None,
            "channel": "h5" if by_customer else "console"}
    except InvalidInput as e:
        raise HTTPException(422, str(e)) from e
    scope = store.scope_row(state.engine, customer_id)
    owner = {"owner_user_id": None, "owner_staff_id": scope.get("agent_id")} if by_customer else \
        {"owner_user_id": principal.user_id, "owner_staff_id": principal.staff_id}
    cal, policies = rules(state)
    values |= owner | {"branch_id": scope.get("branch_id")} | ops.open_clocks(policies[kind], cal, now())
    case_id = store.create_case(state.engine, values, principal.user_id)
    record(state, principal, "case_opened", "case", str(case_id), request, customer_id=customer_id,
           case_type=kind, channel=values["channel"])
    return get_case(state, principal, case_id)


def get_case(state: AppState, principal: Principal, case_id: int, lang: str = "zh") -> dict[str, Any]:
    row = case_or_404(state, principal, case_id)
    out = shaped(row, lang)
    out["events"] = [{k: e[k] for k in ("kind", "from_status", "to_status", "at", "actor", "note")} |
                     {"detail": json.loads(e["detail"]) if e.get("detail") else None,
                      "status_label": ops.CaseStatus(e["to_status"]).label(lang) if e.get("to_status") else None}
                     for e in store.events(state.engine, case_id)]
    out["revealable"] = bool(row.get("payload_enc")) and principal.role is not Role.CUSTOMER and \
        can_reveal(principal)
    return out


def list_cases(state: AppState, principal: Principal, *, view: str = "open", customer_id: str | None = None,
               limit: int = 50, offset: int = 0, lang: str = "zh") -> dict[str, Any]:
    if view not in store.VIEWS:
        raise HTTPException(422, f"view: must be one of {', '.join(store.VIEWS)}, not {view!r}")
    rows = store.list_cases(state.engine, row_rule(principal), view=view, now_iso=ops.iso(now()),
                            customer_id=customer_id, limit=limit + 1, offset=offset)
    items = [shaped(r, lang) for r in rows[:limit]]
    return {"items": items, "count": len(items), "view": view, "offset": offset, "limit": limit,
            "next_offset": offset + limit if len(rows) > limit else None}


def change_status(state: AppState, principal: Principal, request: Request, case_id: int, to: str,
                  note: str = "") -> dict[str, Any]:
    row = case_or_404(state, principal, case_id)
    cal, policies = rules(state)
    reopening = row["status"] in ops.DONE and to == "in_progress"
    try:
        changes = ops.transition(row, to, policies[row["case_type"]], cal, now())
    except ops.InvalidTransition as e:
        raise HTTPException(409, str(e)) from e
    except InvalidInput as e:
        raise HTTPException(422, str(e)) from e
    text = audit.scrub(note.strip())[:2000] or None
    store.update_case(state.engine, case_id, changes, {"kind": "reopen" if reopening else "status",
                                                       "from_status": row["status"], "to_status": to, "note": text},
                      principal.user_id)
    record(state, principal, "case_reopened" if reopening else "case_status", "case", str(case_id), request,
           customer_id=row["customer_id"], from_status=row["status"], to_status=to)
    return get_case(state, principal, case_id)


def comment(state: AppState, principal: Principal, request: Request, case_id: int, note: str) -> dict[str, Any]:
    row = case_or_404(state, principal, case_id)
    text = audit.scrub(note.strip())
    if not 1 <= len(text) <= 2000:
        raise HTTPException(422, "note: give 1 to 2000 characters")
    cal, _ = rules(state)
    changes = {} if principal.role is Role.CUSTOMER else ops.responded(row, cal, now())
    store.update_case(state.engine, case_id, changes, {"kind": "comment", "note": text}, principal.user_id)
    record(state, principal, "case_comment", "case", str(case_id), request, customer_id=row["customer_id"])
    return get_case(state, principal, case_id)


def mark_document(state: AppState, principal: Principal, request: Request, case_id: int, code: str,
                  received: bool) -> dict[str, Any]:
    row = case_or_404(state, principal, case_id)
    items = json.loads(row.get("checklist") or "[]")
    if not any(c["code"] == code for c in items):
        raise HTTPException(422, f"code: {code!r} is not on this case's checklist "
                                 f"({', '.join(c['code'] for c in items) or 'none'})")
    items = [c | {"received": received} if c["code"] == code else c for c in items]
    store.update_case(state.engine, case_id, {"checklist": json.dumps(items)},
                      {"kind": "checklist", "note": f"{code}={'received' if received else 'missing'}"},
                      principal.user_id)
    record(state, principal, "case_checklist", "case", str(case_id), request, code=code, received=received)
    return get_case(state, principal, case_id)


def reveal(state: AppState, principal: Principal, request: Request, case_id: int, reason: str) -> dict[str, Any]:
    """The sensitive fields of a case in clear (needs the reveal grant; audited with the reason)."""
    row = case_or_404(state, principal, case_id)
    if not can_reveal(principal):
        raise HTTPException(403, "your account may not reveal personal data")
    if not row.get("payload_enc"):
        raise HTTPException(404, f"case {case_id} has no sensitive fields")
    values = json.loads(state.cipher.decrypt(row["payload_enc"]) or "{}")
    record(state, principal, "case_reveal", "case", str(case_id), request, reason=reason.strip()[:200],
           fields=sorted(values))
    return {"id": case_id, "values": values}
