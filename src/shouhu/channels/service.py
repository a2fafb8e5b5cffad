"""The operations the CLI and the console call: attribute, roi, plan. Each opens nothing itself: it takes
an open :class:`~shouhu.storage.warehouse.Warehouse` and returns a result with ``to_dict()`` (JSON-able)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from shouhu.channels import journeys as jn
from shouhu.channels import roi as roi_mod
from shouhu.channels import weekly
from shouhu.channels.models import DEFAULT_MODELS, Attribution, get_model
from shouhu.channels.optimise import Constraints, Plan
from shouhu.channels.optimise import plan as optimise_plan
from shouhu.channels.paths import PathTable, from_arrow
from shouhu.channels.response import ResponseCurve, fit_curve
from shouhu.errors import UnknownName

PLAN_OUTCOMES = ("policies", "premium", "value")


@dataclass(frozen=True)
class AttributionReport:
    config: jn.JourneyConfig | None  # None when the paths came from the user's own file
    paths: PathTable
    results: list[Attribution]
    files: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        return [r for a in self.results for r in a.rows()]

    def to_dict(self) -> dict[str, Any]:
        c = self.config
        return {"end": c.end.isoformat() if c else None, "period_days": c.period_days if c else None,
                "lookback_days": c.lookback_days if c else None, "sale_touch": c.sale_touch if c else None,
                "distinct_paths": len(self.paths), "totals": self.paths.totals(),
                "unattributed": dict(self.paths.unattributed), "channels": list(self.paths.channels),
                "results": self.rows(),
                "markov": {a.model: a.details for a in self.results if a.model.startswith("markov")},
                "files": self.files}


def load_paths(wh: Any, cfg: jn.JourneyConfig | None = None, **kw: Any) -> tuple[jn.JourneyConfig, PathTable]:
    """Aggregated paths from the warehouse (``kw``: JourneyConfig fields; ``end`` defaults to the data's)."""
    tables = jn.warehouse_tables(wh)
    if cfg is None:
        cfg = jn.JourneyConfig(end=kw.pop("end", None) or jn.default_end(tables), **kw)
    agg = jn.aggregate(jn.journeys(tables, cfg)).to_pyarrow()
    return cfg, from_arrow(agg, amounts=("value", "customer_value"))


def attribute(wh: Any, *, models: Sequence[str] = DEFAULT_MODELS, markov_orders: Sequence[int] = (1, 2),
              end: date | None = None, period_days: int = 365, lookback_days: int = 90, sale_touch: bool = True,
              out_dir: Path | None = None) -> AttributionReport:
    """Journeys → aggregated paths → every chosen model side by side (Markov at each order asked)."""
    cfg, paths = load_paths(wh, end=end, period_days=period_days, lookback_days=lookback_days,
                            sale_touch=sale_touch)
    return attribute_paths(paths, models=models, markov_orders=markov_orders, out_dir=out_dir, config=cfg)


def attribute_paths(paths: PathTable, *, models: Sequence[str] = DEFAULT_MODELS, markov_orders: Sequence[int] = (1, 2),
                    out_dir: Path | None = None, config: jn.JourneyConfig | None = None) -> AttributionReport:
    """Every chosen model on already aggregated ``paths`` (the warehouse's journeys or an analyst's file)."""
    results: list[Attribution] = []
    for name in models:
        if name == "markov":
            results += [get_model("markov", order=k).attribute(paths) for k in markov_orders]
        else:
            results.append(get_model(name).attribute(paths))
    report = AttributionReport(config, paths, results)
    if out_dir is not None:
        from shouhu.channels import charts

        report.files.extend(charts.write_attribution(report, out_dir))
    return report


def roi(wh: Any, *, period: str = "quarter", as_of: date | None = None, out_dir: Path | None = None
        ) -> dict[str, Any]:
    rows = roi_mod.compute(roi_mod.warehouse_tables(wh), period=period, as_of=as_of)
    result: dict[str, Any] = {"period": period, "by_channel": roi_mod.by_channel(rows), "rows": rows, "files": []}
    if out_dir is not None:
        from shouhu.channels import charts

        result["files"] = charts.write_roi(result, out_dir)
    return result


def fit_curves(series: weekly.WeeklySeries, outcome: str = "policies",
               value_per_policy: Mapping[str, float] | None = None) -> dict[str, ResponseCurve]:
    """A curve per channel with spend; ``value`` = the policies curve × the channel's value per policy."""
    if outcome not in PLAN_OUTCOMES:
        raise UnknownName("plan outcome", outcome, list(PLAN_OUTCOMES))
    source = "premium" if outcome == "premium" else "policies"
    curves = {ch: fit_curve(ch, series.spend[ch], series.outcomes[source].get(ch, 0 * series.spend[ch]))
              for ch in series.channels}
    if outcome == "value":
        from dataclasses import replace

        vpp = value_per_policy or {}
        curves = {ch: replace(c, base=c.base * vpp.get(ch, 0.0), beta=c.beta * vpp.get(ch, 0.0))
                  for ch, c in curves.items()}
    return curves


@dataclass(frozen=True)
class PlanReport:
    plan: Plan
    curves: dict[str, ResponseCurve]
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.plan.to_dict(), "curves": [c.to_dict() for c in self.curves.values()], "files": self.files}


def plan(wh: Any, budget: float | None = None, *, weeks: int = 13, outcome: str = "policies",
         constraints: Constraints | None = None, out_dir: Path | None = None, seed: int = 0) -> PlanReport:
    """Fit the response curves and reallocate ``budget`` (default: today's total) over ``weeks`` weeks."""
    series = weekly.load_series(weekly.warehouse_tables(wh))
    vpp = None
    if outcome == "value":
        per = roi_mod.by_channel(roi_mod.compute(roi_mod.warehouse_tables(wh)))
        vpp = {r["channel"]: r["customer_value"] / r["new_policies"] for r in per if r["new_policies"]}
    curves = fit_curves(series, outcome, vpp)
    today = {ch: float(series.spend[ch][-weeks:].sum()) for ch in curves}
    total = sum(today.values()) if budget is None else budget
    result = optimise_plan(curves, today, total, weeks=weeks, constraints=constraints, outcome=outcome, seed=seed)
    report = PlanReport(result, curves)
    if out_dir is not None:
        from shouhu.channels import charts

        report.files.extend(charts.write_plan(report, out_dir))
    return report
