"""Constrained clustering: union-find over link edges that never merges two different ID numbers.

Edges are applied in order: the stewards' must-links first, then deterministic rules, then model
links by descending probability. An edge is skipped when the two components it would join hold
different valid ID numbers (so no chain A–B–C can ever put two IDs together) or when a
cannot-link pair would end up in one component.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

KIND_RANK = {"rule": 1, "model": 2, "manual": 3}  # a cluster is decided by its strongest merge kind
GUARD_ID = "guard:different_id_number"
GUARD_CANNOT = "manual:cannot_link"


@dataclass(frozen=True)
class Edge:
    left: str
    right: str
    kind: str  # manual | rule | model
    probability: float = 1.0


@dataclass
class Clustering:
    cluster_of: dict[str, str]  # unique_id -> customer_id
    decided_by: dict[str, str]  # customer_id -> rule | model | manual | singleton
    blocked: dict[tuple[str, str], str] = field(default_factory=dict)  # edge (l < r) -> guard reason


def customer_id(members: Iterable[str]) -> str:
    """Stable id of a cluster: "CU" + 12 hex digits of SHA-1 of its smallest unique_id."""
    return "CU" + hashlib.sha1(min(members).encode("utf-8")).hexdigest()[:12]


def pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


class _UnionFind:
    def __init__(self, ids: Sequence[str], id_numbers: Mapping[str, str]) -> None:
        self.index = {u: i for i, u in enumerate(ids)}
        self.parent = list(range(len(ids)))
        self.id_number: list[str | None] = [id_numbers.get(u) for u in ids]
        self.kind = [0] * len(ids)
        self.forbidden: dict[int, list[int]] = {}

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return root

    def why_not(self, a: int, b: int) -> str | None:
        ida, idb = self.id_number[a], self.id_number[b]
        if ida is not None and idb is not None and ida != idb:
            return GUARD_ID
        small, other = (a, b) if len(self.forbidden.get(a, ())) <= len(self.forbidden.get(b, ())) else (b, a)
        if any(self.find(x) == other for x in self.forbidden.get(small, ())):
            return GUARD_CANNOT
        return None

    def union(self, a: int, b: int, rank: int) -> None:
        if a > b:
            a, b = b, a
        self.parent[b] = a
        self.id_number[a] = self.id_number[a] or self.id_number[b]
        self.kind[a] = max(self.kind[a], self.kind[b], rank)
        if b in self.forbidden:
            self.forbidden.setdefault(a, []).extend(self.forbidden.pop(b))


def constrained_clusters(
    ids: Sequence[str],
    id_numbers: Mapping[str, str],
    edges: Iterable[Edge],
    cannot_link: Sequence[tuple[str, str]] = (),
) -> Clustering:
    """Cluster ``ids`` by ``edges`` (already in application order) under the two guard rails."""
    uf = _UnionFind(ids, id_numbers)
    for a, b in cannot_link:
        if a in uf.index and b in uf.index:
            ia, ib = uf.index[a], uf.index[b]
            uf.forbidden.setdefault(ia, []).append(ib)
            uf.forbidden.setdefault(ib, []).append(ia)
    blocked: dict[tuple[str, str], str] = {}
    for e in edges:
        if e.left not in uf.index or e.right not in uf.index:
            continue
        ra, rb = uf.find(uf.index[e.left]), uf.find(uf.index[e.right])
        if ra == rb:
            continue
        reason = uf.why_not(ra, rb)
        if reason is None:
            uf.union(ra, rb, KIND_RANK[e.kind])
        else:
            blocked[pair_key(e.left, e.right)] = reason
    return _finish(ids, uf, blocked)


def _finish(ids: Sequence[str], uf: _UnionFind, blocked: dict[tuple[str, str], str]) -> Clustering:
    members: dict[int, list[str]] = {}
    for i, u in enumerate(ids):
        members.setdefault(uf.find(i), []).append(u)
    names = {rank: kind for kind, rank in KIND_RANK.items()}
    cluster_of: dict[str, str] = {}
    decided_by: dict[str, str] = {}
    for root, group in members.items():
        cid = customer_id(group)
        decided_by[cid] = "singleton" if len(group) == 1 else names.get(uf.kind[root], "rule")
        for u in group:
            cluster_of[u] = cid
    return Clustering(cluster_of, decided_by, blocked)


def ordered_edges(
    must_link: Sequence[tuple[str, str]], rule_edges: Iterable[tuple[str, str, float]],
    model_edges: Iterable[tuple[str, str, float]],
) -> list[Edge]:
    """Must-links, then rule links, then model links; ties broken by ids so runs are repeatable."""
    manual = [Edge(*pair_key(a, b), "manual") for a, b in must_link]
    rules = sorted((Edge(a, b, "rule", p) for a, b, p in rule_edges),
                   key=lambda e: (-e.probability, e.left, e.right))
    model = sorted((Edge(a, b, "model", p) for a, b, p in model_edges),
                   key=lambda e: (-e.probability, e.left, e.right))
    return manual + rules + model
