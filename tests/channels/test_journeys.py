"""Journeys and lookback on a tiny hand-built warehouse, and on a small generated book."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from shouhu.channels import journeys as jn
from shouhu.channels.paths import from_arrow
from shouhu.storage.warehouse import Warehouse
from tests.customer360.factories import load, make_cluster, make_policy, make_touchpoint, merge

END = date(2026, 10, 31)


def _tp(event: str, record: str, source: str, channel: str, when: datetime) -> dict[str, object]:
    return make_touchpoint(event_id=event, record_id=record, channel=channel, occurred_at=when, _source=source,
                           _file_id="f", _row_number=1)


def story() -> dict[str, list[dict[str, object]]]:
    """C1 converts through the agent after app and internet touches; C2 only browses; C3 bought before the
    period; C4 bought with no touchpoint at all."""
    clusters = [make_cluster(source=s, record_id=r, customer_id=c) for s, r, c in (
        ("agent_crm", "R1", "C1"), ("app", "U1", "C1"), ("internet", "W1", "C1"), ("app", "U2", "C2"),
        ("agent_crm", "R3", "C3"), ("agent_crm", "R4", "C4"))]
    touches = [
        _tp("e1", "W1", "internet", "internet", datetime(2026, 5, 1, 10)),  # before C1's lookback
        _tp("e2", "U1", "app", "direct", datetime(2026, 6, 10, 10)),
        _tp("e3", "W1", "internet", "internet", datetime(2026, 6, 12, 10)),
        _tp("e4", "W1", "internet", "internet", datetime(2026, 6, 13, 10)),  # repeat
        _tp("e5", "U1", "app", "direct", datetime(2026, 6, 20, 8)),  # the conversion day counts
        _tp("e6", "U1", "app", "direct", datetime(2026, 7, 1, 8)),  # after the conversion: ignored
        _tp("e7", "U2", "app", "direct", datetime(2025, 1, 1, 8)),  # before the period
        _tp("e8", "U2", "app", "direct", datetime(2026, 9, 1, 8)),
        _tp("e9", "U2", "app", "direct", datetime(2026, 9, 20, 8)),
    ]
    policies = [
        make_policy(policy_no="P1", holder_record_id="R1", issue_date=date(2026, 6, 20), annual_premium=5000.0),
        make_policy(policy_no="P2", holder_record_id="R1", issue_date=date(2026, 6, 20), annual_premium=1000.0),
        make_policy(policy_no="P3", holder_record_id="R1", issue_date=date(2026, 8, 1), annual_premium=7000.0),
        make_policy(policy_no="P4", holder_record_id="R3", issue_date=date(2025, 6, 1)),
        make_policy(policy_no="P5", holder_record_id="R4", issue_date=date(2026, 2, 1), annual_premium=3000.0),
    ]
    return merge({"identity_cluster": clusters, "src_touchpoint": touches, "src_policy": policies})


@pytest.fixture
def tables(warehouse_url: str):
    with Warehouse(warehouse_url) as wh:
        load(wh, story())
        yield jn.warehouse_tables(wh)


def _rows(tables, **kw):
    cfg = jn.JourneyConfig(end=END, **kw)
    out = jn.journeys(tables, cfg).to_pyarrow().to_pylist()
    return {r["customer_id"]: r for r in out}


def test_paths_lookback_sale_touch_and_repeats(tables) -> None:
    rows = _rows(tables, lookback_days=30)
    assert set(rows) == {"C1", "C2", "C4"}  # C3's policy is before the period and it has no touches
    assert rows["C1"]["path"] == "direct>internet>direct>agent"
    assert (rows["C1"]["converted"], rows["C1"]["value"]) == (1, 6000.0)  # first conversion day only
    assert (rows["C2"]["path"], rows["C2"]["converted"]) == ("direct", 0)  # 30 days before its last touch
    assert rows["C4"]["path"] == "agent"


def test_options_change_the_paths(tables) -> None:
    rows = _rows(tables, lookback_days=60, collapse_repeats=False, sale_touch=False)
    assert rows["C1"]["path"] == "internet>direct>internet>internet>direct"
    assert rows["C2"]["path"] == "direct>direct"
    assert rows["C4"]["path"] is None  # converted with no touch: unattributed
    rows = _rows(tables, lookback_days=60, max_touches=2)
    assert rows["C1"]["path"] == "direct>agent"


def test_aggregated_paths(tables) -> None:
    agg = jn.aggregate(jn.journeys(tables, jn.JourneyConfig(end=END, lookback_days=30, sale_touch=False)))
    paths = from_arrow(agg.to_pyarrow())
    assert paths.totals() == {"journeys": 2.0, "conversions": 1.0, "nulls": 1.0, "value": 6000.0}
    assert paths.unattributed == {"conversions": 1.0, "value": 3000.0}
    assert sorted(paths.path_strings()) == ["direct", "direct>internet>direct"]


def test_without_identity_each_record_is_a_customer(warehouse_url: str) -> None:
    rows = story()
    del rows["identity_cluster"]
    with Warehouse(warehouse_url) as wh:
        load(wh, rows)
        wh.drop_table("identity_cluster")
        got = _rows(jn.warehouse_tables(wh), lookback_days=30)
    assert got["agent_crm:R1"]["path"] == "agent"  # the app and internet records are other "customers"
    assert got["app:U1"]["path"] == "direct"


def test_generated_book_journeys(loaded_book) -> None:
    from tests.customer360.factories import write_stand_in_marts

    _, url = loaded_book(customers=800, seed=3)
    with Warehouse(url) as wh:
        write_stand_in_marts(wh)
        tables = jn.warehouse_tables(wh)
        end = jn.default_end(tables)
        paths = from_arrow(jn.aggregate(jn.journeys(tables, jn.JourneyConfig(end=end))).to_pyarrow())
        policies_in_period = wh.query(
            "SELECT COUNT(DISTINCT c.customer_id) FROM src_policy p JOIN identity_cluster c "
            "ON c.source = p._source AND c.record_id = p.holder_record_id "
            f"WHERE p.issue_date > DATE '{end.replace(year=end.year - 1)}' AND p.issue_date <= DATE '{end}'")[0][0]
    totals = paths.totals()
    assert totals["conversions"] + paths.unattributed.get("conversions", 0) == policies_in_period > 0
    assert totals["nulls"] > 0
    assert {"agent", "internet", "direct"} <= set(paths.channels)
    assert max(paths.lengths) > 1
