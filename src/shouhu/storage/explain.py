"""Reads for the explanations of automated decisions (compliance.explain): the published rows about one
customer that each decision came from, within the caller's row rule.

A table the serving database does not hold comes back as ``None`` (the step that makes the decision
never ran here); a table without a row of the customer as ``[]`` (the decision was not made for them).
Records come back as stored (encrypted and masked columns): shaping is the caller's job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, inspect, select

from shouhu.access.policy import RowRule
from shouhu.storage import customers as store
from shouhu.storage import journeys as journey_store
from shouhu.storage.customers import scope_condition
from shouhu.storage.tables import reflected

# Published per-customer marts an explanation reads (each keyed by customer_id).
MARTS = ("lapse_score", "customer_value", "next_best_action", "customer_gap", "customer_tag", "premium_due")
RUNS = "refresh_run"


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _latest_run(engine: Engine, present: set[str]) -> dict[str, Any] | None:
    """The last refresh that succeeded: the one whose marts are published."""
    if RUNS not in present:
        return None
    runs = reflected(engine, RUNS)
    query = (select(runs.c.run_id, runs.c.as_of, runs.c.finished_at).where(runs.c.status == "succeeded")
             .order_by(runs.c.finished_at.desc()).limit(1))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)


def _journey_tags(engine: Engine, rule: RowRule, customer_id: str) -> list[dict[str, Any]]:
    t = journey_store.journey_tag
    query = select(t).where(t.c.customer_id == customer_id, scope_condition(rule, t.c.customer_id, customer_id))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query.order_by(t.c.tag))]


def explanation_rows(engine: Engine, rule: RowRule, customer_id: str) -> dict[str, Any] | None:
    """Everything an explanation of ``customer_id`` needs, or None when the customer is absent or outside
    ``rule``: ``record`` (golden record + 360 row + value tier, as stored), ``policies`` (the 360 page's
    policy list), one entry per mart of ``MARTS`` (None: table missing), ``journey_tag`` (tags set by
    journeys), ``refresh`` (the last successful refresh run), ``consent`` ((purpose, channel) -> granted)
    and ``sales_stopped`` (a marketing withdrawal since the last scoring)."""
    with store.reading(engine):
        record = store.get_record(engine, rule, customer_id)
        if record is None:
            return None
        present = _tables(engine)
        out: dict[str, Any] = {"record": record, "policies": store.detail(engine, rule, customer_id)["policies"]}
        for name in MARTS:
            out[name] = store.rows_for(engine, rule, name, customer_id) if name in present else None
        out["journey_tag"] = _journey_tags(engine, rule, customer_id) if journey_store.journey_tag.name in present \
            else None
        out["refresh"] = _latest_run(engine, present)
        consent_table = journey_store.consent_event.name
        out["consent"] = journey_store.consent_state(engine, customer_id) if consent_table in present else {}
        out["sales_stopped"] = journey_store.sales_stopped(engine, customer_id) if consent_table in present \
            else False
    return out
