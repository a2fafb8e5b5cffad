"""``shouhu trace``: the sales traceability ledger (销售可回溯). Publish sales page versions, seal closed
sessions under a Merkle root, verify the whole ledger, print a session's inclusion proof, replay it
(masked, audited), issue and verify signed sales receipts, list what is past retention.

Wiring (main.py): ``register(app)``. docs/traceability.md is the user guide.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, guarded, out, print_json
from shouhu.errors import InvalidInput
from shouhu.settings import get_settings

trace_app = typer.Typer(help="Sales traceability ledger: pages, seals, proofs, replay, receipts. 销售可回溯。",
                        no_args_is_help=True)
pages_app = typer.Typer(help="Versioned sales pages (投保须知, 条款, 免责条款, 健康告知, 风险提示).",
                        no_args_is_help=True)
trace_app.add_typer(pages_app, name="pages")
ActorOpt = Annotated[str, typer.Option("--by", help="Who does this (user id), for the record.")]
SessionArg = Annotated[str, typer.Argument(help="Session id (TS...).")]


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


@pages_app.command("publish")
def publish_cmd(path: Annotated[Path, typer.Argument(help="The page's text (UTF-8 or GBK; CRLF is made LF).")],
                code: Annotated[str, typer.Option("--code", help="Page code, e.g. terms_ci_2026.")],
                kind: Annotated[str, typer.Option("--kind", help="notice terms exclusions health_notice risk "
                                                               "product suitability confirmation other")],
                title: Annotated[str, typer.Option("--title", help="Title shown to the customer.")],
                by: ActorOpt = "cli", as_json: JsonOpt = False) -> None:
    """Publish a new version of a sales page (the same content as the latest version adds none)."""
    from shouhu.compliance import traceability as trace

    def run(engine: Any) -> dict[str, Any]:
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise InvalidInput(f"{path}: cannot read the page file: {e}", field="file") from e
        return trace.publish_page(engine, code, kind, title, raw, by, source=str(path))

    done = _with(run)
    if as_json:
        print_json(done)
    else:
        state = "unchanged, still" if done["unchanged"] else "published"
        out.print(f"{done['code']} v{done['version']} {state} · sha256 {done['sha256']}", highlight=False)


@pages_app.command("list")
def pages_cmd(code: Annotated[str | None, typer.Option(help="Only this page code.")] = None,
              as_json: JsonOpt = False) -> None:
    """Page versions with their content hashes."""
    from shouhu.storage import traceability as store

    rows = _with(lambda e: store.pages(e, code))
    if as_json:
        print_json(rows)
        return
    table = Table("code", "version", "kind", "title", "sha256", "published")
    for r in rows:
        table.add_row(r["code"], str(r["version"]), r["kind"], r["title"], r["sha256"], r["published_at"])
    out.print(table)


@trace_app.command("seal")
def seal_cmd(limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="Sessions per seal at most.")] = 10_000,
             as_json: JsonOpt = False) -> None:
    """Seal the closed, not yet sealed sessions under one Merkle root (a broken chain is refused)."""
    from shouhu.compliance import traceability as trace

    done = _with(lambda e: trace.seal(e, limit=limit))
    if as_json:
        print_json(done)
    elif done["seal"] is None:
        out.print("nothing to seal" + (f"; refused {len(done['refused'])}" if done["refused"] else ""))
    else:
        z = done["seal"]
        out.print(f"seal {z['seq']}: {z['size']} sessions · root {z['root']}", highlight=False)
    for r in done["refused"]:
        out.print(f"[red]refused {r['session_id']}: {r['problem']}[/red]", highlight=False)
    if done["refused"]:
        raise typer.Exit(1)


@trace_app.command("verify")
def verify_cmd(as_json: JsonOpt = False) -> None:
    """Verify every page hash, session chain and seal; names the first broken one (exit 1)."""
    from shouhu.compliance import traceability as trace

    result = _with(trace.verify)
    if as_json:
        print_json(result.to_dict())
    elif result.ok:
        out.print(f"ok: {result.pages} pages, {result.sessions} sessions, {result.events} events, "
                  f"{result.seals} seals")
    else:
        out.print(f"[red]broken {result.broken_kind} {result.broken_id}: {result.problem}[/red]", highlight=False)
    if not result.ok:
        raise typer.Exit(1)


@trace_app.command("proof")
def proof_cmd(session_id: SessionArg, as_json: JsonOpt = False) -> None:
    """The inclusion proof of a sealed session (leaf, index, size, audit path, root), checked."""
    from shouhu.compliance import traceability as trace

    p = _with(lambda e: trace.proof(e, session_id))
    p["verified"] = trace.check_proof(p)
    if as_json:
        print_json(p)
        return
    out.print(f"session {p['session_id']} · seal {p['seal_seq']} · leaf {p['index']} of {p['size']}", highlight=False)
    out.print(f"head {p['head_hash']}\nroot {p['root']}", highlight=False)
    for h in p["path"]:
        out.print(f"  {h}", highlight=False)
    out.print("verified" if p["verified"] else "[red]does NOT verify[/red]")


@trace_app.command("replay")
def replay_cmd(session_id: SessionArg, by: ActorOpt = "cli", as_json: JsonOpt = False) -> None:
    """The session's timeline, masked; the viewing is written to the audit log."""
    from shouhu.compliance import traceability as trace
    from shouhu.privacy.crypto import cipher_from_settings
    from shouhu.storage import audit

    def run(engine: Any) -> dict[str, Any]:
        done = trace.replay(engine, cipher_from_settings(get_settings()), session_id, masked=True)
        audit.append(engine, actor=by, actor_role="cli", action="trace.replay", target_kind="trace_session",
                     target_id=session_id, detail={"masked": True, "channel": "cli"})
        return done

    done = _with(run)
    if as_json:
        print_json(done)
        return
    s = done["session"]
    out.print(f"session {s['session_id']} · customer {s['customer_id']} · product {s['product_code']} · "
              f"{s['outcome'] or 'open'} · chain {'ok' if done['chain_ok'] else 'BROKEN: ' + done['problem']}",
              highlight=False)
    table = Table("seq", "at", "type", "page", "detail", "personal")
    for e in done["events"]:
        page = f"{e['page_code']} v{e['page_version']}" if e["page_code"] else ""
        table.add_row(str(e["seq"]), e["at"], e["type"], page, json.dumps(e["data"], ensure_ascii=False),
                      json.dumps(e["personal"], ensure_ascii=False) if e["personal"] else "")
    out.print(table)


@trace_app.command("receipt")
def receipt_cmd(session_id: SessionArg, output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
                by: ActorOpt = "cli") -> None:
    """The signed sales receipt of a sealed session (JSON), to stdout or a file."""
    from shouhu.compliance import traceability as trace
    from shouhu.storage import audit

    def run(engine: Any) -> dict[str, Any]:
        doc = trace.receipt(engine, session_id, trace.signing_key(get_settings()))
        audit.append(engine, actor=by, actor_role="cli", action="trace.receipt", target_kind="trace_session",
                     target_id=session_id, detail={"channel": "cli"})
        return doc

    doc = _with(run)
    text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        out.print(f"receipt written to {output}", highlight=False)
    else:
        print_json(doc)


@trace_app.command("public-key")
def public_key_cmd(output: Annotated[Path | None, typer.Option("-o", "--output")] = None) -> None:
    """The Ed25519 public key that verifies this installation's receipts (PEM)."""
    from shouhu.compliance import traceability as trace

    pem = guarded(lambda: trace.public_key_pem(trace.signing_key(get_settings())))
    if output:
        output.write_text(pem, encoding="ascii")
    else:
        typer.echo(pem, nl=False)


@trace_app.command("verify-receipt")
def verify_receipt_cmd(path: Annotated[Path, typer.Argument(help="receipt.json")],
                       public_key: Annotated[Path | None, typer.Option(
                           "--public-key", help="PEM file (GET /api/v1/trace/public-key); default: this "
                                                "installation's key")] = None,
                       as_json: JsonOpt = False) -> None:
    """Verify a sales receipt offline: the signature, and the inclusion proof up to the sealed root."""
    from shouhu.compliance import traceability as trace

    def run() -> list[str]:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InvalidInput(f"{path}: not a readable JSON receipt: {e}", field="file") from e
        if public_key is not None:
            try:
                key = trace.load_public_key(public_key.read_bytes())
            except OSError as e:
                raise InvalidInput(f"{public_key}: cannot read the public key: {e}", field="public_key") from e
        else:
            key = trace.signing_key(get_settings()).public_key()
        return trace.verify_receipt(doc, key)

    problems = guarded(run)
    if as_json:
        print_json({"ok": not problems, "problems": problems})
    elif problems:
        for p in problems:
            out.print(f"[red]✗ {p}[/red]", highlight=False)
    else:
        out.print("✓ the receipt verifies: signature and inclusion proof")
    if problems:
        raise typer.Exit(1)


@trace_app.command("contract-end")
def contract_end_cmd(session_id: SessionArg, end: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
                     as_json: JsonOpt = False) -> None:
    """The contract of a session ended (expiry, surrender, claim): retention now runs from that day."""
    from shouhu.compliance import traceability as trace

    done = _with(lambda e: trace.set_contract_end(e, session_id, end))
    print_json(done) if as_json else out.print(f"{session_id}: kept until {done['retain_until']}", highlight=False)


@trace_app.command("due")
def due_cmd(today: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default: today")] = None,
            as_json: JsonOpt = False) -> None:
    """Sessions past retention whose customer's key still lives (the retention job acts on these)."""
    from shouhu.compliance import traceability as trace

    def run(engine: Any) -> list[dict[str, Any]]:
        try:
            day = date.fromisoformat(today) if today else None
        except ValueError:
            raise InvalidInput(f"--today: not an ISO date: {today}", field="today") from None
        return trace.due_for_deletion(engine, day)

    rows = _with(run)
    if as_json:
        print_json(rows)
        return
    table = Table("session", "customer", "term", "contract end", "retain until", "customer fully due")
    for r in rows:
        table.add_row(r["session_id"], r["customer_id"], r["term_class"] or "", r["contract_end"] or "",
                      r["retain_until"], "yes" if r["customer_fully_due"] else "no")
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(trace_app, name="trace")
