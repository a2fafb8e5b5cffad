"""``shouhu channels attribute|roi|plan``: attribution, ROI on insurance outcomes, budget reallocation.

Wiring (main.py): ``app.add_typer(channels_app, name="channels")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, guarded, out, print_json
from shouhu.settings import get_settings

channels_app = typer.Typer(help="Channel attribution, ROI and budget. 渠道归因、投入产出与预算。", no_args_is_help=True)
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write CSV tables and PNG charts into this folder.")]


def _table(title: str, rows: list[dict[str, Any]], cols: list[str] | None = None) -> None:
    table = Table(title=title)
    cols = cols or (list(rows[0]) if rows else [])
    for c in cols:
        table.add_column(c)
    for r in rows:
        table.add_row(*("" if r.get(c) is None else f"{r[c]:,.4g}" if isinstance(r[c], float) else str(r[c])
                        for c in cols))
    out.print(table)


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _amounts(text: str) -> dict[str, float]:
    """``internet=100000,agent=50000`` -> {"internet": 100000.0, ...}."""
    pairs = [p.split("=", 1) for p in _split(text)]
    return {k.strip(): float(v) for k, v in pairs}


@channels_app.command("attribute")
def attribute_cmd(
    models: Annotated[str, typer.Option(help="Comma-separated models (default: all): first_touch, last_touch, "
                                             "linear, time_decay, position_based, markov, shapley")] = "",
    order: Annotated[str, typer.Option(help="Markov orders, comma separated.")] = "1,2",
    lookback: Annotated[int, typer.Option(help="Days of touchpoints before the journey's end.")] = 90,
    period: Annotated[int, typer.Option(help="Days of conversions up to the data's end.")] = 365,
    no_sale_touch: Annotated[bool, typer.Option("--no-sale-touch", help="Do not count the sale itself.")] = False,
    paths_file: Annotated[Path | None, typer.Option(
        "--paths", help="Attribute your own journeys: CSV or Parquet with path (\"search > agent\"), conversions, "
                        "nulls, value. Skips the warehouse.")] = None,
    out_dir: OutOpt = None, as_json: JsonOpt = False) -> None:
    """Multi-touch attribution of new policies (conversions and first-year premium) to channels."""
    from shouhu.channels import service
    from shouhu.channels.models import DEFAULT_MODELS
    from shouhu.storage.warehouse import Warehouse

    def run() -> dict[str, Any]:
        chosen, orders = _split(models) or DEFAULT_MODELS, [int(k) for k in _split(order)]
        if paths_file is not None:
            from shouhu.channels.path_file import read_paths_file

            return service.attribute_paths(read_paths_file(paths_file), models=chosen, markov_orders=orders,
                                           out_dir=out_dir).to_dict()
        with Warehouse(get_settings().warehouse) as wh:
            report = service.attribute(wh, models=chosen, markov_orders=orders, lookback_days=lookback,
                                       period_days=period, sale_touch=not no_sale_touch, out_dir=out_dir)
            return report.to_dict()

    result = guarded(run)
    if as_json:
        print_json(result)
        return
    t = result["totals"]
    window = (f" (lookback {result['lookback_days']} days, period ending {result['end']})" if result["end"]
              else f" (from {paths_file})")
    out.print(f"{result['distinct_paths']:,} distinct paths, {t['journeys']:,.0f} journeys, "
              f"{t['conversions']:,.0f} conversions, value {t.get('value', 0.0):,.0f}{window}")
    value_cols = [c for c in ("value", "customer_value") if c in t]
    _table("attribution 渠道归因", result["results"], ["model", "channel", "conversions", *value_cols])
    for f in result["files"]:
        out.print(f"wrote {f}")


@channels_app.command("roi")
def roi_cmd(period: Annotated[str, typer.Option(help="month, quarter or year")] = "quarter",
            by_period: Annotated[bool, typer.Option("--by-period", help="Show every period, not only totals.")] = False,
            out_dir: OutOpt = None, as_json: JsonOpt = False) -> None:
    """Spend, new policies, premium, 13-month persistency, customer value, cost per policy and ROI per channel."""
    from shouhu.channels import service
    from shouhu.storage.warehouse import Warehouse

    def run() -> dict[str, Any]:
        with Warehouse(get_settings().warehouse) as wh:
            return service.roi(wh, period=period, out_dir=out_dir)

    result = guarded(run)
    if as_json:
        print_json(result)
        return
    cols = ["channel", "spend", "new_policies", "first_year_premium", "annualised_premium", "persistency_13m",
            "customer_value", "nbv", "commission", "cost_per_policy", "premium_per_yuan", "roi"]
    _table("channel ROI 渠道投入产出", result["by_channel"], cols)
    if by_period:
        _table(f"by {period}", result["rows"], ["period", *cols])
    for f in result["files"]:
        out.print(f"wrote {f}")


@channels_app.command("plan")
def plan_cmd(
    budget: Annotated[float | None, typer.Option(help="Total budget over the horizon (default: today's).")] = None,
    weeks: Annotated[int, typer.Option(help="Planning horizon in weeks; 'today' = the last N weeks.")] = 13,
    outcome: Annotated[str, typer.Option(help="policies, premium or value")] = "policies",
    floor: Annotated[str, typer.Option(help="Minimum spend: internet=100000,agent=50000")] = "",
    cap: Annotated[str, typer.Option(help="Maximum spend: broker=200000")] = "",
    fixed: Annotated[str, typer.Option(help="Channels held at today's spend, comma separated.")] = "",
    max_change: Annotated[float | None, typer.Option(help="Largest change per channel, share of today (0.3).")
                          ] = None,
    out_dir: OutOpt = None, as_json: JsonOpt = False) -> None:
    """Fit response curves and reallocate a budget across channels under floors, caps and limits."""
    from shouhu.channels import service
    from shouhu.channels.optimise import Constraints
    from shouhu.storage.warehouse import Warehouse

    def run() -> dict[str, Any]:
        c = Constraints(floors=_amounts(floor), caps=_amounts(cap), fixed=tuple(_split(fixed)), max_change=max_change)
        with Warehouse(get_settings().warehouse) as wh:
            return service.plan(wh, budget, weeks=weeks, outcome=outcome, constraints=c, out_dir=out_dir).to_dict()

    result = guarded(run)
    if as_json:
        print_json(result)
        return
    _table(f"budget plan over {weeks} weeks 预算分配", result["channels"],
           ["channel", "today", "proposed", "change", "change_pct", "expected_outcome", "marginal_per_10k"])
    e, u = result["expected"], result["uplift"]
    level = int(result["interval"] * 100)
    out.print(f"expected {outcome}: {e['point']:,.1f} ({level}% interval {e['low']:,.1f}–{e['high']:,.1f}); "
              f"change from today {u['point']:+,.1f} ({u['low']:+,.1f} to {u['high']:+,.1f})")
    for f in result["files"]:
        out.print(f"wrote {f}")
