"""SQL for the sales traceability ledger (migration 0016): page versions, sessions, their events and the
Merkle seals. Hashes, validation and proofs are rules of ``shouhu.compliance.traceability``; this module
only reads and writes rows, and serialises writers of one session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
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

from shouhu.storage.dsr import subject_key

TS = 40
metadata = MetaData()

page_version = Table(
    "sales_page_version", metadata,
    Column("code", String(64), primary_key=True), Column("version", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(32)), Column("title", Text), Column("content", Text), Column("sha256", String(64)),
    Column("published_at", String(TS)), Column("published_by", String(64)))
session = Table(
    "trace_session", metadata,
    Column("session_id", String(64), primary_key=True), Column("customer_id", String(64)),
    Column("product_code", String(64)), Column("application_no", String(64)), Column("channel", String(32)),
    Column("started_at", String(TS)), Column("recorded_by", String(64)), Column("genesis", String(64)),
    Column("events", Integer), Column("head_hash", String(64)), Column("closed_at", String(TS)),
    Column("outcome", String(32)), Column("policy_no", String(96)), Column("cover_start", String(10)),
    Column("cover_end", String(10)), Column("term_class", String(8)), Column("contract_end", String(10)),
    Column("retain_until", String(10)), Column("seal_seq", Integer))
event = Table(
    "trace_event", metadata,
    Column("session_id", String(64), primary_key=True), Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(TS)), Column("recorded_at", String(TS)), Column("type", String(24)),
    Column("page_code", String(64)), Column("page_version", Integer), Column("page_hash", String(64)),
    Column("data", Text), Column("sealed", Text), Column("client_event_id", String(64)),
    Column("prev_hash", String(64)), Column("hash", String(64)))
seal = Table(
    "trace_seal", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False), Column("at", String(TS)),
    Column("size", Integer), Column("root", String(64)), Column("leaves", Text),
    Column("prev_hash", String(64)), Column("hash", String(64)))


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(query)]


# --- page versions -----------------------------------------------------------------------------------

def latest_page(conn: Connection, code: str) -> dict[str, Any] | None:
    found = _rows(conn, select(page_version).where(page_version.c.code == code)
                  .order_by(page_version.c.version.desc()).limit(1))
    return found[0] if found else None


def add_page(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(page_version).values(**row))


def pages(engine: Engine, code: str | None = None) -> list[dict[str, Any]]:
    """Every version (newest first per code), without the content."""
    cols = [c for c in page_version.c if c.name != "content"]
    q = select(*cols).order_by(page_version.c.code, page_version.c.version.desc())
    if code:
        q = q.where(page_version.c.code == code)
    with engine.connect() as conn:
        return _rows(conn, q)


def page(engine: Engine | Connection, code: str, version: int) -> dict[str, Any] | None:
    q = select(page_version).where(page_version.c.code == code, page_version.c.version == version)
    if isinstance(engine, Connection):
        found = _rows(engine, q)
    else:
        with engine.connect() as conn:
            found = _rows(conn, q)
    return found[0] if found else None


def page_facts(conn: Connection, keys: set[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
    """(code, version) -> sha256, kind and title of the versions asked for that exist."""
    if not keys:
        return {}
    cond = or_(*[and_(page_version.c.code == c, page_version.c.version == v) for c, v in sorted(keys)])
    rows = _rows(conn, select(page_version.c.code, page_version.c.version, page_version.c.sha256,
                              page_version.c.kind, page_version.c.title).where(cond))
    return {(r["code"], int(r["version"])): r for r in rows}


def all_pages(conn: Connection) -> Iterator[dict[str, Any]]:
    for r in conn.execute(select(page_version).order_by(page_version.c.code, page_version.c.version)):
        yield dict(r._mapping)


# --- sessions and events -----------------------------------------------------------------------------

def add_session(engine: Engine, row: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(session).values(**row))


def get_session(engine: Engine | Connection, session_id: str) -> dict[str, Any] | None:
    q = select(session).where(session.c.session_id == session_id)
    if isinstance(engine, Connection):
        found = _rows(engine, q)
    else:
        with engine.connect() as conn:
            found = _rows(conn, q)
    return found[0] if found else None


def list_sessions(engine: Engine, *, customer_id: str | None = None, q: str | None = None,
                  closed_only: bool = False, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    query = select(session).order_by(session.c.started_at.desc(), session.c.session_id).limit(limit).offset(offset)
    if customer_id:
        query = query.where(session.c.customer_id == customer_id)
    if q:
        query = query.where(or_(session.c.session_id == q, session.c.customer_id == q,
                                session.c.application_no == q, session.c.policy_no == q))
    if closed_only:
        query = query.where(session.c.closed_at.isnot(None))
    with engine.connect() as conn:
        return _rows(conn, query)


@contextmanager
def locked_session(engine: Engine, session_id: str) -> Iterator[tuple[Connection, dict[str, Any] | None]]:
    """A transaction holding the write lock of one session (its row on PostgreSQL; the database's write
    lock on SQLite): appends to one chain never interleave."""
    with engine.begin() as conn:
        conn.execute(update(session).where(session.c.session_id == session_id).values(events=session.c.events))
        yield conn, get_session(conn, session_id)


def client_ids(conn: Connection, session_id: str) -> dict[str, int]:
    return {r.client_event_id: int(r.seq) for r in conn.execute(
        select(event.c.client_event_id, event.c.seq).where(event.c.session_id == session_id,
                                                          event.c.client_event_id.isnot(None)))}


def add_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(event), rows)


def update_session(conn: Connection, session_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(session).where(session.c.session_id == session_id).values(**values))


def events_of(engine: Engine | Connection, session_id: str) -> list[dict[str, Any]]:
    q = select(event).where(event.c.session_id == session_id).order_by(event.c.seq)
    if isinstance(engine, Connection):
        return _rows(engine, q)
    with engine.connect() as conn:
        return _rows(conn, q)


def all_sessions(conn: Connection) -> list[dict[str, Any]]:
    return _rows(conn, select(session).order_by(session.c.session_id))


def all_events(conn: Connection) -> Iterator[dict[str, Any]]:
    """Every event, by session then sequence number (streamed)."""
    for r in conn.execution_options(stream_results=True).execute(
            select(event).order_by(event.c.session_id, event.c.seq)):
        yield dict(r._mapping)


# --- seals -------------------------------------------------------------------------------------------

def last_seal(conn: Connection) -> dict[str, Any] | None:
    found = _rows(conn, select(seal).order_by(seal.c.seq.desc()).limit(1))
    return found[0] if found else None


def get_seal(engine: Engine | Connection, seq: int) -> dict[str, Any] | None:
    q = select(seal).where(seal.c.seq == seq)
    if isinstance(engine, Connection):
        found = _rows(engine, q)
    else:
        with engine.connect() as conn:
            found = _rows(conn, q)
    if not found:
        return None
    return found[0] | {"leaves": json.loads(found[0]["leaves"])}


def all_seals(conn: Connection) -> list[dict[str, Any]]:
    return _rows(conn, select(seal).order_by(seal.c.seq))


def unsealed(conn: Connection, limit: int) -> list[dict[str, Any]]:
    return _rows(conn, select(session).where(session.c.closed_at.isnot(None), session.c.seal_seq.is_(None))
                 .order_by(session.c.closed_at, session.c.session_id).limit(limit))


def add_seal(conn: Connection, row: dict[str, Any], session_ids: list[str]) -> None:
    conn.execute(insert(seal).values(**row))
    for start in range(0, len(session_ids), 500):
        conn.execute(update(session).where(session.c.session_id.in_(session_ids[start:start + 500]))
                     .values(seal_seq=row["seq"]))


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {"pages": int(conn.execute(select(func.count()).select_from(page_version)).scalar_one()),
                "sessions": int(conn.execute(select(func.count()).select_from(session)).scalar_one()),
                "closed": int(conn.execute(select(func.count()).select_from(session)
                                           .where(session.c.closed_at.isnot(None))).scalar_one()),
                "sealed": int(conn.execute(select(func.count()).select_from(session)
                                           .where(session.c.seal_seq.isnot(None))).scalar_one()),
                "seals": int(conn.execute(select(func.count()).select_from(seal)).scalar_one())}


# --- retention ---------------------------------------------------------------------------------------

def past_retention(engine: Engine, today: str) -> list[dict[str, Any]]:
    """Sessions whose retention ended before ``today`` (ISO date) and whose customer's key still lives."""
    shredded = select(subject_key.c.customer_id).where(subject_key.c.wrapped_key.is_(None))
    q = (select(session.c.session_id, session.c.customer_id, session.c.retain_until, session.c.term_class,
                session.c.contract_end)
         .where(session.c.retain_until.isnot(None), session.c.retain_until < today,
                session.c.customer_id.not_in(shredded))
         .order_by(session.c.retain_until, session.c.session_id))
    with engine.connect() as conn:
        return _rows(conn, q)


def still_kept(engine: Engine, customer_ids: set[str], today: str) -> set[str]:
    """Those of ``customer_ids`` with a session still within retention (or open, or contract running)."""
    if not customer_ids:
        return set()
    q = select(session.c.customer_id).where(session.c.customer_id.in_(sorted(customer_ids)),
                                            or_(session.c.retain_until.is_(None), session.c.retain_until >= today))
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(q)}
