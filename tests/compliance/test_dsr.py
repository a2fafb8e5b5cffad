"""Data-subject requests on a hand-made book (not the generator's): due dates on the mainland calendar, an
opt-out carried out at once, a copy with the person's data in clear for them only, a deletion that restricts
under a retention period or a hold and erases otherwise (serving, warehouse, files, subject key), and a
refresh that removes rows a channel sent again. SQLite and PostgreSQL serving; DuckDB warehouse."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, insert, select

from shouhu.compliance import dsr, erasure, retention, subject_keys
from shouhu.errors import InvalidInput
from shouhu.storage import dsr as dsr_store
from shouhu.storage import journeys as consent_store
from shouhu.storage import serving
from shouhu.storage.tables import reflected
from shouhu.storage.warehouse import Warehouse
from tests.journeys.conftest import CIPHER, add_customer

MONDAY = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def db(serving_url: str) -> Iterator[Engine]:
    serving.upgrade(serving_url)
    engine = serving.engine_for(serving_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _d(s: str) -> date:
    return date.fromisoformat(s)


def _person(engine: Engine, customer_id: str, records: list[tuple[str, str]]) -> None:
    """A customer as a refresh would publish them, plus what the operating side added since."""
    add_customer(engine, customer_id, phone="13912345678", email="li.na@example.cn")
    ir = reflected(engine, "identity_record")
    tag = reflected(engine, "customer_tag")
    task = reflected(engine, "task")
    with engine.begin() as conn:
        conn.execute(insert(ir), [{"unique_id": f"{s}:{r}", "source": s, "record_id": r, "customer_id": customer_id,
                                   "decided_by": "model"}
                                  for s, r in records])
        conn.execute(insert(tag).values(customer_id=customer_id, tag="young_family", label_zh="年轻家庭",
                                        label_en="Young family"))
        conn.execute(insert(task).values(customer_id=customer_id, title="回访", source="manual", status="open",
                                         priority=2, due_date=date(2026, 12, 9), created_at="2026-12-01T00:00:00Z",
                                         updated_at="2026-12-01T00:00:00Z", created_by="agent"))
    with engine.begin() as conn:
        subject_keys.seal(conn, CIPHER, customer_id, "a sealed trail")


def _warehouse(where: Path | str, policies: list[dict[str, object]]) -> Warehouse:
    """A bank's extract, hand-written: two records of the person, one of someone else, their policies."""
    wh = Warehouse(f"duckdb:///{where}" if isinstance(where, Path) else where)
    wh.write_table("src_party", pd.DataFrame({
        "record_id": ["B-01", "B-02", "B-99"], "_source": "bank", "_file_id": "f1",
        "name": ["李娜", "李娜", "王强"]}))
    wh.write_table("src_policy", pd.DataFrame(policies) if policies else pd.DataFrame({
        "policy_no": pd.Series([], dtype="string"), "_source": pd.Series([], dtype="string"),
        "holder_record_id": pd.Series([], dtype="string"), "insured_record_id": pd.Series([], dtype="string"),
        "coverage_term_years": pd.Series([], dtype="float"), "status": pd.Series([], dtype="string"),
        "status_date": pd.Series([], dtype="datetime64[ns]"), "_file_id": pd.Series([], dtype="string")}))
    wh.write_table("ingest_file", pd.DataFrame({"file_id": ["f1"], "file_name": ["银行客户_20261130.csv"]}))
    wh.write_table("ingest_quarantine", pd.DataFrame({
        "source": ["bank", "bank"], "file_id": "f1", "row_number": [7, 8], "field": "phone", "reason": "bad",
        "raw_record": ['{"record_id": "B-02", "phone": "1391234"}', '{"record_id": "B-99", "phone": "x"}']}))
    wh.write_table("customer_360", pd.DataFrame({"customer_id": ["C-LI", "C-WANG"], "age": [34, 51]}))
    return wh


def test_due_dates_follow_the_kind_and_the_working_calendar(db: Engine) -> None:
    add_customer(db, "C1")
    access = dsr.submit(db, "C1", "access", "h5", "customer:C1", now=MONDAY)
    assert access["status"] == "open" and access["due_at"].startswith("2026-12-28")  # 15 working days, no holiday
    # received the Friday before National Day 2026: the holiday week does not count
    friday = datetime(2026, 9, 25, 2, 0, tzinfo=UTC)
    due = dsr.due_at("deletion", friday)
    assert due.date() > date(2026, 10, 16)  # 15 weekdays would be 16 October; 1-7 October are off
    withdrawal = dsr.submit(db, "C1", "consent_withdrawal", "console", "service-1", {"purpose": "marketing"},
                            now=MONDAY)
    assert withdrawal["due_at"] == "2026-12-08T02:00:00Z" and withdrawal["status"] == "done"  # 24 h, done at once


@pytest.mark.parametrize(("kind", "detail", "field"), [
    ("erase_me", {}, "kind"),
    ("correction", {"field": "salary", "value": "1"}, "detail.field"),
    ("correction", {"field": "phone"}, "detail.value"),
    ("consent_withdrawal", {"purpose": "everything"}, "detail.purpose"),
    ("access", {"note": "x" * 501}, "detail.note"),
])
def test_bad_requests_name_the_field(db: Engine, kind: str, detail: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as e:
        dsr.submit(db, "C1", kind, "h5", "customer:C1", detail)
    assert e.value.data["field"] == field


def test_an_opt_out_of_personalised_marketing_applies_at_once(db: Engine) -> None:
    add_customer(db, "C1")
    assert not consent_store.sales_stopped(db, "C1")
    done = dsr.submit(db, "C1", "opt_out_personalised", "h5", "customer:C1", now=MONDAY)
    assert done["status"] == "done" and done["outcome"]["consent_withdrawn"] == ["profiling"]
    assert consent_store.consent_state(db, "C1")[("profiling", "any")] is False
    assert consent_store.sales_stopped(db, "C1")  # the next best actions fall back to service actions
    assert dsr.verify_proof(done)


def test_a_copy_holds_the_persons_data_in_clear_for_them_only(db: Engine, tmp_path: Path) -> None:
    _person(db, "C-LI", [("bank", "B-01")])
    req = dsr.submit(db, "C-LI", "portability", "h5", "customer:C-LI")
    done = dsr.complete(db, req["id"], "compliance-1", cipher=CIPHER, data_dir=tmp_path)
    path = dsr.copy_path(tmp_path, done)
    assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["tables"]["customer"][0]["phone"] == "13912345678"  # decrypted: it is their own data
    assert "phone_bidx" not in data["tables"]["customer"][0] and "subject_key" not in data["tables"]
    assert data["tables"]["customer_tag"][0]["tag"] == "young_family"
    assert done["outcome"]["rows"]["customer"] == 1 and dsr.verify_proof(done)
    with pytest.raises(InvalidInput, match="already done"):
        dsr.complete(db, req["id"], "compliance-1", cipher=CIPHER, data_dir=tmp_path)


def test_deletion_erases_every_store_when_nothing_is_retained(db: Engine, tmp_path: Path, warehouse_url: str
                                                              ) -> None:
    _person(db, "C-LI", [("bank", "B-01"), ("bank", "B-02")])
    ended = {"policy_no": "OLD1", "_source": "bank", "holder_record_id": "B-01", "insured_record_id": "B-01",
             "coverage_term_years": 1.0, "status": "surrendered", "status_date": _d("2019-03-01"), "_file_id": "f1"}
    other = ended | {"policy_no": "W1", "holder_record_id": "B-99", "insured_record_id": "B-99",
                     "status": "in_force", "status_date": None}
    copy = tmp_path / "dsr" / "C-LI"
    copy.mkdir(parents=True)
    (copy / "request-1.json").write_text("{}", encoding="utf-8")
    with _warehouse(warehouse_url, [ended, other]) as wh:  # DuckDB and PostgreSQL warehouses
        req = dsr.submit(db, "C-LI", "deletion", "h5", "customer:C-LI")
        assert dsr.deletion_plan(db, "C-LI", wh)["action"] == "erase"  # a 1-year policy ended > 5 years ago
        done = dsr.complete(db, req["id"], "compliance-1", warehouse=wh, data_dir=tmp_path)
        assert wh.query("SELECT record_id FROM src_party ORDER BY record_id") == [("B-99",)]
        assert wh.query("SELECT policy_no FROM src_policy") == [("W1",)]
        assert wh.query("SELECT customer_id FROM customer_360") == [("C-WANG",)]
        assert [r[0] for r in wh.query("SELECT raw_record FROM ingest_quarantine")] == [
            '{"record_id": "B-99", "phone": "x"}']
    out = done["outcome"]
    assert out["mode"] == "erased" and out["key_destroyed"] is True
    assert out["warehouse"]["src_party"] == 2 and out["source_files"] == ["银行客户_20261130.csv"]
    assert out["files"] == ["dsr/C-LI/request-1.json"] and not copy.exists()
    for table in ("customer", "customer_360", "customer_tag", "task", "identity_record"):
        t = reflected(db, table)
        with db.connect() as conn:
            assert conn.execute(select(func.count()).select_from(t).where(t.c.customer_id == "C-LI")).scalar() == 0
    with db.connect() as conn, pytest.raises(subject_keys.Shredded):
        subject_keys.unseal(conn, CIPHER, "C-LI", "s1:AAAA")
    # the request and its proof stay (legal records, the customer id only)
    assert dsr.verify_proof(done) and [e["action"] for e in dsr_store.events_of(db, req["id"])] == ["received",
                                                                                                     "done"]


def test_a_channel_sending_the_person_again_is_removed_at_the_next_refresh(db: Engine, tmp_path: Path) -> None:
    _person(db, "C-LI", [("bank", "B-01")])
    with _warehouse(tmp_path / "w.duckdb", []) as wh:
        erasure.erase(db, "C-LI", warehouse=wh)
        wh.write_table("src_party", pd.DataFrame({"record_id": ["B-01", "B-99"], "_source": "bank",
                                                  "_file_id": "f2", "name": ["李娜", "王强"]}), append=True)
        assert erasure.reapply(db, wh) == {"erased_src_party": 1}
        assert wh.query("SELECT record_id FROM src_party ORDER BY record_id") == [("B-02",), ("B-99",), ("B-99",)]
        assert erasure.reapply(db, wh) == {}  # nothing more to remove: safe to run at every refresh


def test_deletion_restricts_while_a_contract_is_retained_then_the_job_erases(db: Engine, tmp_path: Path) -> None:
    _person(db, "C-LI", [("bank", "B-01")])
    lapsed = {"policy_no": "L1", "_source": "bank", "holder_record_id": "B-01", "insured_record_id": "B-01",
              "coverage_term_years": 20.0, "status": "lapsed", "status_date": _d("2020-05-01"), "_file_id": "f1"}
    with _warehouse(tmp_path / "w.duckdb", [lapsed]) as wh:
        req = dsr.submit(db, "C-LI", "deletion", "console", "service-1")
        done = dsr.complete(db, req["id"], "compliance-1", warehouse=wh, data_dir=tmp_path)
        plan = done["outcome"]["plan"]
        assert plan == {"action": "restrict", "reason": "contract_retention", "until": "2030-05-01",
                        "policies": ["L1"]}  # a 20-year contract: 10 years from its end (art. 87)
        assert done["outcome"]["serving"] == {"customer_tag": 1}  # profiling data goes at once
        assert consent_store.sales_stopped(db, "C-LI")
        assert consent_store.consent_state(db, "C-LI")[("marketing", "any")] is False
        assert retention.run(db, today=date(2029, 1, 1), warehouse=wh)["retained"] == [
            {"customer_id": "C-LI", "until": "2030-05-01"}]
        hold = retention.place_hold(db, "C-LI", "诉讼 (2030)沪0101民初123号", "compliance-1")
        assert retention.run(db, today=date(2030, 6, 1), warehouse=wh)["held"] == ["C-LI"]
        retention.release_hold(db, hold, "compliance-1")
        summary = retention.run(db, today=date(2030, 6, 1), warehouse=wh, data_dir=tmp_path)
        assert summary["erased"] == ["C-LI"]
        assert wh.query("SELECT COUNT(*) FROM src_party WHERE record_id = 'B-01'") == [(0,)]
    c = reflected(db, "customer")
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(c).where(c.c.customer_id == "C-LI")).scalar() == 0


def test_every_serving_table_with_customer_data_is_classified(db: Engine) -> None:
    assert erasure.unclassified(db) == []


def test_retention_periods() -> None:
    assert retention.retain_until(_d("2020-02-29"), 1) == _d("2025-02-28")  # short cover: 5 years
    assert retention.retain_until(_d("2020-02-29"), 0) == _d("2030-02-28")  # whole life: 10 years
    assert retention.retain_until(None, 20) is None                         # in force


def test_a_copy_includes_what_the_channels_sent_about_the_person(db: Engine, tmp_path: Path) -> None:
    _person(db, "C-LI", [("bank", "B-01"), ("bank", "B-02")])
    own = {"policy_no": "P7", "_source": "bank", "holder_record_id": "B-02", "insured_record_id": "B-02",
           "coverage_term_years": 20.0, "status": "in_force", "status_date": _d("2024-01-01"), "_file_id": "f1"}
    with _warehouse(tmp_path / "w.duckdb", [own]) as wh:
        req = dsr.submit(db, "C-LI", "access", "console", "service-1")
        done = dsr.complete(db, req["id"], "compliance-1", cipher=CIPHER, data_dir=tmp_path, warehouse=wh)
    path = dsr.copy_path(tmp_path, done)
    assert path is not None
    sources = json.loads(path.read_text(encoding="utf-8"))["sources"]
    assert sorted(r["record_id"] for r in sources["src_party"]) == ["B-01", "B-02"]  # not B-99, someone else
    assert [r["policy_no"] for r in sources["src_policy"]] == ["P7"]
    assert [r["row_number"] for r in sources["ingest_quarantine"]] == [7]  # their bad row, as it came
    assert done["outcome"]["source_rows"] == {"ingest_quarantine": 1, "src_party": 2, "src_policy": 1}


def test_stale_prospects_are_erased_only_when_asked(db: Engine, tmp_path: Path) -> None:
    """Never a policy and no contact for three years: erased by ``retention run --prospect-years 3``; off by
    default; a customer with a policy or a hold stays."""
    c360, cust = reflected(db, "customer_360"), reflected(db, "customer")
    for cid, policies, last in (("P-OLD", 0, datetime(2022, 1, 5, 8)), ("P-NEW", 0, datetime(2026, 6, 1, 8)),
                                ("P-HOLDER", 1, datetime(2021, 1, 1, 8)), ("P-HELD", None, None)):
        add_customer(db, cid, policies_total=policies, last_contact_at=last)
    with db.begin() as conn:
        conn.execute(cust.update().where(cust.c.customer_id == "P-HELD").values(first_seen=date(2020, 3, 1)))
        assert conn.execute(select(func.count()).select_from(c360)).scalar() == 4
    retention.place_hold(db, "P-HELD", "监管调查", "compliance-1")
    today = date(2026, 12, 7)
    assert retention.stale_prospects(db, today, 3) == ["P-HELD", "P-OLD"]
    assert retention.run(db, today=today)["prospects_erased"] == []  # off unless asked
    summary = retention.run(db, today=today, prospect_years=3, data_dir=tmp_path)
    assert summary["prospects_erased"] == ["P-OLD"] and summary["held"] == ["P-HELD"]
    with db.connect() as conn:
        left = sorted(r[0] for r in conn.execute(select(cust.c.customer_id)))
    assert left == ["P-HELD", "P-HOLDER", "P-NEW"]


def test_a_correction_and_a_human_review_close_with_what_was_done(db: Engine) -> None:
    add_customer(db, "C1")
    fix = dsr.submit(db, "C1", "correction", "h5", "customer:C1", {"field": "email", "value": "li.na@example.cn"})
    with pytest.raises(InvalidInput, match="which source system was corrected"):
        dsr.complete(db, fix["id"], "compliance-1")
    done = dsr.complete(db, fix["id"], "compliance-1", note_text="已在银保渠道核心系统更正，下次刷新生效")
    assert done["status"] == "done" and done["outcome"]["note"].startswith("已在银保渠道") and dsr.verify_proof(done)
    review = dsr.submit(db, "C1", "human_review", "h5", "customer:C1", {"note": "为什么推荐我重疾险"})
    closed = dsr.complete(db, review["id"], "compliance-1", note_text="人工复核：缺口测算依据收入与负债，结论维持")
    assert closed["outcome"]["note"].startswith("人工复核") and dsr.verify_proof(closed)
    tampered = closed | {"outcome": {"note": "改过的结论"}}
    assert not dsr.verify_proof(tampered)  # the proof is over what was done
