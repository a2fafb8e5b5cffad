"""SQL for the ecosystem service catalogue (migration 0018): providers, services, entitlements, orders and
their history, entitlement uses, provider settlements, ecosystem users and their funnel steps.

Rules live in ``shouhu.partners.ecosystem``; this module only reads and writes rows (plain dicts, the
``categories`` JSON column decoded). Two writes carry a guarantee of their own:

* :func:`claim_slot` takes one unit of an entitlement by inserting its slot number; the primary key makes
  two concurrent orders for the last unit fail one of them, on SQLite and PostgreSQL alike.
* :func:`settle_orders` puts orders into a settlement with one ``UPDATE ... WHERE settlement_id IS NULL``,
  so an order is settled once even when two runs race (PostgreSQL re-checks the condition on each row).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    case,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from shouhu.errors import StorageError

metadata = MetaData()
TS = 24
ID = 64

provider = Table(
    "eco_provider", metadata, Column("provider_id", String(ID), primary_key=True), Column("name_zh", Text),
    Column("name_en", Text), Column("categories", Text), Column("contact", Text),
    Column("settlement_cycle", String(12)), Column("payment_days", Integer), Column("breach_deduction_pct", Integer),
    Column("contract_start", String(10)), Column("contract_end", String(10)), Column("status", String(12)),
    Column("updated_at", String(TS)))
service = Table(
    "eco_service", metadata, Column("service_code", String(ID), primary_key=True), Column("category", String(24)),
    Column("name_zh", Text), Column("name_en", Text), Column("provider_id", String(ID)),
    Column("unit_price_fen", BigInteger), Column("retail_price_fen", BigInteger), Column("sla_hours", Integer),
    Column("sla_working_days", Integer), Column("status", String(12)), Column("updated_at", String(TS)))
entitlement = Table(
    "eco_entitlement", metadata, Column("tier", String(16), primary_key=True),
    Column("service_code", String(ID), primary_key=True), Column("quantity", Integer))
order = Table(
    "eco_order", metadata, Column("order_id", String(ID), primary_key=True), Column("customer_id", String(ID)),
    Column("eco_user_id", String(ID)), Column("service_code", String(ID)), Column("category", String(24)),
    Column("provider_id", String(ID)), Column("tier", String(16)), Column("programme_year", Integer),
    Column("basis", String(12)), Column("price_fen", BigInteger), Column("charge_fen", BigInteger),
    Column("deduction_pct", Integer), Column("status", String(16)), Column("request_key", String(128)),
    Column("requested_at", String(TS)), Column("due_at", String(TS)), Column("sla_note", Text),
    Column("accepted_at", String(TS)), Column("scheduled_at", String(TS)), Column("scheduled_for", String(TS)),
    Column("completed_at", String(TS)), Column("cancelled_at", String(TS)), Column("cancel_reason", Text),
    Column("breached", Boolean), Column("breached_at", String(TS)), Column("settlement_id", String(ID)),
    Column("settled_fen", BigInteger))
order_event = Table(
    "eco_order_event", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(ID)), Column("at", String(TS)), Column("kind", String(16)),
    Column("from_status", String(16)), Column("to_status", String(16)), Column("actor", String(ID)),
    Column("note", Text))
entitlement_use = Table(
    "eco_entitlement_use", metadata, Column("holder", String(80), primary_key=True),
    Column("service_code", String(ID), primary_key=True), Column("programme_year", Integer, primary_key=True),
    Column("slot", Integer, primary_key=True, autoincrement=False), Column("order_id", String(ID)))
settlement = Table(
    "eco_settlement", metadata, Column("settlement_id", String(ID), primary_key=True),
    Column("provider_id", String(ID)), Column("period", String(7)), Column("seq", Integer),
    Column("orders", Integer), Column("gross_fen", BigInteger), Column("deduction_fen", BigInteger),
    Column("amount_fen", BigInteger), Column("status", String(12)), Column("created_at", String(TS)),
    Column("updated_at", String(TS)), Column("confirmed_at", String(TS)), Column("confirmed_by", String(ID)))
eco_user = Table(
    "eco_user", metadata, Column("eco_user_id", String(ID), primary_key=True), Column("source", String(ID)),
    Column("scene", String(ID)), Column("source_ref", String(ID)), Column("registered_at", String(TS)),
    Column("customer_id", String(ID)), Column("converted_at", String(TS)))
funnel_event = Table(
    "eco_funnel_event", metadata, Column("eco_user_id", String(ID), primary_key=True),
    Column("step", String(16), primary_key=True), Column("at", String(TS)), Column("ref", String(ID)))
customer_value = Table(  # published by the refresh (migration 0004); read for the tier only
    "customer_value", metadata, Column("customer_id", String(ID), primary_key=True), Column("tier", String(16)))

Conn = Engine | Connection


def stamp(when: datetime) -> str:
    """A UTC ISO string that orders the same on every database."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _decode(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    if isinstance(out.get("categories"), str):
        out["categories"] = json.loads(out["categories"])
    if "breached" in out and out["breached"] is not None:
        out["breached"] = bool(out["breached"])
    return out


def _encode(values: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if isinstance(out.get("categories"), list | tuple):
        out["categories"] = json.dumps(list(out["categories"]), ensure_ascii=False)
    return out


def _all(conn: Conn, query: Any) -> list[dict[str, Any]]:
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return [_decode(r) for r in c.execute(query)]
    return [_decode(r) for r in conn.execute(query)]


def _one(conn: Conn, query: Any) -> dict[str, Any] | None:
    rows = _all(conn, query.limit(1))
    return rows[0] if rows else None


def _try_insert(conn: Connection, query: Any) -> bool:
    """Run an insert; False when it breaks a unique key, the rest of the transaction intact.

    PostgreSQL aborts the whole transaction on a failed statement, so the insert runs in a savepoint there.
    SQLite only fails the statement; under pysqlite a savepoint opened before any write would be the
    outermost transaction and commit on release, so none is used."""
    try:
        if conn.dialect.name == "sqlite":
            conn.execute(query)
        else:
            with conn.begin_nested():
                conn.execute(query)
        return True
    except IntegrityError:
        return False


# --- catalogue ---------------------------------------------------------------------------------------

def _upsert(conn: Connection, table: Table, key: str, row: Mapping[str, Any]) -> str:
    values = _encode(row)
    done = conn.execute(update(table).where(table.c[key] == values[key]).values(**values)).rowcount
    if done:
        return "updated"
    conn.execute(insert(table).values(**values))
    return "inserted"


def upsert_provider(conn: Connection, row: Mapping[str, Any]) -> str:
    return _upsert(conn, provider, "provider_id", row)


def upsert_service(conn: Connection, row: Mapping[str, Any]) -> str:
    return _upsert(conn, service, "service_code", row)


def replace_entitlements(conn: Connection, tier: str, quantities: Mapping[str, int | None]) -> None:
    """The tier's whole entitlement table becomes ``quantities`` (service code -> units, None unlimited)."""
    conn.execute(delete(entitlement).where(entitlement.c.tier == tier))
    if quantities:
        conn.execute(insert(entitlement), [{"tier": tier, "service_code": code, "quantity": q}
                                           for code, q in quantities.items()])


def get_provider(conn: Conn, provider_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    query = select(provider).where(provider.c.provider_id == provider_id)
    return _one(conn, query.with_for_update() if lock else query)


def providers(conn: Conn) -> list[dict[str, Any]]:
    return _all(conn, select(provider).order_by(provider.c.provider_id))


def get_service(conn: Conn, code: str) -> dict[str, Any] | None:
    return _one(conn, select(service).where(service.c.service_code == code))


def services(conn: Conn, category: str | None = None) -> list[dict[str, Any]]:
    query = select(service).order_by(service.c.category, service.c.service_code)
    return _all(conn, query if category is None else query.where(service.c.category == category))


def entitlements(conn: Conn, tier: str) -> dict[str, int | None]:
    rows = _all(conn, select(entitlement).where(entitlement.c.tier == tier).order_by(entitlement.c.service_code))
    return {r["service_code"]: r["quantity"] for r in rows}


def tier_of(conn: Conn, customer_id: str) -> str | None:
    """The customer's value tier as the last refresh published it; None when it has no row."""
    row = _one(conn, select(customer_value.c.tier).where(customer_value.c.customer_id == customer_id))
    return None if row is None else str(row["tier"])


# --- entitlement uses --------------------------------------------------------------------------------

def used_by(conn: Conn, *, customer_id: str | None, eco_user_id: str | None, year: int) -> dict[str, int]:
    """Entitlement units used per service code in a programme year: orders on the entitlement, not cancelled."""
    who = order.c.customer_id == customer_id if customer_id is not None else order.c.eco_user_id == eco_user_id
    query = (select(order.c.service_code, func.count().label("n"))
             .where(who, order.c.programme_year == year, order.c.basis == "entitlement",
                    order.c.status != "cancelled")
             .group_by(order.c.service_code))
    return {r["service_code"]: int(r["n"]) for r in _all(conn, query)}


def claim_slot(conn: Connection, holder: str, code: str, year: int, quantity: int, order_id: str) -> int | None:
    """Take the lowest free unit 1..quantity for ``order_id``; None when all are used."""
    taken = set(conn.execute(select(entitlement_use.c.slot).where(
        entitlement_use.c.holder == holder, entitlement_use.c.service_code == code,
        entitlement_use.c.programme_year == year)).scalars())
    for slot in (s for s in range(1, quantity + 1) if s not in taken):
        if _try_insert(conn, insert(entitlement_use).values(holder=holder, service_code=code, programme_year=year,
                                                            slot=slot, order_id=order_id)):
            return slot
        # another order took this unit meanwhile: try the next one
    return None


def release_slot(conn: Connection, order_id: str) -> int:
    return int(conn.execute(delete(entitlement_use).where(entitlement_use.c.order_id == order_id)).rowcount or 0)


# --- orders ------------------------------------------------------------------------------------------

def add_order(conn: Connection, row: Mapping[str, Any]) -> None:
    try:
        conn.execute(insert(order).values(**row))
    except IntegrityError as e:
        raise StorageError(f"could not add service order {row.get('order_id')} to eco_order: {e.orig}") from e


def get_order(conn: Conn, order_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    query = select(order).where(order.c.order_id == order_id)
    return _one(conn, query.with_for_update() if lock else query)


def order_by_key(conn: Conn, request_key: str) -> dict[str, Any] | None:
    return _one(conn, select(order).where(order.c.request_key == request_key))


def orders(conn: Conn, *, customer_id: str | None = None, eco_user_id: str | None = None,
           provider_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    query = select(order).order_by(order.c.requested_at, order.c.order_id)
    for col, value in (("customer_id", customer_id), ("eco_user_id", eco_user_id), ("provider_id", provider_id),
                       ("status", status)):
        if value is not None:
            query = query.where(order.c[col] == value)
    return _all(conn, query)


def update_order(conn: Connection, order_id: str, expected_status: str, values: Mapping[str, Any]) -> int:
    """Update an order still in ``expected_status``; 0 rows when it moved on meanwhile."""
    return int(conn.execute(update(order).where(order.c.order_id == order_id, order.c.status == expected_status)
                            .values(**values)).rowcount or 0)


def add_event(conn: Connection, order_id: str, at: str, kind: str, actor: str, *, from_status: str | None = None,
              to_status: str | None = None, note: str | None = None) -> None:
    conn.execute(insert(order_event).values(order_id=order_id, at=at, kind=kind, actor=actor,
                                            from_status=from_status, to_status=to_status, note=note))


def events(conn: Conn, order_id: str) -> list[dict[str, Any]]:
    return _all(conn, select(order_event).where(order_event.c.order_id == order_id).order_by(order_event.c.id))


def overdue(conn: Connection, running: Sequence[str], at: str) -> list[dict[str, Any]]:
    """Orders whose SLA is still running, not yet marked breached, due at or before ``at``."""
    return _all(conn, select(order).where(order.c.status.in_(running), order.c.breached.is_(False),
                                          order.c.due_at.is_not(None), order.c.due_at <= at)
                .order_by(order.c.due_at, order.c.order_id))


def missing_due(conn: Connection, running: Sequence[str]) -> list[dict[str, Any]]:
    return _all(conn, select(order).where(order.c.status.in_(running), order.c.due_at.is_(None)))


def mark_breached(conn: Connection, order_id: str, breached_at: str) -> int:
    return int(conn.execute(update(order).where(order.c.order_id == order_id, order.c.breached.is_(False))
                            .values(breached=True, breached_at=breached_at)).rowcount or 0)


def set_due(conn: Connection, order_id: str, due_at: str | None, note: str | None) -> None:
    conn.execute(update(order).where(order.c.order_id == order_id).values(due_at=due_at, sla_note=note))


# --- settlements -------------------------------------------------------------------------------------

def settlements(conn: Conn, provider_id: str, period: str | None = None) -> list[dict[str, Any]]:
    query = select(settlement).where(settlement.c.provider_id == provider_id)
    if period is not None:
        query = query.where(settlement.c.period == period)
    return _all(conn, query.order_by(settlement.c.period, settlement.c.seq))


def get_settlement(conn: Conn, settlement_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    query = select(settlement).where(settlement.c.settlement_id == settlement_id)
    return _one(conn, query.with_for_update() if lock else query)


def add_settlement(conn: Connection, row: Mapping[str, Any]) -> None:
    conn.execute(insert(settlement).values(**row))


def update_settlement(conn: Connection, settlement_id: str, values: Mapping[str, Any]) -> int:
    return int(conn.execute(update(settlement).where(settlement.c.settlement_id == settlement_id)
                            .values(**values)).rowcount or 0)


def settle_orders(conn: Connection, provider_id: str, start: str, end: str, settlement_id: str) -> int:
    """Completed, unsettled orders of the provider completed in [start, end) join the settlement.

    Each order is paid its frozen price less, if it breached its SLA, ``price * deduction_pct / 100``
    rounded down to the fen (integer arithmetic on both backends)."""
    deduction = order.c.price_fen * order.c.deduction_pct // 100
    query = (update(order).where(order.c.provider_id == provider_id, order.c.status == "completed",
                                 order.c.settlement_id.is_(None), order.c.completed_at >= start,
                                 order.c.completed_at < end)
             .values(settlement_id=settlement_id,
                     settled_fen=case((order.c.breached.is_(True), order.c.price_fen - deduction),
                                      else_=order.c.price_fen)))
    return int(conn.execute(query).rowcount or 0)


def settlement_totals(conn: Connection, settlement_id: str) -> dict[str, int]:
    """Orders, gross, deduction and amount of a settlement, summed from its orders."""
    row = conn.execute(select(func.count().label("orders"), func.coalesce(func.sum(order.c.price_fen), 0),
                              func.coalesce(func.sum(order.c.settled_fen), 0))
                       .where(order.c.settlement_id == settlement_id)).one()
    gross, amount = int(row[1]), int(row[2])
    return {"orders": int(row[0]), "gross_fen": gross, "deduction_fen": gross - amount, "amount_fen": amount}


# --- ecosystem users and the funnel ------------------------------------------------------------------

def add_eco_user(conn: Connection, row: Mapping[str, Any]) -> bool:
    """Insert a user; False when ``(source, source_ref)`` is already registered."""
    return _try_insert(conn, insert(eco_user).values(**row))


def get_eco_user(conn: Conn, eco_user_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    query = select(eco_user).where(eco_user.c.eco_user_id == eco_user_id)
    return _one(conn, query.with_for_update() if lock else query)


def eco_user_by_ref(conn: Conn, source: str, source_ref: str) -> dict[str, Any] | None:
    return _one(conn, select(eco_user).where(eco_user.c.source == source, eco_user.c.source_ref == source_ref))


def set_converted(conn: Connection, eco_user_id: str, customer_id: str, at: str) -> int:
    return int(conn.execute(update(eco_user).where(eco_user.c.eco_user_id == eco_user_id,
                                                   eco_user.c.customer_id.is_(None))
                            .values(customer_id=customer_id, converted_at=at)).rowcount or 0)


def add_step(conn: Connection, eco_user_id: str, step: str, at: str, ref: str | None) -> bool:
    """Record the first time a user reached a step; False (nothing written) when it already had."""
    return _try_insert(conn, insert(funnel_event).values(eco_user_id=eco_user_id, step=step, at=at, ref=ref))


def cohort_steps(conn: Conn, since: str, until: str) -> list[dict[str, Any]]:
    """(eco_user_id, source, scene, step) for every step of users registered in [since, until)."""
    query = (select(eco_user.c.eco_user_id, eco_user.c.source, eco_user.c.scene, funnel_event.c.step)
             .join(funnel_event, funnel_event.c.eco_user_id == eco_user.c.eco_user_id)
             .where(eco_user.c.registered_at >= since, eco_user.c.registered_at < until))
    return _all(conn, query)
