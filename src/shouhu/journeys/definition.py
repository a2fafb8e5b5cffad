"""Journey definitions: a YAML document parsed and checked into a graph of nodes (pure, no database).

A journey has an entry (an event, or a segment evaluated once or daily), optional exit events, an
optional goal (a conversion event within an attribution window), a re-entry rule, and named nodes::

    key: premium_due_care
    name: {zh-CN: 缴费前关怀, en: Care before the premium falls due}
    entry: {event: premium_due, where: [{attr: age, op: ">=", value: 18}]}
    reentry: {after_days: 300}          # never (default) | {after_days: N} | parallel (one per policy)
    exit: {events: [policy_lapsed]}
    goal: {event: premium_paid, within_days: 30, exit: true}
    start: split
    nodes:
      split: {type: split, arms: {sms: {weight: 45, next: remind}, call: {weight: 45, next: call}}, holdout: 10}
      remind: {type: message, channel: sms, template: premium_due_sms, next: wait_paid}
      call: {type: task, title: 缴费前致电提醒, due_in: 2d, next: wait_paid}
      wait_paid: {type: wait, until_event: premium_paid, timeout: 7d, next: done, timeout_next: risky}
      risky: {type: branch, cases: [{when: [{attr: lapse_probability, op: ">=", value: 0.3}], next: call2}],
              else: done}
      call2: {type: task, title: 高风险保单跟进, due_in: 1d, priority: 1, next: done}
      done: {type: end}

Node types: ``wait`` (``duration``; ``until_time`` "HH:MM" in the customer's time zone; ``until_event``
with ``timeout`` and ``timeout_next``), ``branch`` (``cases`` of all-true conditions, ``else``),
``split`` (weighted arms and a ``holdout`` percentage, assigned by a stable hash of the customer),
``message`` (``channel`` email | sms | wecom | inbox, ``template``), ``task`` (agent task), ``content``
(pushed to the customer's H5 inbox), ``tag``, ``end``. The graph must be acyclic and every node
reachable. Errors name the field path (``nodes.remind.template``) and, when known, the file.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import yaml

from shouhu.errors import InvalidInput

NODE_TYPES = ("wait", "branch", "split", "message", "task", "content", "tag", "end")
CHANNELS = ("email", "sms", "wecom", "inbox")
KINDS = ("marketing", "service", "transactional")
OPS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in", "exists", "has_tag")
EVENT_TYPES = ("premium_due", "policy_anniversary", "birthday", "claim_filed", "new_child", "lapse_risk_high",
               "content_read", "premium_paid", "policy_lapsed", "policy_reinstated", "policy_issued",
               "case_closed", "task_done")
KEY = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(value: Any, where: str) -> timedelta:
    """``30m``, ``2h``, ``3d``, ``1w`` (an integer alone is days)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return timedelta(days=value)
    m = DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if m is None:
        raise InvalidInput(f"{where}: {value!r} is not a duration such as 30m, 2h, 3d or 1w", field=where)
    return timedelta(seconds=int(m.group(1)) * UNITS[m.group(2)])


@dataclass(frozen=True)
class Condition:
    attr: str
    op: str
    value: Any = None

    def holds(self, attrs: dict[str, Any], tags: frozenset[str]) -> bool:
        if self.op == "has_tag":
            return str(self.value) in tags
        have = attrs.get(self.attr)
        if self.op == "exists":
            return have is not None
        if have is None:
            return False
        if self.op in ("in", "not_in"):
            inside = have in self.value or str(have) in [str(v) for v in self.value]
            return inside if self.op == "in" else not inside
        a: Any
        b: Any
        try:  # numbers compare as numbers, anything else (dates, codes) as text
            a, b = (float(have), float(self.value)) if isinstance(self.value, int | float) else (str(have),
                                                                                                  str(self.value))
        except (TypeError, ValueError):
            return False
        return bool({"==": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[self.op])


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    spec: dict[str, Any]

    def targets(self) -> list[str]:
        """Every node this one can go to."""
        s = self.spec
        out = [s[k] for k in ("next", "timeout_next", "else") if s.get(k)]
        out += [c["next"] for c in s.get("cases", [])]
        out += [a["next"] for a in s.get("arms", {}).values()]
        return out


@dataclass(frozen=True)
class Journey:
    key: str
    name_zh: str
    name_en: str
    entry: dict[str, Any]
    start: str
    nodes: dict[str, Node]
    reentry: str = "never"  # never | after_days | parallel
    reentry_days: int = 0
    exit_events: tuple[str, ...] = ()
    goal: dict[str, Any] | None = None
    where: tuple[Condition, ...] = field(default=())

    @property
    def entry_event(self) -> str | None:
        return self.entry.get("event")

    def to_json(self) -> str:
        return json.dumps(_plain(self), ensure_ascii=False, sort_keys=True)

    def checksum(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()


def _plain(j: Journey) -> dict[str, Any]:
    return {"key": j.key, "name_zh": j.name_zh, "name_en": j.name_en, "entry": j.entry, "start": j.start,
            "nodes": {n.id: {"type": n.type, **n.spec} for n in j.nodes.values()}, "reentry": j.reentry,
            "reentry_days": j.reentry_days, "exit_events": list(j.exit_events), "goal": j.goal,
            "where": [vars(c) for c in j.where]}


def from_json(text: str) -> Journey:
    """A journey back from its stored JSON (already checked when it was published)."""
    d = json.loads(text)
    nodes = {k: Node(k, v.pop("type"), v) for k, v in d["nodes"].items()}
    return Journey(d["key"], d["name_zh"], d["name_en"], d["entry"], d["start"], nodes, d["reentry"],
                   d["reentry_days"], tuple(d["exit_events"]), d["goal"],
                   tuple(Condition(**c) for c in d["where"]))


class _Checker:
    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def key(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not KEY.match(value):
            self.fail(where, f"{value!r} must be lower-case letters, digits and _ (2-64, starting with a letter)")
            return str(value)
        return value

    def conditions(self, raw: Any, where: str) -> tuple[Condition, ...]:
        if raw is None:
            return ()
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list):
            self.fail(where, "must be a list of {attr, op, value} conditions")
            return ()
        out = []
        for i, c in enumerate(raw):
            w = f"{where}[{i}]"
            if not isinstance(c, dict) or "op" not in c:
                self.fail(w, "must be a mapping with attr, op and value")
                continue
            if c["op"] not in OPS:
                self.fail(f"{w}.op", f"{c['op']!r} is not one of {', '.join(OPS)}")
                continue
            if c["op"] != "has_tag" and not isinstance(c.get("attr"), str):
                self.fail(f"{w}.attr", "missing")
                continue
            if c["op"] in ("in", "not_in") and not isinstance(c.get("value"), list):
                self.fail(f"{w}.value", "must be a list for in / not_in")
                continue
            if c["op"] not in ("exists",) and "value" not in c:
                self.fail(f"{w}.value", "missing")
                continue
            out.append(Condition(str(c.get("attr", "tags")), c["op"], c.get("value")))
        return tuple(out)

    def event(self, value: Any, where: str) -> str:
        if value not in EVENT_TYPES and not (isinstance(value, str) and value.startswith("custom.")):
            self.fail(where, f"{value!r} is not a known event ({', '.join(EVENT_TYPES)}) or custom.<name>")
        return str(value)

    def node(self, node_id: str, raw: Any) -> Node | None:
        where = f"nodes.{node_id}"
        if not isinstance(raw, dict) or raw.get("type") not in NODE_TYPES:
            self.fail(f"{where}.type", f"must be one of {', '.join(NODE_TYPES)}")
            return None
        spec = {k: v for k, v in raw.items() if k != "type"}
        kind = raw["type"]
        need_next = kind not in ("end", "branch", "split")
        if need_next and not spec.get("next"):
            self.fail(f"{where}.next", "missing")
        if kind == "wait":
            modes = [k for k in ("duration", "until_time", "until_event") if k in spec]
            if len(modes) != 1:
                self.fail(where, "a wait needs exactly one of duration, until_time, until_event")
            elif modes[0] == "duration":
                spec["seconds"] = self.seconds(spec["duration"], f"{where}.duration")
            elif modes[0] == "until_time":
                if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", str(spec["until_time"])):
                    self.fail(f"{where}.until_time", f"{spec['until_time']!r} is not HH:MM")
            else:
                self.event(spec["until_event"], f"{where}.until_event")
                if "timeout" not in spec:
                    self.fail(f"{where}.timeout", "missing (how long to wait for the event)")
                else:
                    spec["seconds"] = self.seconds(spec["timeout"], f"{where}.timeout")
                spec.setdefault("timeout_next", spec.get("next"))
        elif kind == "branch":
            cases = spec.get("cases")
            if not isinstance(cases, list) or not cases:
                self.fail(f"{where}.cases", "a branch needs at least one case")
                cases = []
            clean = []
            for i, c in enumerate(cases):
                if not isinstance(c, dict) or not c.get("next"):
                    self.fail(f"{where}.cases[{i}].next", "missing")
                    continue
                conds = self.conditions(c.get("when"), f"{where}.cases[{i}].when")
                clean.append({"when": [vars(x) for x in conds], "next": c["next"]})
            spec["cases"] = clean
            if not spec.get("else"):
                self.fail(f"{where}.else", "missing (where customers matching no case go)")
        elif kind == "split":
            arms = spec.get("arms")
            if not isinstance(arms, dict) or not arms:
                self.fail(f"{where}.arms", "a split needs at least one arm")
                arms = {}
            holdout = spec.get("holdout", 0)
            if not isinstance(holdout, int | float) or not 0 <= holdout < 100:
                self.fail(f"{where}.holdout", "must be a percentage from 0 to 99")
                holdout = 0
            total = float(holdout)
            for name, arm in arms.items():
                self.key(name, f"{where}.arms.{name}")
                if name == "holdout":
                    self.fail(f"{where}.arms.holdout", "holdout is reserved: use the holdout percentage")
                if not isinstance(arm, dict) or not arm.get("next") or not isinstance(arm.get("weight"), int | float) \
                        or arm["weight"] <= 0:
                    self.fail(f"{where}.arms.{name}", "needs a positive weight and next")
                    continue
                total += float(arm["weight"])
            if arms and abs(total - 100.0) > 1e-9:
                self.fail(f"{where}.arms", f"weights plus holdout must add up to 100 (they add up to {total:g})")
            spec["holdout"] = holdout
        elif kind == "message":
            if spec.get("channel") not in CHANNELS:
                self.fail(f"{where}.channel", f"must be one of {', '.join(CHANNELS)}")
            if not spec.get("template"):
                self.fail(f"{where}.template", "missing")
        elif kind == "task":
            if not spec.get("title"):
                self.fail(f"{where}.title", "missing")
            spec["due_days"] = self.seconds(spec.get("due_in", "2d"), f"{where}.due_in") // 86400
            if spec.get("priority", 2) not in (1, 2, 3):
                self.fail(f"{where}.priority", "must be 1 (high), 2 or 3")
        elif kind == "content":
            if not spec.get("title"):
                self.fail(f"{where}.title", "missing")
        elif kind == "tag":
            self.key(spec.get("tag"), f"{where}.tag")
        return Node(node_id, kind, spec)

    def seconds(self, value: Any, where: str) -> int:
        try:
            return int(parse_duration(value, where).total_seconds())
        except InvalidInput as e:
            self.problems.append(e.message)
            return 0


def _name(raw: Any, check: _Checker) -> tuple[str, str]:
    if isinstance(raw, str) and raw.strip():
        return raw, raw
    if isinstance(raw, dict) and (raw.get("zh-CN") or raw.get("zh")):
        zh = str(raw.get("zh-CN") or raw.get("zh"))
        return zh, str(raw.get("en") or zh)
    check.fail("name", "missing (a string or {zh-CN: ..., en: ...})")
    return "", ""


def parse(text: str, origin: str = "<journey>") -> Journey:
    """Parse and check a journey YAML document; raises InvalidInput listing every problem found."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput(f"{origin}{line}: not valid YAML: {getattr(e, 'problem', e)}", file=origin) from e
    if not isinstance(raw, dict):
        raise InvalidInput(f"{origin}: a journey must be a YAML mapping with key, name, entry, start, nodes",
                           file=origin)
    check = _Checker(origin)
    key = check.key(raw.get("key"), "key")
    name_zh, name_en = _name(raw.get("name"), check)
    entry = raw.get("entry")
    where: tuple[Condition, ...] = ()
    clean_entry: dict[str, Any] = {}
    if not isinstance(entry, dict) or ("event" in entry) == ("segment" in entry):
        check.fail("entry", "needs exactly one of event (a trigger) or segment (conditions on the customer view)")
    else:
        where = check.conditions(entry.get("where"), "entry.where")
        if "event" in entry:
            clean_entry["event"] = check.event(entry["event"], "entry.event")
        else:
            seg = check.conditions(entry["segment"], "entry.segment")
            clean_entry["segment"] = [vars(c) for c in seg]
            schedule = entry.get("schedule", "once")
            if schedule not in ("once", "daily"):
                check.fail("entry.schedule", "must be once or daily")
            clean_entry["schedule"] = schedule
    reentry, days = "never", 0
    r = raw.get("reentry", "never")
    if r in ("never", "parallel"):
        reentry = str(r)
    elif isinstance(r, dict) and isinstance(r.get("after_days"), int) and r["after_days"] > 0:
        reentry, days = "after_days", int(r["after_days"])
    else:
        check.fail("reentry", "must be never, parallel (one instance per policy) or {after_days: N}")
    exit_events: tuple[str, ...] = ()
    ex = raw.get("exit")
    if ex is not None:
        events = ex.get("events") if isinstance(ex, dict) else None
        if not isinstance(events, list):
            check.fail("exit.events", "must be a list of events")
        else:
            exit_events = tuple(check.event(e, f"exit.events[{i}]") for i, e in enumerate(events))
    goal = raw.get("goal")
    if goal is not None:
        if not isinstance(goal, dict) or "event" not in goal:
            check.fail("goal.event", "missing")
            goal = None
        else:
            check.event(goal["event"], "goal.event")
            within = goal.get("within_days", 30)
            if not isinstance(within, int) or within <= 0:
                check.fail("goal.within_days", "must be a positive number of days")
            goal = {"event": goal["event"], "within_days": within, "exit": bool(goal.get("exit", False))}
    nodes_raw = raw.get("nodes")
    nodes: dict[str, Node] = {}
    if not isinstance(nodes_raw, dict) or not nodes_raw:
        check.fail("nodes", "missing (a mapping of node id to node)")
    else:
        for node_id, spec in nodes_raw.items():
            check.key(node_id, f"nodes.{node_id}")
            node = check.node(str(node_id), spec)
            if node is not None:
                nodes[str(node_id)] = node
    start = raw.get("start")
    if nodes and start not in nodes:
        check.fail("start", f"{start!r} is not a node")
    for node in nodes.values():
        for t in node.targets():
            if t not in nodes:
                check.fail(f"nodes.{node.id}", f"goes to {t!r}, which is not a node")
    if not check.problems and nodes:
        _check_graph(check, nodes, str(start))
    if check.problems:
        raise InvalidInput(f"{origin}: " + "; ".join(check.problems), file=origin, problems=check.problems)
    return Journey(key, name_zh, name_en, clean_entry, str(start), nodes, reentry, days, exit_events, goal, where)


def _check_graph(check: _Checker, nodes: dict[str, Node], start: str) -> None:
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(n: str, path: list[str]) -> None:
        if state.get(n) == 1:
            check.fail("nodes", f"the graph has a cycle: {' -> '.join([*path[path.index(n):], n])}")
            return
        if state.get(n) == 2:
            return
        state[n] = 1
        for t in nodes[n].targets():
            visit(t, [*path, n])
        state[n] = 2

    visit(start, [])
    unreachable = [n for n in nodes if n not in state]
    if unreachable:
        check.fail("nodes", f"not reachable from start: {', '.join(unreachable)}")


def arm_for(journey_key: str, customer_id: str, node: Node) -> str:
    """A stable A/B arm: the same customer always lands in the same arm of the same split."""
    h = int(hashlib.sha256(f"{journey_key}:{node.id}:{customer_id}".encode()).hexdigest()[:8], 16) % 10_000 / 100.0
    edge = float(node.spec.get("holdout", 0))
    if h < edge:
        return "holdout"
    for name, arm in node.spec["arms"].items():
        edge += float(arm["weight"])
        if h < edge:
            return str(name)
    return str(list(node.spec["arms"])[-1])
