"""``shouhu health``: the health programme — import wearable exports, enrol members, record events, the
daily points run, redemptions, status, value-based membership levels and the fairness report.

Wiring (main.py): ``register(app)``. docs/health.md is the user guide.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from shouhu.cli.common import JsonOpt, out, print_json, with_serving
from shouhu.errors import InvalidInput

health_app = typer.Typer(help="Health programme: wearables, points, status, rewards, membership. 健康计划。",
                         no_args_is_help=True)
points_app = typer.Typer(help="The points ledger: the daily run.", no_args_is_help=True)
membership_app = typer.Typer(help="Service levels by customer value.", no_args_is_help=True)
health_app.add_typer(points_app, name="points")
health_app.add_typer(membership_app, name="membership")
CustomerOpt = Annotated[str, typer.Option("--customer", help="Customer id.")]
DateOpt = Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (China time); default today.")]


def _day(text: str | None, name: str = "date") -> date:
    if text is None:
        from shouhu.health.service import china_day

        return china_day(datetime.now(UTC))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name}: not a date like 2026-03-01: {text!r}", field=name) from None




def _now() -> datetime:
    return datetime.now(UTC)


@health_app.command("import")
def import_cmd(file: Annotated[Path, typer.Argument(help="export.xml / export.zip, a CSV or a JSON push.")],
               customer: CustomerOpt,
               fmt: Annotated[str, typer.Option("--format", help="apple | csv | json")],
               source: Annotated[str | None, typer.Option(help="CSV only: the app, when columns do not tell.")] = None,
               as_json: JsonOpt = False) -> None:
    """Import one customer's wearable export as daily aggregates (needs the health_data consent)."""
    from shouhu.health import service

    r = with_serving(lambda e: service.import_file(e, file, customer, fmt, _now(), source))
    if as_json:
        print_json(r)
        return
    state = "already imported, nothing changed" if r["already_imported"] else "imported"
    out.print(f"{r['file_name']}: {state} · source {r['source']} · {r['days_stored']} days · "
              f"{r['rows_quarantined']} rows quarantined", highlight=False)
    for q in r["issues"][:20]:
        out.print(f"  row {q['row_no']} · {q['field']}: {q['reason']}", highlight=False, markup=False)


@health_app.command("enrol")
def enrol_cmd(customer: CustomerOpt, product: Annotated[str, typer.Option(help="Product code with a reward table.")],
              as_json: JsonOpt = False) -> None:
    """Enrol a customer under a product's guaranteed reward table."""
    from shouhu.health import service

    row = with_serving(lambda e: service.enrol(e, customer, product, _day(None), _now()))
    print_json(row) if as_json else out.print(f"{customer} enrolled under {product}", highlight=False)


@health_app.command("event")
def event_cmd(customer: CustomerOpt, kind: Annotated[str, typer.Option(help="health_check | quiz | annual_review")],
              ref: Annotated[str, typer.Option(help="The check, quiz or review id (earns once).")],
              day: DateOpt = None, as_json: JsonOpt = False) -> None:
    """Record a completed health check, quiz or review; it earns at the next points run."""
    from shouhu.health import service

    new = with_serving(lambda e: service.record_event(e, customer, kind, ref, _day(day), "cli", _now()))
    print_json({"recorded": new}) if as_json else out.print("recorded" if new else "already recorded")


@points_app.command("run")
def run_cmd(day: DateOpt = None, as_json: JsonOpt = False) -> None:
    """The daily run: expiry, the annual reset on the year's first day, steps and events; safe to repeat."""
    from shouhu.health.run import points_run

    r = with_serving(lambda e: points_run(e, _day(day), _now())).to_dict()
    if as_json:
        print_json(r)
        return
    out.print(f"{r['day']}: {r['members']} members · {r['earning']} earned {r['points']} points · "
              f"{r['expired']} lots expired · {r['reset']} reset · {r['entries']} ledger rows", highlight=False)


@health_app.command("redeem")
def redeem_cmd(customer: CustomerOpt, voucher: Annotated[str, typer.Option(help="Voucher code.")],
               key: Annotated[str, typer.Option(help="Idempotency key of the request.")],
               as_json: JsonOpt = False) -> None:
    """Buy a voucher of the member's reward table with points (soonest-expiring first)."""
    from shouhu.health import service

    r = with_serving(lambda e: service.redeem(e, customer, voucher, key, _day(None), _now()))
    print_json(r) if as_json else out.print(f"{r['voucher_code']}: {r['points']} points · {r['redemption_id']}",
                                            highlight=False)


def _counts(engine: Any, on: date) -> dict[str, Any]:
    from shouhu.health import config, status
    from shouhu.storage import health as store

    p = config.shipped()
    year = p.year_of(on)
    this, last = store.status_totals(engine, year), store.status_totals(engine, year - 1)
    counts = {t.code: 0 for t in p.tiers}
    for m in store.active_members(engine):
        counts[status.in_force(p, last.get(m["customer_id"], 0), this.get(m["customer_id"], 0)).code] += 1
    return {"programme_year": year, "tiers": counts}


@health_app.command("status")
def status_cmd(customer: Annotated[str | None, typer.Option("--customer", help="One member.")] = None,
               day: DateOpt = None, as_json: JsonOpt = False) -> None:
    """Status tiers in force: counts per tier, or one member's points, status and rewards."""
    from shouhu.health import service

    on = _day(day)
    if customer is None:
        r = with_serving(lambda e: _counts(e, on))
        print_json(r) if as_json else out.print(
            f"{r['programme_year']}: " + " · ".join(f"{k} {v}" for k, v in r["tiers"].items()), highlight=False)
        return
    s = with_serving(lambda e: service.summary(e, customer, on))
    payload = {"customer_id": customer, "balance": s["balance"], "available": s["available"],
               "status_points": s["status_points"], "tier": s["tier"].code,
               "next_tier": s["next_tier"].code if s["next_tier"] else None, "points_to_next": s["points_to_next"],
               "premium_discount_pct": s["reward"].premium_discount_pct if "reward" in s else None}
    print_json(payload) if as_json else out.print(" · ".join(f"{k} {v}" for k, v in payload.items()),
                                                  highlight=False)


@membership_app.command("sync")
def sync_cmd(as_json: JsonOpt = False) -> None:
    """Take the last refresh's value tiers as service levels; log every change with its reason."""
    from shouhu.health import service

    changes = with_serving(lambda e: service.sync_membership(e, _now()))
    if as_json:
        print_json([c.__dict__ for c in changes])
        return
    out.print(f"{len(changes)} membership changes", highlight=False)


@health_app.command("fairness")
def fairness_cmd(day: DateOpt = None, window: Annotated[int, typer.Option(help="Days of earning to look at.")] = 90,
                 as_json: JsonOpt = False) -> None:
    """Who can and cannot earn, by age band, region and device ownership; flags groups left behind."""
    from shouhu.health import service

    groups = with_serving(lambda e: service.fairness_report(e, _day(day), window))
    if as_json:
        print_json([g.to_dict() for g in groups])
        return
    for g in groups:
        flag = "  ⚠ below 4/5 of the best group" if g.flagged else ""
        out.print(f"{g.dimension:<9} {g.group:<12} n={g.population:<7} can earn {g.can_earn:6.1%} · "
                  f"with device {g.can_earn_steps:6.1%} · earning {g.earning:6.1%} · "
                  f"first tier {g.first_tier:6.1%}{flag}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(health_app, name="health")


__all__ = ["health_app", "register"]
