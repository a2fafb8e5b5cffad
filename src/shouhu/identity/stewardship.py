"""Manual stewardship of identities: confirm, reject, merge, split, and revert.

Framework-free service functions that the CLI and the web layer call. Every decision records who,
when and why, is reversible, and is honoured by every later refresh as a constraint on the
clustering: confirm and merge become must-links, reject and split become cannot-links.

A confirm or merge is also applied at once to the serving view of cluster membership
(``identity_record``, see :func:`apply_now`): the records of the two customers become one customer
under the id the next refresh gives them (``CU`` + hash of the smallest record id, so no link
breaks). Rebuilding the golden record, household, scores and 360 view of the joined customer is the
refresh's work; reject, split and revert change nothing now and take effect at the next
``shouhu refresh``.

The never-merge guard rail holds here too: merging two customers whose ID numbers are both known
and differ is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shouhu.errors import InvalidInput
from shouhu.storage import decisions as store

ACTIONS = ("confirm", "reject", "merge", "split")


@dataclass(frozen=True)
class Constraints:
    must_link: list[tuple[str, str]]
    cannot_link: list[tuple[str, str]]


def _require(actor: str, reason: str) -> None:
    if not actor.strip():
        raise InvalidInput("a decision needs the name of who made it (actor)")
    if not reason.strip():
        raise InvalidInput("a decision needs a reason (why)")


def _record(serving_url: str, unique_id: str) -> dict[str, Any]:
    found = store.records_of(serving_url, unique_id=unique_id)
    if not found:
        raise InvalidInput(f"no published record {unique_id!r}; run 'shouhu refresh' first or check the id",
                           unique_id=unique_id)
    return found[0]


def confirm_pair(serving_url: str, unique_id_l: str, unique_id_r: str, *, actor: str, reason: str) -> int:
    """The two records are the same person."""
    _require(actor, reason)
    for uid in (unique_id_l, unique_id_r):
        _record(serving_url, uid)
    return store.add_decision(serving_url, action="confirm", unique_id_l=unique_id_l, unique_id_r=unique_id_r,
                              actor=actor, reason=reason)


def reject_pair(serving_url: str, unique_id_l: str, unique_id_r: str, *, actor: str, reason: str) -> int:
    """The two records are different people."""
    _require(actor, reason)
    for uid in (unique_id_l, unique_id_r):
        _record(serving_url, uid)
    return store.add_decision(serving_url, action="reject", unique_id_l=unique_id_l, unique_id_r=unique_id_r,
                              actor=actor, reason=reason)


def merge_customers(serving_url: str, customer_a: str, customer_b: str, *, actor: str, reason: str) -> int:
    """Two golden customers are one person."""
    _require(actor, reason)
    if customer_a == customer_b:
        raise InvalidInput("cannot merge a customer with itself")
    records = {c: store.records_of(serving_url, customer_id=c) for c in (customer_a, customer_b)}
    for customer, found in records.items():
        if not found:
            raise InvalidInput(f"no published customer {customer!r}", customer_id=customer)
    ids = {store.id_number_index(serving_url, c) for c in (customer_a, customer_b)}
    if None not in ids and len(ids) == 2:
        raise InvalidInput(f"refused: {customer_a} and {customer_b} have different valid ID numbers; "
                           "records with different ID numbers are never merged")
    return store.add_decision(serving_url, action="merge", unique_id_l=records[customer_a][0]["unique_id"],
                              unique_id_r=records[customer_b][0]["unique_id"], actor=actor, reason=reason)


def split_record(serving_url: str, unique_id: str, *, actor: str, reason: str) -> int:
    """Take one record out of its customer: it is not the same person as the others."""
    _require(actor, reason)
    record = _record(serving_url, unique_id)
    partners = [r["unique_id"] for r in store.records_of(serving_url, customer_id=record["customer_id"])
                if r["unique_id"] != unique_id]
    if not partners:
        raise InvalidInput(f"{unique_id} is already a customer of its own; nothing to split")
    return store.add_decision(serving_url, action="split", unique_id_l=unique_id, unique_id_r=None,
                              partners=json.dumps(partners), actor=actor, reason=reason)


def revert(serving_url: str, decision_id: int, *, actor: str, reason: str) -> None:
    """Undo a decision; the next refresh no longer applies it. The decision itself stays on record."""
    _require(actor, reason)
    store.revert_decision(serving_url, decision_id, actor, reason)


def history(serving_url: str, include_reverted: bool = True) -> list[dict[str, Any]]:
    return store.list_decisions(serving_url, include_reverted=include_reverted)


def apply_now(serving_url: str, unique_id_l: str, unique_id_r: str) -> dict[str, Any]:
    """Join the customers of two records in the serving view right away (a confirm or a merge).

    Returns ``{"applied": bool, "customer_id": the joined id, "moved": records moved}``. Nothing moves
    when the two records are already one customer."""
    from shouhu.identity.clustering import customer_id

    left, right = _record(serving_url, unique_id_l), _record(serving_url, unique_id_r)
    if left["customer_id"] == right["customer_id"]:
        return {"applied": False, "customer_id": left["customer_id"], "moved": 0}
    members = {c: [r["unique_id"] for r in store.records_of(serving_url, customer_id=c)]
               for c in (left["customer_id"], right["customer_id"])}
    joined = customer_id([u for found in members.values() for u in found])
    if joined not in members:  # a refresh-made id always names one of the two; keep the first otherwise
        joined = left["customer_id"]
    moving = [u for c, found in members.items() if c != joined for u in found]
    return {"applied": True, "customer_id": joined, "moved": store.move_records(serving_url, moving, joined)}


def review_queue(serving_url: str, limit: int = 50, **filters: Any) -> list[dict[str, Any]]:
    """Uncertain pairs from the last refresh that nobody has decided yet, most uncertain first
    (``offset``, ``source``, ``min_probability``, ``same_customer``: see storage.decisions.review_pairs)."""
    return store.review_pairs(serving_url, limit, **filters)


def constraints(serving_url: str) -> Constraints:
    """The active decisions as clustering constraints for the next refresh."""
    must: list[tuple[str, str]] = []
    cannot: list[tuple[str, str]] = []
    for d in store.list_decisions(serving_url):
        if d["action"] in ("confirm", "merge"):
            must.append((d["unique_id_l"], d["unique_id_r"]))
        elif d["action"] == "reject":
            cannot.append((d["unique_id_l"], d["unique_id_r"]))
        elif d["action"] == "split":
            cannot += [(d["unique_id_l"], p) for p in json.loads(d["partners"] or "[]")]
    return Constraints(must, cannot)
