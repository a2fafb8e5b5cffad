"""SQL for content operations (migration 0020): library versions and their review trail, engagement,
agent shares and need signals.

Rules live in ``shouhu.content``; this module only reads and writes rows (plain dicts, JSON columns
decoded). Two writes carry a guarantee of their own:

* :func:`move` changes a version's status with ``UPDATE ... WHERE status = <expected>``, so two reviewers
  racing on one item cannot both move it; the loser gets ``False``.
* :func:`claim_share_opening` marks a share opened with ``UPDATE ... WHERE opened_at IS NULL``, so the
  follow-up task of a shared item is created once, however many times the link is opened.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, Text, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from shouhu.errors import StorageError

metadata = MetaData()
TS = 24
ID = 64

item = Table(
    "content_item", metadata, Column("item_id", String(ID), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False), Column("content_hash", String(16)),
    Column("kind", String(16)), Column("title", Text), Column("lang", String(8)), Column("audience", String(16)),
    Column("body", Text), Column("meta", Text), Column("status", String(16)), Column("source_file", Text),
    Column("imported_at", String(TS)), Column("imported_by", String(ID)), Column("reviewed_by", String(ID)),
    Column("reviewed_at", String(TS)), Column("review_note", Text), Column("rules_version", String(16)),
    Column("published_at", String(TS)), Column("retired_at", String(TS)))
review_event = Table(
    "content_review_event", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String(ID)), Column("version", Integer), Column("from_status", String(16)),
    Column("to_status", String(16)), Column("actor", String(ID)), Column("at", String(TS)), Column("note", Text),
    Column("findings", Text))
engagement = Table(
    "content_engagement", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(ID)), Column("item_id", String(ID)), Column("version", Integer),
    Column("event", String(16)), Column("read_depth", Float), Column("quiz_score", Integer),
    Column("quiz_total", Integer), Column("answers", Text), Column("share_id", Integer), Column("channel", String(16)),
    Column("at", String(TS)))
share = Table(
    "content_share", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64)), Column("item_id", String(ID)), Column("version", Integer),
    Column("customer_id", String(ID)), Column("staff_id", String(ID)), Column("shared_by", String(ID)),
    Column("created_at", String(TS)), Column("expires_at", String(TS)), Column("opened_at", String(TS)),
    Column("task_id", Integer))
need_signal = Table(
    "content_need_signal", metadata, Column("customer_id", String(ID), primary_key=True),
    Column("need", String(32), primary_key=True), Column("strength", Float), Column("evidence", Text),
    Column("updated_at", String(TS)))


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _item_row(r: Any) -> dict[str, Any]:
    return dict(r._mapping) | {"meta": json.loads(r.meta)}


def _fail(what: str, table: str, e: Exception) -> StorageError:
    return StorageError(f"{what} on {table} failed: {e}".splitlines()[0], table=table)


def add_version(engine: Engine, values: Mapping[str, Any], actor: str) -> tuple[int, bool]:
    """Store an item version as a draft unless its content hash is stored already: (version, created)."""
    t = item
    with engine.begin() as conn:
        same = conn.execute(select(t.c.version).where(t.c.item_id == values["item_id"],
                                                      t.c.content_hash == values["content_hash"])).first()
        if same is not None:
            return int(same.version), False
        latest = conn.execute(select(func.max(t.c.version)).where(t.c.item_id == values["item_id"])).scalar()
        version = int(latest or 0) + 1
        row = dict(values) | {"version": version, "meta": json.dumps(values["meta"], ensure_ascii=False),
                              "status": "draft", "imported_at": now(), "imported_by": actor[:ID]}
        try:
            conn.execute(insert(t).values(**row))
            conn.execute(insert(review_event).values(item_id=values["item_id"], version=version, from_status=None,
                                                     to_status="draft", actor=actor[:ID], at=row["imported_at"],
                                                     note="imported", findings="[]"))
        except SQLAlchemyError as e:
            raise _fail("storing a content version", t.name, e) from e
    return version, True


def versions(engine: Engine, item_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Stored versions (optionally of one item or in one status), by item then version."""
    q = select(item)
    if item_id is not None:
        q = q.where(item.c.item_id == item_id)
    if status is not None:
        q = q.where(item.c.status == status)
    with engine.connect() as conn:
        return [_item_row(r) for r in conn.execute(q.order_by(item.c.item_id, item.c.version))]


def version(engine: Engine, item_id: str, number: int | None = None) -> dict[str, Any] | None:
    """One version of an item (the latest when ``number`` is None)."""
    rows = versions(engine, item_id)
    if number is not None:
        rows = [r for r in rows if r["version"] == number]
    return rows[-1] if rows else None


def move(engine: Engine, item_id: str, number: int, expected: str, target: str, actor: str, *,
         note: str = "", findings: list[dict[str, Any]] | None = None, changes: Mapping[str, Any] | None = None
         ) -> bool:
    """Change one version's status if it still is ``expected``; the change and its findings are logged."""
    at = now()
    with engine.begin() as conn:
        done = conn.execute(update(item).where(item.c.item_id == item_id, item.c.version == number,
                                               item.c.status == expected)
                            .values(status=target, **dict(changes or {}))).rowcount
        if done:
            conn.execute(insert(review_event).values(
                item_id=item_id, version=number, from_status=expected, to_status=target, actor=actor[:ID], at=at,
                note=note, findings=json.dumps(findings or [], ensure_ascii=False)))
    return bool(done)


def review_events(engine: Engine, item_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(review_event).where(review_event.c.item_id == item_id)
                            .order_by(review_event.c.id))
        return [dict(r._mapping) | {"findings": json.loads(r.findings)} for r in rows]


def add_engagement(engine: Engine, values: Mapping[str, Any]) -> int:
    with engine.begin() as conn:
        key = conn.execute(insert(engagement).values(**dict(values), at=values.get("at") or now())).inserted_primary_key
    return int(key[0]) if key else 0


def engagement_of(engine: Engine, customer_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(engagement).where(engagement.c.customer_id == customer_id)
                            .order_by(engagement.c.id))
        return [dict(r._mapping) for r in rows]


def put_signals(engine: Engine, customer_id: str, signals: Mapping[str, tuple[float, dict[str, Any]]]) -> None:
    """Replace the customer's need signals with ``need -> (strength, evidence)``."""
    at = now()
    with engine.begin() as conn:
        conn.execute(need_signal.delete().where(need_signal.c.customer_id == customer_id))
        for need, (strength, evidence) in signals.items():
            conn.execute(insert(need_signal).values(customer_id=customer_id, need=need, strength=strength,
                                                    evidence=json.dumps(evidence, ensure_ascii=False),
                                                    updated_at=at))


def signals_of(engine: Engine, customer_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(need_signal).where(need_signal.c.customer_id == customer_id)
                            .order_by(need_signal.c.need))
        return [dict(r._mapping) | {"evidence": json.loads(r.evidence)} for r in rows]


def add_share(engine: Engine, values: Mapping[str, Any]) -> int:
    with engine.begin() as conn:
        key = conn.execute(insert(share).values(**dict(values), created_at=now())).inserted_primary_key
    return int(key[0]) if key else 0


def share_by_token(engine: Engine, token_hash: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(share).where(share.c.token_hash == token_hash)).first()
    return None if row is None else dict(row._mapping)


def claim_share_opening(engine: Engine, share_id: int) -> bool:
    """Mark the share opened; True only for the first opening."""
    with engine.begin() as conn:
        return bool(conn.execute(update(share).where(share.c.id == share_id, share.c.opened_at.is_(None))
                                 .values(opened_at=now())).rowcount)


def set_share_task(engine: Engine, share_id: int, task_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(share).where(share.c.id == share_id).values(task_id=task_id))
