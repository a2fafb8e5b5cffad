"""``shouhu serve``, ``shouhu users ...`` and ``shouhu audit ...``: the web server and what it guards."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, err, guarded, out, print_json
from shouhu.settings import Settings, get_settings

users_app = typer.Typer(help="Staff accounts, roles, reveal grants and API tokens (账号与权限).", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log (审计日志).", no_args_is_help=True)

ROLE_HELP = "admin, head_office, branch_manager, agent, service, health_manager, analyst, compliance"


def _engine(settings: Settings) -> Any:
    from shouhu.storage import serving

    serving.upgrade(settings.serving)
    return serving.engine_for(settings.serving)


def _cli_audit(engine: Any, action: str, target: str, reason: str = "", **detail: Any) -> None:
    from shouhu.storage import audit

    actor = os.environ.get("SUDO_USER") or os.environ.get("USER") or "cli"
    audit.append(engine, actor=f"cli:{actor}"[:64], actor_role="admin", action=action, target_kind="user",
                 target_id=target, reason=reason, detail=detail, client="cli")


def serve_app(settings: Settings, host: str, port: int, *, announce: bool = True) -> None:
    """Run the application with uvicorn (one process); seeds demo accounts in demo mode."""
    import uvicorn

    from shouhu.storage import accounts
    from shouhu.web.app import create_app
    from shouhu.web.demo import DEMO_PASSWORD, seed_demo_accounts

    app = guarded(lambda: create_app(settings))
    engine = app.state.shouhu.engine
    if settings.mode == "demo":
        demo = seed_demo_accounts(engine)
        if announce:
            out.print(f"demo accounts (password [bold]{DEMO_PASSWORD}[/bold]; demo mode only):")
            for d in demo:
                out.print(f"  {d['user_id']:<16} {d['role']:<15} {d['scope']}")
    elif accounts.count_users(engine) == 0:
        err.print("no accounts yet: create one with `shouhu users create admin --role admin`", style="yellow")
    if announce:
        out.print(f"console:  http://{host}:{port}/console/   (登录 / sign in)\n"
                  f"H5:       http://{host}:{port}/h5/\n"
                  f"API:      http://{host}:{port}/api/v1/docs  (OpenAPI: /api/v1/openapi.json)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
              port: Annotated[int, typer.Option(help="Port.")] = 8000,
              demo: Annotated[bool, typer.Option("--demo", help="Run in demo mode (demo accounts).")] = False
              ) -> None:
        """Serve the REST API (/api/v1), the staff console (/console) and the customer H5 (/h5)."""
        settings = get_settings()
        if demo:
            settings = settings.model_copy(update={"mode": "demo"})
        serve_app(settings, host, port)

    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")


def _password(from_env: str | None) -> str:
    if from_env:
        value = os.environ.get(from_env)
        if not value:
            raise typer.BadParameter(f"environment variable {from_env} is empty or not set")
        return value
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise typer.BadParameter("the passwords differ")
    return first


@users_app.command("create")
def users_create(
    user_id: str,
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    staff_id: Annotated[str | None, typer.Option(help="Agent's staff id (agents: their customers).")] = None,
    branch_id: Annotated[str | None, typer.Option(help="Branch id (branch managers).")] = None,
    team_id: Annotated[str | None, typer.Option(help="Service team id (service, health managers).")] = None,
    can_reveal: Annotated[bool, typer.Option("--can-reveal", help="Grant the reveal permission.")] = False,
    password_env: Annotated[str | None, typer.Option(help="Read the password from this variable "
                                                           "(else prompt, or one line of stdin).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a staff account (the password is hashed with Argon2id; never stored or logged)."""
    from shouhu.access.roles import role_from_text
    from shouhu.privacy.passwords import hash_password
    from shouhu.storage import accounts
    from shouhu.web.auth import DEMO_PREFIX

    settings = get_settings()
    if user_id.startswith(DEMO_PREFIX):
        raise typer.BadParameter(f"names starting with {DEMO_PREFIX!r} are reserved for demo accounts")
    r = guarded(lambda: role_from_text(role))
    engine = _engine(settings)
    password_hash = guarded(lambda: hash_password(_password(password_env)))
    guarded(lambda: accounts.create_user(engine, user_id=user_id, display_name=name or user_id, role=r.value,
                                         password_hash=password_hash, staff_id=staff_id, branch_id=branch_id,
                                         team_id=team_id, can_reveal=can_reveal))
    _cli_audit(engine, "user_created", user_id, role=r.value, can_reveal=can_reveal, staff_id=staff_id,
               branch_id=branch_id, team_id=team_id)
    if as_json:
        print_json(accounts.get_user(engine, user_id))
    else:
        out.print(f"created {user_id} ({r.value})")


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """Every account with its role, scope and reveal grant."""
    from shouhu.storage import accounts

    rows = accounts.list_users(_engine(get_settings()))
    if as_json:
        print_json(rows)
        return
    table = Table("user", "name", "role", "staff", "branch", "team", "reveal", "active")
    for r in rows:
        table.add_row(r["user_id"], r["display_name"], r["role"], r["staff_id"] or "", r["branch_id"] or "",
                      r["team_id"] or "", "yes" if r["can_reveal"] else "", "yes" if r["active"] else "no")
    out.print(table)


@users_app.command("set")
def users_set(
    user_id: str,
    role: Annotated[str | None, typer.Option(help=ROLE_HELP)] = None,
    can_reveal: Annotated[bool | None, typer.Option("--can-reveal/--no-reveal")] = None,
    active: Annotated[bool | None, typer.Option("--active/--disabled")] = None,
    staff_id: Annotated[str | None, typer.Option()] = None,
    branch_id: Annotated[str | None, typer.Option()] = None,
    team_id: Annotated[str | None, typer.Option()] = None,
    reason: Annotated[str, typer.Option(help="Why (audit log).")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Change a role, scope, reveal grant or disable an account (audited as a permission change)."""
    from shouhu.access.roles import role_from_text
    from shouhu.storage import accounts

    values: dict[str, Any] = {}
    if role is not None:
        values["role"] = guarded(lambda: role_from_text(role)).value
    for key, value in (("can_reveal", can_reveal), ("active", active), ("staff_id", staff_id),
                       ("branch_id", branch_id), ("team_id", team_id)):
        if value is not None:
            values[key] = value
    if not values:
        raise typer.BadParameter("nothing to change")
    engine = _engine(get_settings())
    before = guarded(lambda: accounts.update_user(engine, user_id, **values))
    if "active" in values and not values["active"]:
        accounts.revoke_tokens(engine, user_id)
    _cli_audit(engine, "permission_changed", user_id, reason, before=before, after=values)
    if as_json:
        print_json({"user_id": user_id, "before": before, "after": values})
    else:
        out.print(f"{user_id}: {before} → {values}")


@users_app.command("token")
def users_token(user_id: str, name: Annotated[str, typer.Option(help="Label.")] = "cli",
                days: Annotated[int, typer.Option(help="Lifetime in days.")] = 30) -> None:
    """Issue an API bearer token for a user (printed once; only its hash is kept)."""
    from shouhu.errors import UnknownName
    from shouhu.storage import accounts

    engine = _engine(get_settings())
    if accounts.get_user(engine, user_id) is None:
        guarded(lambda: (_ for _ in ()).throw(UnknownName("user", user_id, [])))
    token = accounts.create_token(engine, user_id, name, days=days)
    _cli_audit(engine, "token_created", user_id, name=name, days=days)
    print(token)


@users_app.command("revoke")
def users_revoke(user_id: str) -> None:
    """Revoke every API token of a user."""
    from shouhu.storage import accounts

    engine = _engine(get_settings())
    n = accounts.revoke_tokens(engine, user_id)
    _cli_audit(engine, "token_revoked", user_id, count=n)
    out.print(f"revoked {n} token(s) of {user_id}")


@audit_app.command("verify")
def audit_verify(expect_head: Annotated[str | None, typer.Option(help="Head hash kept from an earlier "
                                                                      "verify: also detects a cut tail.")] = None,
                 as_json: JsonOpt = False) -> None:
    """Recompute the hash chain; exit 1 and name the first bad entry if anything was changed or removed."""
    from shouhu.storage import audit

    result = audit.verify(_engine(get_settings()), expect_head)
    if as_json:
        print_json(result.__dict__)
    elif result.ok:
        out.print(f"audit log intact: {result.entries:,} entries; head {result.head}")
    else:
        err.print(f"audit log TAMPERED at entry {result.broken_at}: {result.problem} "
                  f"({result.entries:,} entries verified before it)", style="red")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(action: Annotated[str | None, typer.Option(help="login, reveal, export, ...")] = None,
               actor: Annotated[str | None, typer.Option()] = None,
               limit: Annotated[int, typer.Option()] = 50, as_json: JsonOpt = False) -> None:
    """The latest audit entries, newest first."""
    from shouhu.storage import audit

    rows = audit.read(_engine(get_settings()), action=action, actor=actor, limit=limit)
    if as_json:
        print_json(rows)
        return
    table = Table("seq", "at", "actor", "action", "target", "reason")
    for r in rows:
        table.add_row(str(r["seq"]), r["at"][:19], r["actor"], r["action"], f"{r['target_kind']}:{r['target_id']}",
                      r["reason"])
    out.print(table)
