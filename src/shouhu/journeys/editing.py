"""Form-based journey editing: edits of the YAML document made from the console's forms (pure, no database).

The console editor works on the same YAML a power user would type, so both ways of working meet in one
place. A form edit is one of:

* ``starter``: a new journey (key, names, the entry event, an optional goal) with a single end node;
* ``insert_node``: a new node on one exit ("slot") of an existing node, or before the start; the new
  node's exits all lead where that slot led, so the graph stays connected (a wait, a message, a task,
  ...), and a branch or split put there sends every case/arm on to the same place until more nodes are
  added on them;
* ``remove_node``: the node goes and whatever led to it leads where it led (a branch or split with
  different targets cannot be removed this way: empty its cases or arms first).

Each returns the new YAML text; the caller checks it with ``definition.parse`` as for typed YAML (so
an edit can never publish an invalid journey). Comments in typed YAML are not kept by a form edit.
``layout`` places the nodes of a checked journey for the graph view (layers by longest path).
"""

from __future__ import annotations

from typing import Any

import yaml

from shouhu.errors import InvalidInput
from shouhu.journeys.definition import CHANNELS, EVENT_TYPES, KEY, NODE_TYPES, OPS, Journey

# the form's fields per node type (everything else the form sends is ignored for that type)
FIELDS: dict[str, tuple[str, ...]] = {
    "wait": ("wait_mode", "duration", "until_time", "until_event", "timeout"),
    "branch": ("attr", "op", "value"),
    "split": ("arms", "holdout"),
    "message": ("channel", "template"),
    "task": ("title", "due_in", "priority"),
    "content": ("title", "summary", "link"),
    "tag": ("tag",),
    "end": (),
}


def _load(source: str) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(source) if source.strip() else None
    except yaml.YAMLError as e:
        raise InvalidInput(f"source: not valid YAML ({getattr(e, 'problem', e)}); fix it in the text first",
                           field="source") from e
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), dict):
        raise InvalidInput("source: start from a journey (the new-journey form, or YAML with nodes)", field="source")
    return raw


def _dump(raw: dict[str, Any]) -> str:
    return str(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=110, default_flow_style=None))


def starter(key: str, name_zh: str, name_en: str = "", event: str = "", goal_event: str = "",
            goal_days: int = 30) -> str:
    """YAML for a new journey entered on ``event``, with one end node to add steps before."""
    key = key.strip()
    if not KEY.match(key):
        raise InvalidInput(f"key: {key!r} must be lower-case letters, digits and _ (2-64, starting with a letter)",
                           field="key")
    if not name_zh.strip():
        raise InvalidInput("name_zh: missing (the journey's Chinese name)", field="name_zh")
    if event not in EVENT_TYPES:
        raise InvalidInput(f"event: {event!r} is not one of {', '.join(EVENT_TYPES)}", field="event")
    raw: dict[str, Any] = {"key": key, "name": {"zh-CN": name_zh.strip(), "en": (name_en or name_zh).strip()},
                           "entry": {"event": event}}
    if goal_event:
        if goal_event not in EVENT_TYPES:
            raise InvalidInput(f"goal_event: {goal_event!r} is not one of {', '.join(EVENT_TYPES)}",
                               field="goal_event")
        if not 1 <= goal_days <= 3650:
            raise InvalidInput("goal_days: must be from 1 to 3650", field="goal_days")
        raw["goal"] = {"event": goal_event, "within_days": goal_days, "exit": True}
    raw["start"] = "done"
    raw["nodes"] = {"done": {"type": "end"}}
    return _dump(raw)


def slots(source: str) -> list[tuple[str, str, str]]:
    """Where a node can be added: (slot value, node id, exit) for every exit of every node, in order.
    The slot ``@start`` is before the start node."""
    try:
        raw = _load(source)
    except InvalidInput:
        return []
    out = [("@start", "", "start")]
    for node_id, spec in raw["nodes"].items():
        if not isinstance(spec, dict):
            continue
        for exit_, _ in _exits(spec):
            out.append((f"{node_id}:{exit_}", str(node_id), exit_))
    return out


def node_ids(source: str) -> list[str]:
    try:
        return [str(k) for k in _load(source)["nodes"]]
    except InvalidInput:
        return []


def _exits(spec: dict[str, Any]) -> list[tuple[str, Any]]:
    """(exit name, target) of a raw node: next, timeout_next, case:N, else, arm:NAME."""
    out: list[tuple[str, Any]] = []
    kind = spec.get("type")
    if kind == "branch":
        out += [(f"case:{i}", c.get("next")) for i, c in enumerate(spec.get("cases") or []) if isinstance(c, dict)]
        out.append(("else", spec.get("else")))
    elif kind == "split":
        arms = spec.get("arms")
        out += [(f"arm:{name}", arm.get("next")) for name, arm in (arms if isinstance(arms, dict) else {}).items()
                if isinstance(arm, dict)]
    elif kind != "end":
        out.append(("next", spec.get("next")))
        if kind == "wait" and "until_event" in spec:
            out.append(("timeout_next", spec.get("timeout_next", spec.get("next"))))
    return out


def _set_exit(spec: dict[str, Any], exit_: str, target: str) -> None:
    if exit_.startswith("case:"):
        spec["cases"][int(exit_[5:])]["next"] = target
    elif exit_.startswith("arm:"):
        spec["arms"][exit_[4:]]["next"] = target
    else:
        spec[exit_] = target


def _scalar(text: str) -> Any:
    """A form value as YAML reads it: 60 is a number, [a, b] a list, anything else text."""
    text = text.strip()
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, int | float | list) else text  # bool is an int: true/false stay bools


def _new_node(node_type: str, f: dict[str, str], target: str | None) -> dict[str, Any]:
    def need(name: str) -> str:
        value = (f.get(name) or "").strip()
        if not value:
            raise InvalidInput(f"{name}: missing for a {node_type} node", field=name)
        return value

    node: dict[str, Any] = {"type": node_type}
    if node_type == "wait":
        mode = f.get("wait_mode") or "duration"
        if mode == "duration":
            node["duration"] = need("duration")
        elif mode == "until_time":
            node["until_time"] = need("until_time")
        elif mode == "until_event":
            node["until_event"] = need("until_event")
            node["timeout"] = need("timeout")
        else:
            raise InvalidInput(f"wait_mode: {mode!r} is not duration, until_time or until_event", field="wait_mode")
    elif node_type == "branch":
        op = need("op")
        if op not in OPS:
            raise InvalidInput(f"op: {op!r} is not one of {', '.join(OPS)}", field="op")
        cond: dict[str, Any] = {"attr": need("attr") if op != "has_tag" else (f.get("attr") or "tags"), "op": op}
        if op != "exists":
            cond["value"] = _scalar(need("value"))
        node["cases"] = [{"when": [cond], "next": target}]
        node["else"] = target
        return node
    elif node_type == "split":
        arms: dict[str, Any] = {}
        for part in need("arms").replace("，", ",").split(","):
            name, _, weight = part.strip().partition(":")
            try:
                arms[name.strip()] = {"weight": float(weight) if "." in weight else int(weight), "next": target}
            except ValueError:
                raise InvalidInput(f"arms: {part.strip()!r} is not name:weight (e.g. sms:45, call:45)",
                                   field="arms") from None
        node["arms"] = arms
        holdout = (f.get("holdout") or "0").strip()
        try:
            node["holdout"] = int(holdout)
        except ValueError:
            raise InvalidInput(f"holdout: {holdout!r} is not a whole percentage", field="holdout") from None
        return node
    elif node_type == "message":
        channel = need("channel")
        if channel not in CHANNELS:
            raise InvalidInput(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}", field="channel")
        node |= {"channel": channel, "template": need("template")}
    elif node_type == "task":
        node["title"] = need("title")
        node["due_in"] = (f.get("due_in") or "2d").strip()
        node["priority"] = int(f.get("priority") or 2) if (f.get("priority") or "2").strip().isdigit() else 2
    elif node_type == "content":
        node["title"] = need("title")
        for k in ("summary", "link"):
            if (f.get(k) or "").strip():
                node[k] = f[k].strip()
    elif node_type == "tag":
        node["tag"] = need("tag")
    if node_type == "end":
        return node
    if target is None:
        raise InvalidInput(f"after: that exit leads nowhere, so a {node_type} node there has no next; "
                           "add it before the end node instead", field="after")
    node["next"] = target
    if node_type == "wait" and "until_event" in node:
        node["timeout_next"] = target
    return node


def insert_node(source: str, after: str, node_id: str, node_type: str, fields: dict[str, str]) -> str:
    """The YAML with a new node placed on slot ``after`` (``node:exit`` from ``slots``, or ``@start``)."""
    raw = _load(source)
    nodes: dict[str, Any] = raw["nodes"]
    node_id = node_id.strip()
    if not KEY.match(node_id):
        raise InvalidInput(f"node_id: {node_id!r} must be lower-case letters, digits and _ (2-64, starting with a "
                           "letter)", field="node_id")
    if node_id in nodes:
        raise InvalidInput(f"node_id: there is already a node {node_id!r}", field="node_id")
    if node_type not in NODE_TYPES:
        raise InvalidInput(f"node_type: {node_type!r} is not one of {', '.join(NODE_TYPES)}", field="node_type")
    if after == "@start":
        target = raw.get("start")
        new = _new_node(node_type, fields, str(target) if target else None)
        raw["start"] = node_id
    else:
        owner, _, exit_ = after.partition(":")
        spec = nodes.get(owner)
        exits = dict(_exits(spec)) if isinstance(spec, dict) else {}
        if spec is None or exit_ not in exits:
            raise InvalidInput(f"after: {after!r} is not an exit of a node (choose one from the list)", field="after")
        old = exits[exit_]
        new = _new_node(node_type, fields, str(old) if old else None)
        if exit_ == "next" and spec.get("type") == "wait" and "until_event" in spec and "timeout_next" not in spec:
            spec["timeout_next"] = old  # it followed next implicitly; keep it where it was
        _set_exit(spec, exit_, node_id)
    # the new node goes right after the node it follows (first, before the start), so the YAML reads in order
    placed: dict[str, Any] = {node_id: new} if after == "@start" else {}
    for k, v in nodes.items():
        placed[k] = v
        if k == after.partition(":")[0]:
            placed[node_id] = new
    raw["nodes"] = placed
    return _dump(raw)


def remove_node(source: str, node_id: str) -> str:
    """The YAML without ``node_id``; what led to it now leads where it led."""
    raw = _load(source)
    nodes: dict[str, Any] = raw["nodes"]
    spec = nodes.get(node_id)
    if not isinstance(spec, dict):
        raise InvalidInput(f"node_id: there is no node {node_id!r}", field="node_id")
    targets = {str(t) for _, t in _exits(spec) if t}
    if len(targets) > 1:
        raise InvalidInput(f"node_id: {node_id} leads to {', '.join(sorted(targets))}; remove the nodes on all but "
                           "one of its exits first", field="node_id")
    successor = next(iter(targets), None)
    for other_id, other in nodes.items():
        if other_id == node_id or not isinstance(other, dict):
            continue
        for exit_, target in _exits(other):
            if target == node_id:
                if successor is None:
                    raise InvalidInput(f"node_id: {other_id} still leads to {node_id}, which has no next; add "
                                       "another end first", field="node_id")
                _set_exit(other, exit_, successor)
    if raw.get("start") == node_id:
        if successor is None:
            raise InvalidInput(f"node_id: {node_id} is the start and leads nowhere", field="node_id")
        raw["start"] = successor
    raw["nodes"] = {k: v for k, v in nodes.items() if k != node_id}
    return _dump(raw)


def layout(journey: Journey) -> dict[str, tuple[int, int]]:
    """(layer, row) of every node: a node's layer is its longest path from the start, rows in order."""
    depth: dict[str, int] = {journey.start: 0}
    order = _topological(journey)
    for n in order:
        for t in journey.nodes[n].targets():
            depth[t] = max(depth.get(t, 0), depth.get(n, 0) + 1)
    rows: dict[int, int] = {}
    out: dict[str, tuple[int, int]] = {}
    for n in order:
        layer = depth.get(n, 0)
        out[n] = (layer, rows.get(layer, 0))
        rows[layer] = rows.get(layer, 0) + 1
    return out


def _topological(journey: Journey) -> list[str]:
    seen: set[str] = set()
    post: list[str] = []

    def visit(n: str) -> None:
        if n in seen:
            return
        seen.add(n)
        for t in journey.nodes[n].targets():
            visit(t)
        post.append(n)

    visit(journey.start)
    for n in journey.nodes:
        visit(n)
    return post[::-1]
