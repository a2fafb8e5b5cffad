"""Pod operations against the serving database: sync members, balanced assignment, orphan reassignment.

Each operation reads loads and writes moves in ONE transaction, then writes one audit entry naming
the actor, the counts and the range of move ids (the moves themselves are in the append-only
``pod_move`` log).
"""

from __future__ import annotations

from typing import Any

from shouhu.errors import InvalidInput
from shouhu.storage import audit
from shouhu.storage import workforce as store
from shouhu.workforce import pods

Engine = Any  # a SQLAlchemy engine; only storage imports SQLAlchemy


def sync(engine: Engine) -> dict[str, int]:
    return store.sync_members(engine, pods.pod_role_of, pods.DEFAULT_CAPACITY)


def _members(rows: list[dict[str, Any]]) -> list[pods.Member]:
    return [pods.Member(r["staff_id"], r["pod_role"], r["branch_id"], r["team_id"], r["capacity"], r["load"],
                        bool(r["active"])) for r in rows]


def _audit(engine: Engine, actor: str, role: str, action: str, target: str, detail: dict[str, Any]) -> None:
    audit.append(engine, actor=actor, actor_role=role, action=action, target_kind="pod", target_id=target,
                 detail=detail)


def assign(engine: Engine, pod_role: str, *, branch_id: str | None = None, actor: str = "cli",
           actor_role: str = "admin", dry_run: bool = False) -> dict[str, Any]:
    """Give every customer lacking a ``pod_role`` member one, balanced by capacity within the branch."""
    pods.check_pod_role(pod_role)
    with engine.begin() as conn:
        needs = store.needs(conn, pod_role, branch_id)
        members = _members(store.members(conn, pod_role))
        decisions = pods.balance(members, [pods.Need(n["customer_id"], n["branch_id"]) for n in needs], pod_role)
        before = {n["customer_id"]: n["agent_id"] if pod_role == "agent" else None for n in needs}
        branch = {n["customer_id"]: n["branch_id"] for n in needs}
        moves = [{"customer_id": d.customer_id, "pod_role": pod_role, "from_staff": before[d.customer_id],
                  "to_staff": d.staff_id, "branch_id": branch[d.customer_id], "reason": d.reason}
                 for d in decisions if d.staff_id]
        if not dry_run:
            store.assign(conn, moves, source="auto", actor=actor)
    unassigned = [{"customer_id": d.customer_id, "reason": d.reason} for d in decisions if not d.staff_id]
    if not dry_run and moves:
        _audit(engine, actor, actor_role, "pod.assign", branch_id or "*",
               {"pod_role": pod_role, "assigned": len(moves), "unassigned": len(unassigned)})
    return {"pod_role": pod_role, "branch_id": branch_id, "assigned": len(moves), "dry_run": dry_run,
            "unassigned": unassigned, "moves": moves}


def leave(engine: Engine, staff_id: str, *, actor: str = "cli", actor_role: str = "admin",
          reason: str = "") -> dict[str, Any]:
    """An agent leaves: retire the member, move their customers and the policies they serve (孤儿单)
    to active agents of the same team, else branch; the producer of record stays."""
    if not reason.strip():
        raise InvalidInput("say why the agent leaves (reason)", field="reason")
    store.set_member(engine, staff_id, active=False)
    with engine.begin() as conn:
        member = store.get_member(conn, staff_id)
        if member["pod_role"] != "agent":
            raise InvalidInput(f"{staff_id} is a {member['pod_role']}, not an agent; orphan policies are agents'")
        book = store.served_by(conn, staff_id)
        needs = [pods.Need(c["customer_id"], c["branch_id"], c["team_id"] or member["team_id"]) for c in book]
        decisions = pods.orphan_targets(_members(store.members(conn, "agent")), needs, staff_id)
        moves = [{"customer_id": d.customer_id, "pod_role": "agent", "from_staff": staff_id, "to_staff": d.staff_id,
                  "branch_id": next(c["branch_id"] for c in book if c["customer_id"] == d.customer_id),
                  "reason": f"{d.reason}; {reason.strip()}"} for d in decisions if d.staff_id]
        store.assign(conn, moves, source="orphan", actor=actor)
        new_agent = {m["customer_id"]: m["to_staff"] for m in moves}
        policy_moves = _policy_moves(conn, staff_id, new_agent, reason.strip())
        store.move_policies(conn, policy_moves, actor=actor)
    stranded = [{"customer_id": d.customer_id, "reason": d.reason} for d in decisions if not d.staff_id]
    _audit(engine, actor, actor_role, "pod.orphan", staff_id,
           {"customers_moved": len(moves), "policies_moved": len(policy_moves), "stranded": len(stranded),
            "reason": reason.strip()})
    return {"staff_id": staff_id, "customers_moved": len(moves), "policies_moved": len(policy_moves),
            "stranded": stranded, "moves": moves, "policy_moves": policy_moves}


def _policy_moves(conn: Any, leaver: str, new_agent: dict[str, str], reason: str) -> list[dict[str, Any]]:
    """Policies the leaver served follow their holder's new agent, else the holder's current agent."""
    out = []
    for p in store.policies_served_by(conn, leaver):
        target = new_agent.get(p["customer_id"])
        if target is None:
            scope = store.pod_of(conn, p["customer_id"])["scope"] or {}
            target = scope.get("agent_id") if scope.get("agent_id") != leaver else None
        if target:
            out.append({"policy_no": p["policy_no"], "customer_id": p["customer_id"], "from_staff": leaver,
                        "to_staff": target, "branch_id": None,
                        "reason": f"{leaver} left; service follows the holder's agent; {reason}"})
    return out
