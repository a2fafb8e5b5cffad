"""Trigger events found in the published customer view (``shouhu journeys detect``, run daily after a
refresh): premium due within N days, birthdays, policy anniversaries (from ``policy_in_force``; a policy
issued on 29 February has its anniversary on 28 February in other years), lapse risk above a threshold,
a child born this year.

Each fact has a stable event key (``premium_due:<customer>:<due date>``), so running the detection
again, or every hour, adds nothing new. Other events (claim filed, premium paid, content read, policy
lapsed, ...) come from the systems that know them, through ``shouhu journeys event`` or
``POST /api/v1/journeys/events``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shouhu.journeys.engine import event_row
from shouhu.storage import journeys as store


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def falls_on(original: date, today: date) -> bool:
    """Whether the yearly date of ``original`` (a birthday, an issue date) is ``today``; 29 February
    falls on 28 February in a year without it."""
    if (original.month, original.day) == (today.month, today.day):
        return True
    leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
    return (original.month, original.day) == (2, 29) and (today.month, today.day) == (2, 28) and not leap


def detect(engine: Any, today: date, *, premium_due_days: int = 30, lapse_threshold: float = 0.3,
           now: datetime | None = None) -> dict[str, int]:
    """Add the trigger events of ``today``; returns how many new events of each type."""
    at = datetime.combine(today, time(0, 0), tzinfo=UTC)
    rows: dict[str, list[dict[str, Any]]] = {"premium_due": [], "birthday": [], "policy_anniversary": [],
                                             "lapse_risk_high": [], "new_child": []}
    last = today + timedelta(days=premium_due_days)
    for customer, due in store.premium_due_rows(engine, today.isoformat(), last.isoformat()):
        d = _as_date(due)
        if d is not None:
            rows["premium_due"].append(event_row(customer, "premium_due", at, payload={
                "due_date": d.isoformat(), "days_to_due": (d - today).days},
                event_key=f"premium_due:{customer}:{d.isoformat()}"))
    for customer, born in store.birthday_rows(engine):
        d = _as_date(born)
        if d is not None and falls_on(d, today):
            rows["birthday"].append(event_row(customer, "birthday", at, payload={"age": today.year - d.year},
                                              event_key=f"birthday:{customer}:{today.year}"))
    for customer, policy, issued in store.in_force_policy_rows(engine):
        d = _as_date(issued)
        if d is not None and d.year < today.year and falls_on(d, today):
            rows["policy_anniversary"].append(event_row(
                customer, "policy_anniversary", at, policy_no=policy,
                payload={"policy_year": today.year - d.year, "issue_date": d.isoformat()},
                event_key=f"policy_anniversary:{policy}:{today.year}"))
    for customer, policy, snapshot, p in store.lapse_risk_rows(engine, lapse_threshold):
        snap = _as_date(snapshot) or today
        rows["lapse_risk_high"].append(event_row(customer, "lapse_risk_high", at, policy_no=policy,
                                                 payload={"probability": round(p, 4)},
                                                 event_key=f"lapse_risk_high:{policy}:{snap.isoformat()}"))
    for customer in store.new_child_rows(engine):
        rows["new_child"].append(event_row(customer, "new_child", at, event_key=f"new_child:{customer}:{today.year}"))
    return {kind: store.add_events(engine, r, now or datetime.now(UTC)) for kind, r in rows.items()}
