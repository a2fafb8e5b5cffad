"""The whole refresh on a PostgreSQL warehouse gives the same marts as on DuckDB."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from shouhu.ingest import ingest_file, plan_book
from shouhu.pipeline.refresh import refresh
from shouhu.settings import Settings
from shouhu.storage.serving import engine_for
from shouhu.storage.warehouse import Warehouse
from tests.conftest import LoadedBookFactory

AS_OF = date(2026, 10, 31)


@pytest.mark.postgres
def test_postgres_warehouse_refresh_equals_duckdb(loaded_book: LoadedBookFactory, pg_database: str,
                                                  tmp_path: Path) -> None:
    book, duck_url = loaded_book(customers=300, seed=31)
    with Warehouse(pg_database) as wh:
        for item in plan_book(book):
            ingest_file(wh, item.path, item.mapping, item.extract)
    results = {}
    for name, url in (("duckdb", duck_url), ("postgres", pg_database)):
        settings = Settings(data_dir=tmp_path / name, warehouse_url=url, serving_url=f"sqlite:///{tmp_path / name}.db",
                            encryption_key="MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")
        run = refresh(settings, as_of=AS_OF)
        with Warehouse(url) as wh:
            results[name] = {
                "run": run,
                "clusters": sorted(wh.query("SELECT unique_id, customer_id FROM identity_cluster")),
                "c360": sorted(wh.query("SELECT customer_id, lifecycle_stage, policies_in_force, annualised_premium,"
                                        " household_size, touchpoints_365d FROM customer_360")),
                "tags": sorted(wh.query("SELECT customer_id, tag FROM customer_tag")),
                "households": sorted(wh.query("SELECT customer_id, household_id, role FROM household_member")),
            }
    duck, pg = results["duckdb"], results["postgres"]
    identity = next(s for s in pg["run"].steps if s["step"] == "identity")
    assert identity["detail"]["linked_in"] == "scratch duckdb"
    assert pg["clusters"] == duck["clusters"] and len(pg["clusters"]) > 300
    assert pg["households"] == duck["households"]
    assert pg["tags"] == duck["tags"]
    assert [(*r[:3], round(r[3], 6), *r[4:]) for r in pg["c360"]] == \
        [(*r[:3], round(r[3], 6), *r[4:]) for r in duck["c360"]]
    # What the 360 page lists (policies, timeline) and who may see whom are published alike.
    served = {}
    for name in ("duckdb", "postgres"):
        engine = engine_for(f"sqlite:///{tmp_path / name}.db")
        with engine.connect() as conn:
            served[name] = {
                "detail": sorted(conn.execute(text("SELECT customer_id, policies, timeline FROM customer_detail"))),
                "scope": sorted(conn.execute(text("SELECT * FROM customer_scope")))}
        engine.dispose()
    assert served["postgres"]["scope"] == served["duckdb"]["scope"]
    pg_detail = [(c, json.loads(p), json.loads(t)) for c, p, t in served["postgres"]["detail"]]
    duck_detail = [(c, json.loads(p), json.loads(t)) for c, p, t in served["duckdb"]["detail"]]
    assert pg_detail == duck_detail and any(p for _, p, _ in duck_detail) and any(t for _, _, t in duck_detail)
