"""The dry run of a consent withdrawal: which active journeys would stop sending (only message nodes
whose approved template needs the purpose, on the channel asked), and nothing recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.journeys.conftest import Clock, add_customer, add_template, event, worker
from typer.testing import CliRunner

from shouhu.journeys import engine as jeng
from shouhu.storage import journeys as store

JOURNEY = """key: renewal_offer
name: {zh-CN: 续保优惠, en: Renewal offer}
entry: {event: premium_due}
start: remind
nodes:
  remind: {type: message, channel: sms, template: due_sms, next: wait}
  wait: {type: wait, duration: 3d, next: offer}
  offer: {type: message, channel: sms, template: offer_sms, next: mail}
  mail: {type: message, channel: email, template: offer_mail, next: done}
  done: {type: end}
"""


def _setup(db: Engine, clock: Clock) -> None:
    add_customer(db, "C1")
    add_template(db, "due_sms", now=clock.now)  # service: a withdrawal of marketing does not stop it
    add_template(db, "offer_sms", kind="marketing", now=clock.now)
    add_template(db, "offer_mail", channel="email", kind="marketing", now=clock.now)
    jeng.publish(db, JOURNEY, "author")
    event(db, clock, "C1", "premium_due")
    worker(db, clock).run_once()  # the event becomes an enrolment (and the service reminder goes)


def test_the_dry_run_lists_what_would_stop_and_records_nothing(db: Engine, clock: Clock) -> None:
    _setup(db, clock)
    assert [e["status"] for e in store.customer_journeys(db, "C1")] == ["active"]
    every = jeng.withdrawal_impact(db, "C1", "marketing")
    assert [(j["journey_key"], j["message_nodes"]) for j in every["journeys"]] == [("renewal_offer",
                                                                                    ["mail", "offer"])]
    sms = jeng.withdrawal_impact(db, "C1", "marketing", "sms")
    assert sms["journeys"][0]["message_nodes"] == ["offer"]
    assert jeng.withdrawal_impact(db, "C1", "health_data")["journeys"] == []
    assert every["sales_actions"] == [] and every["currently"] is None
    with db.connect() as conn:
        assert store.consent_state(conn, "C1") == {}


def test_the_command(db: Engine, clock: Clock, serving_url: str, monkeypatch: pytest.MonkeyPatch,
                     tmp_path: Path) -> None:
    _setup(db, clock)
    monkeypatch.setenv("SHOUHU_SERVING_URL", serving_url)
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path))
    from shouhu.cli.main import app
    from shouhu.settings import get_settings

    get_settings.cache_clear()
    r = CliRunner().invoke(app, ["consent", "withdraw", "C1", "--purpose", "marketing", "--dry-run"])
    assert r.exit_code == 0, r.output
    assert '"renewal_offer"' in r.output and '"offer"' in r.output
    with db.connect() as conn:
        assert store.consent_state(conn, "C1") == {}
    r = CliRunner().invoke(app, ["consent", "withdraw", "C1", "--purpose", "marketing", "--by", "service1"])
    assert r.exit_code == 0, r.output
    with db.connect() as conn:
        assert store.consent_state(conn, "C1") == {("marketing", "any"): False}
    get_settings.cache_clear()
