"""``shouhu partners``: the partner registry (register, list, suspend), API keys (issue, rotate, revoke),
the shipped disclosure pages of the scene products, trigger events run by the insurer, the purge of
idempotency keys past 72 hours, the sandbox conformance report and go-live.

Wiring (main.py): ``register(app)``. docs/partners.md is the user guide.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from shouhu.cli.common import JsonOpt, guarded, out, print_json, with_serving
from shouhu.errors import InvalidInput
from shouhu.settings import get_settings

partners_app = typer.Typer(help="Partners and embedded insurance: registry, API keys, disclosures. 合作伙伴。",
                           no_args_is_help=True)
keys_app = typer.Typer(help="Partner API keys (shown once; stored as hashes).", no_args_is_help=True)
partners_app.add_typer(keys_app, name="keys")
PartnerArg = Annotated[str, typer.Argument(help="Partner id, e.g. shop-a.")]
ListOpt = Annotated[list[str] | None, typer.Option(help="Repeat for several.")]




def _show(payload: Any, as_json: bool, line: str) -> None:
    if as_json:
        print_json(payload)
    else:
        out.print(line, highlight=False)


@partners_app.command("add")
def add_cmd(partner_id: PartnerArg,
            name: Annotated[str, typer.Option(help="The partner's name.")],
            licence: Annotated[str, typer.Option(help="intermediary (licensed) or scene (unlicensed).")],
            licence_no: Annotated[str | None, typer.Option(help="Licence number (intermediaries).")] = None,
            product: ListOpt = None, scene: ListOpt = None, frame_origin: ListOpt = None,
            rate_per_minute: Annotated[int, typer.Option(help="Requests a minute per web worker.")] = 600,
            as_json: JsonOpt = False) -> None:
    """Register a partner (in sandbox mode)."""
    from shouhu.partners import registry

    row = with_serving(lambda e: registry.create_partner(e, partner_id, name, licence, licence_no=licence_no,
                                                  product_codes=product or [], scenes=scene or [],
                                                  frame_origins=frame_origin or [],
                                                  rate_per_minute=rate_per_minute))
    _show(row, as_json, f"{row['partner_id']} registered · {row['licence']} · {row['mode']} · "
                        f"products {', '.join(row['products']) or '-'}")


@partners_app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """Registered partners."""
    from shouhu.storage import partners as store

    rows = with_serving(store.list_partners)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        out.print(f"{r['partner_id']:<20} {r['licence']:<13} {r['mode']:<11} {r['status']:<10} "
                  f"{','.join(r['products'])}", highlight=False)


@partners_app.command("status")
def status_cmd(partner_id: PartnerArg, status: Annotated[str, typer.Argument(help="active or suspended.")],
               as_json: JsonOpt = False) -> None:
    """Suspend a partner (its keys stop working at once) or make it active again."""
    from shouhu.partners import registry

    row = with_serving(lambda e: registry.set_status(e, partner_id, status))
    _show(row, as_json, f"{partner_id} is {row['status']}")


@keys_app.command("issue")
def issue_cmd(partner_id: PartnerArg,
              mode: Annotated[str, typer.Option(help="sandbox or production.")] = "sandbox",
              scope: ListOpt = None, as_json: JsonOpt = False) -> None:
    """Issue an API key; the key is printed once and cannot be shown again."""
    from shouhu.partners import registry

    row = with_serving(lambda e: registry.issue_key(e, partner_id, mode, scope))
    _show(row, as_json, f"key {row['key_id']} ({row['mode']}; {', '.join(row['scopes'])}):\n{row['key']}\n"
                        "Store it now: it is not shown again.")


@keys_app.command("rotate")
def rotate_cmd(key_id: Annotated[str, typer.Argument(help="The key id (12 characters).")],
               as_json: JsonOpt = False) -> None:
    """A new key with the same scopes; the old one keeps working for 24 hours."""
    from shouhu.partners import registry

    row = with_serving(lambda e: registry.rotate_key(e, key_id))
    _show(row, as_json, f"new key {row['key_id']}:\n{row['key']}\nthe old key works until "
                        f"{row['old_key_expires_at']}")


@keys_app.command("revoke")
def revoke_cmd(key_id: Annotated[str, typer.Argument(help="The key id.")]) -> None:
    """Revoke a key at once."""
    from shouhu.partners import registry

    with_serving(lambda e: registry.revoke_key(e, key_id))
    out.print(f"key {key_id} revoked", highlight=False)


@keys_app.command("list")
def keys_cmd(partner_id: PartnerArg, as_json: JsonOpt = False) -> None:
    """A partner's keys (never their secrets)."""
    from shouhu.partners import registry
    from shouhu.storage import partners as store

    rows = [registry.public_key_row(r) for r in with_serving(lambda e: store.keys_of(e, partner_id))]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        state = "revoked" if r["revoked_at"] else f"expires {r['expires_at']}" if r["expires_at"] else "live"
        out.print(f"{r['key_id']}  {r['mode']:<11} {state:<30} {','.join(r['scopes'])}", highlight=False)


@partners_app.command("publish-disclosures")
def publish_cmd(by: Annotated[str, typer.Option("--by", help="Who publishes (user id).")] = "cli",
                as_json: JsonOpt = False) -> None:
    """Publish the scene products' shipped disclosure pages as traceability page versions."""
    from shouhu.partners import sales

    rows = with_serving(lambda e: sales.publish_disclosures(e, by))
    if as_json:
        print_json(rows)
        return
    for r in rows:
        out.print(f"{r['code']} v{r['version']} {'unchanged' if r['unchanged'] else 'published'}", highlight=False)


@partners_app.command("trigger")
def trigger_cmd(partner_id: PartnerArg, path: Annotated[Path, typer.Argument(help="A JSON file: one trigger "
                                                                                  "event or a list of them.")],
                mode: Annotated[str, typer.Option(help="sandbox or production.")] = "production",
                as_json: JsonOpt = False) -> None:
    """Run trigger events (flight data, logistics) for a partner's policies: automatic claims."""
    from shouhu.partners import sales

    def run(engine: Any) -> list[dict[str, Any]]:
        try:
            raw = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as e:
            raise InvalidInput(f"{path}: not a readable JSON file: {e}", field="file") from e
        items = raw if isinstance(raw, list) else [raw]
        made = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise InvalidInput(f"{path}: item {i} is not an object", field=f"[{i}]")
            made += sales.on_trigger(engine, partner_id, mode, item)
        return made

    rows = with_serving(run)
    _show(rows, as_json, f"{len(rows)} automatic claim(s): " + ", ".join(
        f"{r['policy_no']} {r['amount']}" for r in rows))


@partners_app.command("deliver")
def deliver_cmd(loop: Annotated[bool, typer.Option(help="Keep delivering every --every seconds.")] = False,
                every: Annotated[float, typer.Option(help="Seconds between passes with --loop.")] = 5.0,
                limit: Annotated[int, typer.Option(help="Deliveries a pass.")] = 100,
                as_json: JsonOpt = False) -> None:
    """Send the due webhook deliveries (signed; failures retried on the schedule in docs/partners.md).
    Several of these may run on PostgreSQL: deliveries are leased with SKIP LOCKED."""
    import os
    import socket
    import time

    from shouhu.partners import webhooks
    from shouhu.privacy.crypto import cipher_from_settings

    cipher = cipher_from_settings(get_settings())
    worker = f"{socket.gethostname()}:{os.getpid()}"
    while True:
        done = with_serving(lambda e: webhooks.deliver_due(e, cipher, worker=worker, limit=limit))
        _show(done, as_json, " · ".join(f"{k} {v}" for k, v in done.items() if not isinstance(v, list)))
        if not loop:
            return
        time.sleep(every)


@partners_app.command("purge-keys")
def purge_cmd() -> None:
    """Delete idempotency keys past their 72 hours."""
    from shouhu.partners import idempotency

    n = with_serving(idempotency.purge)
    out.print(f"{n} idempotency key(s) purged", highlight=False)


@partners_app.command("conformance")
def conformance_cmd(partner_id: PartnerArg,
                    since: Annotated[str | None, typer.Option(help="Replay from this time (ISO 8601 with offset); "
                                                                   "default: the last 30 days.")] = None,
                    as_json: JsonOpt = False) -> None:
    """Replay the partner's sandbox traffic against the compliance checks and store a conformance report.
    Exit code 1 when a check fails."""
    from rich.table import Table

    from shouhu.partners import conformance

    start = guarded(lambda: conformance.parse_since(since)) if since else None
    report = with_serving(lambda e: conformance.run(e, partner_id, since=start))
    if as_json:
        print_json(report)
    else:
        table = Table(title=f"{partner_id} · 沙箱合规检查 conformance {report['report_id']} · since {report['since']}",
                      title_justify="left")
        for column in ("check 检查项", "result 结果", "explanation 说明"):
            table.add_column(column)
        for c in report["checks"]:
            table.add_row(f"{c['title_zh']}\n{c['name']}", "pass 通过" if c["passed"] else "FAIL 未通过",
                          f"{c['zh']}\n{c['en']}", style=None if c["passed"] else "red")
        out.print(table)
        out.print("passed 通过" if report["passed"] else f"failed 未通过: {', '.join(report['failed'])}",
                  highlight=False)
    if not report["passed"]:
        raise typer.Exit(code=1)


@partners_app.command("go-live")
def go_live_cmd(partner_id: PartnerArg,
                by: Annotated[str, typer.Option("--by", help="Who makes the partner live (user id).")] = "cli",
                as_json: JsonOpt = False) -> None:
    """Switch the partner to production (production keys may then be issued): needs a passed conformance
    report made since the partner's last change and at most 30 days old."""
    from shouhu.partners import conformance

    row = with_serving(lambda e: conformance.go_live(e, partner_id, by))
    _show(row, as_json, f"{partner_id} is live (report {row['live_report_id']}): "
                        f"shouhu partners keys issue {partner_id} --mode production")


def register(app: typer.Typer) -> None:
    app.add_typer(partners_app, name="partners")
