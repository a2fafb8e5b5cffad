"""Customer journeys from the warehouse: ordered channel paths before a conversion or a non-conversion.

Written once as Ibis expressions (pure functions of the input tables), so it runs in the engine on DuckDB
and PostgreSQL and only the aggregated (path, conversions, value, nulls) rows come back to Python.

Definitions (docs/channels.md):

* **Customer**: a golden customer from ``identity_cluster``; touchpoints and policies reach it through the
  record they name (source + record id). Without ``identity_cluster`` (a warehouse loaded but not yet
  refreshed) every channel record is its own customer, and the result says so.
* **Conversion**: the customer's first new policy (as holder) issued in the period ``(start, end]``;
  its value is the first-year premium of the policies issued that day (``annual_premium``: the annualised
  premium of regular business, the premium itself for single premium). ``customer_value`` adds the
  customer's value from the ``customer_value`` mart when that table exists.
* **Non-conversion**: a customer with touchpoints in the period and no conversion; the journey ends at
  the last touchpoint in the period.
* **Path**: the channels of the touchpoints in the ``lookback_days`` before the journey's end (inclusive
  of its day), oldest first; with ``sale_touch`` the channel that sold the converting policy is the last
  touch (an agent's or bank's sale is itself a contact; their systems record no other touchpoints). With
  ``collapse_repeats`` consecutive touches of one channel count once; ``max_touches`` keeps the last N.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from shouhu.errors import InvalidInput

Tables = Mapping[str, ir.Table]
REQUIRED = ("src_touchpoint", "src_policy")
OPTIONAL = ("identity_cluster", "customer_value")


@dataclass(frozen=True)
class JourneyConfig:
    end: date
    period_days: int = 365
    lookback_days: int = 90
    sale_touch: bool = True
    collapse_repeats: bool = True
    max_touches: int | None = None

    def __post_init__(self) -> None:
        if self.period_days < 1 or self.lookback_days < 1:
            raise InvalidInput("period and lookback must be at least one day",
                               period_days=self.period_days, lookback_days=self.lookback_days)
        if self.max_touches is not None and self.max_touches < 1:
            raise InvalidInput("max_touches must be at least 1", max_touches=self.max_touches)

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.period_days)


def _owner(tables: Tables) -> ir.Table | None:
    cluster = tables.get("identity_cluster")
    return None if cluster is None else cluster.select(_o_source="source", _o_record="record_id",
                                                       customer_id="customer_id")


def with_customer(rows: ir.Table, tables: Tables, record_col: str) -> ir.Table:
    """``rows`` plus ``customer_id``: the golden customer owning the record, or ``<source>:<record_id>``."""
    owner = _owner(tables)
    if owner is None:
        return rows.mutate(customer_id=rows._source.concat(":", rows[record_col]))
    j = rows.join(owner, [rows._source == owner._o_source, rows[record_col] == owner._o_record])
    return j.drop("_o_source", "_o_record")


def conversions(tables: Tables, cfg: JourneyConfig) -> ir.Table:
    """One row per converting customer: customer_id, end_day, value (first-year premium), sale channels."""
    pol = with_customer(tables["src_policy"], tables, "holder_record_id")
    pol = pol.filter((pol.issue_date > ibis.date(cfg.start)) & (pol.issue_date <= ibis.date(cfg.end)))
    first = pol.group_by("customer_id").agg(end_day=pol.issue_date.min())
    same_day = pol.join(first, [pol.customer_id == first.customer_id, pol.issue_date == first.end_day])
    return same_day.select("customer_id", "end_day", "channel", "annual_premium")


def touches(tables: Tables) -> ir.Table:
    tp = with_customer(tables["src_touchpoint"], tables, "record_id")
    return tp.select("customer_id", "channel", ts=tp.occurred_at, day=tp.occurred_at.date())


def journeys(tables: Tables, cfg: JourneyConfig) -> ir.Table:
    """One row per journey: customer_id, converted (1/0), value, customer_value, path (``a>b>c`` or null)."""
    conv = conversions(tables, cfg)
    conv_one = conv.group_by("customer_id", "end_day").agg(value=conv.annual_premium.sum())
    tp = touches(tables)
    in_period = tp.filter((tp.day > ibis.date(cfg.start)) & (tp.day <= ibis.date(cfg.end)))
    last = in_period.group_by("customer_id").agg(end_day=in_period.day.max())
    nulls = last.anti_join(conv_one, "customer_id").mutate(converted=ibis.literal(0), value=ibis.literal(0.0))
    ends = ibis.union(conv_one.mutate(converted=ibis.literal(1)).select("customer_id", "end_day", "converted",
                                                                         "value"),
                      nulls.select("customer_id", "end_day", "converted", "value"))
    e = ends.rename(_e_customer="customer_id")
    j = tp.join(e, [tp.customer_id == e._e_customer, tp.day <= e.end_day,
                    tp.day > e.end_day - ibis.interval(days=cfg.lookback_days)])
    seq = j.select("customer_id", "channel", "day", "ts", _sale=ibis.literal(0))
    if cfg.sale_touch:
        sales = conv.select("customer_id", "channel", day=conv.end_day,
                            ts=conv.end_day.cast(seq.ts.type()), _sale=ibis.literal(1)).distinct()
        seq = ibis.union(seq, sales, distinct=False)
    order = [seq.day, seq._sale, seq.ts, seq.channel]
    if cfg.collapse_repeats:
        prev = seq.channel.lag().over(group_by="customer_id", order_by=order)
        seq = seq.mutate(_prev=prev)
        seq = seq.filter(seq._prev.isnull() | (seq._prev != seq.channel)).drop("_prev")
    if cfg.max_touches is not None:
        back = ibis.row_number().over(group_by="customer_id", order_by=[o.desc() for o in
                                                                         (seq.day, seq._sale, seq.ts, seq.channel)])
        seq = seq.mutate(_back=back)
        seq = seq.filter(seq._back < cfg.max_touches).drop("_back")
    paths = seq.group_by("customer_id").agg(
        path=seq.channel.group_concat(">", order_by=[seq.day, seq._sale, seq.ts, seq.channel]))
    out = ends.left_join(paths, ends.customer_id == paths.customer_id).drop("customer_id_right")
    value_mart = tables.get("customer_value")
    if value_mart is not None:
        v = value_mart.select(_v_customer="customer_id", _v_value="value")
        out = out.left_join(v, out.customer_id == v._v_customer)
        out = out.mutate(customer_value=ibis.ifelse(out.converted == 1, out._v_value.fill_null(0.0), 0.0))
        out = out.drop("_v_customer", "_v_value")
    return out


def aggregate(journeys_t: ir.Table) -> ir.Table:
    """(path, conversions, nulls, value[, customer_value]) per distinct path; path null = no touch at all."""
    j = journeys_t
    metrics: dict[str, Any] = {
        "conversions": j.converted.sum().cast("float64"),
        "nulls": (1 - j.converted).sum().cast("float64"),
        "value": j.value.sum().cast("float64"),
    }
    if "customer_value" in j.columns:
        metrics["customer_value"] = j.customer_value.sum().cast("float64")
    return j.group_by("path").agg(**metrics).order_by("path")


def warehouse_tables(wh: Any) -> dict[str, ir.Table]:
    missing = [n for n in REQUIRED if not wh.has_table(n)]
    if missing:
        raise InvalidInput(f"journeys need the warehouse tables {missing}: load touchpoints and policies first",
                           missing=",".join(missing))
    return {n: wh.table(n) for n in (*REQUIRED, *OPTIONAL) if wh.has_table(n)}


def default_end(tables: Tables) -> date:
    """The data's horizon: the latest policy issue date or touchpoint, whichever is later."""
    days = [tables["src_policy"].issue_date.max().to_pyarrow().as_py(),
            tables["src_touchpoint"].occurred_at.max().to_pyarrow().as_py()]
    got = [d.date() if hasattr(d, "date") and callable(d.date) else d for d in days if d is not None]
    if not got:
        raise InvalidInput("no policies or touchpoints in the warehouse")
    return max(date.fromisoformat(str(d)[:10]) for d in got)
