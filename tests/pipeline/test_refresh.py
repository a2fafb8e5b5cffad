"""The refresh pipeline end to end: publish, run log, failure safety, stewardship round trips."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from shouhu.errors import InvalidInput
from shouhu.identity import stewardship
from shouhu.pipeline.refresh import STEPS, RefreshFailed, refresh
from shouhu.settings import Settings
from shouhu.storage import runs
from shouhu.storage.publish import publish_tables
from shouhu.storage.serving import engine_for
from shouhu.storage.warehouse import Warehouse
from tests.conftest import LoadedBookFactory

AS_OF = date(2026, 10, 31)


def settings_for(loaded_book: LoadedBookFactory, tmp_path: Path) -> Settings:
    _, url = loaded_book(customers=600, seed=21)
    return Settings(data_dir=tmp_path / "data", warehouse_url=url, serving_url=f"sqlite:///{tmp_path / 's.sqlite'}")


def serving_rows(settings: Settings, sql: str) -> list[Any]:
    engine = engine_for(settings.serving)
    with engine.connect() as conn:
        rows = list(conn.execute(text(sql)))
    engine.dispose()
    return rows


def customer_of(settings: Settings, unique_id: str) -> str:
    return str(serving_rows(settings, f"SELECT customer_id FROM identity_record WHERE unique_id = '{unique_id}'")[0][0])


@pytest.fixture
def refreshed(loaded_book: LoadedBookFactory, tmp_path: Path) -> Settings:
    settings = settings_for(loaded_book, tmp_path)
    refresh(settings, as_of=AS_OF)
    return settings


def test_refresh_publishes_every_mart_and_logs_the_run(refreshed: Settings) -> None:
    s = refreshed
    with Warehouse(s.warehouse) as wh:
        customers = wh.query("SELECT COUNT(*) FROM customer")[0][0]
        records = wh.query("SELECT COUNT(*) FROM src_party")[0][0]
        phones = [r[0] for r in wh.query("SELECT phone FROM src_party WHERE phone IS NOT NULL LIMIT 50")]
    assert serving_rows(s, "SELECT COUNT(*) FROM customer")[0][0] == customers
    assert serving_rows(s, "SELECT COUNT(*) FROM customer_360")[0][0] == customers
    assert serving_rows(s, "SELECT COUNT(*) FROM customer_provenance")[0][0] == customers
    assert serving_rows(s, "SELECT COUNT(*) FROM identity_record")[0][0] == records
    assert serving_rows(s, "SELECT COUNT(*) FROM household_member")[0][0] == customers
    assert serving_rows(s, "SELECT COUNT(*) FROM customer_gap")[0][0] == customers
    assert serving_rows(s, "SELECT COUNT(*) FROM customer_value")[0][0] == customers
    in_force = serving_rows(s, "SELECT COUNT(*) FROM policy_in_force")[0][0]
    with Warehouse(s.warehouse) as wh:
        policies = wh.query("SELECT COUNT(DISTINCT policy_no) FROM src_policy")[0][0]
    assert 0 < in_force <= policies  # live policies only, one row each (policy anniversaries read them)
    actions = serving_rows(s, "SELECT customer_id, rank, reason_zh, reason_en FROM next_best_action")
    assert actions and all(zh and en for _, _, zh, en in actions)
    # the gaps step feeds tags: a life-cover gap tag exactly where the gap engine found one
    assert serving_rows(s, "SELECT COUNT(*) FROM customer_tag WHERE tag = 'life_gap'")[0][0] == \
        serving_rows(s, "SELECT COUNT(*) FROM customer_gap WHERE gap_life > 0")[0][0] > 0
    [run] = runs.list_runs(s.serving)
    assert run["status"] == "succeeded" and [step["step"] for step in run["steps"]] == list(STEPS)
    assert all(step["seconds"] >= 0 for step in run["steps"])
    # personal data is encrypted at rest in the serving database
    dump = json.dumps([list(r) for r in serving_rows(s, "SELECT * FROM customer")], default=str)
    assert not [p for p in phones if p in dump]
    masked = serving_rows(s, "SELECT phone_masked FROM customer WHERE phone_masked IS NOT NULL LIMIT 1")[0][0]
    assert "****" in masked


def test_a_failed_run_leaves_the_published_marts_intact(refreshed: Settings) -> None:
    s = refreshed
    before = serving_rows(s, "SELECT customer_id, lifecycle_stage FROM customer_360 ORDER BY customer_id")
    with Warehouse(s.warehouse) as wh:
        wh.drop_table("src_policy")  # the customer 360 step needs it
    with pytest.raises(RefreshFailed, match="unchanged"):
        refresh(s, as_of=AS_OF)
    assert serving_rows(s, "SELECT customer_id, lifecycle_stage FROM customer_360 ORDER BY customer_id") == before
    latest = runs.list_runs(s.serving)[0]
    assert latest["status"] == "failed" and latest["error"]


def test_publish_is_all_or_nothing(refreshed: Settings) -> None:
    import pyarrow as pa

    s = refreshed
    before = serving_rows(s, "SELECT COUNT(*) FROM customer_tag")[0][0]
    empty_tags = pa.table({"customer_id": pa.array([], pa.string()), "tag": pa.array([], pa.string()),
                           "label_zh": pa.array([], pa.string()), "label_en": pa.array([], pa.string())})
    with pytest.raises(Exception, match="injected failure"):
        publish_tables(s.serving, {"customer_tag": empty_tags}, fail_after="customer_tag")
    assert serving_rows(s, "SELECT COUNT(*) FROM customer_tag")[0][0] == before


def _multi_record_customer(s: Settings) -> list[str]:
    rows = serving_rows(s, "SELECT customer_id FROM identity_record GROUP BY customer_id HAVING COUNT(*) >= 2 "
                           "ORDER BY customer_id LIMIT 1")
    return [r[0] for r in serving_rows(
        s, f"SELECT unique_id FROM identity_record WHERE customer_id = '{rows[0][0]}' ORDER BY unique_id")]


def test_split_then_revert_round_trip(refreshed: Settings) -> None:
    s = refreshed
    records = _multi_record_customer(s)
    decision = stewardship.split_record(s.serving, records[-1], actor="steward-li", reason="different person")
    refresh(s, as_of=AS_OF)
    assert customer_of(s, records[-1]) != customer_of(s, records[0])
    stewardship.revert(s.serving, decision, actor="steward-li", reason="checked again: same person")
    refresh(s, as_of=AS_OF)
    assert customer_of(s, records[-1]) == customer_of(s, records[0])
    [entry] = [h for h in stewardship.history(s.serving) if h["id"] == decision]
    assert entry["actor"] == "steward-li" and entry["reverted_by"] == "steward-li" and entry["reverted_at"]


def test_merge_and_reject_are_honoured_by_later_refreshes(refreshed: Settings) -> None:
    s = refreshed
    singles = [r[0] for r in serving_rows(
        s, "SELECT c.customer_id FROM customer c JOIN identity_record r ON r.customer_id = c.customer_id "
           "WHERE c.id_number_bidx IS NULL GROUP BY c.customer_id HAVING COUNT(*) = 1 ORDER BY c.customer_id LIMIT 2")]
    assert len(singles) == 2
    stewardship.merge_customers(s.serving, singles[0], singles[1], actor="steward-wang", reason="same phone call")
    a = serving_rows(s, f"SELECT unique_id FROM identity_record WHERE customer_id = '{singles[0]}'")[0][0]
    b = serving_rows(s, f"SELECT unique_id FROM identity_record WHERE customer_id = '{singles[1]}'")[0][0]
    refresh(s, as_of=AS_OF)
    assert customer_of(s, a) == customer_of(s, b)
    stewardship.reject_pair(s.serving, a, b, actor="steward-wang", reason="second opinion")
    merged = next(d for d in stewardship.history(s.serving) if d["action"] == "merge")
    stewardship.revert(s.serving, merged["id"], actor="steward-wang", reason="superseded by the reject")
    refresh(s, as_of=AS_OF)
    assert customer_of(s, a) != customer_of(s, b)


def test_guard_rail_and_required_fields_in_decisions(refreshed: Settings) -> None:
    s = refreshed
    with_ids = [r[0] for r in serving_rows(
        s, "SELECT customer_id FROM customer WHERE id_number_bidx IS NOT NULL ORDER BY customer_id LIMIT 2")]
    with pytest.raises(InvalidInput, match="never merged"):
        stewardship.merge_customers(s.serving, with_ids[0], with_ids[1], actor="x", reason="y")
    with pytest.raises(InvalidInput, match="reason"):
        stewardship.split_record(s.serving, "agent_crm:nope", actor="x", reason=" ")
    with pytest.raises(InvalidInput, match="no published record"):
        stewardship.split_record(s.serving, "agent_crm:nope", actor="x", reason="y")
    with pytest.raises(InvalidInput, match=r"already reverted|does not exist"):
        stewardship.revert(s.serving, 999_999, actor="x", reason="y")


def test_review_queue_is_most_uncertain_first_and_excludes_decided_pairs(refreshed: Settings) -> None:
    import pyarrow as pa

    s = refreshed
    records = [r[0] for r in serving_rows(s, "SELECT unique_id FROM identity_record ORDER BY unique_id LIMIT 4")]
    review = pa.Table.from_pylist([
        {"unique_id_l": records[0], "unique_id_r": records[1], "customer_id_l": "c0", "customer_id_r": "c1",
         "match_probability": 0.9, "match_weight": 3.2, "explanation": "{}"},
        {"unique_id_l": records[2], "unique_id_r": records[3], "customer_id_l": "c2", "customer_id_r": "c3",
         "match_probability": 0.55, "match_weight": 0.3, "explanation": "{}"},
    ])
    publish_tables(s.serving, {"identity_review": review})
    queue = stewardship.review_queue(s.serving)
    assert [(q["unique_id_l"], q["unique_id_r"]) for q in queue] == [(records[2], records[3]), (records[0], records[1])]
    stewardship.reject_pair(s.serving, records[3], records[2], actor="a", reason="b")  # either order settles it
    assert [q["unique_id_l"] for q in stewardship.review_queue(s.serving)] == [records[0]]


def test_dev_key_is_private_and_reused(refreshed: Settings) -> None:
    key = refreshed.data_dir / "dev-encryption.key"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"
    content = key.read_text()
    refresh(refreshed, as_of=AS_OF)
    assert key.read_text() == content


def test_an_erased_person_stays_erased_when_a_channel_sends_them_again(refreshed: Settings) -> None:
    """Erase one customer everywhere, then a channel re-sends their party rows (a full reload): the next
    refresh removes those rows before building anything, so the person does not come back."""
    from shouhu.compliance import erasure

    s = refreshed
    customer = customer_of(s, str(serving_rows(s, "SELECT unique_id FROM identity_record LIMIT 1")[0][0]))
    records = serving_rows(s, f"SELECT source, record_id FROM identity_record WHERE customer_id = '{customer}'")
    engine = engine_for(s.serving)
    try:
        with Warehouse(s.warehouse) as wh:
            before = wh.read("src_party")
            keep = [(src, rec) for src, rec in zip(before.column("_source").to_pylist(),
                                                   before.column("record_id").to_pylist(), strict=True)]
            mask = [(src, rec) in {(str(a), str(b)) for a, b in records} for src, rec in keep]
            theirs = before.filter(mask)
            assert theirs.num_rows == len(records) > 0
            outcome = erasure.erase(engine, customer, warehouse=wh, data_dir=s.data_dir)
            assert outcome.warehouse["src_party"] == len(records) and outcome.serving["customer"] == 1
            wh.write_table("src_party", theirs, append=True)  # the channel sends them again
    finally:
        engine.dispose()
    result = refresh(s, as_of=AS_OF)
    step = next(x for x in result.steps if x["step"] == "activities")
    assert step["detail"]["erased_src_party"] == len(records)
    assert serving_rows(s, f"SELECT COUNT(*) FROM customer WHERE customer_id = '{customer}'")[0][0] == 0
    ids = ", ".join(f"'{r}'" for _, r in records)
    assert serving_rows(s, f"SELECT COUNT(*) FROM identity_record WHERE record_id IN ({ids})")[0][0] == 0
