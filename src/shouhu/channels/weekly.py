"""Weekly spend and new business per channel from the warehouse (Ibis), aligned into dense series.

Weeks start on Monday (``date_trunc('week')`` on DuckDB and PostgreSQL); the series cover the weeks of
``src_marketing_spend``. New business is counted by the policy's sales channel and issue week: policies
(each new policy counts, the conversion unit of the ROI view) and first-year premium.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import ibis.expr.types as ir
import numpy as np

from shouhu.channels.paths import FloatArray
from shouhu.errors import InvalidInput

Tables = Mapping[str, ir.Table]
OUTCOMES = ("policies", "premium")


def spend_by_week(tables: Tables) -> ir.Table:
    s = tables["src_marketing_spend"]
    w = s.mutate(week=s.week_start.truncate("W"))
    return w.group_by("channel", "week").agg(spend=w.amount.sum().cast("float64"))


def business_by_week(tables: Tables, first: date, last: date) -> ir.Table:
    p = tables["src_policy"]
    p = p.filter((p.issue_date >= first) & (p.issue_date < last + timedelta(days=7)))
    w = p.mutate(week=p.issue_date.truncate("W"))
    return w.group_by("channel", "week").agg(policies=w.count().cast("float64"),
                                             premium=w.annual_premium.sum().cast("float64"))


@dataclass(frozen=True)
class WeeklySeries:
    weeks: list[date]
    spend: dict[str, FloatArray]
    outcomes: dict[str, dict[str, FloatArray]]  # outcome name -> channel -> series

    @property
    def channels(self) -> list[str]:
        return sorted(self.spend)


def _day(v: Any) -> date:
    return v.date() if hasattr(v, "date") and callable(v.date) else date.fromisoformat(str(v)[:10])


def load_series(tables: Tables) -> WeeklySeries:
    if "src_marketing_spend" not in tables:
        raise InvalidInput("no src_marketing_spend in the warehouse: load the weekly marketing spend first")
    spend_rows = spend_by_week(tables).to_pyarrow().to_pylist()
    if not spend_rows:
        raise InvalidInput("src_marketing_spend is empty")
    first = min(_day(r["week"]) for r in spend_rows)
    last = max(_day(r["week"]) for r in spend_rows)
    weeks = [first + timedelta(days=7 * i) for i in range((last - first).days // 7 + 1)]
    pos = {w: i for i, w in enumerate(weeks)}
    spend: dict[str, FloatArray] = {}
    for r in spend_rows:
        spend.setdefault(r["channel"], np.zeros(len(weeks)))[pos[_day(r["week"])]] += r["spend"]
    outcomes: dict[str, dict[str, FloatArray]] = {o: {ch: np.zeros(len(weeks)) for ch in spend} for o in OUTCOMES}
    for r in business_by_week(tables, first, last).to_pyarrow().to_pylist():
        i = pos.get(_day(r["week"]))
        if i is None:
            continue
        for o in OUTCOMES:
            outcomes[o].setdefault(r["channel"], np.zeros(len(weeks)))[i] += r[o]
    for o in OUTCOMES:  # a channel with sales but no spend line has nothing to fit
        outcomes[o] = {ch: v for ch, v in outcomes[o].items() if ch in spend}
    return WeeklySeries(weeks, spend, outcomes)


def warehouse_tables(wh: Any) -> dict[str, ir.Table]:
    return {n: wh.table(n) for n in ("src_marketing_spend", "src_policy") if wh.has_table(n)}
