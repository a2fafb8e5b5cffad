"""The refresh run log in the serving database: one row per run, with per-step timings."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, MetaData, Table, insert, select, update

from shouhu.storage.serving import engine_for


def _table(conn: Any) -> Table:
    return Table("refresh_run", MetaData(), autoload_with=conn)


def start_run(url: str, run_id: str, engine: str, as_of: date) -> None:
    db = engine_for(url)
    try:
        with db.begin() as conn:
            conn.execute(insert(_table(conn)).values(run_id=run_id, started_at=datetime.now(), status="running",
                                                     engine=engine, as_of=as_of, steps="[]"))
    finally:
        db.dispose()


def finish_run(url: str, run_id: str, status: str, steps: list[dict[str, Any]], error: str | None = None) -> None:
    db = engine_for(url)
    try:
        with db.begin() as conn:
            runs = _table(conn)
            conn.execute(update(runs).where(runs.c.run_id == run_id).values(
                finished_at=datetime.now(), status=status, steps=json.dumps(steps, ensure_ascii=False, default=str),
                error=error))
    finally:
        db.dispose()


def list_runs(url: str, limit: int = 20) -> list[dict[str, Any]]:
    db = engine_for(url)
    try:
        return recent_runs(db, limit)
    finally:
        db.dispose()


def recent_runs(db: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """The newest ``limit`` runs on an open engine (the metrics scrape reuses the application's)."""
    with db.connect() as conn:
        runs = _table(conn)
        rows = conn.execute(select(runs).order_by(runs.c.started_at.desc()).limit(limit))
        return [dict(r._mapping) | {"steps": json.loads(r.steps or "[]")} for r in rows]
