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
    assert serving.upgrade(serving_url) == serving.head_revision()
    engine = serving.engine_for(serving_url)
    assert "load_log" in inspect(engine).get_table_names()
    serving.upgrade(serving_url)  # running again is a no-op
    assert {"customer", "customer_360", "identity_decision", "refresh_run"} <= set(inspect(engine).get_table_names())
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


def test_published_tables_match_the_mart_contract(serving_url: str) -> None:
    """Migrations own the serving schema; this catches drift from shouhu.model.marts."""
    from shouhu.model.marts import CUSTOMER, CUSTOMER_360

    serving.upgrade(serving_url)
    engine = serving.engine_for(serving_url)
    for entity in (CUSTOMER, CUSTOMER_360):
        columns = {c["name"] for c in inspect(engine).get_columns(entity.table)}
        for f in entity.fields:
            expected = {f"{f.name}_enc"} if f.sensitive else {f.name}
            assert expected <= columns, (entity.table, f.name)
            if f.sensitive:
                assert f.name not in columns  # never stored in clear
    engine.dispose()
