"""SQL for journeys (migration 0013): versions, enrolments, durable steps, events, messages, consent.

Rules live in ``shouhu.journeys``; this module only reads and writes rows. Claims use
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers on any machines share the due
steps without taking the same one; SQLite has one writer at a time and ignores the locking clause.
A claimed step carries a lease (``locked_until``): a worker killed mid-step loses the lease and the
step is claimed again; every write that finishes a step checks the lease is still its own.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
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
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from shouhu.storage.tables import reflected, task

metadata = MetaData()
TS = 24


def _t(name: str, *cols: Column[Any]) -> Table:
    return Table(name, metadata, *cols)


journey = _t("journey", Column("journey_key", String(64), primary_key=True), Column("name_zh", Text),
             Column("name_en", Text), Column("status", String(16)), Column("current_version", Integer),
             Column("created_at", String(TS)), Column("updated_at", String(TS)))
journey_version = _t("journey_version", Column("journey_key", String(64), primary_key=True),
                     Column("version", Integer, primary_key=True), Column("definition", Text),
                     Column("source", Text), Column("checksum", String(64)), Column("published_at", String(TS)),
                     Column("published_by", String(64)))
enrollment = _t("journey_enrollment", Column("id", Integer, primary_key=True, autoincrement=True),
                Column("journey_key", String(64)), Column("version", Integer), Column("customer_id", String(64)),
                Column("household_id", String(64)), Column("instance_key", String(128)),
                Column("status", String(16)), Column("arm", String(32)), Column("node_id", String(64)),
                Column("trigger_event_id", Integer), Column("entered_at", String(TS)),
                Column("finished_at", String(TS)), Column("exit_reason", String(64)), Column("goal_at", String(TS)))
step = _t("journey_step", Column("id", Integer, primary_key=True, autoincrement=True),
          Column("enrollment_id", Integer), Column("seq", Integer), Column("node_id", String(64)),
          Column("status", String(16)), Column("due_at", String(TS)), Column("wait_event", String(64)),
          Column("attempts", Integer), Column("locked_by", String(128)), Column("locked_until", String(TS)),
          Column("outcome", String(32)), Column("detail", Text), Column("created_at", String(TS)),
          Column("started_at", String(TS)), Column("finished_at", String(TS)))
event = _t("journey_event", Column("id", Integer, primary_key=True, autoincrement=True),
           Column("event_key", String(200)), Column("customer_id", String(64)), Column("event_type", String(64)),
           Column("policy_no", String(64)), Column("occurred_at", String(TS)), Column("payload", Text),
           Column("received_at", String(TS)), Column("processed_at", String(TS)))
message_log = _t("message_log", Column("id", Integer, primary_key=True, autoincrement=True),
                 Column("idempotency_key", String(128)), Column("customer_id", String(64)),
                 Column("household_id", String(64)), Column("channel", String(16)), Column("kind", String(16)),
                 Column("purpose", String(32)), Column("template_code", String(64)),
                 Column("template_version", Integer), Column("journey_key", String(64)),
                 Column("journey_version", Integer), Column("enrollment_id", Integer), Column("step_id", Integer),
                 Column("status", String(16)), Column("reason", String(64)), Column("provider_id", String(128)),
                 Column("error", Text), Column("attempts", Integer), Column("created_at", String(TS)),
                 Column("sent_at", String(TS)))
template = _t("message_template", Column("code", String(64), primary_key=True),
              Column("version", Integer, primary_key=True), Column("channel", String(16)), Column("kind", String(16)),
              Column("purpose", String(32)), Column("subject_zh", Text), Column("body_zh", Text),
              Column("subject_en", Text), Column("body_en", Text), Column("status", String(16)),
              Column("created_by", String(64)), Column("created_at", String(TS)), Column("reviewed_by", String(64)),
              Column("reviewed_at", String(TS)), Column("review_note", Text))
consent_event = _t("consent_event", Column("id", Integer, primary_key=True, autoincrement=True),
                   Column("customer_id", String(64)), Column("purpose", String(32)), Column("channel", String(16)),
                   Column("granted", Boolean), Column("source", String(16)), Column("actor", String(64)),
                   Column("recorded_at", String(TS)), Column("note", Text))
contact_block = _t("contact_block", Column("id", Integer, primary_key=True, autoincrement=True),
                   Column("customer_id", String(64)), Column("channel", String(16)), Column("reason", Text),
                   Column("created_by", String(64)), Column("created_at", String(TS)),
                   Column("lifted_by", String(64)), Column("lifted_at", String(TS)))
preference = _t("contact_preference", Column("customer_id", String(64), primary_key=True),
                Column("time_zone", String(64)), Column("locale", String(8)), Column("wecom_userid_enc", Text),
                Column("updated_at", String(TS)))
inbox = _t("inbox_message", Column("id", Integer, primary_key=True, autoincrement=True),
           Column("customer_id", String(64)), Column("kind", String(16)), Column("subject", Text),
           Column("body", Text), Column("link", Text), Column("idempotency_key", String(128)),
           Column("created_at", String(TS)), Column("read_at", String(TS)))
journey_tag = _t("journey_tag", Column("customer_id", String(64), primary_key=True),
                 Column("tag", String(64), primary_key=True), Column("source", String(64)),
                 Column("set_at", String(TS)))


def stamp(when: datetime) -> str:
    """A UTC ISO string that orders the same on every database."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def is_postgres(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


@contextlib.contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as conn:
        yield conn


def lock_contact(conn: Connection, key: str) -> None:
    """Serialise frequency-cap checks for one customer or household until the transaction ends."""
    if is_postgres(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"contact:{key}"})


# --- journeys and versions -------------------------------------------------------------------------

def publish(engine: Engine, key: str, name_zh: str, name_en: str, definition: str, source: str, checksum: str,
            actor: str, now: datetime) -> tuple[int, bool]:
    """Store a new version unless it equals the current one; (version, created)."""
    at = stamp(now)
    with engine.begin() as conn:
        row = conn.execute(select(journey).where(journey.c.journey_key == key).with_for_update()).first()
        if row is not None:
            same = conn.execute(select(journey_version.c.checksum).where(
                journey_version.c.journey_key == key, journey_version.c.version == row.current_version)).scalar()
            if same == checksum:
                return int(row.current_version), False
            version = int(row.current_version) + 1
            conn.execute(update(journey).where(journey.c.journey_key == key).values(
                current_version=version, name_zh=name_zh, name_en=name_en, updated_at=at,
                status="active" if row.status == "archived" else row.status))
        else:
            version = 1
            conn.execute(insert(journey).values(journey_key=key, name_zh=name_zh, name_en=name_en, status="active",
                                                current_version=1, created_at=at, updated_at=at))
        conn.execute(insert(journey_version).values(journey_key=key, version=version, definition=definition,
                                                    source=source, checksum=checksum, published_at=at,
                                                    published_by=actor))
    return version, True


def set_status(engine: Engine, key: str, status: str, now: datetime) -> bool:
    with engine.begin() as conn:
        return bool(conn.execute(update(journey).where(journey.c.journey_key == key)
                                 .values(status=status, updated_at=stamp(now))).rowcount)


def list_journeys(engine: Engine) -> list[dict[str, Any]]:
    counts = (select(enrollment.c.journey_key, func.count().label("enrolled"),
                     func.sum(func.cast(enrollment.c.status == "active", Integer)).label("active"),
                     func.count(enrollment.c.goal_at).label("converted"))
              .group_by(enrollment.c.journey_key).subquery())
    query = (select(journey, counts.c.enrolled, counts.c.active, counts.c.converted)
             .select_from(journey.outerjoin(counts, counts.c.journey_key == journey.c.journey_key))
             .order_by(journey.c.journey_key))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def get_journey(engine: Engine, key: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(journey).where(journey.c.journey_key == key)).first()
        if row is None:
            return None
        versions = conn.execute(select(journey_version.c.version, journey_version.c.published_at,
                                       journey_version.c.published_by)
                                .where(journey_version.c.journey_key == key)
                                .order_by(journey_version.c.version)).all()
    return dict(row._mapping) | {"versions": [dict(v._mapping) for v in versions]}


def version_row(conn: Engine | Connection, key: str, version: int) -> dict[str, Any] | None:
    query = select(journey_version).where(journey_version.c.journey_key == key, journey_version.c.version == version)
    if isinstance(conn, Engine):
        with conn.connect() as c:
            row = c.execute(query).first()
    else:
        row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)


def live_journeys(conn: Connection) -> list[dict[str, Any]]:
    """Active journeys and their current version."""
    query = select(journey.c.journey_key, journey.c.current_version).where(journey.c.status == "active")
    return [dict(r._mapping) for r in conn.execute(query)]


# --- events ----------------------------------------------------------------------------------------

def add_events(engine: Engine, rows: Sequence[Mapping[str, Any]], now: datetime) -> int:
    """Insert events not seen before (by ``event_key``); returns how many were new."""
    if not rows:
        return 0
    at = stamp(now)
    keys = [r["event_key"] for r in rows]
    new = 0
    with engine.begin() as conn:
        seen: set[str] = set()
        for i in range(0, len(keys), 500):
            seen |= set(conn.execute(select(event.c.event_key).where(event.c.event_key.in_(keys[i:i + 500]))).scalars())
        fresh = []
        for r in rows:
            if r["event_key"] in seen:
                continue
            seen.add(r["event_key"])
            fresh.append(dict(r) | {"received_at": at, "processed_at": None})
        for i in range(0, len(fresh), 1000):
            conn.execute(insert(event), fresh[i:i + 1000])
        new = len(fresh)
    return new


def claim_events(conn: Connection, limit: int) -> list[dict[str, Any]]:
    query = (select(event).where(event.c.processed_at.is_(None)).order_by(event.c.id).limit(limit)
             .with_for_update(skip_locked=True))
    return [dict(r._mapping) for r in conn.execute(query)]


def mark_event(conn: Connection, event_id: int, now: datetime) -> None:
    conn.execute(update(event).where(event.c.id == event_id).values(processed_at=stamp(now)))


# --- enrolments and steps --------------------------------------------------------------------------

def enrollments_of(conn: Connection, customer_id: str, journey_key: str | None = None,
                   statuses: Sequence[str] | None = None) -> list[dict[str, Any]]:
    query = select(enrollment).where(enrollment.c.customer_id == customer_id)
    if journey_key is not None:
        query = query.where(enrollment.c.journey_key == journey_key)
    if statuses is not None:
        query = query.where(enrollment.c.status.in_(list(statuses)))
    return [dict(r._mapping) for r in conn.execute(query.order_by(enrollment.c.id))]


def create_enrollment(conn: Connection, values: Mapping[str, Any]) -> int:
    return int(conn.execute(insert(enrollment).values(**values).returning(enrollment.c.id)).scalar_one())


def finish_enrollment(conn: Connection, enrollment_id: int, status: str, now: datetime,
                      reason: str | None = None) -> None:
    conn.execute(update(enrollment).where(enrollment.c.id == enrollment_id, enrollment.c.status == "active")
                 .values(status=status, finished_at=stamp(now), exit_reason=reason))
    conn.execute(update(step).where(step.c.enrollment_id == enrollment_id,
                                    step.c.status.in_(["pending", "waiting", "running"]))
                 .values(status="cancelled", outcome=reason or status, finished_at=stamp(now)))


def set_goal(conn: Connection, enrollment_id: int, now: datetime) -> None:
    conn.execute(update(enrollment).where(enrollment.c.id == enrollment_id, enrollment.c.goal_at.is_(None))
                 .values(goal_at=stamp(now)))


def update_enrollment(conn: Connection, enrollment_id: int, **values: Any) -> None:
    conn.execute(update(enrollment).where(enrollment.c.id == enrollment_id).values(**values))


def add_step(conn: Connection, values: Mapping[str, Any]) -> int | None:
    """Insert a step; None when that (enrolment, seq) already exists (a retried completion)."""
    try:
        with conn.begin_nested():
            return int(conn.execute(insert(step).values(**values).returning(step.c.id)).scalar_one())
    except IntegrityError:
        return None


def claim_steps(engine: Engine, worker: str, now: datetime, lease: timedelta, limit: int) -> list[dict[str, Any]]:
    """Due steps (pending, waiting past their timeout, or running with an expired lease) now leased to
    ``worker``; every claim counts an attempt."""
    at, until = stamp(now), stamp(now + lease)
    due = or_(and_(step.c.status.in_(["pending", "waiting"]), step.c.due_at <= at),
              and_(step.c.status == "running", step.c.locked_until < at))
    with engine.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            select(step).where(due).order_by(step.c.due_at, step.c.id).limit(limit).with_for_update(skip_locked=True))]
        if rows:
            conn.execute(update(step).where(step.c.id.in_([r["id"] for r in rows])).values(
                status="running", locked_by=worker, locked_until=until, attempts=step.c.attempts + 1,
                started_at=at))
    for r in rows:
        r["claimed_status"] = r["status"]
        r["attempts"] += 1
        r["locked_by"] = worker
    return rows


def finish_step(conn: Connection, step_id: int, worker: str, outcome: str, detail: str | None,
                now: datetime) -> bool:
    """Done, if the lease is still ``worker``'s (False: another worker took it over)."""
    return bool(conn.execute(update(step).where(step.c.id == step_id, step.c.status == "running",
                                                step.c.locked_by == worker)
                             .values(status="done", outcome=outcome, detail=detail, finished_at=stamp(now),
                                     locked_until=None)).rowcount)


def reschedule_step(conn: Connection, step_id: int, worker: str, due: datetime, outcome: str | None,
                    retry: bool = True) -> bool:
    """Back to pending, due at ``due``; a deferral (``retry=False``) does not use up an attempt."""
    values: dict[str, Any] = {"status": "pending", "due_at": stamp(due), "outcome": outcome, "locked_by": None,
                              "locked_until": None}
    if not retry:
        values["attempts"] = step.c.attempts - 1
    return bool(conn.execute(update(step).where(step.c.id == step_id, step.c.status == "running",
                                                step.c.locked_by == worker).values(**values)).rowcount)


def waiting_steps(conn: Connection, customer_id: str, event_type: str) -> list[dict[str, Any]]:
    query = (select(step, enrollment.c.journey_key, enrollment.c.version, enrollment.c.customer_id)
             .select_from(step.join(enrollment, enrollment.c.id == step.c.enrollment_id))
             .where(enrollment.c.customer_id == customer_id, step.c.status == "waiting",
                    step.c.wait_event == event_type).with_for_update(skip_locked=True))
    return [dict(r._mapping) for r in conn.execute(query)]


def release_waiting(conn: Connection, step_id: int, now: datetime) -> bool:
    """A waiting step whose event came: due now, to take its ``next`` branch."""
    return bool(conn.execute(update(step).where(step.c.id == step_id, step.c.status == "waiting")
                             .values(status="pending", due_at=stamp(now), outcome="event")).rowcount)


def get_enrollment(conn: Connection, enrollment_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(enrollment).where(enrollment.c.id == enrollment_id)).first()
    return None if row is None else dict(row._mapping)


def resume(engine: Engine, now: datetime, journey_key: str | None = None) -> int:
    """Make stuck steps due now: running with any lease, or pending/waiting on an inactive lease."""
    query = update(step).where(step.c.status == "running").values(status="pending", locked_by=None,
                                                                  locked_until=None, due_at=stamp(now))
    if journey_key is not None:
        query = query.where(step.c.enrollment_id.in_(select(enrollment.c.id)
                                                     .where(enrollment.c.journey_key == journey_key)))
    with engine.begin() as conn:
        return int(conn.execute(query).rowcount)


# --- customer facts --------------------------------------------------------------------------------

def customer_attributes(conn: Connection, customer_id: str) -> dict[str, Any]:
    """The customer view row, the highest lapse probability and every tag (published and journey)."""
    attrs: dict[str, Any] = {}
    engine = conn.engine
    names = set(_table_names(engine))
    if "customer_360" in names:
        c360 = reflected(engine, "customer_360")
        row = conn.execute(select(c360).where(c360.c.customer_id == customer_id)).first()
        if row is not None:
            attrs = {k: v for k, v in row._mapping.items() if not k.endswith("_enc")}
    if "lapse_score" in names:
        lapse = reflected(engine, "lapse_score")
        attrs["lapse_probability"] = conn.execute(select(func.max(lapse.c.probability))
                                                  .where(lapse.c.customer_id == customer_id)).scalar()
    tags = set(conn.execute(select(journey_tag.c.tag).where(journey_tag.c.customer_id == customer_id)).scalars())
    if "customer_tag" in names:
        ctag = reflected(engine, "customer_tag")
        tags |= set(conn.execute(select(ctag.c.tag).where(ctag.c.customer_id == customer_id)).scalars())
    attrs["tags"] = sorted(tags)
    return attrs


def _table_names(engine: Engine) -> list[str]:
    from sqlalchemy import inspect

    return list(inspect(engine).get_table_names())


def segment_members(engine: Engine, conditions: Sequence[Mapping[str, Any]]) -> list[str]:
    """Customers of the customer view matching every simple comparison (the rest is checked in Python)."""
    if "customer_360" not in _table_names(engine):
        return []
    c360 = reflected(engine, "customer_360")
    ops = {"==": "__eq__", "!=": "__ne__", ">": "__gt__", ">=": "__ge__", "<": "__lt__", "<=": "__le__"}
    query = select(c360.c.customer_id)
    for c in conditions:
        col = c360.c.get(str(c.get("attr")))
        if col is None or (c["op"] not in ops and c["op"] not in ("in", "not_in", "exists")):
            continue
        if c["op"] in ops:
            query = query.where(getattr(col, ops[c["op"]])(c["value"]))
        elif c["op"] == "in":
            query = query.where(col.in_(list(c["value"])))
        elif c["op"] == "not_in":
            query = query.where(col.notin_(list(c["value"])))
        else:
            query = query.where(col.isnot(None))
    with engine.connect() as conn:
        return [str(x) for x in conn.execute(query.order_by(c360.c.customer_id)).scalars()]


def household_of(conn: Connection, customer_id: str) -> str | None:
    if "customer_360" not in _table_names(conn.engine):
        return None
    c360 = reflected(conn.engine, "customer_360")
    value = conn.execute(select(c360.c.household_id).where(c360.c.customer_id == customer_id)).scalar()
    return None if value is None else str(value)


def contact_row(conn: Connection, customer_id: str) -> dict[str, Any]:
    """Encrypted addresses and preferences of one customer (decrypted only by the sender)."""
    out: dict[str, Any] = {}
    if "customer" in _table_names(conn.engine):
        cust = reflected(conn.engine, "customer")
        row = conn.execute(select(cust.c.phone_enc, cust.c.email_enc, cust.c.name_masked)
                           .where(cust.c.customer_id == customer_id)).first()
        if row is not None:
            out |= dict(row._mapping)
    pref = conn.execute(select(preference).where(preference.c.customer_id == customer_id)).first()
    if pref is not None:
        out |= {k: v for k, v in pref._mapping.items() if k != "customer_id"}
    return out


def set_preference(engine: Engine, customer_id: str, now: datetime, **values: Any) -> None:
    with engine.begin() as conn:
        found = conn.execute(select(preference.c.customer_id).where(preference.c.customer_id == customer_id)).first()
        if found is None:
            conn.execute(insert(preference).values(customer_id=customer_id, updated_at=stamp(now), **values))
        else:
            conn.execute(update(preference).where(preference.c.customer_id == customer_id)
                         .values(updated_at=stamp(now), **values))


# --- consent and do-not-contact --------------------------------------------------------------------

def record_consent(engine: Engine, rows: Sequence[Mapping[str, Any]], now: datetime) -> int:
    with engine.begin() as conn:
        for r in rows:
            conn.execute(insert(consent_event).values(**(dict(r) | {"recorded_at": stamp(now)})))
    return len(rows)


def consent_state(conn: Connection | Engine, customer_id: str) -> dict[tuple[str, str], bool]:
    """The latest grant or withdrawal per (purpose, channel)."""
    query = (select(consent_event.c.purpose, consent_event.c.channel, consent_event.c.granted)
             .where(consent_event.c.customer_id == customer_id).order_by(consent_event.c.id))
    if isinstance(conn, Engine):
        with conn.connect() as c:
            rows = c.execute(query).all()
    else:
        rows = conn.execute(query).all()
    return {(r.purpose, r.channel): bool(r.granted) for r in rows}


def _latest_answer(customer_col: Any, purpose: str) -> Any:
    return (select(consent_event.c.granted)
            .where(consent_event.c.customer_id == customer_col, consent_event.c.purpose == purpose,
                   consent_event.c.channel == "any")
            .order_by(consent_event.c.id.desc()).limit(1)
            .correlate_except(consent_event).scalar_subquery())


def sales_withheld(customer_col: Any) -> Any:
    """A condition: sales actions must not be shown for the customer now, because the latest answer in
    the consent ledger on (marketing, any channel) is a withdrawal, or on (profiling, any) is one (the
    customer opted out of personalised marketing: PIPL art. 24; the next best actions fall back to the
    service actions, which follow from the contract, not from a profile), or the customer's processing
    is restricted (a deletion request under legal retention). The ledger is newer than the source
    systems' consent flag the scores were computed from, so this applies at once, before a refresh."""
    from shouhu.storage.dsr import restriction

    never_answered = sa.true()  # the scores' flag stands
    restricted = select(restriction.c.customer_id).where(restriction.c.customer_id == customer_col) \
        .correlate_except(restriction).exists()
    return or_(func.coalesce(_latest_answer(customer_col, "marketing"), never_answered) == sa.false(),
               func.coalesce(_latest_answer(customer_col, "profiling"), never_answered) == sa.false(),
               restricted)


def sales_stopped(conn: Connection | Engine, customer_id: str) -> bool:
    """Whether sales actions are withheld for the customer (see ``sales_withheld``)."""
    from shouhu.storage.dsr import restriction_of

    state = consent_state(conn, customer_id)
    if state.get(("marketing", "any")) is False or state.get(("profiling", "any")) is False:
        return True
    return restriction_of(conn, customer_id) is not None


EXPORT_USES = ("service", "marketing", "partner_sharing", "profiling")


def consented(engine: Engine, customer_ids: Sequence[str], purpose: str) -> set[str]:
    """The customers who may be used for ``purpose`` now: their latest answer on (purpose, any channel)
    in the consent ledger is a grant; with no answer there, for marketing the source systems' flag in
    ``customer_360.marketing_consent`` stands, for the other purposes nothing does (they need a grant)."""
    ids = sorted(set(customer_ids))
    latest: dict[str, bool] = {}
    flags: dict[str, bool] = {}
    c360 = reflected(engine, "customer_360") if purpose == "marketing" else None
    with engine.connect() as conn:
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            for r in conn.execute(select(consent_event.c.customer_id, consent_event.c.granted)
                                  .where(consent_event.c.customer_id.in_(chunk), consent_event.c.purpose == purpose,
                                         consent_event.c.channel == "any").order_by(consent_event.c.id)):
                latest[str(r[0])] = bool(r[1])
            if c360 is not None and "marketing_consent" in c360.c:
                flags |= {str(r[0]): bool(r[1]) for r in conn.execute(
                    select(c360.c.customer_id, c360.c.marketing_consent).where(c360.c.customer_id.in_(chunk)))
                    if r[1] is not None}
    return {cid for cid in ids if latest.get(cid, flags.get(cid, False))}


def consent_history(engine: Engine, customer_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(consent_event).where(consent_event.c.customer_id == customer_id).order_by(consent_event.c.id))]


def add_block(engine: Engine, customer_id: str, channel: str, reason: str, actor: str, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(insert(contact_block).values(customer_id=customer_id, channel=channel, reason=reason,
                                                  created_by=actor, created_at=stamp(now)))


def lift_block(engine: Engine, customer_id: str, channel: str, actor: str, now: datetime) -> int:
    with engine.begin() as conn:
        return int(conn.execute(update(contact_block).where(
            contact_block.c.customer_id == customer_id, contact_block.c.channel == channel,
            contact_block.c.lifted_at.is_(None)).values(lifted_by=actor, lifted_at=stamp(now))).rowcount)


def blocked_channels(conn: Connection, customer_id: str) -> set[str]:
    return set(conn.execute(select(contact_block.c.channel).where(
        contact_block.c.customer_id == customer_id, contact_block.c.lifted_at.is_(None))).scalars())


# --- messages --------------------------------------------------------------------------------------

def sent_counts(conn: Connection, column: str, value: str, since: Mapping[str, datetime]) -> dict[tuple[str, str], int]:
    """Messages that count towards caps (sent, or being sent) by (channel, window) for one customer or
    household; channel "any" sums every channel."""
    earliest = stamp(min(since.values()))
    col = message_log.c[column]
    rows = conn.execute(select(message_log.c.channel, message_log.c.created_at).where(
        col == value, message_log.c.status.in_(["sent", "sending"]), message_log.c.kind != "transactional",
        message_log.c.created_at >= earliest)).all()
    out: dict[tuple[str, str], int] = {}
    for window, start in since.items():
        at = stamp(start)
        for r in rows:
            if r.created_at >= at:
                for ch in (r.channel, "any"):
                    out[(ch, window)] = out.get((ch, window), 0) + 1
    return out


def message_by_key(conn: Connection | Engine, key: str) -> dict[str, Any] | None:
    query = select(message_log).where(message_log.c.idempotency_key == key)
    if isinstance(conn, Engine):
        with conn.connect() as c:
            row = c.execute(query).first()
    else:
        row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)


def log_message(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(insert(message_log).values(**values))


def update_message(engine: Engine | Connection, key: str, **values: Any) -> None:
    query = update(message_log).where(message_log.c.idempotency_key == key).values(**values)
    if isinstance(engine, Engine):
        with engine.begin() as conn:
            conn.execute(query)
    else:
        engine.execute(query)


def messages_of(engine: Engine, customer_id: str, limit: int = 50) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(message_log).where(message_log.c.customer_id == customer_id)
            .order_by(message_log.c.id.desc()).limit(limit))]


def add_inbox(conn: Connection, values: Mapping[str, Any]) -> bool:
    try:
        with conn.begin_nested():
            conn.execute(insert(inbox).values(**values))
        return True
    except IntegrityError:
        return False


def inbox_of(engine: Engine, customer_id: str, limit: int = 50) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(inbox).where(inbox.c.customer_id == customer_id).order_by(inbox.c.id.desc()).limit(limit))]


def add_tag(conn: Connection, customer_id: str, tag: str, source: str, now: datetime) -> None:
    found = conn.execute(select(journey_tag.c.tag).where(journey_tag.c.customer_id == customer_id,
                                                         journey_tag.c.tag == tag)).first()
    if found is None:
        conn.execute(insert(journey_tag).values(customer_id=customer_id, tag=tag, source=source, set_at=stamp(now)))


def add_task(conn: Connection, values: Mapping[str, Any]) -> int:
    """A journey task (the activity model of migration 0008), unless its ``source_key`` exists."""
    found = conn.execute(select(task.c.id).where(task.c.source_key == values["source_key"])).scalar()
    if found is not None:
        return int(found)
    return int(conn.execute(insert(task).values(**values).returning(task.c.id)).scalar_one())


# --- templates -------------------------------------------------------------------------------------

def save_template(engine: Engine, values: Mapping[str, Any], now: datetime) -> int:
    """A new draft version of a template."""
    with engine.begin() as conn:
        latest = conn.execute(select(func.max(template.c.version)).where(template.c.code == values["code"])).scalar()
        version = int(latest or 0) + 1
        conn.execute(insert(template).values(**(dict(values) | {"version": version, "status": "draft",
                                                                "created_at": stamp(now)})))
    return version


def template_row(conn: Connection | Engine, code: str, version: int | None = None) -> dict[str, Any] | None:
    """One version, or the newest approved one."""
    query = select(template).where(template.c.code == code)
    query = query.where(template.c.version == version) if version is not None else \
        query.where(template.c.status == "approved").order_by(template.c.version.desc()).limit(1)
    if isinstance(conn, Engine):
        with conn.connect() as c:
            row = c.execute(query).first()
    else:
        row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)


def set_template_status(engine: Engine, code: str, version: int, status: str, expected: Sequence[str],
                        actor: str | None, note: str | None, now: datetime) -> bool:
    values: dict[str, Any] = {"status": status}
    if status in ("approved", "rejected"):
        values |= {"reviewed_by": actor, "reviewed_at": stamp(now), "review_note": note}
    with engine.begin() as conn:
        done = bool(conn.execute(update(template).where(template.c.code == code, template.c.version == version,
                                                        template.c.status.in_(list(expected))).values(**values))
                    .rowcount)
        if done and status == "approved":  # one live version per code
            conn.execute(update(template).where(template.c.code == code, template.c.version != version,
                                                template.c.status == "approved").values(status="retired"))
    return done


def list_templates(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(template).order_by(template.c.code,
                                                                                 template.c.version))]


# --- analytics inputs ------------------------------------------------------------------------------

def step_rows(engine: Engine, key: str) -> list[dict[str, Any]]:
    query = (select(enrollment.c.version, enrollment.c.arm, step.c.node_id, step.c.status, step.c.outcome,
                    step.c.created_at, step.c.finished_at, step.c.enrollment_id)
             .select_from(step.join(enrollment, enrollment.c.id == step.c.enrollment_id))
             .where(enrollment.c.journey_key == key))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def enrollment_rows(engine: Engine, key: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(enrollment).where(enrollment.c.journey_key == key))]
        if rows and "customer_360" in _table_names(engine):
            c360 = reflected(engine, "customer_360")
            cols = [c for c in ("primary_agent_id", "life_stage") if c in c360.c]
            facts = {r.customer_id: r for r in conn.execute(select(c360.c.customer_id, *[c360.c[c] for c in cols])
                                                            .where(c360.c.customer_id.in_(
                                                                select(enrollment.c.customer_id).where(
                                                                    enrollment.c.journey_key == key))))}
            for r in rows:
                f = facts.get(r["customer_id"])
                for c in cols:
                    r[c] = None if f is None else getattr(f, c)
        channels = {r.enrollment_id: r.channel for r in conn.execute(
            select(message_log.c.enrollment_id, message_log.c.channel).where(
                message_log.c.journey_key == key, message_log.c.status == "sent"))}
    for r in rows:
        r["channel"] = channels.get(r["id"])
    return rows


def customer_journeys(engine: Engine, customer_id: str) -> list[dict[str, Any]]:
    query = (select(enrollment, journey.c.name_zh, journey.c.name_en)
             .select_from(enrollment.join(journey, journey.c.journey_key == enrollment.c.journey_key))
             .where(enrollment.c.customer_id == customer_id).order_by(enrollment.c.id.desc()))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def sales_actions(engine: Engine, customer_id: str) -> list[dict[str, Any]]:
    """The customer's published sales next best actions (none before the scores were published)."""
    if "next_best_action" not in _table_names(engine):
        return []
    nba = reflected(engine, "next_best_action")
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(nba.c.action, nba.c.rank).where(nba.c.customer_id == customer_id, nba.c.kind == "sales")
            .order_by(nba.c.rank))]


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {s: int(n) for s, n in conn.execute(select(step.c.status, func.count()).group_by(step.c.status))}


def payload_json(payload: Mapping[str, Any] | None) -> str | None:
    return None if payload is None else json.dumps(dict(payload), ensure_ascii=False, default=str)


# --- facts that become trigger events ---------------------------------------------------------------

def premium_due_rows(engine: Engine, first: str, last: str) -> list[tuple[str, Any]]:
    """(customer, next premium due date) with the date from ``first`` to ``last`` (ISO dates)."""
    if "customer_360" not in _table_names(engine):
        return []
    c360 = reflected(engine, "customer_360")
    due = c360.c.next_premium_due
    low: Any = first
    high: Any = last
    if isinstance(due.type, sa.Date | sa.DateTime):  # a typed column (PostgreSQL) wants dates, not text
        low, high = date.fromisoformat(first), date.fromisoformat(last)
    with engine.connect() as conn:
        return [(str(r[0]), r[1]) for r in conn.execute(
            select(c360.c.customer_id, due).where(due >= low, due <= high))]


def in_force_policy_rows(engine: Engine) -> list[tuple[str, str, Any]]:
    """(customer, policy, issue date) of every policy in force (the published ``policy_in_force``)."""
    if "policy_in_force" not in _table_names(engine):
        return []
    p = reflected(engine, "policy_in_force")
    with engine.connect() as conn:
        return [(str(r[0]), str(r[1]), r[2]) for r in conn.execute(
            select(p.c.customer_id, p.c.policy_no, p.c.issue_date).where(p.c.issue_date.isnot(None)))]


def birthday_rows(engine: Engine) -> list[tuple[str, Any]]:
    if "customer" not in _table_names(engine):
        return []
    cust = reflected(engine, "customer")
    with engine.connect() as conn:
        return [(str(r[0]), r[1]) for r in conn.execute(
            select(cust.c.customer_id, cust.c.birth_date).where(cust.c.birth_date.isnot(None)))]


def lapse_risk_rows(engine: Engine, threshold: float) -> list[tuple[str, str, Any, float]]:
    if "lapse_score" not in _table_names(engine):
        return []
    lapse = reflected(engine, "lapse_score")
    with engine.connect() as conn:
        return [(str(r[0]), str(r[1]), r[2], float(r[3])) for r in conn.execute(
            select(lapse.c.customer_id, lapse.c.policy_no, lapse.c.snapshot_date, lapse.c.probability)
            .where(lapse.c.probability >= threshold, lapse.c.customer_id.isnot(None)))]


def new_child_rows(engine: Engine) -> list[str]:
    if "customer_360" not in _table_names(engine):
        return []
    c360 = reflected(engine, "customer_360")
    with engine.connect() as conn:
        return [str(r[0]) for r in conn.execute(select(c360.c.customer_id).where(c360.c.youngest_child_age == 0))]
