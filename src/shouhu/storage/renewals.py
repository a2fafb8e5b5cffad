"""SQL for renewal collection: the published ``premium_due`` mart and staff-written
``collection_outcome`` rows (migration 0009), always through a row rule on the customer. Rules are in
``shouhu.operations.renewal``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, func, insert, select

from shouhu.access.policy import RowRule
from shouhu.storage.activities import now
from shouhu.storage.customers import scope_condition
from shouhu.storage.tables import collection_outcome, premium_due
from shouhu.storage.workforce import policy_producer


def list_due(engine: Engine, rule: RowRule, *, state: str | None = None, customer_id: str | None = None,
             lapse_from: date | None = None, lapse_to: date | None = None, limit: int = 50,
             offset: int = 0) -> list[dict[str, Any]]:
    """Rows of ``premium_due`` in the rule's scope, soonest lapse first, each with its latest outcome."""
    t = premium_due
    query = select(t).where(scope_condition(rule, t.c.customer_id, customer_id))
    if state:
        query = query.where(t.c.state == state)
    if customer_id:
        query = query.where(t.c.customer_id == customer_id)
    if lapse_from:
        query = query.where(t.c.lapse_date >= lapse_from)
    if lapse_to:
        query = query.where(t.c.lapse_date <= lapse_to)
    query = query.order_by(t.c.lapse_date, t.c.policy_no, t.c.due_date).limit(limit).offset(offset)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    outcomes = latest_outcomes(engine, rule, [str(r["policy_no"]) for r in rows])
    for r in rows:
        r["latest_outcome"] = outcomes.get((str(r["policy_no"]), str(r["due_date"])[:10]))
    return rows


def get_due(engine: Engine, rule: RowRule, policy_no: str, due_date: date) -> dict[str, Any] | None:
    t = premium_due
    query = select(t).where(t.c.policy_no == policy_no, t.c.due_date == due_date,
                            scope_condition(rule, t.c.customer_id))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)


def latest_outcomes(engine: Engine, rule: RowRule, policy_nos: list[str] | None = None
                    ) -> dict[tuple[str, str], dict[str, Any]]:
    """(policy_no, due_date) -> the latest outcome row recorded for it, within the rule."""
    o = collection_outcome
    query = select(o).where(scope_condition(rule, o.c.customer_id)).order_by(o.c.id)
    if policy_nos is not None:
        if not policy_nos:
            return {}
        query = query.where(o.c.policy_no.in_(policy_nos))
    with engine.connect() as conn:
        return {(str(r.policy_no), str(r.due_date)): dict(r._mapping) for r in conn.execute(query)}


def record_outcome(engine: Engine, values: Mapping[str, Any], actor: str) -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(collection_outcome).values(
            **(dict(values) | {"recorded_at": now(), "recorded_by": actor})).returning(collection_outcome.c.id))
            .scalar_one())


def outcomes_of(engine: Engine, policy_no: str, due_date: str) -> list[dict[str, Any]]:
    o = collection_outcome
    query = select(o).where(o.c.policy_no == policy_no, o.c.due_date == due_date).order_by(o.c.id)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def all_due(engine: Engine, rule: RowRule, states: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every row in these states within the rule (for the calendar and the impact; bounded by the
    caller's scope and by the 60-day window the mart holds)."""
    t = premium_due
    query = select(t.c.policy_no, t.c.due_date, t.c.state, t.c.amount_due, t.c.annual_premium, t.c.lapse_date) \
        .where(t.c.state.in_(states), scope_condition(rule, t.c.customer_id)).order_by(t.c.lapse_date, t.c.due_date)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def premium_in_force(engine: Engine, rule: RowRule) -> float:
    p = policy_producer
    query = select(func.coalesce(func.sum(p.c.annual_premium), 0.0)).where(
        p.c.status.in_(("in_force", "reinstated")), scope_condition(rule, p.c.customer_id))
    with engine.connect() as conn:
        return float(conn.execute(query).scalar_one() or 0.0)


def export_tables(engine: Engine) -> dict[str, pa.Table]:
    """Collection outcomes for the warehouse (``op_collection_outcome``), without the free-text note."""
    cols = [c for c in collection_outcome.c if c.name != "note"]
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(*cols).order_by(collection_outcome.c.id))]
    schema = pa.schema([(c.name, pa.int64() if c.name == "id" else pa.float64() if c.name == "annual_premium"
                         else pa.string()) for c in cols])
    return {"op_collection_outcome": pa.Table.from_pylist(rows, schema=schema)}
