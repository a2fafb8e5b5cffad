"""Backup and restore of the warehouse and the serving database (``shouhu backup create|verify|restore``).

A backup is a folder (0700, files 0600) with one file per database and ``manifest.json``: when it was
taken, each file's SHA-256 and size, the serving schema revision, and every table's row count, so that a
restore can prove it brought back what was saved.

=================  =====================================================  ==================================
store              backup                                                 restore
=================  =====================================================  ==================================
DuckDB warehouse   ``COPY FROM DATABASE`` into a fresh DuckDB file        file copied beside the target,
                   (consistent: one read transaction)                     checked, then renamed over it
SQLite serving     SQLite's online backup API (consistent while the       the same: copy, ``integrity_check``,
                   server reads and writes)                               rename; stale journal/WAL removed
PostgreSQL (both)  ``pg_dump --format=custom``                            ``pg_restore --clean --if-exists
                                                                          --single-transaction``
=================  =====================================================  ==================================

A restore is all or nothing per store: the renamed file or the single transaction means that a restore
killed half-way leaves the previous database in place. Personal data stays as protected as in the live
stores: serving columns are encrypted with the keys in the serving database itself, so the backup is as
sensitive as the database and must be kept like it (see docs/backup.md). The encryption key
(``SHOUHU_ENCRYPTION_KEY``) is not in the backup: keep it separately.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from sqlalchemy import func, inspect, make_url, select, table

from shouhu.errors import ConfigError, InvalidInput
from shouhu.filemodes import private_dir, private_file, private_umask
from shouhu.storage.serving import engine_for

MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(ConfigError):
    code = "backup_failed"


@dataclass(frozen=True)
class Store:
    """One database to save: its role (``warehouse`` or ``serving``), engine and where it lives."""

    role: str
    kind: str        # duckdb | sqlite | postgresql
    url: str
    path: Path | None  # the file, for embedded stores

    @property
    def file_name(self) -> str:
        return f"{self.role}." + {"duckdb": "duckdb", "sqlite": "sqlite", "postgresql": "pgdump"}[self.kind]


def store_of(role: str, url: str) -> Store:
    parsed = urlparse(url)
    scheme = parsed.scheme.split("+")[0]
    if scheme in ("duckdb", "sqlite"):
        if scheme == "sqlite":  # sqlite:///rel/path, sqlite:////abs/path
            raw = make_url(url).database or ""
        else:  # as the warehouse reads it: duckdb:///abs/path, duckdb://rel/path
            raw = parsed.netloc + unquote(parsed.path) if parsed.netloc else unquote(parsed.path)
        if raw in ("", "/", ":memory:", "/:memory:"):
            raise InvalidInput(f"{role}: an in-memory database cannot be backed up", field=role)
        return Store(role, scheme, url, Path(raw))
    if scheme in ("postgres", "postgresql"):
        return Store(role, "postgresql", url, None)
    raise InvalidInput(f"{role}: no backup method for {scheme or url!r} (duckdb, sqlite, postgresql)", field=role)


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq understands it (no ``+psycopg`` driver part)."""
    parsed = urlparse(url)
    return parsed._replace(scheme="postgresql").geturl()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(args: list[str], what: str) -> None:
    if shutil.which(args[0]) is None:
        raise BackupError(f"{what}: {args[0]} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip()[-500:]}")


# -- row counts: the manifest's proof ------------------------------------------------------------------
def counts(store: Store) -> dict[str, int]:
    """Rows per table of a live store (or of a backup file opened as one)."""
    if store.kind == "duckdb":
        import duckdb

        with duckdb.connect(str(store.path), read_only=True) as con:
            names = [r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
            return {n: int(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names}  # type: ignore[index]
    engine = engine_for(store.url)
    try:
        with engine.connect() as conn:
            names = sorted(inspect(conn).get_table_names())
            return {n: int(conn.execute(select(func.count()).select_from(table(n))).scalar_one()) for n in names}
    finally:
        engine.dispose()


def _revision(store: Store) -> str | None:
    """The serving schema's Alembic revision (restored databases are upgraded by the next command)."""
    engine = engine_for(store.url)
    try:
        with engine.connect() as conn:
            if "alembic_version" not in inspect(conn).get_table_names():
                return None
            found = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one_or_none()
            return str(found) if found is not None else None
    finally:
        engine.dispose()


# -- create --------------------------------------------------------------------------------------------
def _save_duckdb(store: Store, target: Path) -> None:
    import duckdb

    if store.path is None or not store.path.exists():
        raise BackupError(f"warehouse: {store.path} does not exist")
    con = duckdb.connect(":memory:")
    try:
        try:
            con.execute(f"ATTACH {_quote(str(store.path))} AS backup_source (READ_ONLY)")
        except duckdb.IOException as e:
            raise BackupError(f"warehouse: {store.path} is in use by another process (a refresh or a load?); "
                              f"back up when it has finished ({e})") from e
        con.execute(f"ATTACH {_quote(str(target))} AS backup_target")
        con.execute("COPY FROM DATABASE backup_source TO backup_target")
        con.execute("DETACH backup_target")
    finally:
        con.close()


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _save_sqlite(store: Store, target: Path) -> None:
    if store.path is None or not store.path.exists():
        raise BackupError(f"serving: {store.path} does not exist")
    source = sqlite3.connect(f"{store.path.resolve().as_uri()}?mode=ro", uri=True)
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)  # SQLite's online backup: a consistent copy while others read and write
    finally:
        dest.close()
        source.close()


def _save(store: Store, target: Path) -> None:
    if store.kind == "duckdb":
        _save_duckdb(store, target)
    elif store.kind == "sqlite":
        _save_sqlite(store, target)
    else:
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), _libpq(store.url)],
             f"{store.role}: pg_dump")
    private_file(target)


def create(stores: list[Store], dest: Path) -> dict[str, Any]:
    """Save every store into the new folder ``dest``; returns the manifest (also written there)."""
    if dest.exists() and any(dest.iterdir()):
        raise InvalidInput(f"{dest}: the folder exists and is not empty; choose a new one", field="dest")
    with private_umask():
        private_dir(dest)
        manifest: dict[str, Any] = {"format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                                    "stores": {}}
        for store in stores:
            started = time.perf_counter()
            target = dest / store.file_name
            _save(store, target)
            entry = {"kind": store.kind, "file": store.file_name, "bytes": target.stat().st_size,
                     "sha256": _sha256(target), "seconds": round(time.perf_counter() - started, 3),
                     "tables": counts(store)}
            if store.role == "serving":
                entry["revision"] = _revision(store)
            manifest["stores"][store.role] = entry
        (dest / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


# -- verify and restore --------------------------------------------------------------------------------
def read_manifest(src: Path) -> dict[str, Any]:
    path = src / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InvalidInput(f"{path}: no manifest; is {src} a shouhu backup?", field="src") from e
    except json.JSONDecodeError as e:
        raise InvalidInput(f"{path}: not valid JSON (line {e.lineno}): the backup is damaged", field="src") from e
    if manifest.get("format") != FORMAT:
        raise InvalidInput(f"{path}: backup format {manifest.get('format')!r}, this version reads {FORMAT}",
                           field="format")
    return dict(manifest)


def verify(src: Path) -> dict[str, Any]:
    """Check every file against its SHA-256 and size; raises naming the first damaged file."""
    manifest = read_manifest(src)
    for role, entry in manifest["stores"].items():
        path = src / entry["file"]
        if not path.exists():
            raise InvalidInput(f"{path}: missing from the backup ({role})", field=role)
        if path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
            raise InvalidInput(f"{path}: checksum differs from the manifest: the file is damaged ({role})",
                               field=role)
    return manifest


def _replace_file(source: Path, target: Path, check: Any) -> None:
    """Copy ``source`` beside ``target``, check the copy, then rename it over ``target`` (atomic)."""
    private_dir(target.parent)
    partial = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(source, partial)
    private_file(partial)
    try:
        check(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    for stale in (f"{target}-journal", f"{target}-wal", f"{target}-shm", f"{target}.wal"):
        Path(stale).unlink(missing_ok=True)


def _check_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        result = con.execute("PRAGMA integrity_check").fetchone()
    finally:
        con.close()
    if not result or result[0] != "ok":
        raise BackupError(f"{path}: SQLite integrity check failed: {result}")


def _check_duckdb(path: Path) -> None:
    import duckdb

    duckdb.connect(str(path), read_only=True).close()


def restore_store(store: Store, src: Path, entry: dict[str, Any]) -> float:
    """Restore one store from the backup folder; returns seconds. Checks the row counts afterwards."""
    if store.kind != entry["kind"]:
        raise InvalidInput(f"{store.role}: the backup holds a {entry['kind']} database, the configured one is "
                           f"{store.kind}", field=store.role)
    started = time.perf_counter()
    source = src / entry["file"]
    if store.kind in ("duckdb", "sqlite"):
        assert store.path is not None
        _replace_file(source, store.path, _check_duckdb if store.kind == "duckdb" else _check_sqlite)
    else:
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
              "--dbname", _libpq(store.url), str(source)], f"{store.role}: pg_restore")
    now = counts(store)
    wrong = {t: (n, now.get(t)) for t, n in entry["tables"].items() if now.get(t) != n}
    if wrong:
        raise BackupError(f"{store.role}: after the restore these tables differ from the manifest "
                          f"(saved, now): {dict(list(wrong.items())[:5])}")
    return round(time.perf_counter() - started, 3)
