"""Service pods (N-to-1): each customer gets an agent, a service staff member and a health manager.

Pure rules, no database: :func:`balance` assigns customers to members of their own branch, always
to the eligible member with the lowest utilisation (load ÷ capacity; ties by staff id), never past a
member's capacity. Filling the least-utilised first keeps utilisations within one customer of each
other (1 ÷ capacity) whenever they start level, and makes the result deterministic: the same inputs
give the same assignments, whatever order they arrive in.

:func:`orphan_targets` is the same rule for an agent who leaves: their customers go to active agents
of the same team first, then of the same branch. Every decision carries a plain-language reason.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from shouhu.errors import InvalidInput, UnknownName

POD_ROLES = ("agent", "service", "health_manager")
DEFAULT_CAPACITY = {"agent": 200, "service": 800, "health_manager": 2500}
# The staff roles of the source data that serve in each pod role.
SOURCE_ROLES = {"agent": ("agent", "team_leader"), "service": ("service",), "health_manager": ("health_manager",)}


def pod_role_of(staff_role: str | None) -> str | None:
    """The pod role of a staff role (``team_leader`` serves as an agent); None if it serves in none."""
    return next((pod for pod, roles in SOURCE_ROLES.items() if staff_role in roles), None)


def check_pod_role(value: str) -> str:
    if value not in POD_ROLES:
        raise UnknownName("pod role", value, POD_ROLES)
    return value


@dataclass(frozen=True)
class Member:
    staff_id: str
    pod_role: str
    branch_id: str | None
    team_id: str | None = None
    capacity: int = 0
    load: int = 0
    active: bool = True


@dataclass(frozen=True)
class Need:
    """A customer needing a member of ``pod_role`` (``team_id``: the team to prefer, for orphans)."""

    customer_id: str
    branch_id: str | None
    team_id: str | None = None


@dataclass(frozen=True)
class Decision:
    customer_id: str
    pod_role: str
    staff_id: str | None  # None: nobody had room
    reason: str


@dataclass(order=True)
class _Slot:
    utilisation: float
    staff_id: str
    member: Member = field(compare=False)
    load: int = field(compare=False)

    @classmethod
    def of(cls, member: Member, load: int) -> _Slot:
        return cls(load / member.capacity, member.staff_id, member, load)


Key = tuple[str | None, ...]


def _key(m: Member | Need, by_team: bool) -> Key:
    """Pools are per branch, or per team within a branch (a team of another branch never counts)."""
    return (m.branch_id, m.team_id) if by_team else (m.branch_id,)


def _pools(members: Iterable[Member], pod_role: str, by_team: bool = False) -> dict[Key, list[_Slot]]:
    """Heaps of active members with room, per branch or per team."""
    pools: dict[Key, list[_Slot]] = {}
    for m in members:
        if m.pod_role == pod_role and m.active and m.capacity > 0 and m.load < m.capacity:
            pools.setdefault(_key(m, by_team), []).append(_Slot.of(m, m.load))
    for heap in pools.values():
        heapq.heapify(heap)
    return pools


def _take(heap: list[_Slot]) -> _Slot | None:
    if not heap:
        return None
    slot = heapq.heappop(heap)
    if slot.load + 1 < slot.member.capacity:
        heapq.heappush(heap, _Slot.of(slot.member, slot.load + 1))
    return slot


def _reason(slot: _Slot, scope: str, size: int | None = None) -> str:
    among = f" among {size} active member(s) with room" if size is not None else ""
    return (f"{scope}: lowest load{among} — {slot.staff_id} had {slot.load}/{slot.member.capacity} "
            f"({slot.utilisation:.1%})")


def balance(members: Sequence[Member], needs: Sequence[Need], pod_role: str) -> list[Decision]:
    """Assign every need to a ``pod_role`` member of its branch; see the module docstring."""
    check_pod_role(pod_role)
    for m in members:
        if m.capacity < 0 or m.load < 0:
            raise InvalidInput("capacity and load cannot be negative", staff_id=m.staff_id)
    by_branch = _pools(members, pod_role)
    sizes = {b: len(h) for b, h in by_branch.items()}
    out = []
    for need in sorted(needs, key=lambda n: n.customer_id):
        slot = _take(by_branch.get(_key(need, False), []))
        if slot is None:
            out.append(Decision(need.customer_id, pod_role, None,
                                f"branch {need.branch_id}: no active {pod_role} with room"))
        else:
            out.append(Decision(need.customer_id, pod_role, slot.staff_id,
                                _reason(slot, f"branch {need.branch_id}", sizes[_key(need, False)])))
    return out


def orphan_targets(members: Sequence[Member], needs: Sequence[Need], leaver: str) -> list[Decision]:
    """New agents for a leaver's customers: same team first, then same branch, by utilisation."""
    staying = [m for m in members if m.staff_id != leaver]
    by_team = _pools(staying, "agent", by_team=True)
    by_branch = _pools(staying, "agent")
    out = []
    for need in sorted(needs, key=lambda n: n.customer_id):
        team_heap = by_team.get(_key(need, True), []) if need.team_id else []
        slot, scope = _take(team_heap), f"team {need.team_id}"
        if slot is None:
            slot, scope = _take(by_branch.get(_key(need, False), [])), f"branch {need.branch_id}"
        if slot is None:
            out.append(Decision(need.customer_id, "agent", None,
                                f"{leaver} left; no active agent with room in team {need.team_id} "
                                f"or branch {need.branch_id}"))
            continue
        _sync(by_team, by_branch, slot)
        out.append(Decision(need.customer_id, "agent", slot.staff_id, f"{leaver} left; " + _reason(slot, scope)))
    return out


def _sync(by_team: dict[Key, list[_Slot]], by_branch: dict[Key, list[_Slot]], taken: _Slot) -> None:
    """A member drawn from one pool (team or branch) carries its new load into the other."""
    member = taken.member
    for pools, key in ((by_team, _key(member, True)), (by_branch, _key(member, False))):
        heap = pools.get(key, [])
        for i, slot in enumerate(heap):
            if slot.staff_id == member.staff_id and slot.load == taken.load:
                heap[i] = heap[-1]
                heap.pop()
                if taken.load + 1 < member.capacity:
                    heap.append(_Slot.of(member, taken.load + 1))
                heapq.heapify(heap)
                break
