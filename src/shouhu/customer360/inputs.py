"""What the customer 360 reads, and the small expression helpers every fact module shares.

Inputs arrive as a mapping ``table name -> Ibis table`` so that the fact functions stay pure:
they build expressions and never touch a connection. Dates are compared as Python ``date``
literals (windows are computed here, not in SQL), which keeps the SQL the same on every engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from shouhu.errors import InvalidInput

Tables = Mapping[str, ir.Table]

# Marts written by earlier steps; without them there is nothing to build on.
REQUIRED_TABLES: tuple[str, ...] = ("customer", "identity_cluster", "src_party", "src_policy")
# Source tables a deployment may not have (no wearable programme, no core claims feed, ...): read as empty.
OPTIONAL_TABLES: tuple[str, ...] = (
    "household_member", "src_policy_coverage", "src_policy_status_event", "src_premium_payment", "src_claim",
    "src_touchpoint", "src_wearable_daily", "src_consent",
)
INPUT_TABLES: tuple[str, ...] = REQUIRED_TABLES + OPTIONAL_TABLES


def table(tables: Tables, name: str) -> ir.Table:
    try:
        return tables[name]
    except KeyError:
        raise InvalidInput(f"customer 360 needs the table {name!r}; got {sorted(tables)}", table=name) from None


def on_or_before(value: ir.DateValue, as_of: date) -> ir.BooleanValue:
    return value <= ibis.date(as_of)


def within_days(value: ir.DateValue, as_of: date, days: int) -> ir.BooleanValue:
    """``value`` falls in the ``days`` days ending on ``as_of``: (as_of - days, as_of]."""
    return (value > ibis.date(as_of - timedelta(days=days))) & (value <= ibis.date(as_of))


def days_since(value: ir.DateValue, as_of: date) -> ir.IntegerValue:
    return ibis.date(as_of).delta(value, unit="day")


def age_at(birth_date: ir.DateValue, as_of: date) -> ir.IntegerValue:
    """Completed years at ``as_of`` (the birthday itself counts; 29 Feb birthdays turn on 1 Mar)."""
    not_yet = (birth_date.month() > as_of.month) | (
        (birth_date.month() == as_of.month) & (birth_date.day() > as_of.day))
    return (ibis.literal(as_of.year) - birth_date.year() - ibis.ifelse(not_yet, 1, 0)).cast("int64")


def record_owner(tables: Tables) -> ir.Table:
    """(source, record_id, customer_id): which golden customer each channel record belongs to."""
    cluster = table(tables, "identity_cluster")
    return cluster.select("source", "record_id", "customer_id")


def owned(rows: ir.Table, tables: Tables, record_col: str = "record_id") -> ir.Table:
    """``rows`` (a source table with ``_source``) plus the ``customer_id`` owning ``rows[record_col]``.

    A record id only means something within its own source, so the join is on both. Rows whose
    record is not in any cluster drop out.
    """
    owner = record_owner(tables).rename(_owner_source="source", _owner_record="record_id")
    joined = rows.join(owner, [rows._source == owner._owner_source, rows[record_col] == owner._owner_record])
    return joined.drop("_owner_source", "_owner_record")


def count_if(cond: ir.BooleanValue) -> Any:
    return ibis.ifelse(cond, 1, 0).sum()


def attach(base: ir.Table, *facts: ir.Table, key: str = "customer_id") -> ir.Table:
    """Left-join each fact table (one row per ``key``) onto ``base``; ``base`` keeps its row count."""
    for fact in facts:
        base = base.left_join(fact, key).drop(f"{key}_right")
    return base


def first_per(t: ir.Table, group: str | list[str], order: list[Any]) -> ir.Table:
    """The first row of each group under ``order`` (a deterministic pick: put a tie-breaker last)."""
    rank = ibis.row_number().over(group_by=group, order_by=order)
    # "< 1", not "== 0": PostgreSQL guesses 0.5% of rows pass an equality on a computed column and
    # then plans nested loops that recompute the window per row (minutes instead of a second).
    return t.mutate(_rank=rank).filter(lambda r: r._rank < 1).drop("_rank")
