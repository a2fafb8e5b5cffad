"""Bounded numeric request parameters, shared by the API, console and H5 routes.

Every integer or number a caller can send has both bounds, so that an absurd value (an offset of
2**63, an id past the database's integer) is a 422 naming the field, never an OverflowError (500)
in the database driver. tests/web/test_params.py walks every route and fails on an unbounded one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_OFFSET = 10_000_000          # paging: past the largest book we serve (1M customers, tens of M rows)
MAX_ID = 2_147_483_647           # row ids: PostgreSQL INTEGER (SQLite holds more; the API promises this)
MAX_SEQ = 9_007_199_254_740_991  # audit sequence numbers: BIGINT, kept within what JSON clients read exactly

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip (paging)")]
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
Version = Annotated[int, Path(ge=1, le=MAX_ID, description="version number (1, 2, ...)")]
BeforeSeq = Annotated[int | None, Query(ge=1, le=MAX_SEQ, description="page: entries before this sequence number")]
