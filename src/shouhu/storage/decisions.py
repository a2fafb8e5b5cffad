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


def id_number_index(url: str, customer_id: str) -> str | None:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            customer = _table(conn, "customer")
            row = conn.execute(select(customer.c.id_number_bidx).where(customer.c.customer_id == customer_id)).first()
            return None if row is None else row[0]
    finally:
        engine.dispose()


def review_pairs(url: str, limit: int = 50) -> list[dict[str, Any]]:
    """Pairs awaiting review that no active decision has settled, most uncertain first."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            review, decision = _table(conn, "identity_review"), _table(conn, "identity_decision")
            d, r = decision.c, review.c
            same_pair = or_(and_(d.unique_id_l == r.unique_id_l, d.unique_id_r == r.unique_id_r),
                            and_(d.unique_id_l == r.unique_id_r, d.unique_id_r == r.unique_id_l))
            settled = select(d.id).where(and_(d.reverted_at.is_(None), same_pair))
            query = (select(review).where(~settled.exists())
                     .order_by(func.abs(review.c.match_probability - 0.5), review.c.unique_id_l).limit(limit))
            return [dict(r._mapping) for r in conn.execute(query)]
    finally:
        engine.dispose()
