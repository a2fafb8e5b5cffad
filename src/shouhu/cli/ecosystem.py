"""``shouhu ecosystem``: the ecosystem service catalogue (seed it from the shipped or an outside TOML file,
list it), service orders and the SLA sweep, provider settlement statements and the ecosystem funnel.

Wiring (main.py): ``register(app)``. docs/partners.md ("Ecosystem services") is the user guide.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, guarded, out, print_json, with_serving
from shouhu.errors import ConfigError, InvalidInput

ecosystem_app = typer.Typer(help="Ecosystem services: catalogue, orders, SLAs, settlement, funnel. 增值服务生态。",
                            no_args_is_help=True)
AtOpt = Annotated[str | None, typer.Option("--at", help="As of this instant (ISO, with offset); default now.")]
LINE = re.compile(r"\(at line (\d+), column \d+\)")
HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+?)\s*=")


def register(app: typer.Typer) -> None:
    app.add_typer(ecosystem_app, name="ecosystem")




def _at(at: str | None) -> datetime:
    when = datetime.fromisoformat(at) if at else datetime.now().astimezone()
    if when.tzinfo is None:
        raise typer.BadParameter("--at needs a time zone offset, e.g. 2026-12-07T10:00:00+08:00")
    return when


def _yuan(fen: Any) -> str:
    return "" if fen is None else f"¥{int(fen) // 100:,}.{int(fen) % 100:02d}"


# --- the catalogue -----------------------------------------------------------------------------------


def _entries(lines: list[str], upto: int) -> tuple[str, dict[str, int], dict[str, int]]:
    """The table open at line ``upto``, where each table was first declared, and the keys of the open one."""
    entry, starts, keys = "(top level)", dict[str, int](), dict[str, int]()
    for i, text in enumerate(lines[:upto - 1], start=1):
        header, key = HEADER.match(text), KEY.match(text)
        if header:
            entry, keys = header.group(1).replace(" ", ""), {}
            starts.setdefault(entry, i)
        elif key:
            keys.setdefault(key.group(1).strip("\"'"), i)
    return entry, starts, keys


def duplicate_of(path: Path, error: ConfigError) -> ConfigError:
    """A TOML "defined twice" error with the entry and the field (tomllib names the line only)."""
    found = LINE.search(error.message)
    if found is None or not path.exists():
        return error
    lines, n = path.read_text(encoding="utf-8").splitlines(), int(found.group(1))
    line = lines[n - 1] if n <= len(lines) else ""
    entry, starts, keys = _entries(lines, n)
    header, key = HEADER.match(line), KEY.match(line)
    if header and header.group(1).replace(" ", "") in starts:
        name = header.group(1).replace(" ", "")
        return ConfigError(f"{path} [{name}] (entry): declared twice (line {n}; first at line {starts[name]})",
                           file=str(path), entry=name, field="(entry)")
    if key and key.group(1).strip("\"'") in keys:
        field = key.group(1).strip("\"'")
        return ConfigError(f"{path} [{entry}] {field}: given twice (line {n}; first at line {keys[field]})",
                           file=str(path), entry=entry, field=field)
    return error


def _load(path: Path | None) -> Any:
    from shouhu.partners import ecosystem as eco

    try:
        return eco.load_catalogue(path)
    except ConfigError as e:
        raise (duplicate_of(path, e) if path is not None else e) from None


@ecosystem_app.command("seed")
def seed_cmd(catalogue: Annotated[Path | None, typer.Option("--catalogue", help="A catalogue TOML (default: the "
                                                                                 "shipped ecosystem.toml).")] = None,
             as_json: JsonOpt = False) -> None:
    """Check a catalogue and write it to the serving database (safe to run again: rows are updated)."""
    from shouhu.partners import ecosystem as eco

    guarded(lambda: _load(catalogue))  # a bad file is refused before any database work
    counts = with_serving(lambda e: eco.seed_catalogue(e, datetime.now().astimezone(), catalogue))
    if as_json:
        print_json(counts)
        return
    out.print(" ".join(f"{k}={v}" for k, v in counts.items()), highlight=False)


@ecosystem_app.command("services")
def services_cmd(category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
                 as_json: JsonOpt = False) -> None:
    """The seeded catalogue: services with provider, SLA, prices and units per tier."""
    from shouhu.partners import ecosystem as eco
    from shouhu.storage import ecosystem as store

    def run(engine: Any) -> list[dict[str, Any]]:
        tiers = {t: store.entitlements(engine, t) for t in eco.TIERS}
        return [s | {"entitlements": {t: ("unlimited" if q[s["service_code"]] is None else q[s["service_code"]])
                                      for t, q in tiers.items() if s["service_code"] in q}}
                for s in eco.services(engine, category)]

    rows = with_serving(run)
    if as_json:
        print_json(rows)
        return
    table = Table("service", "category", "provider", "SLA", "price", "retail", "status", *eco.TIERS)
    for s in rows:
        sla = f"{s['sla_hours']} h" if s["sla_hours"] else f"{s['sla_working_days']} working days"
        table.add_row(s["service_code"], s["category"], s["provider_id"], sla, _yuan(s["unit_price_fen"]),
                      _yuan(s["retail_price_fen"]) or "benefit only", s["status"],
                      *[str(s["entitlements"].get(t, "")) for t in eco.TIERS])
    out.print(table)


# --- orders and the SLA sweep ------------------------------------------------------------------------


@ecosystem_app.command("orders")
def orders_cmd(status: Annotated[str | None, typer.Option(help="Only orders in this status.")] = None,
               provider: Annotated[str | None, typer.Option(help="Only this provider's orders.")] = None,
               as_json: JsonOpt = False) -> None:
    """Service orders (customer or ecosystem-user ids only: no personal data), oldest first."""
    from shouhu.partners import ecosystem as eco
    from shouhu.storage import ecosystem as store

    def run(engine: Any) -> list[dict[str, Any]]:
        if status is not None and status not in eco.OrderStatus.codes():
            raise InvalidInput(f"--status: one of {', '.join(eco.OrderStatus.codes())}, not {status!r}",
                               field="status")
        return store.orders(engine, provider_id=provider, status=status)

    rows = with_serving(run)
    if as_json:
        print_json(rows)
        return
    table = Table("order", "holder", "service", "tier", "basis", "status", "requested", "due", "breached")
    for o in rows:
        table.add_row(o["order_id"], o["customer_id"] or f"eco:{o['eco_user_id']}", o["service_code"], o["tier"],
                      o["basis"], o["status"], o["requested_at"], o["due_at"] or (o["sla_note"] or "")[:40],
                      "yes" if o["breached"] else "")
    out.print(table)
    out.print(f"{len(rows)} orders", highlight=False)


@ecosystem_app.command("sweep")
def sweep_cmd(at: AtOpt = None, as_json: JsonOpt = False) -> None:
    """Mark SLA breaches (orders still requested or accepted past their due time), once each, and fill in
    due times a calendar gap had left open. Safe to run again (cron it)."""
    from shouhu.partners import ecosystem as eco

    when = _at(at)
    counts = with_serving(lambda e: eco.sla_sweep(e, when))
    print_json(counts) if as_json else out.print(f"breached={counts['breached']} due_set={counts['due_set']}",
                                                 highlight=False)


# --- settlement and the funnel -----------------------------------------------------------------------


def _statement(engine: Any, row: dict[str, Any]) -> dict[str, Any]:
    from shouhu.storage import ecosystem as store

    lines = [{k: o[k] for k in ("order_id", "service_code", "completed_at", "breached", "price_fen", "settled_fen")}
             for o in store.orders(engine, provider_id=row["provider_id"], status="completed")
             if o["settlement_id"] == row["settlement_id"]]
    return row | {"lines": lines}


@ecosystem_app.command("settle")
def settle_cmd(provider: Annotated[str, typer.Option("--provider", help="Provider id, e.g. kangtai_checkup.")],
               month: Annotated[str, typer.Option("--month", help="A month that is over, YYYY-MM (China time).")],
               at: AtOpt = None, as_json: JsonOpt = False) -> None:
    """Settle a provider's completed orders of a month and print the statement. Safe to run again: orders
    already settled are never counted twice; with nothing new the statement is unchanged."""
    from shouhu.partners import ecosystem as eco

    when = _at(at)

    def run(engine: Any) -> dict[str, Any] | None:
        row = eco.settle(engine, provider, month, when)
        return _statement(engine, row) if row else None

    result = with_serving(run)
    if as_json:
        print_json(result)
        return
    if result is None:
        out.print(f"{provider} {month}: no completed orders to settle", highlight=False)
        return
    out.print(f"settlement {result['settlement_id']} · {provider} · {month} · batch {result['seq']} · "
              f"{result['status']}", highlight=False)
    table = Table("order", "service", "completed", "price", "breached", "settled")
    for line in result["lines"]:
        table.add_row(line["order_id"], line["service_code"], line["completed_at"], _yuan(line["price_fen"]),
                      "yes" if line["breached"] else "", _yuan(line["settled_fen"]))
    out.print(table)
    out.print(f"orders={result['orders']} gross={_yuan(result['gross_fen'])} "
              f"deduction={_yuan(result['deduction_fen'])} amount={_yuan(result['amount_fen'])}", highlight=False)


@ecosystem_app.command("funnel")
def funnel_cmd(since: Annotated[str | None, typer.Option(help="Registered from (YYYY-MM-DD); default 90 days "
                                                              "ago.")] = None,
               until: Annotated[str | None, typer.Option(help="Registered up to (YYYY-MM-DD, inclusive).")] = None,
               by: Annotated[str, typer.Option(help="source, scene or all.")] = "source",
               as_json: JsonOpt = False) -> None:
    """Ecosystem users registered in a period through registered → service used → quoted → converted."""
    from shouhu.operations.calendar import load_calendar
    from shouhu.partners import ecosystem as eco

    def run(engine: Any) -> list[dict[str, Any]]:
        if by not in ("source", "scene", "all"):
            raise InvalidInput(f"--by: source, scene or all, not {by!r}", field="by")
        end = _day(until, "until") if until else date.today()
        start = _day(since, "since") if since else end - timedelta(days=89)
        zone = load_calendar().tz
        return eco.funnel(engine, datetime(start.year, start.month, start.day, tzinfo=zone),
                          datetime(end.year, end.month, end.day, tzinfo=zone) + timedelta(days=1),
                          None if by == "all" else by)

    groups = with_serving(run)
    if as_json:
        print_json(groups)
        return
    table = Table("group", *[s.value for s in eco.FunnelStep])
    for g in groups:
        table.add_row(g["group"], *[f"{s['users']}" + (f" ({s['rate_from_previous']:.0%})"
                                                        if s["rate_from_previous"] is not None else "")
                                    for s in g["steps"]])
    out.print(table)


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--{field}: a date YYYY-MM-DD, not {text!r}", field=field) from None
