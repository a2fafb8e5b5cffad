"""Publish marts to the serving database in ONE transaction: readers see the old marts or the new.

A failure anywhere rolls the whole publication back, so the previously published marts stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from sqlalchemy import MetaData, Table, delete

from shouhu.errors import StorageError
from shouhu.storage.serving import engine_for

BATCH_ROWS = 20_000


def publish_tables(url: str, tables: Mapping[str, pa.Table], fail_after: str | None = None) -> dict[str, int]:
    """Replace the rows of each serving table with ``tables[name]``; returns rows written per table.

    ``fail_after`` (tests only) raises after that table is written, to prove the rollback.
    """
    engine = engine_for(url)
    written: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            for name, data in tables.items():
                target = Table(name, MetaData(), autoload_with=conn)
                unknown = set(data.column_names) - set(target.c.keys())
                if unknown:
                    raise StorageError(f"cannot publish {name}: serving table has no columns {sorted(unknown)}")
                conn.execute(delete(target))
                for batch in data.to_batches(BATCH_ROWS):
                    rows: list[dict[str, Any]] = batch.to_pylist()
                    if rows:
                        conn.execute(target.insert(), rows)
                written[name] = data.num_rows
                if fail_after == name:
                    raise StorageError(f"injected failure after publishing {name}")
    except StorageError:
        raise
    except Exception as e:
        raise StorageError(f"publishing to the serving database failed; nothing was changed: {e}") from e
    finally:
        engine.dispose()
    return written
