"""``shouhu nba build|tasks``: customer value, cross-sell scores and next best actions from the CLI."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, guarded, out, print_json
from shouhu.settings import get_settings

AsOf = Annotated[str | None, typer.Option("--as-of", help="As-of date YYYY-MM-DD (default: today).")]


def _as_of(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {text}") from None


def register(app: typer.Typer) -> None:
    """Add ``build`` and ``tasks`` to an ``nba`` sub-app (e.g. ``app.add_typer(nba_app, name="nba")``)."""

    @app.command()
    def build(as_of: AsOf = None,
              train: Annotated[bool, typer.Option("--train/--no-train",
                                                  help="Retrain the cross-sell models first.")] = True,
              as_json: JsonOpt = False) -> None:
        """Customer value → cross-sell scores → next best actions (客户价值、交叉销售、下一步最佳行动)."""
        from shouhu.scoring import crosssell, nba, value
        from shouhu.storage.warehouse import Warehouse

        day = _as_of(as_of)

        def run() -> dict[str, Any]:
            s = get_settings()
            with Warehouse(s.warehouse) as wh:
                return {"customer_value": value.build_customer_value(wh, day),
                        "crosssell": crosssell.build_crosssell(wh, s.data_dir / "models", day, train_models=train),
                        "next_best_action": nba.build_next_best_actions(wh, day)}

        result = guarded(run)
        if as_json:
            print_json(result)
            return
        out.print(f"customer_value: {result['customer_value']['customers']} customers, "
                  f"tiers {result['customer_value']['tiers']}")
        for t, r in result["crosssell"]["trained"].items():
            out.print(f"crosssell {t}: " + (f"AUC {r['auc']} ({r['positives']} positives)" if "model" in r
                                            else f"skipped: {r['skipped']}"))
        out.print(f"next_best_action: {result['next_best_action']['actions']} actions for "
                  f"{result['next_best_action']['customers']} customers")

    @app.command()
    def tasks(agent_id: str, limit: Annotated[int, typer.Option(help="At most this many tasks.")] = 20,
              as_json: JsonOpt = False) -> None:
        """An agent's task list: the best actions of the agent's customers (代理人今日任务)."""
        from shouhu.scoring import nba
        from shouhu.storage.warehouse import Warehouse

        def run() -> list[dict[str, Any]]:
            with Warehouse(get_settings().warehouse) as wh:
                return nba.agent_tasks(wh, agent_id, limit)

        rows = guarded(run)
        if as_json:
            print_json(rows)
            return
        table = Table(title=f"tasks for {agent_id} 任务清单")
        for col in ("customer", "action", "product", "expected value", "why 原因"):
            table.add_column(col)
        for r in rows:
            table.add_row(r["customer_id"], r["action"], r["product_type"] or "", f"{r['expected_value']:,.0f}",
                          r["reason_zh"])
        out.print(table)
