"""Templates' compliance approval (four eyes), trigger detection from the published view, and the
``shouhu journeys / templates / consent / contact / worker`` commands on outside-style files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.journeys.conftest import Clock, add_customer
from typer.testing import CliRunner

from shouhu.cli.main import app
from shouhu.errors import InvalidInput
from shouhu.journeys import messaging
from shouhu.journeys.triggers import detect
from shouhu.storage import journeys as store
from shouhu.storage.tables import reflected

TEMPLATE = {"code": "offer_sms", "channel": "sms", "kind": "marketing", "subject_zh": "", "subject_en": "",
            "body_zh": "{{ customer_name }}您好，守护少儿教育金计划上线。{{ unsubscribe_hint }}",
            "body_en": "Dear {{ customer_name }}, our education plan is out. {{ unsubscribe_hint }}"}


def test_a_template_goes_live_only_when_someone_else_approves_it(db: Engine) -> None:
    assert messaging.add_template(db, TEMPLATE, "author")["version"] == 1
    assert store.template_row(db, "offer_sms") is None  # a draft is never sent
    with pytest.raises(InvalidInput, match="cannot approve it"):
        messaging.review(db, "offer_sms", 1, "approve", "reviewer")  # not submitted yet
    messaging.review(db, "offer_sms", 1, "submit", "author")
    with pytest.raises(InvalidInput, match="四眼原则"):
        messaging.review(db, "offer_sms", 1, "approve", "author")
    messaging.review(db, "offer_sms", 1, "approve", "reviewer", "ok")
    assert store.template_row(db, "offer_sms")["version"] == 1
    assert messaging.add_template(db, TEMPLATE | {"body_zh": TEMPLATE["body_zh"].replace("上线", "升级")},
                                  "author")["version"] == 2
    messaging.review(db, "offer_sms", 2, "submit", "author")
    messaging.review(db, "offer_sms", 2, "approve", "reviewer")
    assert [(t["version"], t["status"]) for t in store.list_templates(db)] == [(1, "retired"), (2, "approved")]
    assert messaging.preview_template(db, "offer_sms", 2)["body"] == "张*您好，守护少儿教育金计划升级。回复TD退订"


@pytest.mark.parametrize("change, problem", [
    ({"body_zh": "{{ customer_name }}您好，新品上线。"}, "must tell how to opt out"),
    ({"body_zh": "{{ id_number }}"}, "unknown variables: id_number"),
    ({"channel": "fax"}, "channel: must be one of"),
    ({"body_en": ""}, "body_en: missing"),
])
def test_template_problems_are_named(db: Engine, change: dict[str, str], problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        messaging.add_template(db, TEMPLATE | change, "author", "offer.toml")


def test_trigger_detection_is_idempotent(db: Engine, clock: Clock) -> None:
    add_customer(db, "DUE", next_premium_due=date(2026, 12, 20), youngest_child_age=0)
    add_customer(db, "LATER", next_premium_due=date(2027, 3, 1))
    cust = reflected(db, "customer")
    with db.begin() as conn:
        conn.execute(cust.update().where(cust.c.customer_id == "LATER").values(birth_date=date(1980, 12, 7)))
    today = date(2026, 12, 7)
    assert detect(db, today) == {"premium_due": 1, "birthday": 1, "policy_anniversary": 0, "lapse_risk_high": 0,
                                 "new_child": 1}
    assert detect(db, today) == {"premium_due": 0, "birthday": 0, "policy_anniversary": 0, "lapse_risk_high": 0,
                                 "new_child": 0}
    with db.connect() as conn:
        rows = conn.exec_driver_sql("SELECT customer_id, event_type, payload FROM journey_event ORDER BY id").all()
    assert ("DUE", "premium_due") in [(r[0], r[1]) for r in rows]
    assert json.loads(next(r[2] for r in rows if r[1] == "premium_due")) == {"due_date": "2026-12-20",
                                                                            "days_to_due": 13}



def test_policy_anniversaries_from_the_policies_in_force(db: Engine) -> None:
    """One event per policy and year on the anniversary of its issue date (not on the issue day itself);
    a policy issued on 29 February has its anniversary on 28 February in a common year."""
    from shouhu.storage.tables import policy_in_force

    add_customer(db, "HOLDER")
    with db.begin() as conn:
        conn.execute(policy_in_force.insert(), [
            {"policy_no": "P-3Y", "customer_id": "HOLDER", "issue_date": date(2023, 12, 7)},
            {"policy_no": "P-NEW", "customer_id": "HOLDER", "issue_date": date(2026, 12, 7)},
            {"policy_no": "P-LEAP", "customer_id": "HOLDER", "issue_date": date(2024, 2, 29)},
            {"policy_no": "P-OTHER", "customer_id": "HOLDER", "issue_date": date(2020, 12, 8)},
        ])
    assert detect(db, date(2026, 12, 7))["policy_anniversary"] == 1
    assert detect(db, date(2026, 12, 7))["policy_anniversary"] == 0  # once per policy and year
    with db.connect() as conn:
        row = conn.exec_driver_sql("SELECT policy_no, payload FROM journey_event WHERE event_type = "
                                   "'policy_anniversary'").one()
    assert row[0] == "P-3Y" and json.loads(row[1]) == {"policy_year": 3, "issue_date": "2023-12-07"}
    assert detect(db, date(2027, 2, 28))["policy_anniversary"] == 1  # P-LEAP in a common year
    assert detect(db, date(2028, 2, 28))["policy_anniversary"] == 0  # 2028 has a 29 February
    assert detect(db, date(2028, 2, 29))["policy_anniversary"] == 1


JOURNEY = """\
key: birthday_card
name: {zh-CN: 生日祝福, en: Birthday wishes}
entry: {event: birthday}
start: card
nodes:
  card: {type: content, title: 生日快乐, link: /h5/birthday, next: done}
  done: {type: end}
"""


def test_the_commands_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: Engine,
                                 serving_url: str) -> None:
    monkeypatch.setenv("SHOUHU_SERVING_URL", serving_url)
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path))
    from shouhu.settings import get_settings

    get_settings.cache_clear()
    run = CliRunner().invoke
    journey = tmp_path / "生日.yaml"
    journey.write_text(JOURNEY, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(JOURNEY.replace("next: done", "next: nowhere"), encoding="utf-8")
    gbk = tmp_path / "gbk.yaml"
    gbk.write_bytes(JOURNEY.encode("gbk"))
    try:
        result = run(app, ["journeys", "check", str(bad)])
        assert result.exit_code == 1 and "nodes.card: goes to 'nowhere'" in result.output
        result = run(app, ["journeys", "publish", str(gbk)])
        assert result.exit_code == 1 and "gbk.yaml: cannot read the journey file" in result.output
        result = run(app, ["journeys", "publish", str(journey), "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == {"journey": "birthday_card", "version": 1, "created": True}
        add_customer(db, "C1")
        assert run(app, ["journeys", "event", "C1", "birthday", "--at", "2026-12-07T09:00:00+08:00"]).exit_code == 0
        result = run(app, ["worker", "--until-idle", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == {"events": 1, "steps": 2}
        assert [m["subject"] for m in store.inbox_of(db, "C1")] == ["生日快乐"]
        stats = json.loads(run(app, ["journeys", "stats", "birthday_card", "--json"]).output)
        assert [(n["node"], n["done"]) for n in stats["nodes"]] == [("card", 1), ("done", 1)]
        assert run(app, ["journeys", "pause", "birthday_card"]).exit_code == 0
        listed = json.loads(run(app, ["journeys", "list", "--json"]).output)
        assert [(j["journey_key"], j["status"], j["enrolled"]) for j in listed] == [("birthday_card", "paused", 1)]
        assert run(app, ["consent", "grant", "C1", "--purpose", "marketing", "--channel", "sms"]).exit_code == 0
        assert run(app, ["consent", "withdraw", "C1", "--purpose", "marketing", "--channel", "sms"]).exit_code == 0
        result = run(app, ["consent", "grant", "C1", "--purpose", "spam"])
        assert result.exit_code == 1 and "purpose: 'spam' is not one of" in result.output
        history = json.loads(run(app, ["consent", "show", "C1", "--json"]).output)
        assert [(h["granted"], h["source"]) for h in history] == [(True, "cli"), (False, "cli")]
        assert run(app, ["contact", "block", "C1", "--reason", "投诉后要求免打扰"]).exit_code == 0
        with db.connect() as conn:
            assert store.blocked_channels(conn, "C1") == {"any"}
        template = tmp_path / "offer.toml"
        template.write_text("\n".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in TEMPLATE.items()),
                            encoding="utf-8")
        assert run(app, ["templates", "add", str(template), "--by", "author"]).exit_code == 0
        assert run(app, ["templates", "submit", "offer_sms", "1", "--by", "author"]).exit_code == 0
        result = run(app, ["templates", "approve", "offer_sms", "1", "--by", "author"])
        assert result.exit_code == 1 and "cannot review it" in result.output
        assert run(app, ["templates", "approve", "offer_sms", "1", "--by", "compliance1"]).exit_code == 0
    finally:
        get_settings.cache_clear()
