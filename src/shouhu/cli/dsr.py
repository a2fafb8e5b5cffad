"""``shouhu dsr`` (data-subject requests), ``shouhu retention`` (the retention job) and ``shouhu hold``
(legal holds). Wiring (main.py): ``register(app)``. docs/compliance.md is the user guide."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shouhu.cli.common import JsonOpt, guarded, out, print_json
from shouhu.settings import get_settings

dsr_app = typer.Typer(help="Data-subject requests: access, copy, correction, deletion, opt-out. 个人信息权利请求。",
                      no_args_is_help=True)
retention_app = typer.Typer(help="Retention: delete what is due, respecting legal holds. 保存期限。",
                            no_args_is_help=True)
hold_app = typer.Typer(help="Legal holds: stop any deletion of a person. 法律保全。", no_args_is_help=True)
ActorOpt = Annotated[str, typer.Option("--by", help="Who does this (user id), for the record.")]


def _run(fn: Any, *, warehouse: bool = False) -> Any:
    from shouhu.storage import serving
    from shouhu.storage.warehouse import Warehouse

    settings = get_settings()
    serving.upgrade(settings.serving)
    engine = serving.engine_for(settings.serving)
    try:
        if not warehouse:
            return guarded(lambda: fn(engine, None))
        with Warehouse(settings.warehouse) as wh:
            return guarded(lambda: fn(engine, wh))
    finally:
        engine.dispose()


def _show(payload: Any, as_json: bool) -> None:
    print_json(payload) if as_json else out.print(payload)


@dsr_app.command("submit")
def submit_cmd(customer: str, kind: Annotated[str, typer.Option(help="access, portability, correction, deletion, "
                                                                      "opt_out_personalised, consent_withdrawal, "
                                                                      "human_review")],
               field: Annotated[str, typer.Option(help="correction: what to correct")] = "",
               value: Annotated[str, typer.Option(help="correction: what it should say")] = "",
               purpose: Annotated[str, typer.Option(help="consent_withdrawal: the purpose")] = "",
               note: str = "", by: ActorOpt = "cli", as_json: JsonOpt = False) -> None:
    """Log a request received for CUSTOMER (due in 24 h or 15 working days)."""
    from shouhu.compliance import dsr

    detail = {k: v for k, v in {"field": field, "value": value, "purpose": purpose, "note": note}.items() if v}
    _show(_run(lambda e, _: dsr.submit(e, customer, kind, "cli", by, detail)), as_json)


@dsr_app.command("list")
def list_cmd(status: Annotated[str, typer.Option(help="open, done, rejected or all")] = "open",
             overdue: Annotated[bool, typer.Option("--overdue", help="Only open requests past due.")] = False,
             as_json: JsonOpt = False) -> None:
    """Requests, the soonest due first."""
    from shouhu.compliance import dsr
    from shouhu.storage import dsr as store

    def rows(e: Any, _: Any) -> list[dict[str, Any]]:
        if overdue:
            return dsr.overdue(e)
        return store.list_requests(e, status=None if status == "all" else status, limit=10_000)

    items = _run(rows)
    if as_json:
        print_json(items)
        return
    for r in items:
        out.print(f"#{r['id']} {r['customer_id']} {dsr.label(r['kind'], 'zh')} {r['status']} due {r['due_at']}")
    out.print(f"{len(items)} requests")


@dsr_app.command("complete")
def complete_cmd(request_id: int, note: str = "", by: ActorOpt = "cli", as_json: JsonOpt = False) -> None:
    """Do what the request asks (a copy, an erasure or restriction, ...) and close it with its proof."""
    from shouhu.compliance import dsr
    from shouhu.privacy.crypto import cipher_from_settings

    settings = get_settings()
    done = _run(lambda e, wh: dsr.complete(e, request_id, by, cipher=cipher_from_settings(settings),
                                           data_dir=settings.data_dir, warehouse=wh, note_text=note),
                warehouse=True)
    _show(done, as_json)


@dsr_app.command("reject")
def reject_cmd(request_id: int, reason: Annotated[str, typer.Option(help="Why (the customer is told).")],
               by: ActorOpt = "cli", as_json: JsonOpt = False) -> None:
    """Refuse a request, saying why."""
    from shouhu.compliance import dsr

    _show(_run(lambda e, _: dsr.reject(e, request_id, by, reason)), as_json)


@dsr_app.command("plan")
def plan_cmd(customer: str, as_json: JsonOpt = False) -> None:
    """What deleting CUSTOMER would do now (erase, or restrict while records are retained); changes nothing."""
    from shouhu.compliance import dsr, erasure

    def both(e: Any, wh: Any) -> dict[str, Any]:
        plan = dsr.deletion_plan(e, customer, wh)
        if plan["action"] == "erase":
            plan["would_delete"] = erasure.erase(e, customer, warehouse=wh, dry_run=True).to_dict()
        return plan

    _show(_run(both, warehouse=True), as_json)


@retention_app.command("run")
def retention_cmd(dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, delete nothing.")] = False,
                  prospect_years: Annotated[int, typer.Option(
                      help="Also erase prospects who never held a policy and were not contacted for this many "
                           "years (0: off).", min=0, max=50)] = 0,
                  by: ActorOpt = "retention-job", as_json: JsonOpt = False) -> None:
    """Erase the restricted people whose retention period ended and who are not on hold; shred traceability
    sessions past retention; optionally erase stale prospects."""
    from shouhu.compliance import retention

    settings = get_settings()
    _show(_run(lambda e, wh: retention.run(e, actor=by, warehouse=wh, data_dir=settings.data_dir, dry_run=dry_run,
                                           prospect_years=prospect_years), warehouse=True), as_json)


@hold_app.command("place")
def hold_place(customer: str, reason: Annotated[str, typer.Option(help="Case number, inquiry.")], by: ActorOpt = "cli",
               as_json: JsonOpt = False) -> None:
    """Place a legal hold: nothing about CUSTOMER is deleted until it is released."""
    from shouhu.compliance import retention

    _show({"hold": _run(lambda e, _: retention.place_hold(e, customer, reason, by))}, as_json)


@hold_app.command("release")
def hold_release(hold_id: int, by: ActorOpt = "cli", as_json: JsonOpt = False) -> None:
    from shouhu.compliance import retention

    _run(lambda e, _: retention.release_hold(e, hold_id, by))
    _show({"released": hold_id}, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(dsr_app, name="dsr")
    app.add_typer(retention_app, name="retention")
    app.add_typer(hold_app, name="hold")
