"""SQL for the health programme (migration 0019): members, daily wearable aggregates, imports and their
quarantine, completed events, the append-only points ledger, yearly status totals, redemptions, points
runs, and value-based membership levels with their change log.

Rules live in ``shouhu.health``; this module only reads and writes rows. The ledger is only ever
inserted into. Bulk reads and writes go in chunks so that a run over a million members keeps each
statement small on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError, NoSuchTableError

from shouhu.storage.tables import reflected

metadata = MetaData()
TS, ID, DAY = 24, 64, 10
CHUNK = 5000

member = Table("health_member", metadata, Column("customer_id", String(ID), primary_key=True),
               Column("product_code", String(ID)), Column("enrolled_on", String(DAY)), Column("status", String(12)),
               Column("updated_at", String(TS)))
daily = Table("health_daily", metadata, Column("customer_id", String(ID), primary_key=True),
              Column("day", String(DAY), primary_key=True), Column("source", String(40), primary_key=True),
              Column("steps", Integer), Column("active_minutes", Integer), Column("resting_hr", Integer),
              Column("import_id", String(ID)), Column("updated_at", String(TS)))
imports = Table("health_import", metadata, Column("import_id", String(ID), primary_key=True),
                Column("customer_id", String(ID)), Column("file_name", Text), Column("format", String(12)),
                Column("source", String(40)), Column("sha256", String(64)), Column("rows_read", Integer),
                Column("days_stored", Integer), Column("rows_quarantined", Integer), Column("imported_at", String(TS)))
quarantine = Table("health_quarantine", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                   Column("import_id", String(ID)), Column("customer_id", String(ID)), Column("file_name", Text),
                   Column("row_no", Integer), Column("field", String(40)), Column("reason", Text),
                   Column("value", String(64)))
event = Table("health_event", metadata, Column("customer_id", String(ID), primary_key=True),
              Column("kind", String(24), primary_key=True), Column("ref", String(ID), primary_key=True),
              Column("day", String(DAY)), Column("recorded_at", String(TS)), Column("actor", String(ID)),
              Column("awarded_on", String(DAY)))
ledger = Table("points_ledger", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
               Column("entry_key", String(160)), Column("customer_id", String(ID)), Column("kind", String(12)),
               Column("category", String(24)), Column("points", Integer), Column("day", String(DAY)),
               Column("programme_year", Integer), Column("expires_on", String(DAY)), Column("lot_key", String(160)),
               Column("note", Text), Column("created_at", String(TS)))
year_total = Table("points_year_total", metadata, Column("customer_id", String(ID), primary_key=True),
                   Column("programme_year", Integer, primary_key=True),
                   Column("category", String(24), primary_key=True), Column("points", Integer))
redemption = Table("health_redemption", metadata, Column("redemption_id", String(ID), primary_key=True),
                   Column("customer_id", String(ID)), Column("product_code", String(ID)),
                   Column("voucher_code", String(ID)), Column("points", Integer), Column("request_key", String(128)),
                   Column("redeemed_at", String(TS)))
run = Table("health_run", metadata, Column("day", String(DAY), primary_key=True), Column("members", Integer),
            Column("entries", Integer), Column("points", BigInteger), Column("finished_at", String(TS)))
tier = Table("membership_tier", metadata, Column("customer_id", String(ID), primary_key=True),
             Column("tier", String(16)), Column("since", String(TS)))
change = Table("membership_change", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
               Column("customer_id", String(ID)), Column("from_tier", String(16)), Column("to_tier", String(16)),
               Column("changed_at", String(TS)), Column("reason_zh", Text), Column("reason_en", Text))


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _rows(conn: Connection | Engine, query: Any) -> list[dict[str, Any]]:
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return [dict(r._mapping) for r in c.execute(query)]
    return [dict(r._mapping) for r in conn.execute(query)]


def _insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    for chunk in _chunks(list(rows)):
        conn.execute(insert(table), list(chunk))


# --- members ---------------------------------------------------------------------------------------------

def upsert_member(engine: Engine, values: Mapping[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(delete(member).where(member.c.customer_id == values["customer_id"]))
        conn.execute(insert(member).values(**values))


def get_member(conn: Connection | Engine, customer_id: str) -> dict[str, Any] | None:
    rows = _rows(conn, select(member).where(member.c.customer_id == customer_id))
    return rows[0] if rows else None


def active_members(conn: Connection | Engine) -> list[dict[str, Any]]:
    return _rows(conn, select(member).where(member.c.status == "active").order_by(member.c.customer_id))


def list_members(engine: Engine, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    return _rows(engine, select(member).order_by(member.c.customer_id).limit(limit).offset(offset))


def ages(conn: Connection | Engine, customer_ids: Sequence[str]) -> dict[str, int]:
    """Ages from the published customer 360 (absent before a first refresh: every age unknown)."""
    engine = conn if isinstance(conn, Engine) else conn.engine
    try:
        c360 = reflected(engine, "customer_360")
    except NoSuchTableError:  # not migrated that far: every age is unknown, the first band applies
        return {}
    out: dict[str, int] = {}
    for chunk in _chunks(list(customer_ids)):
        for r in _rows(conn, select(c360.c.customer_id, c360.c.age).where(c360.c.customer_id.in_(chunk))):
            if r["age"] is not None:
                out[str(r["customer_id"])] = int(r["age"])
    return out


# --- wearable data ---------------------------------------------------------------------------------------

def find_import(engine: Engine, customer_id: str, sha256: str) -> dict[str, Any] | None:
    rows = _rows(engine, select(imports).where(imports.c.customer_id == customer_id, imports.c.sha256 == sha256))
    return rows[0] if rows else None


def save_import(engine: Engine, log: Mapping[str, Any], days: Sequence[Mapping[str, Any]],
                issues: Sequence[Mapping[str, Any]]) -> None:
    """The import's log, its days (replacing the same customer, day and source) and its quarantine, at once."""
    with engine.begin() as conn:
        conn.execute(insert(imports).values(**log))
        for chunk in _chunks(list(days)):
            keys = [(d["customer_id"], d["day"], d["source"]) for d in chunk]
            conn.execute(delete(daily).where(tuple_(daily.c.customer_id, daily.c.day, daily.c.source).in_(keys)))
            conn.execute(insert(daily), list(chunk))
        _insert_many(conn, quarantine, issues)


def quarantined(engine: Engine, import_id: str) -> list[dict[str, Any]]:
    return _rows(engine, select(quarantine).where(quarantine.c.import_id == import_id).order_by(quarantine.c.id))


def imports_of(engine: Engine, customer_id: str) -> list[dict[str, Any]]:
    return _rows(engine, select(imports).where(imports.c.customer_id == customer_id)
                 .order_by(imports.c.imported_at.desc()))


def _best_of_sources() -> Any:
    return (select(daily.c.customer_id, daily.c.day, func.max(daily.c.steps).label("steps"),
                   func.max(daily.c.active_minutes).label("active_minutes"),
                   func.max(daily.c.resting_hr).label("resting_hr"))
            .group_by(daily.c.customer_id, daily.c.day))


def days_of(engine: Engine, customer_id: str, first: str, last: str) -> list[dict[str, Any]]:
    """One row per day between ``first`` and ``last``: each metric's largest value across sources."""
    q = _best_of_sources().where(daily.c.customer_id == customer_id, daily.c.day >= first, daily.c.day <= last)
    return _rows(engine, q.order_by(daily.c.day))


def day_totals(conn: Connection, day: str) -> list[dict[str, Any]]:
    return _rows(conn, _best_of_sources().where(daily.c.day == day))


def device_owners(engine: Engine, first: str, last: str) -> set[str]:
    q = select(daily.c.customer_id).where(daily.c.day >= first, daily.c.day <= last).distinct()
    return {str(r["customer_id"]) for r in _rows(engine, q)}


# --- events ----------------------------------------------------------------------------------------------

def add_event(engine: Engine, values: Mapping[str, Any]) -> bool:
    """False when the same (customer, kind, ref) was recorded before: each earns once."""
    try:
        with engine.begin() as conn:
            conn.execute(insert(event).values(**values))
    except IntegrityError:
        return False
    return True


def unawarded_events(conn: Connection, up_to: str) -> list[dict[str, Any]]:
    return _rows(conn, select(event).where(event.c.awarded_on.is_(None), event.c.day <= up_to))


def mark_awarded(conn: Connection, keys: Sequence[tuple[str, str, str]], day: str) -> None:
    for chunk in _chunks(list(keys)):
        conn.execute(update(event).where(tuple_(event.c.customer_id, event.c.kind, event.c.ref).in_(chunk))
                     .values(awarded_on=day))


# --- the ledger ------------------------------------------------------------------------------------------

def entries_of(conn: Connection | Engine, customer_id: str) -> list[dict[str, Any]]:
    return _rows(conn, select(ledger).where(ledger.c.customer_id == customer_id).order_by(ledger.c.id))


def existing_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for chunk in _chunks(list(keys)):
        out |= {str(r[0]) for r in conn.execute(select(ledger.c.entry_key).where(ledger.c.entry_key.in_(chunk)))}
    return out


def append(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _insert_many(conn, ledger, rows)


def _lots_left() -> Any:
    drawn = (select(ledger.c.lot_key, func.sum(ledger.c.points).label("drawn"))
             .where(ledger.c.lot_key.is_not(None)).group_by(ledger.c.lot_key).subquery())
    return (select(ledger, (ledger.c.points + func.coalesce(drawn.c.drawn, 0)).label("remaining"))
            .outerjoin(drawn, drawn.c.lot_key == ledger.c.entry_key).where(ledger.c.kind.in_(("earn", "carry"))))


def lots_expiring(conn: Connection, after: str, up_to: str) -> list[dict[str, Any]]:
    """Lots whose expiry day is in (after, up_to] with what is left of them (only those with points left)."""
    q = _lots_left().where(ledger.c.expires_on > after, ledger.c.expires_on <= up_to)
    return [r for r in _rows(conn, q) if r["remaining"] > 0]


def open_lots(conn: Connection, on: str) -> list[dict[str, Any]]:
    """Lots earned before ``on`` that are still spendable on it, with points left (the annual reset's input)."""
    q = _lots_left().where(ledger.c.expires_on > on, ledger.c.day < on)
    return [r for r in _rows(conn, q) if r["remaining"] > 0]


def lock_member(conn: Connection, customer_id: str) -> dict[str, Any] | None:
    """The member row, locked until the transaction ends (PostgreSQL; SQLite has one writer anyway)."""
    rows = _rows(conn, select(member).where(member.c.customer_id == customer_id).with_for_update())
    return rows[0] if rows else None


def year_totals(conn: Connection | Engine, year: int, customer_ids: Sequence[str] | None = None
                ) -> dict[tuple[str, str], int]:
    """(customer, category) -> status points of the programme year."""
    q = select(year_total).where(year_total.c.programme_year == year)
    if customer_ids is None:
        return {(r["customer_id"], r["category"]): int(r["points"]) for r in _rows(conn, q)}
    out: dict[tuple[str, str], int] = {}
    for chunk in _chunks(list(customer_ids)):
        for r in _rows(conn, q.where(year_total.c.customer_id.in_(chunk))):
            out[(r["customer_id"], r["category"])] = int(r["points"])
    return out


def add_year_totals(conn: Connection, year: int, added: Mapping[tuple[str, str], int]) -> None:
    current = year_totals(conn, year, sorted({c for c, _ in added}))
    fresh = [{"customer_id": c, "programme_year": year, "category": k, "points": p}
             for (c, k), p in added.items() if (c, k) not in current]
    _insert_many(conn, year_total, fresh)
    for (c, k), p in added.items():
        if (c, k) in current:
            conn.execute(update(year_total).where(and_(year_total.c.customer_id == c, year_total.c.programme_year
                                                       == year, year_total.c.category == k))
                         .values(points=current[(c, k)] + p))


def status_totals(conn: Connection | Engine, year: int) -> dict[str, int]:
    q = (select(year_total.c.customer_id, func.sum(year_total.c.points).label("points"))
         .where(year_total.c.programme_year == year).group_by(year_total.c.customer_id))
    return {str(r["customer_id"]): int(r["points"]) for r in _rows(conn, q)}


def last_run_before(conn: Connection, day: str) -> str | None:
    value = conn.execute(select(func.max(run.c.day)).where(run.c.day < day)).scalar()
    return None if value is None else str(value)


def record_run(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(delete(run).where(run.c.day == values["day"]))
    conn.execute(insert(run).values(**values))


def runs(engine: Engine, limit: int = 30) -> list[dict[str, Any]]:
    return _rows(engine, select(run).order_by(run.c.day.desc()).limit(limit))


# --- redemptions -----------------------------------------------------------------------------------------

def find_redemption(conn: Connection | Engine, request_key: str) -> dict[str, Any] | None:
    rows = _rows(conn, select(redemption).where(redemption.c.request_key == request_key))
    return rows[0] if rows else None


def add_redemption(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(insert(redemption).values(**values))


def redemptions(engine: Engine, customer_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    q = select(redemption).order_by(redemption.c.redeemed_at.desc()).limit(limit)
    return _rows(engine, q if customer_id is None else q.where(redemption.c.customer_id == customer_id))


# --- membership by value ---------------------------------------------------------------------------------

def value_tiers(engine: Engine) -> dict[str, str]:
    """customer -> tier of the last refresh's ``customer_value`` (empty before one)."""
    try:
        cv = reflected(engine, "customer_value")
    except NoSuchTableError:
        return {}
    return {str(r["customer_id"]): str(r["tier"]) for r in _rows(engine, select(cv.c.customer_id, cv.c.tier))}


def current_tiers(engine: Engine) -> dict[str, str]:
    return {str(r["customer_id"]): str(r["tier"]) for r in _rows(engine, select(tier))}


def apply_changes(engine: Engine, rows: Sequence[Mapping[str, Any]], at: str) -> None:
    with engine.begin() as conn:
        ids = [r["customer_id"] for r in rows]
        for chunk in _chunks(ids):
            conn.execute(delete(tier).where(tier.c.customer_id.in_(chunk)))
        _insert_many(conn, tier, [{"customer_id": r["customer_id"], "tier": r["to_tier"], "since": at} for r in rows])
        _insert_many(conn, change, [dict(r) | {"changed_at": at} for r in rows])


def tier_of(engine: Engine, customer_id: str) -> dict[str, Any] | None:
    rows = _rows(engine, select(tier).where(tier.c.customer_id == customer_id))
    return rows[0] if rows else None


def changes_of(engine: Engine, customer_id: str) -> list[dict[str, Any]]:
    return _rows(engine, select(change).where(change.c.customer_id == customer_id).order_by(change.c.id.desc()))


def tier_counts(engine: Engine) -> dict[str, int]:
    q = select(tier.c.tier, func.count()).group_by(tier.c.tier)
    with engine.connect() as conn:
        return {str(r[0]): int(r[1]) for r in conn.execute(q)}


# --- fairness --------------------------------------------------------------------------------------------

def population(engine: Engine) -> list[dict[str, Any]]:
    """Every published customer with age, province and the source systems' wearable flag."""
    c360 = reflected(engine, "customer_360")
    cols = [c360.c.customer_id, c360.c.age, c360.c.province, c360.c.has_wearable]
    return _rows(engine, select(*cols).order_by(c360.c.customer_id))


def earned_between(engine: Engine, first: str, last: str) -> dict[str, int]:
    q = (select(ledger.c.customer_id, func.sum(ledger.c.points).label("points"))
         .where(ledger.c.kind == "earn", ledger.c.day >= first, ledger.c.day <= last)
         .group_by(ledger.c.customer_id))
    return {str(r["customer_id"]): int(r["points"]) for r in _rows(engine, q)}
