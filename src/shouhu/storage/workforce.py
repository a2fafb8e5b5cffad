"""Service pods in the serving database (migration 0010): members, assignments, moves, producers.

Assignments live in ``pod_assignment`` and ``policy_service``, which no refresh writes; the agent
assignments are also written into ``customer_scope`` (the row scope every read goes through), and
:func:`overlay_scope` writes them there again inside the refresh's publishing transaction, so a
refresh never undoes a manual or orphan reassignment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)

from shouhu.errors import InvalidInput, UnknownName
from shouhu.storage.tables import app_user, customer_scope, staff

metadata = MetaData()
pod_member = Table(
    "pod_member", metadata,
    Column("staff_id", String(64), primary_key=True), Column("pod_role", String(16), nullable=False),
    Column("name", Text), Column("branch_id", String(64)), Column("team_id", String(64)),
    Column("capacity", Integer, nullable=False), Column("active", Boolean, nullable=False),
    Column("left_at", String(40)), Column("updated_at", String(40), nullable=False),
)
pod_assignment = Table(
    "pod_assignment", metadata,
    Column("customer_id", String(64), primary_key=True), Column("pod_role", String(16), primary_key=True),
    Column("staff_id", String(64), nullable=False), Column("source", String(16), nullable=False),
    Column("reason", Text, nullable=False), Column("assigned_by", String(64), nullable=False),
    Column("assigned_at", String(40), nullable=False),
)
policy_producer = Table(
    "policy_producer", metadata,
    Column("policy_no", String(96), primary_key=True), Column("customer_id", String(64)),
    Column("producer_of_record", String(64)), Column("channel", String(32)), Column("product_type", String(32)),
    Column("issue_date", Date), Column("status", String(16)), Column("status_date", Date),
    Column("annual_premium", Float), Column("payment_frequency", String(16)),
)
policy_service = Table(
    "policy_service", metadata,
    Column("policy_no", String(96), primary_key=True), Column("customer_id", String(64)),
    Column("producer_of_service", String(64), nullable=False), Column("since", String(40), nullable=False),
    Column("reason", Text, nullable=False),
)
pod_move = Table(
    "pod_move", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True), Column("at", String(40), nullable=False),
    Column("kind", String(16), nullable=False), Column("customer_id", String(64), nullable=False),
    Column("policy_no", String(96)), Column("pod_role", String(16), nullable=False),
    Column("from_staff", String(64)), Column("to_staff", String(64), nullable=False),
    Column("branch_id", String(64)), Column("actor", String(64), nullable=False),
    Column("reason", Text, nullable=False),
)
SOURCES = ("auto", "manual", "orphan")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- members -----------------------------------------------------------------------------------

def sync_members(engine: Engine, pod_role_of: Callable[[str | None], str | None],
                 capacity: Mapping[str, int]) -> dict[str, int]:
    """Add staff who serve in a pod role and are not members yet; retire members whose account was
    deactivated (``app_user.active`` false). Existing capacities are kept."""
    added = retired = 0
    with engine.begin() as conn:
        known = set(conn.execute(select(pod_member.c.staff_id)).scalars())
        for row in conn.execute(select(staff).order_by(staff.c.staff_id)).mappings().all():
            role = pod_role_of(row["role"])
            if role is None or row["staff_id"] in known:
                continue
            conn.execute(insert(pod_member).values(
                staff_id=row["staff_id"], pod_role=role, name=row["name"], branch_id=row["branch_id"],
                team_id=row["team_id"], capacity=capacity[role], active=True, updated_at=now()))
            added += 1
        gone = select(app_user.c.staff_id).where(app_user.c.active.is_(False), app_user.c.staff_id.isnot(None))
        retired = conn.execute(update(pod_member).where(pod_member.c.staff_id.in_(gone),
                                                        pod_member.c.active.is_(True))
                               .values(active=False, left_at=now(), updated_at=now())).rowcount
    return {"added": added, "retired": retired}


def add_member(engine: Engine, **values: Any) -> None:
    with engine.begin() as conn:
        if conn.execute(select(pod_member.c.staff_id).where(pod_member.c.staff_id == values["staff_id"])).first():
            raise InvalidInput(f"pod member {values['staff_id']!r} exists already", field="staff_id")
        conn.execute(insert(pod_member).values(active=True, updated_at=now(), **values))


def get_member(conn: Connection, staff_id: str) -> dict[str, Any]:
    row = conn.execute(select(pod_member).where(pod_member.c.staff_id == staff_id)).mappings().first()
    if row is None:
        raise UnknownName("pod member", staff_id, [])
    return dict(row)


def set_member(engine: Engine, staff_id: str, *, capacity: int | None = None, active: bool | None = None) -> None:
    values: dict[str, Any] = {"updated_at": now()}
    if capacity is not None:
        if capacity < 0:
            raise InvalidInput("capacity cannot be negative", field="capacity", value=capacity)
        values["capacity"] = capacity
    if active is not None:
        values |= {"active": active, "left_at": None if active else now()}
    with engine.begin() as conn:
        get_member(conn, staff_id)
        conn.execute(update(pod_member).where(pod_member.c.staff_id == staff_id).values(**values))


def _loads(conn: Connection, pod_role: str) -> dict[str, int]:
    if pod_role == "agent":
        q = select(customer_scope.c.agent_id, func.count()).where(customer_scope.c.agent_id.isnot(None)) \
            .group_by(customer_scope.c.agent_id)
    else:
        q = select(pod_assignment.c.staff_id, func.count()).where(pod_assignment.c.pod_role == pod_role) \
            .group_by(pod_assignment.c.staff_id)
    return {str(k): int(v) for k, v in conn.execute(q)}


def members(conn: Connection, pod_role: str | None = None, branch_id: str | None = None) -> list[dict[str, Any]]:
    """Members with their current load (customers they serve)."""
    q = select(pod_member).order_by(pod_member.c.branch_id, pod_member.c.staff_id)
    if pod_role:
        q = q.where(pod_member.c.pod_role == pod_role)
    if branch_id:
        q = q.where(pod_member.c.branch_id == branch_id)
    rows = [dict(r) for r in conn.execute(q).mappings()]
    loads = {role: _loads(conn, role) for role in {r["pod_role"] for r in rows}}
    return [r | {"load": loads[r["pod_role"]].get(r["staff_id"], 0)} for r in rows]


# --- who needs a pod member --------------------------------------------------------------------

def needs(conn: Connection, pod_role: str, branch_id: str | None = None) -> list[dict[str, Any]]:
    """Customers without an active ``pod_role`` member: for agents, no agent at all or one who left."""
    cs = customer_scope
    if pod_role == "agent":
        left = select(pod_member.c.staff_id).where(pod_member.c.active.is_(False))
        q = select(cs.c.customer_id, cs.c.branch_id, cs.c.team_id, cs.c.agent_id).where(
            or_(cs.c.agent_id.is_(None), cs.c.agent_id.in_(left)))
    else:
        served = select(pod_assignment.c.customer_id).join(
            pod_member, pod_member.c.staff_id == pod_assignment.c.staff_id).where(
            pod_assignment.c.pod_role == pod_role, pod_member.c.active.is_(True))
        q = select(cs.c.customer_id, cs.c.branch_id, cs.c.team_id, cs.c.agent_id).where(
            cs.c.customer_id.not_in(served))
    if branch_id:
        q = q.where(cs.c.branch_id == branch_id)
    return [dict(r) for r in conn.execute(q.order_by(cs.c.customer_id)).mappings()]


def served_by(conn: Connection, staff_id: str) -> list[dict[str, Any]]:
    """Customers whose agent (in the row scope) is ``staff_id``."""
    cs = customer_scope
    q = select(cs.c.customer_id, cs.c.branch_id, cs.c.team_id, cs.c.agent_id).where(cs.c.agent_id == staff_id)
    return [dict(r) for r in conn.execute(q.order_by(cs.c.customer_id)).mappings()]


def policies_served_by(conn: Connection, staff_id: str) -> list[dict[str, Any]]:
    """Policies whose producer of service is ``staff_id`` (their own record, unless reassigned)."""
    pp, ps = policy_producer, policy_service
    service = func.coalesce(ps.c.producer_of_service, pp.c.producer_of_record)
    q = select(pp.c.policy_no, pp.c.customer_id, pp.c.producer_of_record, service.label("producer_of_service")) \
        .outerjoin(ps, ps.c.policy_no == pp.c.policy_no).where(service == staff_id).order_by(pp.c.policy_no)
    return [dict(r) for r in conn.execute(q).mappings()]


# --- writing assignments -----------------------------------------------------------------------

def _upsert_assignment(conn: Connection, row: dict[str, Any]) -> None:
    key = and_(pod_assignment.c.customer_id == row["customer_id"], pod_assignment.c.pod_role == row["pod_role"])
    if conn.execute(update(pod_assignment).where(key).values(**row)).rowcount == 0:
        conn.execute(insert(pod_assignment).values(**row))


def assign(conn: Connection, moves: Sequence[Mapping[str, Any]], *, source: str, actor: str) -> int:
    """Write customer moves (customer_id, pod_role, from_staff, to_staff, branch_id, reason): the
    assignment, the move log and, for agents, the row scope. Returns moves written."""
    if source not in SOURCES:
        raise UnknownName("assignment source", source, SOURCES)
    at = now()
    teams = {r.staff_id: r.team_id for r in conn.execute(select(pod_member.c.staff_id, pod_member.c.team_id))}
    for m in moves:
        _upsert_assignment(conn, {"customer_id": m["customer_id"], "pod_role": m["pod_role"], "staff_id":
                                  m["to_staff"], "source": source, "reason": m["reason"], "assigned_by": actor,
                                  "assigned_at": at})
        conn.execute(insert(pod_move).values(at=at, kind=source if source != "auto" else "assign", actor=actor,
                                             policy_no=None, **{k: m.get(k) for k in _MOVE_KEYS}))
        if m["pod_role"] == "agent":
            conn.execute(update(customer_scope).where(customer_scope.c.customer_id == m["customer_id"])
                         .values(agent_id=m["to_staff"], team_id=teams.get(m["to_staff"])))
    return len(moves)


_MOVE_KEYS = ("customer_id", "pod_role", "from_staff", "to_staff", "branch_id", "reason")


def move_policies(conn: Connection, moves: Iterable[Mapping[str, Any]], *, actor: str) -> int:
    """Change the producer of service of policies (policy_no, customer_id, from_staff, to_staff, reason);
    the producer of record is never touched."""
    at, n = now(), 0
    for m in moves:
        row = {"policy_no": m["policy_no"], "customer_id": m["customer_id"], "producer_of_service": m["to_staff"],
               "since": at, "reason": m["reason"]}
        if conn.execute(update(policy_service).where(policy_service.c.policy_no == m["policy_no"])
                        .values(**row)).rowcount == 0:
            conn.execute(insert(policy_service).values(**row))
        conn.execute(insert(pod_move).values(at=at, kind="orphan", pod_role="agent", actor=actor,
                                             policy_no=m["policy_no"], **{k: m.get(k) for k in _MOVE_KEYS
                                                                          if k != "pod_role"}))
        n += 1
    return n


def overlay_scope(conn: Connection) -> int:
    """Write the agent assignments into customer_scope again (after a refresh replaced it)."""
    a, m = pod_assignment, pod_member
    agent_of = select(a.c.staff_id).where(a.c.customer_id == customer_scope.c.customer_id, a.c.pod_role == "agent")
    team_of = select(m.c.team_id).join(a, a.c.staff_id == m.c.staff_id).where(
        a.c.customer_id == customer_scope.c.customer_id, a.c.pod_role == "agent")
    assigned = select(a.c.customer_id).where(a.c.pod_role == "agent")
    result = conn.execute(update(customer_scope).where(customer_scope.c.customer_id.in_(assigned))
                          .values(agent_id=agent_of.scalar_subquery(), team_id=team_of.scalar_subquery()))
    return int(result.rowcount or 0)


# --- reading moves and pods --------------------------------------------------------------------

def moves(conn: Connection, *, to_staff: str | None = None, branch_id: str | None = None,
          kind: str | None = None, limit: int = 500, scope: Any = None) -> list[dict[str, Any]]:
    """Moves newest first; ``scope``: a condition on the customer id (storage.customers.scope_condition)."""
    q = select(pod_move).order_by(pod_move.c.id.desc()).limit(limit)
    if scope is not None:
        q = q.where(scope)
    for col, value in (("to_staff", to_staff), ("branch_id", branch_id), ("kind", kind)):
        if value:
            q = q.where(pod_move.c[col] == value)
    return [dict(r) for r in conn.execute(q).mappings()]


def pod_of(conn: Connection, customer_id: str) -> dict[str, Any]:
    """The customer's pod (scope agent plus assigned service staff and health manager) and policies."""
    scope = conn.execute(select(customer_scope).where(customer_scope.c.customer_id == customer_id)).mappings().first()
    rows = conn.execute(select(pod_assignment).where(pod_assignment.c.customer_id == customer_id)).mappings()
    pp, ps = policy_producer, policy_service
    pols = conn.execute(select(pp.c.policy_no, pp.c.producer_of_record,
                               func.coalesce(ps.c.producer_of_service, pp.c.producer_of_record)
                               .label("producer_of_service"))
                        .outerjoin(ps, ps.c.policy_no == pp.c.policy_no)
                        .where(pp.c.customer_id == customer_id).order_by(pp.c.policy_no)).mappings()
    return {"customer_id": customer_id, "scope": None if scope is None else dict(scope),
            "members": {r["pod_role"]: dict(r) for r in rows}, "policies": [dict(p) for p in pols]}


def policy_facts(engine: Engine) -> list[dict[str, Any]]:
    """Every published policy with its producers of record and service and the seller's branch."""
    pp, ps = policy_producer, policy_service
    q = select(pp.c.policy_no, pp.c.producer_of_record, pp.c.product_type, pp.c.issue_date, pp.c.status,
               pp.c.status_date, pp.c.annual_premium, staff.c.branch_id,
               func.coalesce(ps.c.producer_of_service, pp.c.producer_of_record).label("producer_of_service")) \
        .outerjoin(ps, ps.c.policy_no == pp.c.policy_no) \
        .outerjoin(staff, staff.c.staff_id == pp.c.producer_of_record) \
        .where(pp.c.issue_date.isnot(None)).order_by(pp.c.policy_no)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]
