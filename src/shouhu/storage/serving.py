"""The serving database: where requests are answered. SQLAlchemy 2, migrated with Alembic.

SQLite file under the data directory by default; PostgreSQL by URL. The schema is owned by the
migrations in ``storage/migrations``; the table objects below mirror them for queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

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
    make_url,
    select,
)

from shouhu.errors import StorageError

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


def engine_for(url: str) -> Engine:
    """An engine for ``url``; plain ``postgresql://`` URLs use psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(parsed)


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
