"""Factories for hand-made party records and clusters (shared by golden, household and stewardship tests)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pyarrow as pa

from shouhu.ingest.validate import arrow_schema
from shouhu.model.marts import IDENTITY_CLUSTER
from shouhu.model.schema import PARTY

_DEFAULTS: dict[str, Any] = {
    "record_id": "R1", "channel": "agent", "name": "张伟", "gender": "M", "birth_date": date(1985, 3, 1),
    "id_type": "resident_id", "id_number": None, "phone": None, "email": None, "province": "上海市",
    "city": "上海市", "address": None, "occupation": None, "occupation_class": None, "annual_income": None,
    "marital_status": None, "agent_id": None, "created_at": datetime(2020, 1, 1),
    "_source": "agent_crm", "_file_id": "f", "_row_number": 2,
}


def make_party(**overrides: Any) -> dict[str, Any]:
    unknown = set(overrides) - set(_DEFAULTS)
    assert not unknown, unknown
    return _DEFAULTS | overrides


def party_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=arrow_schema(PARTY))


def cluster_table(assignments: dict[str, str], decided_by: str = "model") -> pa.Table:
    """{"agent_crm:R1": "CU1", ...} -> identity_cluster rows."""
    rows = [{"unique_id": uid, "source": uid.split(":", 1)[0], "record_id": uid.split(":", 1)[1],
             "customer_id": cid, "decided_by": decided_by} for uid, cid in assignments.items()]
    schema = pa.schema([(f.name, pa.string()) for f in IDENTITY_CLUSTER.fields])
    return pa.Table.from_pylist(rows, schema=schema)
