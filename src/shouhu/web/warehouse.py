"""The warehouse for one request, read-only: ``shouhu refresh`` keeps its write lock, so a request
never holds the warehouse open longer than it needs. A warehouse that is locked by a writer or not
built yet answers 503 with a generic message instead of a stack trace. The driver's own text (which
may hold SQL and the literals in it) goes to the server log only, redacted, never to the caller."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException

from shouhu.errors import ConfigError, StorageError
from shouhu.storage.warehouse import Warehouse
from shouhu.web.state import AppState

BUSY = ("the warehouse is busy or unavailable (a refresh may be running); try again in a minute. "
        "数据仓库暂不可用（可能正在刷新），请稍后再试")


log = logging.getLogger("shouhu.web")
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
_DIGITS = re.compile(r"\d{4,}")


def redact(error: BaseException) -> str:
    """The first line of an error for the server log: quoted literals and runs of 4+ digits (a phone,
    an ID number, a name in a WHERE clause) replaced, at most 300 characters."""
    text = str(error).splitlines()[0] if str(error) else ""
    return _DIGITS.sub("#", _QUOTED.sub("'?'", text))[:300]


def unavailable(error: BaseException) -> HTTPException:
    """A 503 with the generic message and a reference; the redacted cause is logged under it."""
    ref = secrets.token_hex(4)
    log.warning("warehouse unavailable [ref %s]: %s: %s", ref, type(error).__name__, redact(error))
    return HTTPException(503, f"{BUSY} (ref {ref})")


@contextmanager
def read_warehouse(state: AppState) -> Iterator[Warehouse]:
    try:
        wh = Warehouse(state.settings.warehouse, read_only=True)
    except ConfigError as e:
        raise unavailable(e) from e
    try:
        yield wh
    except StorageError as e:
        raise unavailable(e) from e
    finally:
        wh.close()
