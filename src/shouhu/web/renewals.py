"""Renewal collection for the API and the console: scoped reads of ``premium_due``, audited outcomes.

A row is seen by whoever sees its customer (404 otherwise). Recording an outcome is audited
(``collection_outcome``); the grace-period calendar and the persistency impact cover the caller's
row scope only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import HTTPException, Request

from shouhu.access.policy import Principal, row_rule
from shouhu.errors import InvalidInput
from shouhu.operations import renewal as ops
from shouhu.storage import audit
from shouhu.storage import renewals as store
from shouhu.web.auth import record
from shouhu.web.state import AppState


def today() -> date:
    return date.today()


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field}: not a date (YYYY-MM-DD): {value!r}") from None


def _shaped(row: dict[str, Any], lang: str) -> dict[str, Any]:
    out = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
    out["state_label"] = ops.label(str(row["state"]), ops.STATE_LABELS, lang)
    out["alert"] = ops.is_alert(row, today())
    latest = row.get("latest_outcome")
    out["latest_outcome"] = None if not latest else {
        "outcome": latest["outcome"], "outcome_label": ops.label(latest["outcome"], ops.OUTCOMES, lang),
        "promised_date": latest.get("promised_date"), "recorded_at": latest["recorded_at"],
        "recorded_by": latest["recorded_by"]}
    return out


def list_due(state: AppState, principal: Principal, *, view: str | None = None, customer_id: str | None = None,
             alerts: bool = False, limit: int = 50, offset: int = 0, lang: str = "zh") -> dict[str, Any]:
    ops.check_state(view)
    lapse_to = today() + timedelta(days=ops.ALERT_DAYS) if alerts else None
    rows = store.list_due(state.engine, row_rule(principal), state="grace" if alerts else view,
                          customer_id=customer_id, lapse_from=today() if alerts else None, lapse_to=lapse_to,
                          limit=limit + 1, offset=offset)
    items = [_shaped(r, lang) for r in rows[:limit]]
    return {"items": items, "count": len(items), "offset": offset, "limit": limit,
            "next_offset": offset + limit if len(rows) > limit else None}


def calendar(state: AppState, principal: Principal, *, start: str | None, days: int) -> dict[str, Any]:
    first = _day(start, "start") if start else today()
    rows = store.all_due(state.engine, row_rule(principal), ("grace", "upcoming"))
    return {"start": first.isoformat(), "days": days, "items": ops.calendar(rows, first, days)}


def impact(state: AppState, principal: Principal) -> dict[str, Any]:
    rule = row_rule(principal)
    rows = store.all_due(state.engine, rule, ("grace", "lapsed"))
    latest = {k: str(v["outcome"]) for k, v in store.latest_outcomes(state.engine, rule).items()}
    return ops.impact(rows, store.premium_in_force(state.engine, rule), latest)


def record_outcome(state: AppState, principal: Principal, request: Request, *, policy_no: str, due_date: str,
                   outcome: str, promised_date: str | None, note: str) -> dict[str, Any]:
    due = _day(due_date, "due_date")
    row = store.get_due(state.engine, row_rule(principal), policy_no, due)
    if row is None:
        raise HTTPException(404, f"no premium of policy {policy_no} due {due} that you may see")
    promised = ops.check_outcome(row, outcome, promised_date, today())
    values = {"policy_no": policy_no, "customer_id": row["customer_id"], "agent_id": row.get("agent_id"),
              "due_date": due.isoformat(), "outcome": outcome, "promised_date": promised,
              "annual_premium": row.get("annual_premium"), "note": audit.scrub(note.strip())[:2000] or None}
    outcome_id = store.record_outcome(state.engine, values, principal.user_id)
    record(state, principal, "collection_outcome", "policy", policy_no, request, customer_id=row["customer_id"],
           due_date=due.isoformat(), outcome=outcome)
    return {"id": outcome_id} | values | {"history": store.outcomes_of(state.engine, policy_no, due.isoformat())}
