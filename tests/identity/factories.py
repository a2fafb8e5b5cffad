"""Factories: small src_party tables for identity tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from shouhu.model.schema import PARTY
from shouhu.storage.warehouse import Warehouse

_DEFAULTS: dict[str, Any] = {
    "channel": "agent", "gender": "M", "birth_date": None, "id_type": None, "id_number": None, "phone": None,
    "email": None, "province": "上海市", "city": "上海市", "address": None,
}


def make_party(record_id: str, name: str, source: str = "agent_crm", **overrides: Any) -> dict[str, Any]:
    row = {**_DEFAULTS, "record_id": record_id, "name": name, **overrides}
    if row["id_number"] is not None and row["id_type"] is None:
        row["id_type"] = "resident_id"
    row["_source"] = source
    return row


def background(n: int) -> list[dict[str, Any]]:
    """Distinct unrelated people, so the model has non-matches to learn u from."""
    surnames, given = "王李张刘陈杨赵黄周吴", "明华强军平刚丽敏静秀英芳"
    rows = []
    for i in range(n):
        name = surnames[i % 10] + given[(i // 10) % 12] + given[(i * 7) % 12]
        rows.append(make_party(f"BG{i:05d}", name, gender="MF"[i % 2],
                               birth_date=f"19{50 + i % 45:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                               phone=f"139{i:08d}", city=["上海市", "杭州市", "南京市"][i % 3]))
    return rows


def write_party(tmp_path: Path, rows: list[dict[str, Any]], name: str = "wh.duckdb") -> str:
    url = f"duckdb:///{tmp_path / name}"
    cols = [*PARTY.field_names, "_source", "_file_id", "_row_number"]
    data = {c: [r.get(c) for r in rows] for c in cols}
    data["_file_id"] = ["test"] * len(rows)
    data["_row_number"] = list(range(1, len(rows) + 1))
    table = pa.table({c: pa.array(v, pa.int64() if c in ("_row_number", "occupation_class") else
                                  pa.float64() if c == "annual_income" else pa.string()) for c, v in data.items()})
    with Warehouse(url) as wh:
        wh.write_table("src_party", table)
    return url
