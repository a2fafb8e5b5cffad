"""Households: family edges, roles, guard against giant households, and accuracy on a book."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pandas as pd
import pyarrow as pa

from shouhu.identity.golden import build_golden_records
from shouhu.identity.households import Edge, assign_households, build_households
from shouhu.storage.warehouse import Warehouse
from tests.conftest import LoadedBookFactory

AS_OF = date(2026, 10, 31)
PEOPLE = {
    "dad": {"birth_date": date(1980, 1, 1), "annual_income": 400000.0},
    "mum": {"birth_date": date(1982, 1, 1), "annual_income": 300000.0},
    "kid": {"birth_date": date(2015, 1, 1), "annual_income": None},
    "gran": {"birth_date": date(1950, 1, 1), "annual_income": 50000.0},
    "lodger": {"birth_date": date(1985, 1, 1), "annual_income": 100000.0},
    "alone": {"birth_date": date(1970, 1, 1), "annual_income": 1.0},
}


def households(edges: list[Edge]) -> dict[str, dict[str, str]]:
    rows = assign_households(PEOPLE, edges, PEOPLE, AS_OF)
    return {r["customer_id"]: r for r in rows}


def test_family_roles_from_relationships_policies_and_ages() -> None:
    h = households([
        Edge("mum", "dad", "relationship", "spouse"),
        Edge("dad", "kid", "policy", None),  # dad insures the child: relation from ages
        Edge("gran", "mum", "beneficiary", "child"),  # mum is gran's child
        Edge("lodger", "dad", "shared_address", None),
    ])
    assert len({h[c]["household_id"] for c in ("dad", "mum", "kid", "gran", "lodger")}) == 1
    assert h["dad"]["role"] == "head"  # highest income among adults
    assert h["mum"]["role"] == "spouse"
    assert h["kid"]["role"] == "child"
    assert h["gran"]["role"] == "parent"
    assert h["lodger"]["role"] == "other"
    assert h["kid"]["evidence"] == "policy"
    assert h["alone"]["role"] == "head" and h["alone"]["evidence"] == "self"
    assert h["alone"]["household_id"] != h["dad"]["household_id"]


def test_household_ids_are_stable_and_cover_everyone_once() -> None:
    edges = [Edge("mum", "dad", "relationship", "spouse")]
    first, second = households(edges), households(list(reversed(edges)))
    assert first == second
    assert set(first) == set(PEOPLE)


def test_shared_address_groups_are_capped(tmp_path: object) -> None:
    import tempfile

    from tests.identity.party_factory import cluster_table, make_party, party_table

    rows = [make_party(record_id=f"R{i}", address="北京市海淀区学院路1号宿舍楼", id_number=None) for i in range(8)]
    rows += [make_party(record_id="X1", address="上海市长宁区某路2号"), make_party(record_id="X2",
             address="上海市长宁区某路2号", name="王芳")]
    with tempfile.TemporaryDirectory() as d, Warehouse(f"duckdb:///{d}/w.duckdb") as wh:
        wh.write_table("src_party", party_table(rows))
        wh.write_table("identity_cluster", cluster_table({f"agent_crm:{r['record_id']}": f"CU{r['record_id']}"
                                                           for r in rows}))
        build_golden_records(wh)
        n = build_households(wh, AS_OF)
        members = wh.read("household_member").to_pylist()
    sizes = Counter(m["household_id"] for m in members)
    assert n == 9 and sorted(sizes.values()) == [1] * 8 + [2]  # the dormitory does not make one family


def test_households_match_the_truth_on_a_book(loaded_book: LoadedBookFactory) -> None:
    book, url = loaded_book(customers=800, seed=9)
    truth = pd.read_parquet(book / "ground_truth.parquet")
    truth = truth[~truth.is_bad]
    with Warehouse(url) as wh:
        # perfect identity resolution, so that only the household step is measured
        cluster = pa.Table.from_pandas(pd.DataFrame({
            "unique_id": truth.source + ":" + truth.record_id, "source": truth.source,
            "record_id": truth.record_id, "customer_id": truth.person_id, "decided_by": "rule"}),
            preserve_index=False)
        wh.write_table("identity_cluster", cluster)
        build_golden_records(wh)
        build_households(wh, AS_OF)
        got = wh.read("household_member").to_pandas()
    true_household = truth.drop_duplicates("person_id").set_index("person_id").household_id
    got["truth"] = got.customer_id.map(true_household)
    purity = got.groupby("household_id").truth.agg(lambda s: s.value_counts().iloc[0]).sum() / len(got)
    completeness = got.groupby("truth").household_id.agg(lambda s: s.value_counts().iloc[0]).sum() / len(got)
    assert purity >= 0.95, purity
    assert completeness >= 0.80, completeness
    assert set(got.role) <= {"head", "spouse", "child", "parent", "other"}
    assert (got.groupby("household_id").role.apply(lambda r: (r == "head").sum()) == 1).all()
