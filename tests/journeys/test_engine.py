"""The journey engine on SQLite and PostgreSQL: every node type, guard rails at send time, versions,
re-entry, exits, goals (issue 14 items 1-4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from tests.journeys.conftest import Clock, add_customer, add_template, event, worker

from shouhu.journeys import engine as jeng
from shouhu.storage import journeys as store
from shouhu.storage.tables import task

SIMPLE = """
key: care
name: {zh-CN: 缴费关怀, en: Premium care}
entry: {event: premium_due}
start: remind
nodes:
  remind: {type: message, channel: sms, template: due_sms, next: done}
  done: {type: end}
"""


def steps(engine: Engine, customer: str) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(select(store.step.c.node_id, store.step.c.status, store.step.c.outcome)
                            .join(store.enrollment, store.enrollment.c.id == store.step.c.enrollment_id)
                            .where(store.enrollment.c.customer_id == customer).order_by(store.step.c.id)).all()
    return [tuple(r) for r in rows]


def log_of(engine: Engine, customer: str) -> list[tuple[str, str | None]]:
    return [(m["status"], m["reason"]) for m in reversed(store.messages_of(engine, customer))]


def test_an_event_enrols_and_a_service_message_is_sent(db: Engine, clock: Clock) -> None:
    add_customer(db, "C1", next_premium_due=None)
    add_template(db, "due_sms")
    jeng.publish(db, SIMPLE, "ops")
    w = worker(db, clock)
    event(db, clock, "C1", "premium_due")
    assert w.run(until_idle=True)["events"] == 1
    sent = w.adapters["sms"].sent
    assert [(m.to, m.customer_id, m.idempotency_key) for m in sent] == [("13912345678", "C1", "j1:s1")]
    assert sent[0].body.startswith("张*您好")
    assert log_of(db, "C1") == [("sent", None)]
    assert steps(db, "C1") == [("remind", "done", "sent"), ("done", "done", "end")]
    assert store.enrollments_of(db.connect(), "C1")[0]["status"] == "completed"
    event(db, clock, "C1", "premium_due")  # the same fact again: not a new event
    clock.advance(days=1)
    event(db, clock, "C1", "premium_due")  # a new one: reentry "never" keeps the customer out
    w.run(until_idle=True)
    assert len(sent) == 1


MARKETING = SIMPLE.replace("template: due_sms", "template: offer_sms").replace("remind:", "remind:", 1)
WAITING = """
key: offer
name: 推荐
entry: {event: birthday}
start: pause
nodes:
  pause: {type: wait, duration: 1d, next: offer}
  offer: {type: message, channel: sms, template: offer_sms, next: done}
  done: {type: end}
"""


def test_marketing_needs_consent_and_a_withdrawal_stops_a_scheduled_send(db: Engine, clock: Clock) -> None:
    for c in ("C1", "C2"):
        add_customer(db, c)
    add_template(db, "offer_sms", kind="marketing")
    jeng.publish(db, WAITING, "ops")
    w = worker(db, clock)
    jeng.consent_change(db, "C1", "marketing", "sms", True, source="h5", actor="C1")
    jeng.consent_change(db, "C2", "marketing", "any", True, source="console", actor="u1")
    for c in ("C1", "C2"):
        event(db, clock, c, "birthday")
    w.run(until_idle=True)
    assert w.adapters["sms"].sent == []  # waiting a day
    jeng.consent_change(db, "C2", "marketing", "sms", False, source="h5", actor="C2")  # withdrawn meanwhile
    clock.advance(days=1, minutes=1)
    w.run(until_idle=True)
    assert [m.customer_id for m in w.adapters["sms"].sent] == ["C1"]
    assert log_of(db, "C2") == [("suppressed", "no_consent")]
    assert steps(db, "C2")[-2:] == [("offer", "done", "suppressed"), ("done", "done", "end")]
    add_customer(db, "C3")  # never asked: no consent, no marketing
    event(db, clock, "C3", "birthday")
    w.run(until_idle=True)
    clock.advance(days=2)
    w.run(until_idle=True)
    assert log_of(db, "C3") == [("suppressed", "no_consent")]


def test_quiet_hours_defer_to_nine_in_the_customers_time_zone(db: Engine, clock: Clock) -> None:
    add_customer(db, "C1")
    add_customer(db, "C2")
    store.set_preference(db, "C2", clock.now, time_zone="Europe/London")
    add_template(db, "due_sms")
    jeng.publish(db, SIMPLE, "ops")
    clock.now = clock.now.replace(hour=14, minute=30)  # 22:30 in Shanghai, 14:30 in London
    w = worker(db, clock)
    for c in ("C1", "C2"):
        event(db, clock, c, "premium_due")
    w.run(until_idle=True)
    assert [m.customer_id for m in w.adapters["sms"].sent] == ["C2"]
    with db.connect() as conn:
        due = conn.execute(select(store.step.c.due_at, store.step.c.outcome).where(store.step.c.status == "pending")
                           ).all()
    assert [tuple(d) for d in due] == [("2026-12-08T01:00:00Z", "deferred:quiet_hours")]  # 09:00 +08:00
    clock.now = clock.now.replace(day=8, hour=1, minute=0)
    w.run(until_idle=True)
    assert [m.customer_id for m in w.adapters["sms"].sent] == ["C2", "C1"]
    with db.connect() as conn:
        assert conn.execute(select(func.max(store.step.c.attempts))).scalar() == 1  # a deferral is no attempt


def test_frequency_caps_per_customer_and_household(db: Engine, clock: Clock) -> None:
    for c in ("C1", "C2", "C3"):
        add_customer(db, c, household="H1")
        jeng.consent_change(db, c, "marketing", "any", True, source="import", actor="u1")
    add_template(db, "offer_sms", kind="marketing")
    add_template(db, "due_sms")
    for n in range(4):
        jeng.publish(db, WAITING.replace("key: offer", f"key: offer{n}").replace("duration: 1d", "duration: 1m"),
                     "ops")
    jeng.publish(db, SIMPLE, "ops")  # a service message on premium_due
    w = worker(db, clock)
    event(db, clock, "C1", "birthday")
    w.run(until_idle=True)
    clock.advance(minutes=5)
    w.run(until_idle=True)
    # sms cap 1 in 24h: one marketing sms goes, the other three are suppressed
    assert sorted((s, r or "") for s, r in log_of(db, "C1")) == [("sent", "")] + [
        ("suppressed", "frequency_cap:sms/24h")] * 3
    event(db, clock, "C1", "premium_due")  # a service reminder is not held back by the cap
    w.run(until_idle=True)
    assert log_of(db, "C1")[-1] == ("sent", None)
    for c in ("C2", "C3"):
        clock.advance(hours=1)
        event(db, clock, c, "birthday")
        w.run(until_idle=True)
        clock.advance(minutes=5)
        w.run(until_idle=True)
    # the household allows 3 in 24 h across channels: C1's two, then one of C2's, then nothing for C3
    assert sorted(r or "" for s, r in log_of(db, "C2")) == [""] + ["frequency_cap:sms/24h"] * 3
    assert [r for s, r in log_of(db, "C3")] == ["frequency_cap:household:any/24h"] * 4
    clock.advance(days=1)  # a rolling window: a day later the household may hear from us again
    event(db, clock, "C3", "premium_due")
    w.run(until_idle=True)
    assert log_of(db, "C3")[-1] == ("sent", None)


def test_do_not_contact_blocks_marketing_and_service_but_not_transactional(db: Engine, clock: Clock) -> None:
    add_customer(db, "C1")
    jeng.consent_change(db, "C1", "marketing", "any", True, source="import", actor="u1")
    add_template(db, "due_sms")
    add_template(db, "receipt_sms", kind="transactional", body_zh="您的保费已收到。")
    jeng.publish(db, SIMPLE, "ops")
    jeng.publish(db, SIMPLE.replace("key: care", "key: receipt").replace("due_sms", "receipt_sms"), "ops")
    store.add_block(db, "C1", "any", "客户来电要求不再联系", "u1", clock.now)
    w = worker(db, clock)
    event(db, clock, "C1", "premium_due")
    w.run(until_idle=True)
    assert sorted(log_of(db, "C1")) == [("sent", None), ("suppressed", "do_not_contact")]
    assert [m.body for m in w.adapters["sms"].sent] == ["您的保费已收到。"]


BRANCHY = """
key: lapse_watch
name: 失效预警
entry: {event: premium_due}
exit: {events: [policy_lapsed]}
goal: {event: premium_paid, within_days: 30}
start: wait_paid
nodes:
  wait_paid: {type: wait, until_event: premium_paid, timeout: 7d, next: thanks, timeout_next: risky}
  thanks: {type: tag, tag: paid_on_time, next: done}
  risky:
    type: branch
    cases: [{when: [{attr: on_time_ratio, op: "<", value: 0.8}], next: call}]
    else: nudge
  call: {type: task, title: 高风险续期跟进, due_in: 1d, priority: 1, next: done}
  nudge: {type: content, title: 如何设置自动扣款, link: /h5/help/autopay, next: done}
  done: {type: end}
"""


def test_wait_for_an_event_with_timeout_branch_task_content_tag_and_goal(db: Engine, clock: Clock) -> None:
    add_customer(db, "PAYS", on_time_ratio=0.5, primary_agent_id="A9")
    add_customer(db, "RISKY", on_time_ratio=0.5, primary_agent_id="A9")
    add_customer(db, "STEADY", on_time_ratio=0.95)
    jeng.publish(db, BRANCHY, "ops")
    w = worker(db, clock)
    for c in ("PAYS", "RISKY", "STEADY"):
        event(db, clock, c, "premium_due")
    w.run(until_idle=True)
    clock.advance(days=2)
    event(db, clock, "PAYS", "premium_paid")
    w.run(until_idle=True)
    assert [s[0] for s in steps(db, "PAYS")] == ["wait_paid", "thanks", "done"]
    assert steps(db, "PAYS")[0][2] == "event"
    with db.connect() as conn:
        assert "paid_on_time" in store.customer_attributes(conn, "PAYS")["tags"]
        assert store.enrollments_of(conn, "PAYS")[0]["goal_at"] is not None
    clock.advance(days=6)
    w.run(until_idle=True)
    assert [s[0] for s in steps(db, "RISKY")] == ["wait_paid", "risky", "call", "done"]
    assert steps(db, "RISKY")[0][2] == "timeout" and steps(db, "RISKY")[1][2] == "case1"
    assert [s[0] for s in steps(db, "STEADY")] == ["wait_paid", "risky", "nudge", "done"]
    with db.connect() as conn:
        tasks = conn.execute(select(task.c.customer_id, task.c.source, task.c.owner_staff_id, task.c.priority,
                                    task.c.due_date)).all()
    assert [tuple(t) for t in tasks] == [("RISKY", "journey", "A9", 1, "2026-12-16")]
    assert [(m["subject"], m["link"]) for m in store.inbox_of(db, "STEADY")] == [("如何设置自动扣款",
                                                                                 "/h5/help/autopay")]


def test_an_exit_event_removes_people_mid_wait(db: Engine, clock: Clock) -> None:
    add_customer(db, "C1", on_time_ratio=0.5)
    jeng.publish(db, BRANCHY, "ops")
    w = worker(db, clock)
    event(db, clock, "C1", "premium_due")
    w.run(until_idle=True)
    clock.advance(days=1)
    event(db, clock, "C1", "policy_lapsed")
    w.run(until_idle=True)
    clock.advance(days=10)
    w.run(until_idle=True)
    assert steps(db, "C1") == [("wait_paid", "cancelled", "event:policy_lapsed")]
    with db.connect() as conn:
        e = store.enrollments_of(conn, "C1")[0]
    assert (e["status"], e["exit_reason"]) == ("exited", "event:policy_lapsed")


def test_versions_drain_and_new_enrolments_take_the_new_one(db: Engine, clock: Clock) -> None:
    add_customer(db, "OLD")
    add_customer(db, "NEW")
    first = WAITING.replace("offer: {type: message, channel: sms, template: offer_sms, next: done}",
                            "offer: {type: tag, tag: v1, next: done}")
    assert jeng.publish(db, first, "ops") == {"journey": "offer", "version": 1, "created": True}
    assert jeng.publish(db, first, "ops")["created"] is False  # unchanged: no new version
    w = worker(db, clock)
    event(db, clock, "OLD", "birthday")
    w.run(until_idle=True)
    second = first.replace("tag: v1", "tag: v2")
    assert jeng.publish(db, second, "ops")["version"] == 2
    event(db, clock, "NEW", "birthday")
    w.run(until_idle=True)
    clock.advance(days=2)
    w.run(until_idle=True)
    with db.connect() as conn:
        assert store.customer_attributes(conn, "OLD")["tags"] == ["v1"]
        assert store.customer_attributes(conn, "NEW")["tags"] == ["v2"]
        assert [e["version"] for e in store.enrollments_of(conn, "OLD") + store.enrollments_of(conn, "NEW")] == [1, 2]


@pytest.mark.parametrize("rule, expected", [("never", 1), ("{after_days: 3}", 2), ("parallel", 3)])
def test_reentry_rules(db: Engine, clock: Clock, rule: str, expected: int) -> None:
    add_customer(db, "C1")
    source = WAITING.replace("offer: {type: message, channel: sms, template: offer_sms, next: done}",
                             "offer: {type: tag, tag: seen, next: done}").replace("duration: 1d", "duration: 5d")
    jeng.publish(db, source.replace("start: pause", f"reentry: {rule}\nstart: pause"), "ops")
    w = worker(db, clock)
    event(db, clock, "C1", "birthday", policy_no="P1")
    w.run(until_idle=True)
    event(db, clock, "C1", "birthday", policy_no="P2")  # a second policy
    clock.advance(days=4)  # not finished yet (5 days): only a parallel instance may start
    event(db, clock, "C1", "birthday", policy_no="P1")
    clock.advance(days=2)
    w.run(until_idle=True)
    clock.advance(days=1)
    event(db, clock, "C1", "birthday", policy_no="P3")  # finished 1 day ago, entered 7 days ago
    w.run(until_idle=True)
    with db.connect() as conn:
        assert len(store.enrollments_of(conn, "C1")) == expected


def test_a_failing_provider_is_retried_then_the_journey_goes_on(db: Engine, clock: Clock) -> None:
    add_customer(db, "C1")
    add_template(db, "due_sms")
    jeng.publish(db, SIMPLE, "ops")
    w = worker(db, clock)
    w.adapters["sms"].fail_next(2)
    event(db, clock, "C1", "premium_due")
    w.run(until_idle=True)
    assert w.adapters["sms"].sent == []
    for _ in range(3):
        clock.advance(minutes=10)
        w.run(until_idle=True)
    assert len(w.adapters["sms"].sent) == 1
    assert store.messages_of(db, "C1")[0]["attempts"] == 3 and log_of(db, "C1") == [("sent", None)]


def test_resume_makes_a_stuck_step_due(db: Engine, clock: Clock) -> None:
    add_customer(db, "C1")
    jeng.publish(db, WAITING.replace("offer: {type: message, channel: sms, template: offer_sms, next: done}",
                                     "offer: {type: tag, tag: seen, next: done}"), "ops")
    w = worker(db, clock)
    event(db, clock, "C1", "birthday")
    w.run(until_idle=True)
    clock.advance(days=2)
    claimed = store.claim_steps(db, "dead-worker", clock.now, timedelta(hours=6), 10)  # claimed, then it died
    assert len(claimed) == 1
    assert w.run(until_idle=True)["steps"] == 0  # the lease holds
    assert store.resume(db, clock.now) == 1
    w.run(until_idle=True)
    assert [s[:2] for s in steps(db, "C1")] == [("pause", "done"), ("offer", "done"), ("done", "done")]
