"""SQL for partner webhooks (migration 0017): endpoints, events, deliveries and their attempts.

Rules live in ``shouhu.partners.webhooks``; this module only reads and writes rows. Claims use
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share the due deliveries without
taking the same one; SQLite has one writer at a time and ignores the locking clause. A claimed delivery
carries a lease (``locked_by``, ``locked_until``): a worker killed mid-send loses it when it runs out and
the delivery is claimed again; every write that finishes an attempt checks the lease is still its own.
Times are UTC ISO strings (``YYYY-MM-DDTHH:MM:SSZ``), which order the same on every database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
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
    and_,
    func,
    insert,
    or_,
    select,
    update,
)

metadata = MetaData()
TS = 24

endpoint = Table(
    "webhook_endpoint", metadata, Column("endpoint_id", String(64), primary_key=True),
    Column("partner_id", String(64)), Column("url", Text), Column("secret", Text), Column("events", Text),
    Column("enabled", Boolean), Column("disabled_reason", Text), Column("failures_in_row", Integer),
    Column("created_at", String(TS)), Column("updated_at", String(TS)))
event = Table(
    "webhook_event", metadata, Column("event_id", String(64), primary_key=True), Column("partner_id", String(64)),
    Column("mode", String(12)), Column("type", String(64)), Column("payload", Text), Column("created_at", String(TS)))
delivery = Table(
    "webhook_delivery", metadata, Column("delivery_id", String(64), primary_key=True),
    Column("event_id", String(64)), Column("endpoint_id", String(64)), Column("state", String(12)),
    Column("attempts", Integer), Column("next_at", String(TS)), Column("locked_by", String(64)),
    Column("locked_until", String(TS)), Column("last_status", Integer), Column("last_error", Text),
    Column("delivered_at", String(TS)), Column("created_at", String(TS)), Column("replay_of", String(64)))
attempt = Table(
    "webhook_attempt", metadata, Column("delivery_id", String(64), primary_key=True),
    Column("n", Integer, primary_key=True, autoincrement=False), Column("at", String(TS)),
    Column("status_code", Integer), Column("error", Text), Column("duration_ms", Integer))


def stamp(when: datetime) -> str:
    """A UTC ISO string that orders the same on every database."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _endpoint_row(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["events"] = json.loads(out["events"])
    out["enabled"] = bool(out["enabled"])
    return out


def _rows(conn: Engine | Connection, query: Any) -> list[dict[str, Any]]:
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return [dict(r._mapping) for r in c.execute(query)]
    return [dict(r._mapping) for r in conn.execute(query)]


# --- endpoints ---------------------------------------------------------------------------------------

def add_endpoint(engine: Engine, row: Mapping[str, Any]) -> None:
    """Insert an endpoint; ``events`` is a list, stored as JSON; ``secret`` must already be sealed."""
    with engine.begin() as conn:
        conn.execute(insert(endpoint).values(**(dict(row) | {"events": json.dumps(list(row["events"]))})))


def get_endpoint(conn: Engine | Connection, endpoint_id: str) -> dict[str, Any] | None:
    query = select(endpoint).where(endpoint.c.endpoint_id == endpoint_id)
    if isinstance(conn, Engine):
        with conn.connect() as c:
            row = c.execute(query).first()
    else:
        row = conn.execute(query).first()
    return None if row is None else _endpoint_row(row)


def endpoints_of(conn: Engine | Connection, partner_id: str, *, enabled_only: bool = False) -> list[dict[str, Any]]:
    query = select(endpoint).where(endpoint.c.partner_id == partner_id)
    if enabled_only:
        query = query.where(endpoint.c.enabled.is_(True))
    query = query.order_by(endpoint.c.created_at, endpoint.c.endpoint_id)
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return [_endpoint_row(r) for r in c.execute(query)]
    return [_endpoint_row(r) for r in conn.execute(query)]


def update_endpoint(conn: Engine | Connection, endpoint_id: str, values: Mapping[str, Any]) -> int:
    """Set columns of one endpoint (``events`` as a list); how many rows changed (0 or 1)."""
    vals = dict(values)
    if "events" in vals:
        vals["events"] = json.dumps(list(vals["events"]))
    query = update(endpoint).where(endpoint.c.endpoint_id == endpoint_id).values(**vals)
    if isinstance(conn, Engine):
        with conn.begin() as c:
            return int(c.execute(query).rowcount or 0)
    return int(conn.execute(query).rowcount or 0)


def count_failure(conn: Connection, endpoint_id: str, now: datetime) -> int:
    """One more failed attempt in a row for the endpoint; returns the new count. Atomic: two workers
    failing at once both count."""
    query = (update(endpoint).where(endpoint.c.endpoint_id == endpoint_id)
             .values(failures_in_row=endpoint.c.failures_in_row + 1, updated_at=stamp(now))
             .returning(endpoint.c.failures_in_row))
    return int(conn.execute(query).scalar_one())


def reset_failures(conn: Connection, endpoint_id: str, now: datetime) -> None:
    conn.execute(update(endpoint).where(endpoint.c.endpoint_id == endpoint_id, endpoint.c.failures_in_row != 0)
                 .values(failures_in_row=0, updated_at=stamp(now)))


def disable_endpoint(conn: Connection, endpoint_id: str, reason: str, now: datetime) -> bool:
    """Disable an enabled endpoint; False when it was disabled already."""
    return bool(conn.execute(update(endpoint).where(endpoint.c.endpoint_id == endpoint_id,
                                                    endpoint.c.enabled.is_(True))
                             .values(enabled=False, disabled_reason=reason, updated_at=stamp(now))).rowcount)


def enable_endpoint(engine: Engine, endpoint_id: str, now: datetime) -> int:
    """Enable an endpoint, clear its failure count and make its waiting deliveries due now; returns how
    many deliveries are waiting."""
    at = stamp(now)
    waiting = and_(delivery.c.endpoint_id == endpoint_id, delivery.c.state == "pending")
    with engine.begin() as conn:
        conn.execute(update(endpoint).where(endpoint.c.endpoint_id == endpoint_id)
                     .values(enabled=True, disabled_reason=None, failures_in_row=0, updated_at=at))
        conn.execute(update(delivery).where(waiting, delivery.c.next_at > at).values(next_at=at))
        return int(conn.execute(select(func.count()).select_from(delivery).where(waiting)).scalar_one())


# --- events and deliveries ---------------------------------------------------------------------------

def add_event(conn: Connection, row: Mapping[str, Any]) -> None:
    conn.execute(insert(event).values(**row))


def get_event(conn: Engine | Connection, event_id: str) -> dict[str, Any] | None:
    found = _rows(conn, select(event).where(event.c.event_id == event_id))
    return found[0] if found else None


def add_deliveries(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(delivery), [dict(r) for r in rows])


def get_delivery(conn: Engine | Connection, delivery_id: str) -> dict[str, Any] | None:
    found = _rows(conn, select(delivery, event.c.partner_id, event.c.type)
                  .select_from(delivery.join(event, event.c.event_id == delivery.c.event_id))
                  .where(delivery.c.delivery_id == delivery_id))
    return found[0] if found else None


def deliveries_of_event(conn: Engine | Connection, event_id: str) -> list[dict[str, Any]]:
    return _rows(conn, select(delivery).where(delivery.c.event_id == event_id)
                 .order_by(delivery.c.created_at, delivery.c.delivery_id))


def claim_due(engine: Engine, worker: str, now: datetime, until: datetime, limit: int) -> list[str]:
    """Lease up to ``limit`` due deliveries (pending, ``next_at`` passed, not leased or lease run out) of
    enabled endpoints to ``worker`` until ``until``; their ids, oldest due first."""
    at = stamp(now)
    enabled = select(endpoint.c.endpoint_id).where(endpoint.c.enabled.is_(True))
    due = and_(delivery.c.state == "pending", delivery.c.next_at <= at,
               or_(delivery.c.locked_until.is_(None), delivery.c.locked_until < at),
               delivery.c.endpoint_id.in_(enabled))
    with engine.begin() as conn:
        ids = list(conn.execute(select(delivery.c.delivery_id).where(due)
                                .order_by(delivery.c.next_at, delivery.c.delivery_id).limit(limit)
                                .with_for_update(skip_locked=True)).scalars())
        if ids:
            conn.execute(update(delivery).where(delivery.c.delivery_id.in_(ids))
                         .values(locked_by=worker, locked_until=stamp(until)))
    return ids


def work_items(conn: Engine | Connection, delivery_ids: Sequence[str]) -> list[dict[str, Any]]:
    """What a worker needs to send each delivery: the delivery, its event's body and its endpoint's URL and
    sealed secret."""
    if not delivery_ids:
        return []
    query = (select(delivery, event.c.payload, event.c.type, event.c.mode, event.c.partner_id, endpoint.c.url,
                    endpoint.c.secret)
             .select_from(delivery.join(event, event.c.event_id == delivery.c.event_id)
                          .join(endpoint, endpoint.c.endpoint_id == delivery.c.endpoint_id))
             .where(delivery.c.delivery_id.in_(list(delivery_ids)))
             .order_by(delivery.c.next_at, delivery.c.delivery_id))
    return _rows(conn, query)


def finish_attempt(conn: Connection, delivery_id: str, worker: str, values: Mapping[str, Any],
                   attempt_row: Mapping[str, Any]) -> bool:
    """Record one attempt and set the delivery's outcome (``values``), releasing the lease, if the lease is
    still ``worker``'s (False: another worker took the delivery over and nothing was written)."""
    done = bool(conn.execute(update(delivery).where(delivery.c.delivery_id == delivery_id,
                                                    delivery.c.state == "pending", delivery.c.locked_by == worker)
                             .values(**(dict(values) | {"locked_by": None, "locked_until": None}))).rowcount)
    if done:
        conn.execute(insert(attempt).values(delivery_id=delivery_id, **attempt_row))
    return done


# --- listings ----------------------------------------------------------------------------------------

def deliveries_of(engine: Engine, partner_id: str, *, endpoint_id: str | None = None, event_id: str | None = None,
                  state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """A partner's deliveries, newest first, with their event's type and mode."""
    query = (select(delivery, event.c.type, event.c.mode)
             .select_from(delivery.join(event, event.c.event_id == delivery.c.event_id))
             .where(event.c.partner_id == partner_id))
    if endpoint_id is not None:
        query = query.where(delivery.c.endpoint_id == endpoint_id)
    if event_id is not None:
        query = query.where(delivery.c.event_id == event_id)
    if state is not None:
        query = query.where(delivery.c.state == state)
    return _rows(engine, query.order_by(delivery.c.created_at.desc(), delivery.c.delivery_id.desc()).limit(limit))


def attempts_of(engine: Engine, delivery_id: str) -> list[dict[str, Any]]:
    return _rows(engine, select(attempt).where(attempt.c.delivery_id == delivery_id).order_by(attempt.c.n))


def events_of(engine: Engine, partner_id: str, limit: int = 100) -> list[dict[str, Any]]:
    return _rows(engine, select(event).where(event.c.partner_id == partner_id)
                 .order_by(event.c.created_at.desc(), event.c.event_id.desc()).limit(limit))
