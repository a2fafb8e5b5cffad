"""The console's form editor as pure edits of the YAML: a journey built node by node from a starter is the
journey a power user would type; removing a node rewires what led to it; every form mistake names its
field; and no sequence of edits can produce a graph that the checker accepts but that is broken."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouhu.errors import InvalidInput
from shouhu.journeys import editing
from shouhu.journeys.definition import parse

# typed by someone else: comments, Chinese, a quoted operator, CRLF line ends, tabs nowhere
OUTSIDE = (
    "# 续期提醒（运营部 手写）\r\n"
    "key: renewal_ops\r\n"
    "name: 续期提醒\r\n"
    "entry:\r\n"
    "  event: premium_due   # 缴费日前\r\n"
    "start: wait1\r\n"
    "nodes:\r\n"
    "  wait1: {type: wait, until_event: premium_paid, timeout: 5d, next: fin}\r\n"
    "  fin: {type: end}\r\n"
)


def _starter() -> str:
    return editing.starter("care_demo", "缴费关怀", "Care before the due date", "premium_due", "premium_paid", 30)


def test_a_journey_built_node_by_node_is_the_journey_one_would_type() -> None:
    src = _starter()
    j = parse(src)
    assert (j.key, j.name_zh, j.entry_event, j.goal) == ("care_demo", "缴费关怀", "premium_due",
                                                         {"event": "premium_paid", "within_days": 30, "exit": True})
    src = editing.insert_node(src, "@start", "remind", "message", {"channel": "sms", "template": "premium_due_sms"})
    src = editing.insert_node(src, "remind:next", "wait_paid", "wait",
                              {"wait_mode": "until_event", "until_event": "premium_paid", "timeout": "7d"})
    src = editing.insert_node(src, "wait_paid:timeout_next", "call", "task",
                              {"title": "致电提醒", "due_in": "2d", "priority": "1"})
    src = editing.insert_node(src, "call:next", "risky", "branch",
                              {"attr": "lapse_probability", "op": ">=", "value": "0.3"})
    src = editing.insert_node(src, "risky:case:0", "watch", "tag", {"tag": "lapse_watch"})
    j = parse(src)
    assert j.start == "remind"
    assert {n.id: n.targets() for n in j.nodes.values()} == {
        "done": [], "remind": ["wait_paid"], "wait_paid": ["done", "call"], "call": ["risky"],
        "risky": ["done", "watch"], "watch": ["done"]}
    assert j.nodes["wait_paid"].spec["seconds"] == 7 * 86400
    assert j.nodes["call"].spec["priority"] == 1 and j.nodes["call"].spec["due_days"] == 2
    assert j.nodes["risky"].spec["cases"][0]["when"] == [{"attr": "lapse_probability", "op": ">=", "value": 0.3}]
    # the layout puts each node one layer after the longest path to it
    assert editing.layout(j) == {"remind": (0, 0), "wait_paid": (1, 0), "call": (2, 0), "risky": (3, 0),
                                 "watch": (4, 0), "done": (5, 0)}


def test_a_split_sends_every_arm_on_and_its_weights_are_checked() -> None:
    src = editing.insert_node(_starter(), "@start", "ab", "split", {"arms": "sms:45，call:45", "holdout": "10"})
    j = parse(src)
    assert j.nodes["ab"].spec["arms"] == {"sms": {"weight": 45, "next": "done"}, "call": {"weight": 45, "next": "done"}}
    assert [s[0] for s in editing.slots(src)] == ["@start", "ab:arm:sms", "ab:arm:call"]
    src = editing.insert_node(src, "ab:arm:call", "ring", "task", {"title": "电话"})
    assert parse(src).nodes["ab"].spec["arms"]["call"]["next"] == "ring"
    wrong = editing.insert_node(_starter(), "@start", "ab", "split", {"arms": "a:50", "holdout": "10"})
    with pytest.raises(InvalidInput) as e:
        parse(wrong)
    assert "nodes.ab.arms: weights plus holdout must add up to 100" in e.value.message
    with pytest.raises(InvalidInput, match="arms: 'a50' is not name:weight"):
        editing.insert_node(_starter(), "@start", "ab", "split", {"arms": "a50"})


def test_inserting_on_the_next_of_an_event_wait_keeps_its_timeout_exit() -> None:
    src = editing.insert_node(OUTSIDE, "wait1:next", "thanks", "message", {"channel": "inbox", "template": "thanks"})
    j = parse(src)
    assert j.nodes["wait1"].spec["next"] == "thanks" and j.nodes["wait1"].spec["timeout_next"] == "fin"
    assert j.name_zh == "续期提醒" and "#" not in src  # a form edit rewrites the YAML; comments go


def test_removing_a_node_rewires_what_led_to_it() -> None:
    src = editing.insert_node(_starter(), "@start", "remind", "message", {"channel": "sms", "template": "t1"})
    src = editing.insert_node(src, "remind:next", "pause", "wait", {"wait_mode": "duration", "duration": "3d"})
    assert parse(editing.remove_node(src, "pause")).nodes["remind"].targets() == ["done"]
    after = parse(editing.remove_node(src, "remind"))
    assert after.start == "pause" and "remind" not in after.nodes
    with pytest.raises(InvalidInput, match="remind still leads to done"):
        editing.remove_node(editing.remove_node(src, "pause"), "done")
    branched = editing.insert_node(src, "pause:next", "old", "branch", {"attr": "age", "op": ">=", "value": "60"})
    branched = editing.insert_node(branched, "old:else", "young", "tag", {"tag": "young"})
    with pytest.raises(InvalidInput, match="old leads to done, young"):
        editing.remove_node(branched, "old")
    # once its cases lead where its else leads, it can go
    assert "old" not in parse(editing.remove_node(editing.remove_node(branched, "young"), "old")).nodes


@pytest.mark.parametrize(("after", "node_id", "node_type", "fields", "field"), [
    ("@start", "Remind", "message", {"channel": "sms", "template": "t"}, "node_id"),
    ("@start", "done", "message", {"channel": "sms", "template": "t"}, "node_id"),
    ("@start", "x1", "letter", {}, "node_type"),
    ("ghost:next", "x1", "tag", {"tag": "t1"}, "after"),
    ("@start", "x1", "message", {"channel": "fax", "template": "t"}, "channel"),
    ("@start", "x1", "message", {"channel": "sms", "template": "  "}, "template"),
    ("@start", "x1", "wait", {"wait_mode": "until_event", "until_event": "premium_paid"}, "timeout"),
    ("@start", "x1", "wait", {"wait_mode": "forever"}, "wait_mode"),
    ("@start", "x1", "branch", {"attr": "age", "op": "~", "value": "3"}, "op"),
    ("@start", "x1", "split", {"arms": "a:100", "holdout": "ten"}, "holdout"),
])
def test_form_mistakes_name_their_field(after: str, node_id: str, node_type: str, fields: dict[str, str],
                                        field: str) -> None:
    with pytest.raises(InvalidInput) as e:
        editing.insert_node(_starter(), after, node_id, node_type, fields)
    assert e.value.message.startswith(f"{field}: ") and e.value.data["field"] == field


def test_the_starter_and_the_source_are_checked() -> None:
    with pytest.raises(InvalidInput, match="key: 'Care' must be lower-case"):
        editing.starter("Care", "关怀", "", "premium_due")
    with pytest.raises(InvalidInput, match="event: 'premium_soon' is not one of"):
        editing.starter("care", "关怀", "", "premium_soon")
    with pytest.raises(InvalidInput, match="name_zh: missing"):
        editing.starter("care", " ", "", "premium_due")
    with pytest.raises(InvalidInput, match="source: not valid YAML"):
        editing.insert_node("key: [unclosed", "@start", "x1", "end", {})
    with pytest.raises(InvalidInput, match="source: start from a journey"):
        editing.insert_node("just text", "@start", "x1", "end", {})
    assert editing.slots("key: [unclosed") == [] and editing.node_ids("") == []


NODE_FORMS = {
    "wait": {"wait_mode": "duration", "duration": "1d"},
    "message": {"channel": "inbox", "template": "t_msg"},
    "task": {"title": "跟进"},
    "content": {"title": "指南", "link": "/h5/inbox"},
    "tag": {"tag": "seen"},
    "branch": {"attr": "age", "op": ">", "value": "30"},
    "split": {"arms": "aa:50,bb:50", "holdout": "0"},
}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(NODE_FORMS)), st.integers(0, 1000), st.booleans()),
                min_size=1, max_size=12))
def test_any_sequence_of_form_edits_gives_a_journey_that_checks(edits: list[tuple[str, int, bool]]) -> None:
    """Adding any node on any exit, or removing a removable node, always leaves a valid, acyclic,
    fully reachable journey (the checker agrees), and every node added is in it."""
    src, added = _starter(), set()
    for i, (kind, pick, remove) in enumerate(edits):
        if remove and added:
            victim = sorted(added)[pick % len(added)]
            try:
                src = editing.remove_node(src, victim)
                added.discard(victim)
            except InvalidInput as e:
                assert "leads to" in e.message  # only a node with several different exits is refused
        else:
            slots = editing.slots(src)
            node_id = f"n{i}"
            src = editing.insert_node(src, slots[pick % len(slots)][0], node_id, kind, NODE_FORMS[kind])
            added.add(node_id)
        j = parse(src)
        assert added <= set(j.nodes)
