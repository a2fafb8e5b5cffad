"""Journey YAML: what is accepted, and errors that name the field (issue 14 item 1)."""

from __future__ import annotations

import pytest

from shouhu.errors import InvalidInput
from shouhu.journeys.definition import arm_for, from_json, parse

GOOD = """
key: premium_due_care
name: {zh-CN: 缴费前关怀, en: Care before the premium falls due}
entry: {event: premium_due, where: [{attr: age, op: ">=", value: 18}]}
reentry: {after_days: 300}
exit: {events: [policy_lapsed]}
goal: {event: premium_paid, within_days: 30, exit: true}
start: split
nodes:
  split: {type: split, arms: {sms: {weight: 45, next: remind}, call: {weight: 45, next: call}}, holdout: 10}
  remind: {type: message, channel: sms, template: premium_due_sms, next: wait_paid}
  call: {type: task, title: 缴费前致电提醒, due_in: 2d, next: wait_paid}
  wait_paid: {type: wait, until_event: premium_paid, timeout: 7d, next: done, timeout_next: risky}
  risky:
    type: branch
    cases: [{when: [{attr: lapse_probability, op: ">=", value: 0.3}], next: call2}]
    else: done
  call2: {type: task, title: 高风险保单跟进, due_in: 1d, priority: 1, next: done}
  done: {type: end}
"""


def test_a_full_journey_parses_and_round_trips_through_json() -> None:
    j = parse(GOOD)
    assert j.key == "premium_due_care" and j.name_en.startswith("Care") and j.reentry == "after_days"
    assert j.reentry_days == 300 and j.exit_events == ("policy_lapsed",) and j.goal["exit"] is True
    assert j.nodes["wait_paid"].spec["seconds"] == 7 * 86400
    assert j.nodes["call"].spec["due_days"] == 2
    back = from_json(j.to_json())
    assert back == j and back.checksum() == j.checksum()


@pytest.mark.parametrize("change, field", [
    (("template: premium_due_sms", "template: ''"), "nodes.remind.template"),
    (("timeout: 7d", "timeout: soon"), "nodes.wait_paid.timeout"),
    (("holdout: 10", "holdout: 20"), "nodes.split.arms"),
    (("next: done, timeout_next: risky", "next: nowhere, timeout_next: risky"), "nodes.wait_paid"),
    (("event: premium_due,", "event: premium_due_soon,"), "entry.event"),
    (("op: \">=\", value: 18", "op: \"=~\", value: 18"), "entry.where[0].op"),
    (("channel: sms", "channel: fax"), "nodes.remind.channel"),
])
def test_errors_name_the_field(change: tuple[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse(GOOD.replace(*change), "journeys/care.yaml")
    assert e.value.message.startswith("journeys/care.yaml: ")
    assert field in e.value.message


def test_cycles_and_unreachable_nodes_are_refused() -> None:
    cyclic = GOOD.replace("call2: {type: task, title: 高风险保单跟进, due_in: 1d, priority: 1, next: done}",
                          "call2: {type: task, title: 高风险保单跟进, due_in: 1d, priority: 1, next: wait_paid}")
    with pytest.raises(InvalidInput, match="cycle: wait_paid -> risky -> call2 -> wait_paid"):
        parse(cyclic)
    orphan = GOOD + "  lonely: {type: end}\n"
    with pytest.raises(InvalidInput, match="not reachable from start: lonely"):
        parse(orphan)


def test_bad_yaml_names_the_line() -> None:
    with pytest.raises(InvalidInput, match=r"care.yaml line \d+: not valid YAML"):
        parse("key: a\nnodes: [unclosed\n", "care.yaml")
    with pytest.raises(InvalidInput, match="must be a YAML mapping"):
        parse("- a list\n")


def test_split_arms_are_stable_and_weighted() -> None:
    node = parse(GOOD).nodes["split"]
    arms = [arm_for("premium_due_care", f"C{i:05d}", node) for i in range(4000)]
    assert arms == [arm_for("premium_due_care", f"C{i:05d}", node) for i in range(4000)]  # stable
    share = {a: arms.count(a) / len(arms) for a in set(arms)}
    assert set(share) == {"sms", "call", "holdout"}
    assert share["holdout"] == pytest.approx(0.10, abs=0.02) and share["sms"] == pytest.approx(0.45, abs=0.03)
