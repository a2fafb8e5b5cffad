"""Journey analytics on a run of the engine: node counts and drop-off, conversion per version and arm with a
significance test checked against scipy's own test, funnels with breakdowns (issue 14 item 6)."""

from __future__ import annotations

import math

import pytest
from scipy import stats
from sqlalchemy import Engine
from tests.journeys.conftest import Clock, add_customer, add_template, event, worker

from shouhu.journeys import analytics
from shouhu.journeys import engine as jeng

AB = """
key: renew_ab
name: {zh-CN: 续期提醒实验, en: Renewal reminder test}
entry: {event: premium_due}
goal: {event: premium_paid, within_days: 30}
start: split
nodes:
  split: {type: split, arms: {sms: {weight: 45, next: remind}, call: {weight: 45, next: call}}, holdout: 10}
  remind: {type: message, channel: sms, template: due_sms, next: wait}
  call: {type: task, title: 续期提醒致电, due_in: 1d, next: wait}
  wait: {type: wait, duration: 3d, next: done}
  done: {type: end}
"""


def test_two_proportion_z_test_matches_the_chi_square_test() -> None:
    got = analytics.two_proportion(60, 200, 40, 200)
    chi2 = stats.chi2_contingency([[60, 140], [40, 160]], correction=False)
    assert got["z"] is not None and got["z"] ** 2 == pytest.approx(chi2.statistic)
    assert got["p_value"] == pytest.approx(chi2.pvalue) and got["lift"] == pytest.approx(0.10)
    assert analytics.two_proportion(0, 0, 3, 10)["p_value"] is None


def test_conversion_by_arm_node_counts_and_funnel(db: Engine, clock: Clock) -> None:
    n = 300
    for i in range(n):
        add_customer(db, f"C{i:03d}", life_stage="family" if i % 2 else "single", primary_agent_id=f"A{i % 3}")
    add_template(db, "due_sms")
    jeng.publish(db, AB, "ops")
    w = worker(db, clock)
    for i in range(n):
        event(db, clock, f"C{i:03d}", "premium_due")
    w.run(until_idle=True)
    with db.connect() as conn:
        arms = dict(conn.exec_driver_sql("SELECT customer_id, arm FROM journey_enrollment").all())
    # planted effect: the sms arm pays far more often than the holdout; the call arm a little more
    rate = {"sms": 0.6, "call": 0.35, "holdout": 0.2}
    paid = [c for c, a in arms.items() if (int(c[1:]) * 37 % 100) / 100 < rate[a]]
    clock.advance(days=1)
    for c in paid:
        event(db, clock, c, "premium_paid")
    w.run(until_idle=True)
    clock.advance(days=2)
    w.run(until_idle=True)
    conv = analytics.conversion(db, "renew_ab")
    (v1,) = conv["versions"]
    by_arm = {a["arm"]: a for a in v1["arms"]}
    assert set(by_arm) == {"sms", "call", "holdout"} and v1["enrolled"] == n
    for arm, row in by_arm.items():
        members = [c for c, a in arms.items() if a == arm]
        assert row["enrolled"] == len(members) and row["converted"] == len([c for c in paid if arms[c] == arm])
    assert by_arm["holdout"]["versus"] is None and by_arm["sms"]["versus"] == "holdout"
    assert by_arm["sms"]["significant"] and by_arm["sms"]["p_value"] < 0.01 and by_arm["sms"]["lift"] > 0.2
    assert by_arm["holdout"]["small"] == (by_arm["holdout"]["enrolled"] < 30)
    assert v1["chi2"] is not None and v1["chi2"]["dof"] == 2 and v1["chi2"]["p_value"] < 0.05
    nodes = {r["node"]: r for r in analytics.node_stats(db, "renew_ab")}
    holdout = by_arm["holdout"]["enrolled"]
    assert nodes["split"]["entered"] == n and nodes["split"]["outcomes"]["holdout"] == holdout
    assert nodes["remind"]["entered"] == by_arm["sms"]["enrolled"] and nodes["remind"]["outcomes"] == {
        "sent": by_arm["sms"]["enrolled"]}
    assert nodes["wait"]["entered"] == n - holdout and nodes["wait"]["median_seconds"] == pytest.approx(3 * 86400,
                                                                                                     abs=120)
    f = analytics.funnel(db, "renew_ab", ["remind", "wait", "done"])["groups"]["all"]
    assert [s["count"] for s in f] == [n, by_arm["sms"]["enrolled"], by_arm["sms"]["enrolled"],
                                       by_arm["sms"]["enrolled"], by_arm["sms"]["converted"]]
    assert math.isclose(f[1]["share_of_previous"], by_arm["sms"]["enrolled"] / n)
    by_segment = analytics.funnel(db, "renew_ab", ["wait"], by="segment")["groups"]
    assert set(by_segment) == {"family", "single"} and sum(g[0]["count"] for g in by_segment.values()) == n
    by_channel = analytics.funnel(db, "renew_ab", ["wait"], by="channel")["groups"]
    assert by_channel["sms"][0]["count"] == by_arm["sms"]["enrolled"]
    by_agent = analytics.funnel(db, "renew_ab", [], by="agent")["groups"]
    assert set(by_agent) == {"A0", "A1", "A2"}
    with pytest.raises(Exception, match="by: 'colour'"):
        analytics.funnel(db, "renew_ab", [], by="colour")


SEGMENT = """
key: family_review
name: 家庭保障检视
entry:
  segment: [{attr: life_stage, op: "==", value: family}, {op: has_tag, value: vip}]
  schedule: daily
reentry: {after_days: 2}
start: tag_it
nodes:
  tag_it: {type: tag, tag: reviewed, next: done}
  done: {type: end}
"""


def test_segment_entry_once_a_day_with_reentry(db: Engine, clock: Clock) -> None:
    from shouhu.storage import journeys as store

    add_customer(db, "F1", life_stage="family")
    add_customer(db, "F2", life_stage="family")
    add_customer(db, "S1", life_stage="single")
    with db.begin() as conn:
        for c in ("F1", "S1"):
            store.add_tag(conn, c, "vip", "test", clock.now)
    jeng.publish(db, SEGMENT, "ops")
    w = worker(db, clock)
    assert w.enrol_segments() == 1 and w.enrol_segments() == 0  # F1 only; the same day again adds nothing
    w.run(until_idle=True)
    clock.advance(days=1)
    assert w.enrol_segments() == 1  # a new day: a new entry event, but re-entry waits 2 days
    w.run(until_idle=True)
    clock.advance(days=1)
    w.enrol_segments()
    w.run(until_idle=True)
    with db.connect() as conn:
        assert len(store.enrollments_of(conn, "F1")) == 2
        assert store.enrollments_of(conn, "F2") == [] and store.enrollments_of(conn, "S1") == []
