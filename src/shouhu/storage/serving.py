"""The serving database: where requests are answered. SQLAlchemy 2, migrated with Alembic.

SQLite file under the data directory by default; PostgreSQL by URL. The schema is owned by the
migrations in ``storage/migrations``; the table objects below mirror them for queries.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    make_url,
    select,
)
from sqlalchemy.engine import URL

from shouhu.errors import StorageError
from shouhu.filemodes import create_private_file, private_dir, private_file

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
metadata = MetaData()

load_log = Table(
    "load_log",
    metadata,
    Column("file_id", String(64), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("file_name", String(512), nullable=False),
    Column("rows_in", BigInteger, nullable=False),
    Column("rows_loaded", BigInteger, nullable=False),
    Column("rows_quarantined", BigInteger, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("loaded_at", DateTime, nullable=False),
)


def sqlite_file(url: str | URL) -> tuple[Path, bool] | None:
    """The database file of a SQLite URL and whether it is opened read-only (``?mode=ro``); None otherwise.

    Both forms: ``sqlite:///path/db.sqlite`` and the URI form ``sqlite:///file:/path/db.sqlite?mode=ro&uri=true``.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    database = str(parsed.database)
    uri = str(parsed.query.get("uri", "")).lower() in ("true", "1")
    mode = str(parsed.query.get("mode", ""))
    if uri and database.startswith("file:"):
        database = unquote(database[len("file:"):].split("?", 1)[0])
        if database.startswith("//"):  # file://host/path: only the local form is meaningful here
            database = "/" + database[2:].split("/", 1)[-1]
        if database in ("", ":memory:") or mode == "memory":
            return None
    return Path(database), mode == "ro"


def recover_journal(path: Path) -> bool:
    """Roll back what a crashed writer left, so that read-only connections can open ``path`` again.

    A writer killed mid-transaction (``kill -9`` or a power cut during publish) leaves a *hot*
    ``-journal`` (or a ``-wal`` without its writer). A read-write connection rolls it back on its
    first read, but a read-only one cannot and fails ("attempt to write a readonly database") until
    the next writer comes. This opens the file read-write once and reads, which makes SQLite roll
    back (or recover the WAL) and remove the leftovers. A journal held by a live writer is not hot:
    SQLite leaves it alone. Returns True if there was something to recover.
    """
    journal, wal = Path(f"{path}-journal"), Path(f"{path}-wal")
    has_journal = journal.exists() and journal.stat().st_size > 0
    if not (has_journal or wal.exists()) or not path.exists():
        return False
    try:
        con = sqlite3.connect(str(path), timeout=5.0)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            con.close()
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):  # a live writer is committing: not a crash, nothing to do
            return False
        raise StorageError(f"the serving database {path} needs recovery after a crash (a hot journal is left) "
                           f"and this process cannot write it: {e}. Run `shouhu db upgrade` once as the "
                           "owner of the file. 服务库需要崩溃恢复，请以文件所有者运行一次 shouhu db upgrade") from e
    return True


def engine_for(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``url``; plain ``postgresql://`` URLs use psycopg 3.

    A SQLite file is created owner-only (0600, its folder 0700; its journals inherit the mode) and
    recovered from a crashed writer's journal before use (:func:`recover_journal`). ``read_only``
    (or ``?mode=ro&uri=true`` in the URL) opens SQLite read-only; such an engine checks for a crashed
    writer's journal each time it hands out a connection, since a writer may crash at any time.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    found = sqlite_file(parsed)
    if found is None:
        return create_engine(parsed)
    path, url_read_only = found
    if read_only and not url_read_only:
        parsed = parsed.set(database=f"file:{quote(str(path.absolute()))}",
                            query=dict(parsed.query) | {"mode": "ro", "uri": "true"})
    read_only = read_only or url_read_only
    if not read_only:
        private_dir(path.parent)
        create_private_file(path)
    else:
        with contextlib.suppress(OSError):  # not ours to change when another user owns it
            private_file(path)
    recover_journal(path)
    engine = create_engine(parsed)
    if read_only:
        @event.listens_for(engine, "checkout")
        def _recover(*_: Any) -> None:
            recover_journal(path)
    return engine


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> str:
    """Migrate the serving database to ``revision``; returns the revision it is now at."""
    from alembic import command

    try:
        command.upgrade(_alembic_config(url), revision)
        return current_revision(url) or "base"
    except Exception as e:
        raise StorageError(f"failed to migrate the serving database to {revision}: {e}") from e


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(_alembic_config(url), revision)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return str(head)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def publish_ingest_results(url: str, results: Iterable[Mapping[str, Any]]) -> int:
    """Upsert ingestion results so the console can show them without touching the warehouse."""
    keys = ("file_id", "source", "entity", "rows_in", "rows_loaded", "rows_quarantined", "seconds")
    rows = [{k: r[k] for k in keys} | {"file_name": r.get("file_name", r.get("file")), "loaded_at": datetime.now()}
            for r in results]
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            for row in rows:
                key = (load_log.c.file_id == row["file_id"]) & (load_log.c.source == row["source"]) \
                    & (load_log.c.entity == row["entity"])
                if conn.execute(select(load_log.c.file_id).where(key)).first() is None:
                    conn.execute(load_log.insert().values(**row))
    except Exception as e:
        raise StorageError(f"failed to publish ingest results to the serving database: {e}") from e
    finally:
        engine.dispose()
    return len(rows)


def read_ingest_files(url: str) -> list[dict[str, Any]]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            result = conn.execute(select(load_log).order_by(load_log.c.source, load_log.c.file_name))
            return [dict(r._mapping) for r in result]
    finally:
        engine.dispose()
