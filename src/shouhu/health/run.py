"""The daily points run: for one day, in one transaction —

1. **expire** the lots whose expiry day has come since the previous run;
2. on the first day of a programme year, **reset**: close every lot still open and carry
   ``carry_share`` of the unspent points into the new year (``shouhu.health.ledger.reset_lots``);
3. **steps**: score the day's daily aggregates (the largest value of each metric across sources) of every
   active member who consents to ``health_data``, vectorised (``shouhu.health.points.score_steps``);
4. **events**: award health checks, quizzes and reviews recorded since, each capped by its category;
5. append the lots and draws to the ledger and add the earned points to the year's status totals.

Every ledger row has a unique key, so running a day again adds only what is new (days synced late,
events recorded late); the run log keeps the latest figures of each day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine

from shouhu.health import ledger, points
from shouhu.health.config import STEPS, Programme, shipped
from shouhu.health.ledger import Entry
from shouhu.health.service import PURPOSE, _lot, stamp, to_row
from shouhu.storage import health as store
from shouhu.storage.journeys import consented


@dataclass
class RunResult:
    day: date
    members: int
    earning: int
    expired: int
    reset: int
    entries: int
    points: int

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "members": self.members, "earning": self.earning,
                "expired": self.expired, "reset": self.reset, "entries": self.entries, "points": self.points}


def _expiry(conn: Connection, p: Programme, day: date) -> list[Entry]:
    after = store.last_run_before(conn, day.isoformat()) or (day - timedelta(days=366)).isoformat()
    by_customer: dict[str, list[Entry]] = defaultdict(list)
    for r in store.lots_expiring(conn, after, day.isoformat()):
        lot = _lot(r)
        by_customer[lot.entry.customer_id].append(Entry(
            f"expire:{lot.entry.key}", lot.entry.customer_id, "expire", "expiry", -lot.remaining, day,
            p.year_of(day), lot=lot.entry.key))
    return [e for rows in by_customer.values() for e in rows]


def _reset(conn: Connection, p: Programme, day: date) -> list[Entry]:
    year = p.year_of(day)
    if day != p.year_starts(year):
        return []
    by_customer: dict[str, list[ledger.Lot]] = defaultdict(list)
    for r in store.open_lots(conn, day.isoformat()):
        by_customer[str(r["customer_id"])].append(_lot(r))
    out: list[Entry] = []
    for lots in by_customer.values():
        out += ledger.reset_lots(lots, day, year, p.carry_share, p.expiry_days)
    return out


def step_frame(conn: Connection, p: Programme, day: date, allowed: set[str]) -> pd.DataFrame:
    rows = [r for r in store.day_totals(conn, day.isoformat()) if r["customer_id"] in allowed]
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "steps", "active_minutes", "resting_hr"])
    ids = frame["customer_id"].tolist()
    ages, totals = store.ages(conn, ids), store.year_totals(conn, p.year_of(day), ids)
    frame["age"] = pd.array([ages.get(c) for c in ids], dtype="Float64")
    frame["earned_steps_year"] = [totals.get((c, STEPS), 0) for c in ids]
    return frame


def _steps(conn: Connection, p: Programme, day: date, allowed: set[str]) -> list[Entry]:
    frame = step_frame(conn, p, day, allowed)
    if frame.empty:
        return []
    frame["points"] = points.score_steps(p, frame)
    earned = frame[frame["points"] > 0]
    return [points.lot(p, c, STEPS, int(pts), day, points.step_key(c, day))
            for c, pts in zip(earned["customer_id"], earned["points"], strict=True)]


def _events(conn: Connection, p: Programme, day: date, allowed: set[str]) -> tuple[list[Entry], list[Any]]:
    rows = [r for r in store.unawarded_events(conn, day.isoformat())
            if r["customer_id"] in allowed and r["kind"] in p.event_kinds]
    by_year: dict[int, list[points.Event]] = defaultdict(list)
    for r in rows:
        e = points.Event(r["customer_id"], r["kind"], r["ref"], date.fromisoformat(r["day"]))
        by_year[p.year_of(e.day)].append(e)
    out: list[Entry] = []
    for year, events in by_year.items():
        earned = store.year_totals(conn, year, sorted({e.customer_id for e in events}))
        out += points.event_entries(p, events, earned, day)
    return out, [(r["customer_id"], r["kind"], r["ref"]) for r in rows]


def _write(conn: Connection, entries: list[Entry], now: datetime) -> list[Entry]:
    fresh_keys = {e.key for e in entries} - store.existing_keys(conn, [e.key for e in entries])
    fresh = [e for e in entries if e.key in fresh_keys]
    store.append(conn, [to_row(e, now) for e in fresh])
    totals: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for e in fresh:
        if e.kind == "earn":
            totals[e.programme_year][(e.customer_id, e.category)] += e.points
    for year, added in totals.items():
        store.add_year_totals(conn, year, added)
    return fresh


def points_run(engine: Engine, day: date, now: datetime, programme: Programme | None = None) -> RunResult:
    p = programme or shipped()
    members = [m["customer_id"] for m in store.active_members(engine)]
    allowed = consented(engine, members, PURPOSE)
    with engine.begin() as conn:
        expired, reset = _expiry(conn, p, day), _reset(conn, p, day)
        earned = _steps(conn, p, day, allowed)
        event_lots, awarded = _events(conn, p, day, allowed)
        fresh = _write(conn, expired + reset + earned + event_lots, now)
        store.mark_awarded(conn, awarded, day.isoformat())
        gained = [e for e in fresh if e.kind == "earn"]
        result = RunResult(day, len(members), len({e.customer_id for e in gained}),
                           sum(1 for e in fresh if e.kind == "expire"), sum(1 for e in fresh if e.kind == "reset"),
                           len(fresh), sum(e.points for e in gained))
        store.record_run(conn, {"day": day.isoformat(), "members": result.members, "entries": result.entries,
                                "points": result.points, "finished_at": stamp(now)})
    return result


__all__ = ["RunResult", "points_run", "step_frame"]
