"""Property: whatever mixture of good and bad rows a file holds, nothing is lost or invented."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shouhu.ingest import ingest_file, load_mapping_file
from shouhu.storage.warehouse import Warehouse
from tests.ingest.sample import BAD, GOOD, HEADER, MAPPING

ROWS = st.lists(st.one_of(st.sampled_from(GOOD).map(lambda r: (r, True)),
                          st.sampled_from(list(BAD)).map(lambda r: (r, False))), max_size=40)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS, encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_rows_in_is_loaded_plus_quarantined(rows: list[tuple[str, bool]], encoding: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "m.toml").write_text(MAPPING, encoding="utf-8")
        extract = folder / "customers.csv"
        lines = [HEADER] + [f"{i},{row.split(',', 1)[1]}" for i, (row, _) in enumerate(rows)]
        extract.write_text("\n".join(lines) + "\n", encoding=encoding)
        with Warehouse(f"duckdb:///{folder / 'w.duckdb'}") as wh:
            result = ingest_file(wh, extract, load_mapping_file(folder / "m.toml"))
            loaded_ids = {r[0] for r in wh.query("SELECT record_id FROM src_party")} if rows else set()
            quarantined_rows = {int(r[0]) for r in wh.query("SELECT DISTINCT row_number FROM ingest_quarantine")}
    good = {str(i) for i, (_, ok) in enumerate(rows) if ok}
    assert result.rows_in == len(rows) == result.rows_loaded + result.rows_quarantined
    assert loaded_ids == good
    assert quarantined_rows == {i + 2 for i, (_, ok) in enumerate(rows) if not ok}
