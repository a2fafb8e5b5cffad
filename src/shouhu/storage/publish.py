"""Publish marts to the serving database in ONE transaction: readers see the old marts or the new.

Rows arrive as streams of Arrow record batches, so a million customers never sit in memory at once.
A failure anywhere rolls the whole publication back, so the previously published marts stay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

import pyarrow as pa
from sqlalchemy import Connection, MetaData, Table, delete

from shouhu.errors import StorageError
from shouhu.storage.serving import engine_for

BATCH_ROWS = 20_000
Rows: TypeAlias = pa.Table | Callable[[], Iterable[pa.RecordBatch]]


def _batches(data: Rows) -> Iterable[pa.RecordBatch]:
    if isinstance(data, pa.Table):
        batches: Iterable[pa.RecordBatch] = data.to_batches(BATCH_ROWS)
        return batches
    return data()


def publish_tables(url: str, tables: Mapping[str, Rows], fail_after: str | None = None,
                   finish: Callable[[Connection], Any] | None = None) -> dict[str, int]:
    """Replace the rows of each serving table with ``tables[name]``; returns rows written per table.

    Each value is an Arrow table or a function returning record batches (called inside the
    transaction). ``fail_after`` (tests only) raises after that table is written, to prove the rollback.
    ``finish`` runs last in the same transaction (workforce: re-apply pod assignments to customer_scope).
    """
    engine = engine_for(url)
    written: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            for name, data in tables.items():
                target = Table(name, MetaData(), autoload_with=conn)
                conn.execute(delete(target))
                written[name] = 0
                for batch in _batches(data):
                    unknown = set(batch.schema.names) - set(target.c.keys())
                    if unknown:
                        raise StorageError(f"cannot publish {name}: serving table has no columns {sorted(unknown)}")
                    rows: list[dict[str, Any]] = batch.to_pylist()
                    if rows:
                        conn.execute(target.insert(), rows)
                    written[name] += len(rows)
                if fail_after == name:
                    raise StorageError(f"injected failure after publishing {name}")
            if finish is not None:
                finish(conn)
    except StorageError:
        raise
    except Exception as e:
        raise StorageError(f"publishing to the serving database failed; nothing was changed: {e}") from e
    finally:
        engine.dispose()
    return written
