"""The pipeline step: build ``customer_360`` inside the warehouse."""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from shouhu.customer360.inputs import OPTIONAL_TABLES, REQUIRED_TABLES
from shouhu.customer360.marts import IBIS_TYPES, customer_360_expr
from shouhu.customer360.policies import customer_policies
from shouhu.errors import StorageError
from shouhu.model.marts import MARTS
from shouhu.model.schema import ENTITIES, LINEAGE_COLUMNS, Entity
from shouhu.storage.warehouse import Warehouse

TABLE = "customer_360"
STAGE = "_customer_360_policy"  # dropped again by the step


def build_customer_360(wh: Warehouse, as_of: date) -> int:
    """Materialise ``customer_360`` for ``as_of`` from the warehouse's tables; return its row count.

    Missing optional source tables (a book without wearables, say) are read as empty; a missing
    required table (the golden customers, the clusters, parties, policies) is an error naming it.
    """
    tables = input_tables(wh)
    # Stage the customer-policy links once: three fact groups read them, and a real table gives
    # the engine's planner true sizes instead of guesses about a windowed subquery.
    wh.materialize(STAGE, customer_policies(tables, as_of))
    try:
        wh.materialize(TABLE, customer_360_expr(tables, as_of, policies=wh.table(STAGE)))
    finally:
        wh.drop_table(STAGE)
    count: int = wh.table(TABLE).count().execute()
    return count


def input_tables(wh: Warehouse) -> dict[str, ir.Table]:
    missing = [name for name in REQUIRED_TABLES if not wh.has_table(name)]
    if missing:
        raise StorageError(f"customer_360 needs the tables {missing}: run identity resolution and golden "
                           "records first", tables=missing)
    return {name: wh.table(name) if wh.has_table(name) else empty_table(name)
            for name in REQUIRED_TABLES + OPTIONAL_TABLES}


def empty_table(name: str) -> ir.Table:
    """An empty table with the contract's columns, standing in for a table this warehouse does not have."""
    ent: Entity = MARTS[name] if name in MARTS else ENTITIES[name.removeprefix("src_")]
    columns = {f.name: IBIS_TYPES[f.dtype] for f in ent.fields}
    if name not in MARTS:
        columns.update({"_source": "string", "_file_id": "string", "_row_number": "int64"})
        assert tuple(columns)[-3:] == LINEAGE_COLUMNS
    schema = ibis.schema(columns)
    return ibis.memtable(pa.Table.from_pylist([], schema=schema.to_pyarrow()))
