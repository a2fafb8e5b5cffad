"""The counts behind KPI scorecards (workforce.kpi), per agent, team or branch, in one row scope.

Service measures follow the customer's row scope (``customer_scope``: the serving agent, their team,
the branch): activity rate, conversion, 13/25-month persistency. Free-look cancellations are a sales
measure and follow the producer of record (``policy_producer``, grouped through ``staff``). A source
table that does not exist gives ``missing`` (no data), never 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, func, inspect, select

from shouhu.storage.tables import customer_scope, reflected, staff
from shouhu.storage.workforce import policy_producer

COLUMN = {"agent": "agent_id", "team": "team_id", "branch": "branch_id"}


@dataclass(frozen=True)
class Counted:
    numerator: float = 0.0
    denominator: float = 0.0
    missing: str | None = None


Filters = Mapping[str, str]  # customer_scope column -> value (the row scope and the drill-down parent)


def _where(table: Table, filters: Filters) -> list[Any]:
    return [table.c[col] == value for col, value in filters.items()]


def book(conn: Connection, level: str, filters: Filters) -> dict[str, int]:
    key = customer_scope.c[COLUMN[level]]
    q = select(key, func.count()).where(key.isnot(None), *_where(customer_scope, filters)).group_by(key)
    return {str(k): int(n) for k, n in conn.execute(q)}


def converted(conn: Connection, level: str, filters: Filters, start: date, end: date) -> dict[str, int]:
    key, pp = customer_scope.c[COLUMN[level]], policy_producer
    q = select(key, func.count(func.distinct(pp.c.customer_id))).join(
        pp, pp.c.customer_id == customer_scope.c.customer_id).where(
        pp.c.issue_date >= start, pp.c.issue_date <= end, *_where(customer_scope, filters)).group_by(key)
    return {str(k): int(n) for k, n in conn.execute(q)}


def active_customers(conn: Connection, level: str, filters: Filters, start: date, end: date) -> dict[str, int] | None:
    """Customers with an activity (note, call, visit) in the range; None without the activity table."""
    if not inspect(conn).has_table("activity"):
        return None
    act, key = reflected(conn.engine, "activity"), customer_scope.c[COLUMN[level]]
    q = select(key, func.count(func.distinct(act.c.customer_id))).join(
        act, act.c.customer_id == customer_scope.c.customer_id).where(
        act.c.occurred_at >= start.isoformat(), act.c.occurred_at < f"{end.isoformat()}T99",
        *_where(customer_scope, filters)).group_by(key)
    return {str(k): int(n) for k, n in conn.execute(q)}


def persistency(conn: Connection, level: str, filters: Filters) -> dict[tuple[str, int], tuple[float, float]]:
    """(group, month) -> (premium received, premium due), as of the last refresh."""
    cp, key = reflected(conn.engine, "customer_persistency"), customer_scope.c[COLUMN[level]]
    q = select(key, cp.c.month, func.sum(cp.c.premium_received), func.sum(cp.c.premium_due)).join(
        cp, cp.c.customer_id == customer_scope.c.customer_id).where(
        key.isnot(None), *_where(customer_scope, filters)).group_by(key, cp.c.month)
    return {(str(k), int(m)): (float(r or 0), float(d or 0)) for k, m, r, d in conn.execute(q)}


def free_look(conn: Connection, level: str, filters: Filters, start: date, end: date,
              days: int) -> dict[str, tuple[int, int]]:
    """group -> (policies cancelled within ``days`` of issue, policies issued), by producer of record."""
    pp = policy_producer
    seller = {"agent": pp.c.producer_of_record, "team": staff.c.team_id, "branch": staff.c.branch_id}[level]
    staff_filters = [staff.c[col] == v if col != "agent_id" else pp.c.producer_of_record == v
                     for col, v in filters.items()]
    q = select(seller, pp.c.issue_date, pp.c.status, pp.c.status_date).outerjoin(
        staff, staff.c.staff_id == pp.c.producer_of_record).where(
        and_(pp.c.issue_date >= start, pp.c.issue_date <= end, seller.isnot(None), *staff_filters))
    out: dict[str, tuple[int, int]] = {}
    for key, issued, status, ended in conn.execute(q):
        cancelled = int(status == "surrendered" and ended is not None and (ended - issued).days <= days)
        done, total = out.get(str(key), (0, 0))
        out[str(key)] = (done + cancelled, total + 1)
    return out


def counts(engine: Engine, level: str, filters: Filters, start: date, end: date,
           free_look_days: int = 15) -> dict[str, dict[str, Counted]]:
    """group -> measure -> counts, for every group of ``level`` inside ``filters``."""
    with engine.connect() as conn:
        sizes = book(conn, level, filters)
        sales = converted(conn, level, filters, start, end)
        active = active_customers(conn, level, filters, start, end)
        pers = persistency(conn, level, filters)
        cancels = free_look(conn, level, filters, start, end, free_look_days)
    out = {}
    for key in sorted(set(sizes) | set(cancels)):
        n = sizes.get(key, 0)
        row = {"conversion": Counted(sales.get(key, 0), n),
               "activity_rate": Counted(missing="no activity table (migration 0008) yet") if active is None
               else Counted(active.get(key, 0), n),
               "free_look_rate": Counted(*cancels.get(key, (0, 0))),
               "sla_hit_rate": Counted(missing="service cases are not integrated yet"),
               "csat": Counted(missing="no satisfaction survey source yet")}
        for month in (13, 25):
            got, due = pers.get((key, month), (0.0, 0.0))
            row[f"persistency_{month}"] = Counted(got, due)
        out[key] = row
    return out
