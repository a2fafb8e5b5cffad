"""SQL for compliance records (migration 0015): subject keys, data-subject requests and their trail, legal
holds, erased subjects, restrictions of processing and retention runs. Rules live in ``shouhu.compliance``."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

TS = 24
metadata = MetaData()

subject_key = Table("subject_key", metadata, Column("customer_id", String(64), primary_key=True),
                    Column("wrapped_key", Text), Column("created_at", String(TS)),
                    Column("destroyed_at", String(TS)), Column("destroyed_reason", Text))
dsr_request = Table("dsr_request", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                    Column("customer_id", String(64)), Column("kind", String(32)), Column("channel", String(16)),
                    Column("status", String(16)), Column("received_at", String(TS)), Column("due_at", String(TS)),
                    Column("detail", Text), Column("received_by", String(64)), Column("completed_at", String(TS)),
                    Column("completed_by", String(64)), Column("outcome", Text), Column("proof_hash", String(64)))
dsr_event = Table("dsr_event", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                  Column("request_id", Integer), Column("at", String(TS)), Column("actor", String(64)),
                  Column("action", String(32)), Column("note", Text))
legal_hold = Table("legal_hold", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                   Column("customer_id", String(64)), Column("data_class", String(32)), Column("reason", Text),
                   Column("placed_by", String(64)), Column("placed_at", String(TS)),
                   Column("released_by", String(64)), Column("released_at", String(TS)))
erased_subject = Table("erased_subject", metadata, Column("customer_id", String(64), primary_key=True),
                       Column("records", Text), Column("erased_at", String(TS)), Column("request_id", Integer))
restriction = Table("processing_restriction", metadata, Column("customer_id", String(64), primary_key=True),
                    Column("since", String(TS)), Column("reason", Text), Column("until", String(10)),
                    Column("request_id", Integer))
retention_run = Table("retention_run", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                      Column("at", String(TS)), Column("actor", String(64)), Column("dry_run", Boolean),
                      Column("summary", Text))


def _rows(conn: Connection | Engine, query: Any) -> list[dict[str, Any]]:
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return [dict(r._mapping) for r in c.execute(query)]
    return [dict(r._mapping) for r in conn.execute(query)]


# --- subject keys ------------------------------------------------------------------------------------

def key_row(conn: Connection, customer_id: str) -> dict[str, Any] | None:
    found = _rows(conn, select(subject_key).where(subject_key.c.customer_id == customer_id))
    return found[0] if found else None


def add_key(conn: Connection, customer_id: str, wrapped: str, at: str) -> None:
    conn.execute(insert(subject_key).values(customer_id=customer_id, wrapped_key=wrapped, created_at=at))


def destroy_key(conn: Connection, customer_id: str, reason: str, at: str) -> bool:
    done = conn.execute(update(subject_key).where(subject_key.c.customer_id == customer_id,
                                                  subject_key.c.wrapped_key.isnot(None))
                        .values(wrapped_key=None, destroyed_at=at, destroyed_reason=reason))
    return bool(done.rowcount)


# --- requests ----------------------------------------------------------------------------------------

def add_request(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(dsr_request).values(**values).returning(dsr_request.c.id)).scalar_one())


def add_event(conn: Connection, request_id: int, at: str, actor: str, action: str, note: str | None = None) -> None:
    conn.execute(insert(dsr_event).values(request_id=request_id, at=at, actor=actor, action=action, note=note))


def request_row(conn: Connection | Engine, request_id: int) -> dict[str, Any] | None:
    found = _rows(conn, select(dsr_request).where(dsr_request.c.id == request_id))
    return _decoded(found[0]) if found else None


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    return row | {"detail": json.loads(row["detail"] or "{}"),
                  "outcome": json.loads(row["outcome"]) if row.get("outcome") else None}


def list_requests(conn: Connection | Engine, *, status: str | None = None, customer_id: str | None = None,
                  limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    q = select(dsr_request)
    if status:
        q = q.where(dsr_request.c.status == status)
    if customer_id:
        q = q.where(dsr_request.c.customer_id == customer_id)
    q = q.order_by(dsr_request.c.due_at, dsr_request.c.id).limit(limit).offset(offset)
    return [_decoded(r) for r in _rows(conn, q)]


def events_of(conn: Connection | Engine, request_id: int) -> list[dict[str, Any]]:
    return _rows(conn, select(dsr_event).where(dsr_event.c.request_id == request_id).order_by(dsr_event.c.id))


def close_request(conn: Connection, request_id: int, values: dict[str, Any]) -> bool:
    done = conn.execute(update(dsr_request).where(dsr_request.c.id == request_id, dsr_request.c.status == "open")
                        .values(**values))
    return bool(done.rowcount)


# --- holds, erasures, restrictions ----------------------------------------------------------------------

def active_holds(conn: Connection | Engine, customer_id: str | None = None) -> list[dict[str, Any]]:
    q = select(legal_hold).where(legal_hold.c.released_at.is_(None))
    if customer_id:
        q = q.where(legal_hold.c.customer_id == customer_id)
    return _rows(conn, q.order_by(legal_hold.c.id))


def add_hold(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(legal_hold).values(**values).returning(legal_hold.c.id)).scalar_one())


def release_hold(conn: Connection, hold_id: int, actor: str, at: str) -> bool:
    done = conn.execute(update(legal_hold).where(legal_hold.c.id == hold_id, legal_hold.c.released_at.is_(None))
                        .values(released_by=actor, released_at=at))
    return bool(done.rowcount)


def erased(conn: Connection | Engine) -> list[dict[str, Any]]:
    return [r | {"records": [tuple(x) for x in json.loads(r["records"])]}
            for r in _rows(conn, select(erased_subject).order_by(erased_subject.c.customer_id))]


def add_erased(conn: Connection, customer_id: str, records: list[tuple[str, str]], at: str,
               request_id: int | None) -> None:
    conn.execute(insert(erased_subject).values(customer_id=customer_id, records=json.dumps(records),
                                               erased_at=at, request_id=request_id))


def restriction_of(conn: Connection | Engine, customer_id: str) -> dict[str, Any] | None:
    found = _rows(conn, select(restriction).where(restriction.c.customer_id == customer_id))
    return found[0] if found else None


def restricted_ids(conn: Connection | Engine, customer_ids: list[str]) -> set[str]:
    out: set[str] = set()
    for start in range(0, len(customer_ids), 5000):
        chunk = customer_ids[start:start + 5000]
        out |= {str(r["customer_id"]) for r in _rows(conn, select(restriction.c.customer_id)
                                                      .where(restriction.c.customer_id.in_(chunk)))}
    return out


def add_restriction(conn: Connection, values: dict[str, Any]) -> None:
    if restriction_of(conn, values["customer_id"]) is None:
        conn.execute(insert(restriction).values(**values))


def add_retention_run(conn: Connection, at: str, actor: str, dry_run: bool, summary: dict[str, Any]) -> int:
    return int(conn.execute(insert(retention_run).values(at=at, actor=actor, dry_run=dry_run,
                                                         summary=json.dumps(summary, ensure_ascii=False))
                            .returning(retention_run.c.id)).scalar_one())
