"""``shouhu cases``: the SLA sweep over service cases, the business calendar check, renewal timers.

Wiring (main.py): ``app.add_typer(cases_app, name="cases")``.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from shouhu.cli.common import JsonOpt, guarded, out, print_json
from shouhu.settings import get_settings

cases_app = typer.Typer(help="Service cases, SLAs and renewal collection. 服务工单、时效与续期催收。",
                        no_args_is_help=True)
CalendarOpt = Annotated[Path | None, typer.Option("--calendar", help="Calendar TOML (default: DATA_DIR/calendar.toml "
                                                                     "if present, else the built-in schedules).")]
SlaOpt = Annotated[Path | None, typer.Option("--sla", help="SLA TOML (default: DATA_DIR/sla.toml if present).")]
AtOpt = Annotated[str | None, typer.Option("--at", help="Sweep as of this instant (ISO, with offset); default now.")]


def _file(given: Path | None, name: str) -> Path | None:
    if given is not None:
        return given
    default = Path(get_settings().data_dir) / name
    return default if default.exists() else None


def _with_engine(fn: Any) -> Any:
    from shouhu.storage import serving

    settings = get_settings()
    serving.upgrade(settings.serving)
    engine = serving.engine_for(settings.serving)
    try:
        return fn(engine)
    finally:
        engine.dispose()


@cases_app.command("sla-sweep")
def sla_sweep_cmd(calendar: CalendarOpt = None, sla: SlaOpt = None, at: AtOpt = None, as_json: JsonOpt = False) -> None:
    """Record missed response/resolution targets once each, escalate them to the branch manager (event +
    task), and fill in due times a calendar gap had left open. Safe to run again (cron it)."""
    from shouhu.operations import cases
    from shouhu.operations.calendar import load_calendar

    def run() -> dict[str, Any]:
        cal = load_calendar(_file(calendar, "calendar.toml"))
        policies = cases.load_sla(_file(sla, "sla.toml"))
        when = datetime.fromisoformat(at) if at else datetime.now().astimezone()
        if when.tzinfo is None:
            raise typer.BadParameter("--at needs a time zone offset, e.g. 2026-10-12T15:00:00+08:00")
        return dict(_with_engine(lambda engine: cases.sweep(engine, cal, policies, when)))

    result = guarded(run)
    print_json(result) if as_json else out.print(result)


@cases_app.command("calendar")
def calendar_cmd(calendar: CalendarOpt = None, year: Annotated[int | None, typer.Option(help="List this year")] = None,
                 as_json: JsonOpt = False) -> None:
    """Check a calendar TOML and show the known years, holidays and make-up working days."""
    from shouhu.operations.calendar import load_calendar

    def run() -> dict[str, Any]:
        cal = load_calendar(_file(calendar, "calendar.toml"))
        pick = year or date.today().year
        return {"known_years": sorted(cal.years), "unknown_year": cal.unknown_year,
                "hours": f"{cal.opens:%H:%M}-{cal.closes:%H:%M}", "year": pick,
                "holidays": sorted(d.isoformat() for d in cal.holidays if d.year == pick),
                "workdays": sorted(d.isoformat() for d in cal.workdays if d.year == pick)}

    result = guarded(run)
    print_json(result) if as_json else out.print(result)
