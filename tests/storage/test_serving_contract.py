"""Serving database contract on SQLite and PostgreSQL: migrations up and down, publishing."""

from __future__ import annotations

from sqlalchemy import inspect

from shouhu.storage import serving


def result(file_id: str = "f1", **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {"file_id": file_id, "source": "agent_crm", "entity": "party",
                              "file_name": "customers.csv", "rows_in": 10, "rows_loaded": 9,
                              "rows_quarantined": 1, "seconds": 0.5}
    return row | overrides


def test_migrations_upgrade_and_downgrade(serving_url: str) -> None:
    assert serving.current_revision(serving_url) is None
    assert serving.upgrade(serving_url) == "0001"
    engine = serving.engine_for(serving_url)
    assert "load_log" in inspect(engine).get_table_names()
    serving.upgrade(serving_url)  # running again is a no-op
    serving.downgrade(serving_url, "base")
    assert "load_log" not in inspect(engine).get_table_names()
    engine.dispose()


def test_publish_is_idempotent(serving_url: str) -> None:
    serving.upgrade(serving_url)
    serving.publish_ingest_results(serving_url, [result("a"), result("b", source="bancassurance")])
    serving.publish_ingest_results(serving_url, [result("a")])
    rows = serving.read_ingest_files(serving_url)
    assert sorted((r["file_id"], r["source"]) for r in rows) == [("a", "agent_crm"), ("b", "bancassurance")]
    assert rows[0]["rows_in"] == rows[0]["rows_loaded"] + rows[0]["rows_quarantined"]
