"""``shouhu workforce``: service pods, orphan reassignment, the incentive ledger and the plan simulator.

Wiring (main.py): ``app.add_typer(workforce_app, name="workforce")``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, guarded, out, print_json
from shouhu.settings import get_settings

workforce_app = typer.Typer(help="Service pods, orphan policies, incentives. 服务团队、孤儿单与激励。",
                            no_args_is_help=True)
ledger_app = typer.Typer(help="The append-only incentive ledger. 激励台账（只增不改）。", no_args_is_help=True)
workforce_app.add_typer(ledger_app, name="ledger")
PlansOpt = Annotated[Path | None, typer.Option("--plans", help="Your own plans TOML (default: the built-in plans).")]


def _engine() -> Any:
    from shouhu.storage import serving

    settings = get_settings()
    serving.upgrade(settings.serving)
    return serving.engine_for(settings.serving)


def _actor() -> str:
    return f"cli:{os.environ.get('SUDO_USER') or os.environ.get('USER') or 'cli'}"[:64]


def _show(payload: dict[str, Any], as_json: bool, rows_key: str, cols: list[str]) -> None:
    if as_json:
        print_json(payload)
        return
    out.print({k: v for k, v in payload.items() if not isinstance(v, list)})
    table = Table()
    for c in cols:
        table.add_column(c)
    for r in payload.get(rows_key, [])[:200]:
        table.add_row(*("" if r.get(c) is None else str(r[c]) for c in cols))
    out.print(table)


@workforce_app.command("sync")
def sync_cmd(as_json: JsonOpt = False) -> None:
    """Add pod members from the published staff; retire members whose account was deactivated."""
    from shouhu.workforce import service

    result = guarded(lambda: service.sync(_engine()))
    print_json(result) if as_json else out.print(result)


@workforce_app.command("capacity")
def capacity_cmd(staff_id: str, capacity: int, as_json: JsonOpt = False) -> None:
    """Set how many customers a pod member can serve."""
    from shouhu.storage import workforce as store

    guarded(lambda: store.set_member(_engine(), staff_id, capacity=capacity))
    print_json({"staff_id": staff_id, "capacity": capacity}) if as_json else out.print(f"{staff_id}: {capacity}")


@workforce_app.command("assign")
def assign_cmd(role: Annotated[str, typer.Option(help="agent, service or health_manager")] = "service",
               branch: Annotated[str | None, typer.Option(help="Only this branch.")] = None,
               dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, write nothing.")] = False,
               as_json: JsonOpt = False) -> None:
    """Give every customer lacking a pod member one, balanced by capacity within the branch (why: per row)."""
    from shouhu.workforce import service

    result = guarded(lambda: service.assign(_engine(), role, branch_id=branch, actor=_actor(), dry_run=dry_run))
    _show(result, as_json, "moves", ["customer_id", "from_staff", "to_staff", "reason"])


@workforce_app.command("leave")
def leave_cmd(staff_id: str, reason: Annotated[str, typer.Option(help="Why (kept in the move log).")],
              as_json: JsonOpt = False) -> None:
    """An agent leaves: move their customers and served policies (孤儿单) to agents of the team/branch."""
    from shouhu.workforce import service

    result = guarded(lambda: service.leave(_engine(), staff_id, actor=_actor(), reason=reason))
    _show(result, as_json, "moves", ["customer_id", "to_staff", "reason"])


@workforce_app.command("handovers")
def handovers_cmd(staff_id: str, as_json: JsonOpt = False) -> None:
    """Customers and policies handed over to an agent (orphan moves), newest first."""
    from shouhu.storage import workforce as store

    def run() -> dict[str, Any]:
        with _engine().connect() as conn:
            return {"staff_id": staff_id, "moves": store.moves(conn, to_staff=staff_id, kind="orphan")}

    _show(guarded(run), as_json, "moves", ["id", "at", "customer_id", "policy_no", "from_staff", "reason"])


@workforce_app.command("simulate")
def simulate_cmd(plan: Annotated[str, typer.Option(help="Plan id (balanced, volume, or one of --plans).")] = "balanced",
                 years: Annotated[int, typer.Option(help="Years to simulate (1-10).")] = 5,
                 plans: PlansOpt = None, as_json: JsonOpt = False) -> None:
    """How a plan pays a churner and a steward year by year (expected values)."""
    from shouhu.workforce import simulator
    from shouhu.workforce.incentives import get_plan

    result = guarded(lambda: simulator.compare(get_plan(plan, plans), simulator.PROFILES, years))
    if as_json:
        print_json(result)
        return
    table = Table(title=f"{result['plan']}: cumulative pay (CNY)")
    table.add_column("year")
    for name in result["profiles"]:
        table.add_column(name, justify="right")
    for i in range(years):
        table.add_row(str(i + 1), *(f"{p['rows'][i]['cumulative']:,.0f}" for p in result["profiles"].values()))
    out.print(table)
    out.print(f"paid most after {years} years: {result['leader']}")


@ledger_app.command("post")
def post_cmd(period: Annotated[str, typer.Argument(help="YYYY-MM")],
             plan: Annotated[str, typer.Option(help="Plan id.")] = "balanced", plans: PlansOpt = None,
             dry_run: Annotated[bool, typer.Option("--dry-run")] = False, as_json: JsonOpt = False) -> None:
    """Post a month's commissions, renewals, bonuses and clawbacks (new entries only; never twice)."""
    from shouhu.workforce import payouts
    from shouhu.workforce.incentives import get_plan

    result = guarded(lambda: payouts.post(_engine(), get_plan(plan, plans), period, actor=_actor(), dry_run=dry_run))
    print_json(result) if as_json else out.print(result)


@ledger_app.command("reverse")
def reverse_cmd(seq: int, reason: Annotated[str, typer.Option(help="Why.")], as_json: JsonOpt = False) -> None:
    """Cancel an entry with a new reversing entry (entries are never edited)."""
    from shouhu.storage import ledger

    result = guarded(lambda: ledger.reverse(_engine(), seq, actor=_actor(), reason=reason))
    print_json(result) if as_json else out.print(result)


@ledger_app.command("list")
def list_cmd(agent: Annotated[str | None, typer.Option(help="Only this agent.")] = None,
             period: Annotated[str | None, typer.Option(help="Only this month (YYYY-MM).")] = None,
             as_json: JsonOpt = False) -> None:
    """Ledger entries, newest first."""
    from shouhu.storage import ledger

    rows = guarded(lambda: ledger.read(_engine(), agent_id=agent, period=period))
    _show({"entries": rows}, as_json, "entries", ["seq", "period", "agent_id", "kind", "policy_no", "amount_fen",
                                                   "memo"])


@ledger_app.command("verify")
def verify_cmd(as_json: JsonOpt = False) -> None:
    """Walk the ledger's hash chain; exits 1 when an entry was changed or removed."""
    from dataclasses import asdict

    from shouhu.storage import ledger

    check = guarded(lambda: ledger.verify(_engine()))
    print_json(asdict(check)) if as_json else out.print(asdict(check))
    if not check.ok:
        raise typer.Exit(1)
