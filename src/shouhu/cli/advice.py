"""``shouhu advise`` and ``shouhu review``: needs diagnosis, plan and policy review from the command line."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, err, guarded, out, print_json
from shouhu.settings import get_settings

AsOf = Annotated[datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], help="Date of the diagnosis; "
                                               "default today.")]
Method = Annotated[str, typer.Option("--method", help="Life need method: income_replacement, human_life_value, "
                                     "dime, double_ten.")]


def _day(as_of: datetime | None) -> date:
    return as_of.date() if as_of else date.today()


def _print_plan(payload: dict[str, Any]) -> None:
    for plan in (payload["plan"], *payload["alternatives"]):
        table = Table(title=plan["zh"], title_justify="left")
        for col in ("member", "product", "sum assured", "premium"):
            table.add_column(col, justify="right" if col in ("sum assured", "premium") else "left")
        for i in plan["items"]:
            table.add_row(f"{i['role']} {i['person_id']}", i["product_name"], f"{i['sum_assured']:,.0f}",
                          f"{i['annual_premium']:,.2f}")
        out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``advise`` and ``review`` to the top-level app."""

    @app.command()
    def advise(
        customer_id: Annotated[str, typer.Argument(help="Golden customer id (客户号).")],
        method: Method = "dime",
        budget: Annotated[float | None, typer.Option(help="Yearly premium budget (CNY); default double-ten.")] = None,
        risk_level: Annotated[str | None, typer.Option("--risk-level", help="Customer's assessed level R1-R5; "
                                                       "unassessed customers are treated as R1.")] = None,
        as_of: AsOf = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Diagnose a household's protection gaps and recommend a plan (需求问诊与方案)."""
        from shouhu.advice import service
        from shouhu.advice.suitability import ServingCheckLog
        from shouhu.storage.serving import upgrade
        from shouhu.storage.warehouse import Warehouse

        settings = get_settings()
        log = ServingCheckLog(settings.serving)  # every suitability check is kept for compliance

        def run() -> tuple[Any, Any, Any]:
            upgrade(settings.serving)
            with Warehouse(settings.warehouse) as wh:
                result = service.plan(wh, customer_id, as_of=_day(as_of), method=method, budget=budget,
                                      risk_level=risk_level, log=log)
            log.flush()
            return result

        data, gaps, rec = guarded(run)
        payload = {"customer_id": customer_id, "gaps": gaps.to_dict(), **rec.to_dict()}
        if as_json:
            print_json(payload)
            return
        table = Table(title=f"protection gaps 保障缺口 · household {gaps.household_id} · method {method}")
        for col in ("member", "coverage", "need", "existing", "waiting", "gap"):
            table.add_column(col, justify="left" if col in ("member", "coverage") else "right")
        for pid, rows in gaps.by_person.items():
            role = data.household.member(pid).role
            for g in rows:
                table.add_row(f"{role} {pid}", g.coverage.zh, f"{g.need.amount:,.0f}", f"{g.existing:,.0f}",
                              f"{g.in_waiting:,.0f}", f"{g.gap:,.0f}")
        out.print(table)
        out.print(rec.budget_zh)
        _print_plan(payload)
        if rec.blocked:
            err.print(f"{len(rec.blocked)} product(s) blocked by suitability; --json lists why")

    @app.command()
    def review(
        customer_id: Annotated[str, typer.Argument(help="Golden customer id (客户号).")],
        pdf: Annotated[Path | None, typer.Option("--pdf", help="Write the PDF here.")] = None,
        html: Annotated[Path | None, typer.Option("--html", help="Write the HTML here.")] = None,
        lang: Annotated[str, typer.Option("--lang", help="zh (default) or en.")] = "zh",
        method: Method = "dime",
        as_of: AsOf = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Policy review report for the customer's household (保单检视), as PDF and/or HTML."""
        from shouhu.advice import service
        from shouhu.reports.review import write_review
        from shouhu.storage.warehouse import Warehouse

        def run() -> Any:
            with Warehouse(get_settings().warehouse) as wh:
                result = service.review(wh, customer_id, as_of=_day(as_of), method=method)
            write_review(result, pdf=pdf, html=html, lang=lang)
            return result

        result = guarded(run)
        if as_json:
            print_json({**result.to_dict(), "pdf": str(pdf) if pdf else None, "html": str(html) if html else None})
            return
        written = ", ".join(str(p) for p in (pdf, html) if p) or "nothing (give --pdf and/or --html)"
        out.print(f"review of household {result.household_id}: {len(result.members)} members, "
                  f"premium next 12 months {result.premium_12m:,.2f}; wrote {written}")

    @app.command("review-batch")
    def review_batch_command(
        rule: Annotated[str, typer.Argument(help="Segment rule or @saved_name, e.g. 'gap_life > 0 and age < 50'.")],
        out_dir: Annotated[Path, typer.Option("--out", help="Folder for one PDF per customer.")],
        limit: Annotated[int, typer.Option(help="At most this many reports.")] = 100,
        lang: Annotated[str, typer.Option("--lang", help="zh (default) or en.")] = "zh",
        as_of: AsOf = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Policy review PDFs for every customer of a segment (批量保单检视)."""
        from shouhu.reports.review import review_batch
        from shouhu.segments import segment_members
        from shouhu.segments.store import load_segment
        from shouhu.storage.warehouse import Warehouse

        settings = get_settings()

        def run() -> list[Path]:
            segment: Any = load_segment(settings.data_dir, rule[1:]) if rule.startswith("@") else rule
            with Warehouse(settings.warehouse) as wh:
                ids = segment_members(wh, segment, ["customer_id"], limit=limit).column("customer_id").to_pylist()
            return review_batch(settings.warehouse, ids, out_dir, as_of=_day(as_of), lang=lang)

        paths = guarded(run)
        if as_json:
            print_json({"reports": [str(p) for p in paths]})
        else:
            out.print(f"wrote {len(paths)} review report(s) to {out_dir}")
