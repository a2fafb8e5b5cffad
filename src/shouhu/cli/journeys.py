"""``shouhu journeys``, ``shouhu templates``, ``shouhu consent``, ``shouhu contact`` and ``shouhu worker``.

Wiring (main.py): ``register(app)``. docs/journeys.md is the user guide.
"""

from __future__ import annotations

import os
import signal
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, guarded, out, print_json
from shouhu.errors import InvalidInput
from shouhu.settings import get_settings

journeys_app = typer.Typer(help="Customer journeys: publish, events, statistics. 客户旅程。", no_args_is_help=True)
templates_app = typer.Typer(help="Message templates and their compliance approval. 消息模板与合规审批。",
                            no_args_is_help=True)
consent_app = typer.Typer(help="The consent ledger per purpose and channel. 授权同意台账。", no_args_is_help=True)
contact_app = typer.Typer(help="Do-not-contact list and contact preferences. 免打扰名单与联系偏好。",
                          no_args_is_help=True)
ActorOpt = Annotated[str, typer.Option("--by", help="Who does this (user id), for the record.")]


def _engine() -> Any:
    from shouhu.storage import serving

    settings = get_settings()
    serving.upgrade(settings.serving)
    return serving.engine_for(settings.serving)


def _with(fn: Any) -> Any:
    engine = _engine()
    try:
        return guarded(lambda: fn(engine))
    finally:
        engine.dispose()


def _show(payload: Any, as_json: bool) -> None:
    print_json(payload) if as_json else out.print(payload)


# --- journeys ----------------------------------------------------------------------------------------

@journeys_app.command("publish")
def publish_cmd(path: Annotated[Path, typer.Argument(help="Journey YAML file.")], by: ActorOpt = "cli",
                as_json: JsonOpt = False) -> None:
    """Check and publish a journey; an edit becomes a new version (people inside finish theirs)."""
    from shouhu.journeys import engine as jeng

    _show(_with(lambda e: jeng.publish_file(e, path, by)), as_json)


@journeys_app.command("check")
def check_cmd(path: Annotated[Path, typer.Argument(help="Journey YAML file.")], as_json: JsonOpt = False) -> None:
    """Check a journey file without publishing it."""
    from shouhu.journeys.definition import parse

    def run() -> dict[str, Any]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InvalidInput(f"{path}: cannot read the journey file: {e}", file=str(path)) from e
        j = parse(text, str(path))
        return {"journey": j.key, "nodes": len(j.nodes), "ok": True}

    _show(guarded(run), as_json)


@journeys_app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """Journeys with their status, current version, enrolments and conversions."""
    from shouhu.storage import journeys as store

    rows = _with(store.list_journeys)
    if as_json:
        print_json(rows)
        return
    table = Table("journey", "名称", "status", "version", "enrolled", "active", "converted")
    for r in rows:
        table.add_row(r["journey_key"], r["name_zh"], r["status"], str(r["current_version"]),
                      str(r["enrolled"] or 0), str(r["active"] or 0), str(r["converted"] or 0))
    out.print(table)


def _status(key: str, status: str) -> None:
    from shouhu.storage import journeys as store

    def run(engine: Any) -> dict[str, Any]:
        if not store.set_status(engine, key, status, datetime.now(UTC)):
            raise InvalidInput(f"no journey {key!r}", field="journey")
        return {"journey": key, "status": status}

    out.print(_with(run))


@journeys_app.command("pause")
def pause_cmd(key: str) -> None:
    """Stop new enrolments (people inside go on)."""
    _status(key, "paused")


@journeys_app.command("activate")
def activate_cmd(key: str) -> None:
    """Take new enrolments again."""
    _status(key, "active")


@journeys_app.command("archive")
def archive_cmd(key: str) -> None:
    """Retire a journey: no new enrolments; people inside finish."""
    _status(key, "archived")


@journeys_app.command("event")
def event_cmd(customer: str, event_type: str,
              policy: Annotated[str | None, typer.Option("--policy", help="Policy number, if any.")] = None,
              at: Annotated[str | None, typer.Option("--at", help="When it happened (ISO with offset).")] = None,
              key: Annotated[str | None, typer.Option("--key", help="Idempotency key (default from the fact).")]
              = None) -> None:
    """Record an event (premium_paid, claim_filed, content_read, custom.<name>, ...)."""
    from shouhu.journeys import engine as jeng

    when = datetime.fromisoformat(at) if at else datetime.now(UTC)
    if when.tzinfo is None:
        raise typer.BadParameter("--at needs a time zone offset, e.g. 2026-12-07T10:00:00+08:00")
    added = _with(lambda e: jeng.add_events(e, [jeng.event_row(customer, event_type, when, policy_no=policy,
                                                               event_key=key)]))
    out.print({"added": added})


@journeys_app.command("detect")
def detect_cmd(day: Annotated[str | None, typer.Option("--date", help="The day (ISO); default today.")] = None,
               premium_due_days: Annotated[int, typer.Option(help="Premium due within this many days.")] = 30,
               lapse_threshold: Annotated[float, typer.Option(help="Lapse probability that triggers.")] = 0.3,
               as_json: JsonOpt = False) -> None:
    """Find today's trigger events in the published customer view (safe to run again)."""
    from shouhu.journeys.triggers import detect

    today = date.fromisoformat(day) if day else date.today()
    _show(_with(lambda e: detect(e, today, premium_due_days=premium_due_days, lapse_threshold=lapse_threshold)),
          as_json)


@journeys_app.command("stats")
def stats_cmd(key: str, as_json: JsonOpt = False) -> None:
    """Per-node counts and timing, and conversion per version and A/B arm with significance."""
    from shouhu.journeys import analytics

    payload = _with(lambda e: {"nodes": analytics.node_stats(e, key), "conversion": analytics.conversion(e, key)})
    if as_json:
        print_json(payload)
        return
    table = Table("v", "node", "entered", "done", "in progress", "dropped", "median s", "outcomes")
    for r in payload["nodes"]:
        table.add_row(str(r["version"]), r["node"], str(r["entered"]), str(r["done"]), str(r["in_progress"]),
                      str(r["dropped"]), "" if r["median_seconds"] is None else f"{r['median_seconds']:.0f}",
                      ", ".join(f"{k}={v}" for k, v in r["outcomes"].items()))
    out.print(table)
    conv = Table("v", "arm", "enrolled", "converted", "rate", "vs", "lift", "p", "significant")
    for v in payload["conversion"]["versions"]:
        for a in v["arms"]:
            conv.add_row(str(v["version"]), a["arm"], str(a["enrolled"]), str(a["converted"]), f"{a['rate']:.1%}",
                         a["versus"] or "", "" if a["lift"] is None else f"{a['lift']:+.1%}",
                         "" if a["p_value"] is None else f"{a['p_value']:.3f}", "yes" if a["significant"] else "")
    out.print(conv)


@journeys_app.command("funnel")
def funnel_cmd(key: str, steps: Annotated[str, typer.Option("--steps", help="Node ids in order, comma separated.")],
               by: Annotated[str | None, typer.Option("--by", help="channel | segment | agent | arm | version")]
               = None, as_json: JsonOpt = False) -> None:
    """Enrolments reaching each node in order, then the goal; optionally broken down."""
    from shouhu.journeys import analytics

    _show(_with(lambda e: analytics.funnel(e, key, [s.strip() for s in steps.split(",") if s.strip()], by)), as_json)


@journeys_app.command("resume")
def resume_cmd(key: Annotated[str | None, typer.Option("--journey", help="Only this journey.")] = None) -> None:
    """Make steps stuck in running (a worker that died and whose lease you do not want to wait for) due now."""
    from shouhu.storage import journeys as store

    out.print({"resumed": _with(lambda e: store.resume(e, datetime.now(UTC), key))})


# --- templates ---------------------------------------------------------------------------------------

@templates_app.command("add")
def template_add(path: Annotated[Path, typer.Argument(help="Template TOML (code, channel, kind, zh/en texts).")],
                 by: ActorOpt = "cli", as_json: JsonOpt = False) -> None:
    """Add a template (a new draft version when the code exists)."""
    from shouhu.journeys import messaging

    _show(_with(lambda e: messaging.add_template_file(e, path, by)), as_json)


@templates_app.command("submit")
def template_submit(code: str, version: int, by: ActorOpt = "cli") -> None:
    """Ask compliance to review a draft."""
    from shouhu.journeys import messaging

    out.print(_with(lambda e: messaging.review(e, code, version, "submit", by)))


@templates_app.command("approve")
def template_approve(code: str, version: int, by: ActorOpt,
                     note: Annotated[str | None, typer.Option(help="Review note.")] = None) -> None:
    """Approve a template version (not by its author); it goes live and replaces the previous one."""
    from shouhu.journeys import messaging

    out.print(_with(lambda e: messaging.review(e, code, version, "approve", by, note)))


@templates_app.command("reject")
def template_reject(code: str, version: int, by: ActorOpt,
                    note: Annotated[str, typer.Option(help="Why (shown to the author).")] = "") -> None:
    from shouhu.journeys import messaging

    out.print(_with(lambda e: messaging.review(e, code, version, "reject", by, note)))


@templates_app.command("list")
def template_list(as_json: JsonOpt = False) -> None:
    from shouhu.storage import journeys as store

    rows = _with(store.list_templates)
    if as_json:
        print_json(rows)
        return
    table = Table("code", "v", "channel", "kind", "status", "by", "reviewed by")
    for r in rows:
        table.add_row(r["code"], str(r["version"]), r["channel"], r["kind"], r["status"], r["created_by"],
                      r["reviewed_by"] or "")
    out.print(table)


@templates_app.command("preview")
def template_preview(code: str, version: int, locale: Annotated[str, typer.Option(help="zh-CN | en")] = "zh-CN"
                     ) -> None:
    """The template rendered with sample values."""
    from shouhu.journeys import messaging

    out.print(_with(lambda e: messaging.preview_template(e, code, version, locale)))


# --- consent and contact -----------------------------------------------------------------------------

PurposeOpt = Annotated[str, typer.Option("--purpose", help="marketing | health_data | profiling | partner_sharing")]
ChannelOpt = Annotated[str, typer.Option("--channel", help="any | email | sms | wecom | phone | inbox")]


def _consent(customer: str, purpose: str, channel: str, granted: bool, by: str, note: str | None) -> None:
    from shouhu.journeys import engine as jeng

    _with(lambda e: jeng.consent_change(e, customer, purpose, channel, granted, source="cli", actor=by, note=note))
    out.print({"customer": customer, "purpose": purpose, "channel": channel, "granted": granted})


@consent_app.command("grant")
def consent_grant(customer: str, purpose: PurposeOpt = "marketing", channel: ChannelOpt = "any",
                  by: ActorOpt = "cli", note: Annotated[str | None, typer.Option(help="Evidence.")] = None) -> None:
    """Record a grant (append-only)."""
    _consent(customer, purpose, channel, True, by, note)


@consent_app.command("withdraw")
def consent_withdraw(customer: str, purpose: PurposeOpt = "marketing", channel: ChannelOpt = "any",
                     by: ActorOpt = "cli", note: Annotated[str | None, typer.Option(help="Evidence.")] = None,
                     dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what the withdrawal would stop "
                                                           "(journeys, sales actions); record nothing.")] = False,
                     ) -> None:
    """Record a withdrawal; effective for the very next send check."""
    if dry_run:
        from shouhu.journeys import engine as jeng

        _show(_with(lambda e: jeng.withdrawal_impact(e, customer, purpose, channel)), True)
        return
    _consent(customer, purpose, channel, False, by, note)


@consent_app.command("show")
def consent_show(customer: str, as_json: JsonOpt = False) -> None:
    """Every grant and withdrawal of one customer, oldest first."""
    from shouhu.storage import journeys as store

    _show(_with(lambda e: store.consent_history(e, customer)), as_json)


@contact_app.command("block")
def contact_block(customer: str, channel: ChannelOpt = "any", by: ActorOpt = "cli",
                  reason: Annotated[str, typer.Option(help="Why, for the record.")] = "customer request") -> None:
    """Put a customer on the do-not-contact list (marketing and service; transactional notices still go)."""
    from shouhu.storage import journeys as store

    _with(lambda e: store.add_block(e, customer, channel, reason, by, datetime.now(UTC)))
    out.print({"customer": customer, "blocked": channel})


@contact_app.command("unblock")
def contact_unblock(customer: str, channel: ChannelOpt = "any", by: ActorOpt = "cli") -> None:
    from shouhu.storage import journeys as store

    out.print({"lifted": _with(lambda e: store.lift_block(e, customer, channel, by, datetime.now(UTC)))})


# --- the worker --------------------------------------------------------------------------------------

def worker_cmd(
    once: Annotated[bool, typer.Option("--once", help="One pass over due events and steps, then exit.")] = False,
    until_idle: Annotated[bool, typer.Option("--until-idle", help="Exit when nothing is due.")] = False,
    max_seconds: Annotated[float | None, typer.Option(help="Exit after about this many seconds.")] = None,
    batch: Annotated[int, typer.Option(help="Steps claimed per pass.")] = 200,
    guards: Annotated[Path | None, typer.Option("--guards", help="Guard-rail TOML (default DATA_DIR/guards.toml "
                                                                  "if present, else built in).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the journey engine: take in events, execute due steps, send messages. Stop with Ctrl-C or
    SIGTERM (the current step finishes). Several workers may run against PostgreSQL; one on SQLite."""
    from shouhu.journeys import engine as jeng
    from shouhu.journeys.adapters import adapters_from_env
    from shouhu.journeys.guards import load_guards
    from shouhu.privacy.crypto import cipher_from_settings

    settings = get_settings()
    stop = {"now": False}

    def halt(*_: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, halt)
    signal.signal(signal.SIGINT, halt)

    def run(engine: Any) -> dict[str, Any]:
        default = Path(settings.data_dir) / "guards.toml"
        rails = load_guards(guards or (default if default.exists() else None))
        cipher = cipher_from_settings(settings)
        w = jeng.Worker(engine, adapters=adapters_from_env(os.environ), guards=rails, decrypt=cipher.decrypt,
                        batch=batch)
        w.enrol_segments()
        if once:
            return w.run_once()
        return w.run(until_idle=until_idle, max_seconds=max_seconds, stop=lambda: stop["now"])

    _show(_with(run), as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(journeys_app, name="journeys")
    app.add_typer(templates_app, name="templates")
    app.add_typer(consent_app, name="consent")
    app.add_typer(contact_app, name="contact")
    app.command("worker")(worker_cmd)
