"""``shouhu backup create|verify|restore``: save and bring back the warehouse and the serving database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, err, guarded, out, print_json
from shouhu.settings import Settings, get_settings

backup_app = typer.Typer(help="Backups of the warehouse and the serving database (备份与恢复).", no_args_is_help=True)
ROLES = ("warehouse", "serving")


def _stores(settings: Settings, only: list[str] | None) -> list[Any]:
    from shouhu.storage.backup import store_of

    urls = {"warehouse": settings.warehouse, "serving": settings.serving}
    for role in only or []:
        if role not in urls:
            raise typer.BadParameter(f"unknown store {role!r}: choose from {', '.join(ROLES)}")
    return [store_of(role, urls[role]) for role in (only or ROLES)]


def _show(manifest: dict[str, Any], title: str) -> None:
    table = Table(title=title)
    for col in ("store", "kind", "file", "MB", "tables", "rows", "seconds"):
        table.add_column(col)
    for role, e in manifest["stores"].items():
        table.add_row(role, e["kind"], e["file"], f"{e['bytes'] / 2**20:.1f}", str(len(e["tables"])),
                      f"{sum(e['tables'].values()):,}", str(e.get("seconds", "")))
    out.print(table)


@backup_app.command("create")
def create(dest: Path, store: Annotated[list[str] | None, typer.Option(help="Only this store (repeat).")] = None,
           as_json: JsonOpt = False) -> None:
    """Save the warehouse and the serving database into the new folder DEST (with a manifest)."""
    from shouhu.storage import backup

    settings = get_settings()
    manifest = guarded(lambda: backup.create(_stores(settings, store), dest))
    if as_json:
        print_json(manifest)
        return
    _show(manifest, f"backup {dest} · {manifest['created_at']}")
    err.print("the encryption key (SHOUHU_ENCRYPTION_KEY) is not in the backup: keep it separately", style="yellow")


@backup_app.command("verify")
def verify(src: Path, as_json: JsonOpt = False) -> None:
    """Check every file of the backup SRC against the manifest's checksums."""
    from shouhu.storage import backup

    manifest = guarded(lambda: backup.verify(src))
    if as_json:
        print_json({"ok": True} | manifest)
        return
    _show(manifest, f"backup {src}: every checksum matches")


@backup_app.command("restore")
def restore(src: Path, yes: Annotated[bool, typer.Option("--yes", help="Replace the current databases.")] = False,
            store: Annotated[list[str] | None, typer.Option(help="Only this store (repeat).")] = None,
            ignore_current: Annotated[bool, typer.Option(
                "--ignore-current", help="The current serving database is unreadable: restore without "
                                         "carrying its erasures over.")] = False,
            as_json: JsonOpt = False) -> None:
    """Replace the configured databases with the backup SRC (stop `shouhu serve` and workers first).

    People erased after the backup was taken are erased again from the restored databases."""
    from shouhu.compliance.erasure import erased_people, reerase
    from shouhu.storage import backup
    from shouhu.storage.warehouse import Warehouse

    settings = get_settings()
    manifest = guarded(lambda: backup.verify(src))
    if not yes:
        err.print("restore replaces the current databases: run again with --yes", style="red")
        raise typer.Exit(2)
    stores = _stores(settings, store)
    erased: list[dict[str, Any]] = []
    if any(s.role == "serving" for s in stores) and not ignore_current:
        erased = guarded(lambda: erased_people(settings.serving))
    seconds: dict[str, float] = {}
    for s in stores:
        if s.role not in manifest["stores"]:
            raise typer.BadParameter(f"the backup has no {s.role} store")
        entry = manifest["stores"][s.role]
        seconds[s.role] = guarded(lambda: backup.restore_store(s, src, entry))  # noqa: B023 - called at once

    def again() -> list[str]:
        with Warehouse(settings.warehouse) as wh:
            return reerase(settings.serving, wh, erased)

    redone = guarded(again) if erased else []
    result = {"restored": seconds, "erased_again": len(redone)}
    if as_json:
        print_json(result)
        return
    for role, took in seconds.items():
        out.print(f"{role}: restored from {src} in {took:.2f} s; row counts match the manifest")
    if redone:
        out.print(f"{len(redone)} people erased after the backup were erased again")
