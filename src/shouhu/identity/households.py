"""Households (family graphs) from relationships, policies, beneficiaries and shared addresses.

Evidence edges between golden customers are gathered with Ibis (portable); the family graph is
then cut into households with a union-find in Python, which no SQL engine does well.
Siblings and "other" relations do not join households: adult siblings run their own.
Shared addresses join at most ``MAX_SHARED_ADDRESS`` customers, so that a dormitory or an
office address on file does not make one giant family.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from shouhu.model.marts import HOUSEHOLD_MEMBER
from shouhu.storage.warehouse import Warehouse

FAMILY_RELATIONS = ("spouse", "child", "parent")
INVERSE = {"spouse": "spouse", "child": "parent", "parent": "child"}
MAX_SHARED_ADDRESS = 6
ADULT_AGE = 18
GENERATION_GAP = 16


@dataclass(frozen=True)
class Edge:
    a: str
    b: str
    evidence: str  # relationship | policy | beneficiary | shared_address
    relation: str | None  # b is a's ... (spouse, child, parent), when known


def edge_exprs(tables: Mapping[str, ir.Table]) -> list[ir.Table]:
    """Ibis expressions, each yielding (a, b, evidence, relation) between customer ids."""
    cluster = tables["identity_cluster"].select("source", "record_id", "customer_id")

    def pair(t: ir.Table, src: Any, rec_a: Any, rec_b: Any, evidence: str, relation: Any) -> ir.Table:
        base = t.select(src=src, rec_a=rec_a, rec_b=rec_b, relation=relation.cast("string"))
        left, right = cluster.view(), cluster.view()
        # two joins, each closed by a select: Ibis flattens join chains and loses `base` otherwise
        first = base.join(left, [base.src == left.source, base.rec_a == left.record_id]).select(
            src=base.src, rec_b=base.rec_b, relation=base.relation, a=left.customer_id)
        second = first.join(right, [first.src == right.source, first.rec_b == right.record_id])
        return second.select(a=first.a, b=right.customer_id, evidence=ibis.literal(evidence),
                             relation=first.relation)

    exprs = []
    if "src_relationship" in tables:
        rel = tables["src_relationship"]
        rel = rel.filter(rel.relation.isin(FAMILY_RELATIONS))
        exprs.append(pair(rel, rel._source, rel.record_id, rel.related_record_id, "relationship", rel.relation))
    if "src_policy" in tables:
        policy = tables["src_policy"]
        policy = policy.filter(policy.holder_record_id != policy.insured_record_id)
        exprs.append(pair(policy, policy._source, policy.holder_record_id, policy.insured_record_id, "policy",
                          ibis.null().cast("string")))
    if "src_policy" in tables and "src_policy_beneficiary" in tables:
        ben = tables["src_policy_beneficiary"]
        pol = tables["src_policy"].select(policy_no="policy_no", pol_source="_source", insured="insured_record_id")
        ben = ben.filter(ben.relation_to_insured.isin(FAMILY_RELATIONS)).join(pol, "policy_no")
        exprs.append(pair(ben, ben.pol_source, ben.insured, ben.record_id, "beneficiary", ben.relation_to_insured))
    customer = tables["customer"]
    addressed = customer.filter(customer.address.notnull()).select("customer_id", "address")
    sizes = addressed.group_by("address").aggregate(n=addressed.customer_id.count())
    shared = addressed.join(sizes.filter((sizes.n > 1) & (sizes.n <= MAX_SHARED_ADDRESS)), "address")
    other = shared.view()
    by_address = shared.join(other, [shared.address == other.address, shared.customer_id < other.customer_id])
    exprs.append(by_address.select(a=shared.customer_id, b=other.customer_id,
                                   evidence=ibis.literal("shared_address"), relation=ibis.null().cast("string")))
    return exprs


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while self.parent.get(x, x) != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _age(birth: date | None, as_of: date) -> int | None:
    if birth is None:
        return None
    return as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))


def _head(members: list[str], people: Mapping[str, dict[str, Any]], as_of: date) -> str:
    def key(cid: str) -> tuple[bool, float, int, str]:
        p = people.get(cid, {})
        age = _age(p.get("birth_date"), as_of)
        return (age is None or age < ADULT_AGE, -(p.get("annual_income") or 0.0), -(age or 0), cid)

    return min(members, key=key)


def _role(member: str, head: str, relations: Mapping[tuple[str, str], str],
          people: Mapping[str, dict[str, Any]], as_of: date) -> str:
    if member == head:
        return "head"
    if (head, member) in relations:
        return relations[(head, member)]
    if (member, head) in relations:
        return INVERSE[relations[(member, head)]]
    head_age = _age(people.get(head, {}).get("birth_date"), as_of)
    age = _age(people.get(member, {}).get("birth_date"), as_of)
    if head_age is not None and age is not None:
        if head_age - age >= GENERATION_GAP:
            return "child"
        if age - head_age >= GENERATION_GAP:
            return "parent"
    return "other"


def assign_households(customers: Iterable[str], edges: Iterable[Edge],
                      people: Mapping[str, dict[str, Any]], as_of: date) -> list[dict[str, str]]:
    """Household membership rows (household_id, customer_id, role, evidence). Pure."""
    uf = _UnionFind()
    relations: dict[tuple[str, str], str] = {}
    evidence: dict[str, str] = {}
    all_customers = list(customers)
    for e in edges:
        if e.a == e.b:
            continue
        uf.union(e.a, e.b)
        if e.relation in FAMILY_RELATIONS:
            relations.setdefault((e.a, e.b), e.relation)
        for cid in (e.a, e.b):
            evidence.setdefault(cid, e.evidence)
    groups: dict[str, list[str]] = defaultdict(list)
    for cid in all_customers:
        groups[uf.find(cid)].append(cid)
    rows = []
    for members in groups.values():
        members.sort()
        household_id = "HH" + hashlib.sha1(members[0].encode()).hexdigest()[:12]
        head = _head(members, people, as_of)
        for cid in members:
            rows.append({"household_id": household_id, "customer_id": cid,
                         "role": _role(cid, head, relations, people, as_of),
                         "evidence": evidence.get(cid, "self") if len(members) > 1 else "self"})
    return rows


def build_households(wh: Warehouse, as_of: date) -> int:
    """Materialise ``household_member``; returns the number of households."""
    tables = {n: wh.table(n) for n in ("identity_cluster", "customer", "src_relationship", "src_policy",
                                       "src_policy_beneficiary") if wh.has_table(n)}
    edges: list[Edge] = []
    for expr in edge_exprs(tables):
        # Sorted: the first edge of a pair names its evidence and relation, and engines return rows
        # in different orders. Kinds keep their order (relationship, policy, beneficiary, address).
        rows = sorted(expr.to_pyarrow().to_pylist(), key=lambda r: (r["a"], r["b"], r["relation"] or ""))
        edges.extend(Edge(row["a"], row["b"], row["evidence"], row["relation"]) for row in rows)
    people_rows = wh.table("customer").select("customer_id", "birth_date", "annual_income").to_pyarrow()
    people = {r["customer_id"]: r for r in people_rows.to_pylist()}
    rows = assign_households(people, edges, people, as_of)
    schema = pa.schema([(f.name, pa.string()) for f in HOUSEHOLD_MEMBER.fields])
    wh.write_table("household_member", pa.Table.from_pylist(rows, schema=schema))
    return len({r["household_id"] for r in rows})
