"""Batch protection gaps for every customer: the ``gaps`` step of the refresh pipeline.

Runs the same gap engine as a single diagnosis (``advice.service.batch_gaps``, method DIME by
default) over ``customer_360`` and writes ``customer_gap``, so that tags and segments can use
``gap_critical_illness > 0`` (重疾保障不足) and the like. Existing cover is the mart's in-force
sum assured by type; waiting periods and expiry are only seen in a single household's diagnosis.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from shouhu.advice.methods import DEFAULT_METHOD
from shouhu.advice.service import batch_gaps
from shouhu.model.marts import CUSTOMER_GAP
from shouhu.storage.warehouse import Warehouse

BATCH_ROWS = 100_000


def build_customer_gaps(wh: Warehouse, as_of: date, method: str = DEFAULT_METHOD) -> int:
    """Materialise ``customer_gap`` (one row per customer); returns the row count."""
    schema = pa.schema([(f.name, pa.string() if f.dtype == "string" else pa.float64()) for f in CUSTOMER_GAP.fields])
    parts = []
    for batch in wh.table("customer_360").to_pyarrow_batches(chunk_size=BATCH_ROWS):
        frame = batch_gaps(batch.to_pandas(), as_of, method=method)
        for f in CUSTOMER_GAP.fields:  # a type the engine never asked about still gets its column
            if f.name not in frame.columns:
                frame[f.name] = 0.0
        parts.append(pa.Table.from_pandas(frame[CUSTOMER_GAP.field_names], schema=schema, preserve_index=False))
    table = pa.concat_tables(parts) if parts else schema.empty_table()
    wh.write_table(CUSTOMER_GAP.table, table)
    return int(table.num_rows)
