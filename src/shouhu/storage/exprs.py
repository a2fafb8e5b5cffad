"""Small Ibis expression helpers that compile the same on DuckDB, PostgreSQL and Spark."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis


def one_per(table: Any, keys: str | Sequence[str]) -> Any:
    """One row per ``keys`` (any one of the duplicates, chosen deterministically).

    Ibis's ``distinct(on=...)`` compiles to ``FIRST()``, which PostgreSQL does not have.
    """
    cols = [keys] if isinstance(keys, str) else list(keys)
    others = [c for c in table.columns if c not in cols]
    ranked = table.mutate(_one_per_rank=ibis.row_number().over(group_by=cols, order_by=others or cols))
    return ranked.filter(ranked._one_per_rank == 0).drop("_one_per_rank")
