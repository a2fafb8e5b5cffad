from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shouhu.storage.warehouse import Warehouse
from tests.segments.factory import make_customer_360

PutCustomers = Callable[..., Warehouse]


@pytest.fixture
def put_customers(tmp_path: Path) -> Iterator[PutCustomers]:
    """``put_customers(rows, url=None)`` -> an open warehouse whose customer_360 holds ``rows``."""
    opened: list[Warehouse] = []

    def put(rows: list[dict[str, Any]], url: str | None = None) -> Warehouse:
        wh = Warehouse(url or f"duckdb:///{tmp_path}/w.duckdb")
        opened.append(wh)
        wh.write_table("customer_360", make_customer_360(rows))
        return wh

    yield put
    for wh in opened:
        wh.close()
