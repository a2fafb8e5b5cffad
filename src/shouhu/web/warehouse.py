"""The warehouse for one request, read-only: ``shouhu refresh`` keeps its write lock, so a request
never holds the warehouse open longer than it needs. A warehouse that is locked by a writer or not
built yet answers 503 with a clear message instead of a stack trace."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException

from shouhu.errors import ConfigError, StorageError
from shouhu.storage.warehouse import Warehouse
from shouhu.web.state import AppState

BUSY = ("the warehouse is busy or unavailable (a refresh may be running); try again in a minute. "
        "数据仓库暂不可用（可能正在刷新），请稍后再试")


def _short(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:300]


@contextmanager
def read_warehouse(state: AppState) -> Iterator[Warehouse]:
    try:
        wh = Warehouse(state.settings.warehouse, read_only=True)
    except ConfigError as e:
        raise HTTPException(503, f"{BUSY} ({_short(e)})") from e
    try:
        yield wh
    except StorageError as e:
        raise HTTPException(503, f"{BUSY} ({_short(e)})") from e
    finally:
        wh.close()
