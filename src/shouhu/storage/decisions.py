"""Persistence of data stewards' identity decisions and of the review queue (serving database).

The rules (what a decision means, what is allowed) live in ``shouhu.identity.stewardship``;
this module only reads and writes rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import MetaData, Table, and_, func, insert, or_, select, update

from shouhu.errors import InvalidInput
from shouhu.storage.serving import engine_for


def _table(conn: Any, name: str) -> Table:
    return Table(name, MetaData(), autoload_with=conn)


def add_decision(url: str, **values: Any) -> int:
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            decision = _table(conn, "identity_decision")
            result = conn.execute(insert(decision).values(created_at=datetime.now(), **values))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])
    finally:
        engine.dispose()


def revert_decision(url: str, decision_id: int, actor: str, reason: str) -> None:
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            decision = _table(conn, "identity_decision")
            done = conn.execute(
                update(decision)
                .where(and_(decision.c.id == decision_id, decision.c.reverted_at.is_(None)))
                .values(reverted_at=datetime.now(), reverted_by=actor, revert_reason=reason)
            )
            if done.rowcount != 1:
                raise InvalidInput(f"decision {decision_id} does not exist or is already reverted",
                                   decision_id=decision_id)
    finally:
        engine.dispose()


def list_decisions(url: str, include_reverted: bool = False) -> list[dict[str, Any]]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            decision = _table(conn, "identity_decision")
            query = select(decision).order_by(decision.c.id)
            if not include_reverted:
                query = query.where(decision.c.reverted_at.is_(None))
            return [dict(r._mapping) for r in conn.execute(query)]
    finally:
        engine.dispose()


def records_of(url: str, *, customer_id: str | None = None, unique_id: str | None = None) -> list[dict[str, Any]]:
    """Published cluster membership: the records of a customer, or the record ``unique_id``."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            record = _table(conn, "identity_record")
            query = select(record).order_by(record.c.unique_id)
            if customer_id is not None:
                query = query.where(record.c.customer_id == customer_id)
            if unique_id is not None:
                query = query.where(record.c.unique_id == unique_id)
            return [dict(r._mapping) for r in conn.execute(query)]
    finally:
        engine.dispose()


def record_sources(url: str) -> list[str]:
    """The source systems of the published records (for the review queue's filter)."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            record = _table(conn, "identity_record")
            return [str(r[0]) for r in conn.execute(select(record.c.source).distinct().order_by(record.c.source))]
    finally:
        engine.dispose()


def move_records(url: str, unique_ids: list[str], customer_id: str) -> int:
    """Put published records into another customer (a steward's decision applied to the serving view at
    once, ``decided_by = 'manual'``); returns how many rows moved."""
    if not unique_ids:
        return 0
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            record = _table(conn, "identity_record")
            values: dict[str, Any] = {"customer_id": customer_id}
            if "decided_by" in record.c:
                values["decided_by"] = "manual"
            done = conn.execute(update(record).where(record.c.unique_id.in_(unique_ids)).values(**values))
            return int(done.rowcount or 0)
    finally:
        engine.dispose()


def id_number_index(url: str, customer_id: str) -> str | None:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            customer = _table(conn, "customer")
            row = conn.execute(select(customer.c.id_number_bidx).where(customer.c.customer_id == customer_id)).first()
            return None if row is None else row[0]
    finally:
        engine.dispose()


def review_pairs(url: str, limit: int = 50, *, offset: int = 0, source: str | None = None,
                 min_probability: float | None = None, same_customer: bool | None = None) -> list[dict[str, Any]]:
    """Pairs awaiting review that no active decision has settled, most uncertain first; optionally only
    pairs with a record from ``source``, at least ``min_probability``, or already in one customer (or not)."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            review, decision = _table(conn, "identity_review"), _table(conn, "identity_decision")
            d, r = decision.c, review.c
            same_pair = or_(and_(d.unique_id_l == r.unique_id_l, d.unique_id_r == r.unique_id_r),
                            and_(d.unique_id_l == r.unique_id_r, d.unique_id_r == r.unique_id_l))
            settled = select(d.id).where(and_(d.reverted_at.is_(None), same_pair))
            query = select(review).where(~settled.exists())
            if source:
                prefix = source.replace("\\", "").replace("%", "").replace("_", "\\_") + ":%"
                query = query.where(or_(r.unique_id_l.like(prefix, escape="\\"),
                                        r.unique_id_r.like(prefix, escape="\\")))
            if min_probability is not None:
                query = query.where(r.match_probability >= min_probability)
            if same_customer is not None:
                query = query.where((r.customer_id_l == r.customer_id_r) if same_customer
                                    else (r.customer_id_l != r.customer_id_r))
            query = (query.order_by(func.abs(r.match_probability - 0.5), r.unique_id_l, r.unique_id_r)
                     .limit(limit).offset(offset))
            return [dict(r._mapping) for r in conn.execute(query)]
    finally:
        engine.dispose()
