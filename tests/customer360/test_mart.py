"""The mart as a whole: contract columns and types, one row per customer, same answer on every
engine, and a sanity check on a generated book."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import ibis
import pytest

from shouhu.customer360 import build_customer_360, contract_schema, customer_360_expr
from shouhu.customer360.step import input_tables
from shouhu.errors import StorageError
from shouhu.model.marts import CUSTOMER_360
from shouhu.storage.warehouse import Warehouse
from tests.conftest import LoadedBookFactory
from tests.customer360.factories import (
    AS_OF,
    arrow_tables,
    family_story,
    load,
    make_cluster,
    make_party,
    merge,
    write_stand_in_marts,
)


def test_expression_has_the_contract_columns_and_types() -> None:
    tables = {name: ibis.memtable(data) for name, data in arrow_tables(family_story()).items()}
    schema = customer_360_expr(tables, AS_OF).schema()
    assert list(schema.names) == [f.name for f in CUSTOMER_360.fields]
    assert schema == contract_schema()
    assert str(schema["age"]) == "int64" and str(schema["last_contact_at"]) == "timestamp"


def test_every_customer_exactly_one_row(warehouse_url: str) -> None:
    # C1 gains a third record in another source, with the same record id as C2's party record:
    # records join within their own source, so nothing is counted twice or crosses over.
    story = merge(family_story(), {
        "src_party": [make_party(record_id="K1", channel="broker", _source="broker")],
        "identity_cluster": [make_cluster(source="broker", record_id="K1", customer_id="C1")],
    })
    with Warehouse(warehouse_url) as wh:
        load(wh, story)
        assert build_customer_360(wh, AS_OF) == 4
        mart = wh.read("customer_360")
        types = {f.name: str(f.type) for f in mart.schema}
        stage_left = wh.has_table("_customer_360_policy")
    assert sorted(mart.column("customer_id").to_pylist()) == ["C1", "C2", "C3", "C4"]
    assert list(types) == [f.name for f in CUSTOMER_360.fields]
    assert (types["age"], types["annual_income"], types["has_wearable"], types["next_premium_due"]) == (
        "int64", "double", "bool", "date32[day]")
    assert not stage_left
    c1 = next(r for r in mart.to_pylist() if r["customer_id"] == "C1")
    assert (c1["channels"], c1["policies_total"]) == ("agent,broker,direct", 3)


@pytest.mark.postgres
def test_duckdb_and_postgres_build_the_same_mart(pg_database: str, tmp_path: Path) -> None:
    marts = []
    for url in (f"duckdb:///{tmp_path / 'w.duckdb'}", pg_database):
        with Warehouse(url) as wh:
            load(wh, family_story())
            build_customer_360(wh, AS_OF)
            marts.append(wh.read("customer_360").sort_by("customer_id"))
    duck, pg = marts
    assert duck.schema.names == pg.schema.names
    for name in duck.schema.names:
        d, p = duck.column(name).to_pylist(), pg.column(name).to_pylist()
        if name == "last_contact_at":
            d, p = ([v.replace(tzinfo=None) if v else v for v in col] for col in (d, p))
        assert d == p, name


def test_missing_marts_are_named_and_missing_sources_are_empty(tmp_path: Path) -> None:
    rows = family_story()
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        load(wh, {k: v for k, v in rows.items() if k != "identity_cluster"})
        wh.drop_table("identity_cluster")
        with pytest.raises(StorageError, match="identity_cluster"):
            input_tables(wh)
        load(wh, rows)
        for name in ("src_wearable_daily", "src_claim", "household_member"):
            wh.drop_table(name)
        assert build_customer_360(wh, AS_OF) == 4
        c1 = next(r for r in wh.read("customer_360").to_pylist() if r["customer_id"] == "C1")
    assert (c1["has_wearable"], c1["claims_count"], c1["household_size"]) == (False, 0, 1)


@pytest.mark.slow
def test_generated_book_end_to_end(loaded_book: LoadedBookFactory) -> None:
    book, url = loaded_book(customers=600, seed=5)
    as_of = date.fromisoformat(json.loads((book / "manifest.json").read_text())["as_of"])
    with Warehouse(url) as wh:
        write_stand_in_marts(wh)
        n = build_customer_360(wh, as_of)
        mart = wh.read("customer_360").to_pandas()
        customers = wh.query("SELECT COUNT(*) FROM customer")[0][0]
        in_force_holders = wh.query(
            "SELECT COUNT(DISTINCT c.customer_id) FROM src_policy p JOIN identity_cluster c "
            "ON c.source = p._source AND c.record_id = p.holder_record_id "
            f"WHERE p.status IN ('in_force', 'reinstated') AND p.issue_date <= DATE '{as_of}'")[0][0]
        tp_total = wh.query("SELECT COUNT(*) FROM src_touchpoint t JOIN identity_cluster c "
                            "ON c.source = t._source AND c.record_id = t.record_id "
                            f"WHERE CAST(t.occurred_at AS DATE) <= DATE '{as_of}'")[0][0]
    assert n == customers == len(mart) == mart.customer_id.nunique()
    holders = mart[mart.annualised_premium > 0]
    assert len(holders) >= 0.9 * in_force_holders > 0
    assert (mart.policies_in_force <= mart.policies_total).all()
    assert (mart.touchpoints_30d <= mart.touchpoints_90d).all()
    assert (mart.touchpoints_90d <= mart.touchpoints_365d).all()
    assert mart.touchpoints_365d.sum() <= tp_total
    assert set(mart.lifecycle_stage) == {"acquisition", "conversion", "ongoing", "service", "upgrade", "retention"}
    assert mart.life_stage.dropna().nunique() == 5
    assert (mart.channel_count >= 1).all()
    assert mart.on_time_ratio.dropna().between(0, 1).all()
    assert (mart.next_premium_due.dropna() > as_of).all()
    assert ((mart.lifecycle_stage == "acquisition") == (mart.policies_total == 0)).all()
