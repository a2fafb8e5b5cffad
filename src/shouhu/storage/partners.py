"""SQL for partners (migration 0017): registry, API keys, quotes, policies, changes, claims, idempotency
keys, hosted links, the partner request log and conformance reports. Webhooks: ``storage.webhooks``.

Rules live in ``shouhu.partners``; this module only reads and writes rows. Rows come back as plain dicts
with JSON columns decoded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
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
    and_,
    delete,
    func,
    insert,
    select,
    update,
)

metadata = MetaData()
TS = 24

partner = Table(
    "partner", metadata, Column("partner_id", String(64), primary_key=True), Column("name", Text),
    Column("licence", String(16)), Column("licence_no", String(64)), Column("mode", String(12)),
    Column("products", Text), Column("scenes", Text), Column("frame_origins", Text),
    Column("rate_per_minute", Integer), Column("status", String(12)), Column("created_at", String(TS)),
    Column("updated_at", String(TS)), Column("live_report_id", String(64)))
partner_key = Table(
    "partner_key", metadata, Column("key_id", String(64), primary_key=True), Column("partner_id", String(64)),
    Column("secret_sha256", String(64)), Column("scopes", Text), Column("mode", String(12)),
    Column("created_at", String(TS)), Column("expires_at", String(TS)), Column("revoked_at", String(TS)),
    Column("last_used_at", String(TS)))
partner_quote = Table(
    "partner_quote", metadata, Column("quote_id", String(64), primary_key=True), Column("partner_id", String(64)),
    Column("mode", String(12)), Column("product_code", String(64)), Column("scene", String(64)),
    Column("inputs", Text), Column("premium_fen", BigInteger), Column("sum_assured_fen", BigInteger),
    Column("pricing", Text), Column("disclosures", Text), Column("created_at", String(TS)),
    Column("valid_until", String(TS)))
partner_policy = Table(
    "partner_policy", metadata, Column("policy_no", String(64), primary_key=True), Column("partner_id", String(64)),
    Column("mode", String(12)), Column("partner_order_no", String(64)), Column("quote_id", String(64)),
    Column("product_code", String(64)), Column("scene", String(64)), Column("scene_key", String(128)),
    Column("customer_ref", String(64)), Column("applicant", Text), Column("trace_session_id", String(64)),
    Column("acknowledgements", Text), Column("premium_fen", BigInteger), Column("sum_assured_fen", BigInteger),
    Column("status", String(16)), Column("cover_start", String(10)), Column("cover_end", String(10)),
    Column("bound_at", String(TS)), Column("via", String(12)), Column("cancelled_at", String(TS)),
    Column("refund_fen", BigInteger))
partner_change = Table(
    "partner_change", metadata, Column("change_id", String(64), primary_key=True), Column("policy_no", String(64)),
    Column("partner_id", String(64)), Column("kind", String(16)), Column("request", Text), Column("preview", Text),
    Column("status", String(16)), Column("created_at", String(TS)), Column("expires_at", String(TS)),
    Column("confirmed_at", String(TS)))
partner_claim = Table(
    "partner_claim", metadata, Column("claim_id", String(64), primary_key=True), Column("policy_no", String(64)),
    Column("partner_id", String(64)), Column("source", String(12)), Column("event_type", String(32)),
    Column("occurred_at", String(TS)), Column("details", Text), Column("amount_fen", BigInteger),
    Column("status", String(16)), Column("reason", Text), Column("trigger_id", String(128)),
    Column("created_at", String(TS)))
partner_idempotency = Table(
    "partner_idempotency", metadata, Column("partner_id", String(64), primary_key=True),
    Column("key", String(255), primary_key=True), Column("mode", String(12)), Column("route", String(128)),
    Column("request_sha256", String(64)), Column("state", String(12)), Column("status_code", Integer),
    Column("response", Text), Column("created_at", String(TS)), Column("expires_at", String(TS)))
hosted_link = Table(
    "hosted_link", metadata, Column("token_sha256", String(64), primary_key=True), Column("partner_id", String(64)),
    Column("mode", String(12)), Column("product_code", String(64)), Column("scene", String(64)),
    Column("customer_ref", String(64)), Column("partner_order_no", String(64)), Column("scene_facts", Text),
    Column("return_url", Text), Column("trace_session_id", String(64)), Column("quote_id", String(64)),
    Column("policy_no", String(64)), Column("created_at", String(TS)), Column("expires_at", String(TS)))
partner_request = Table(
    "partner_request", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner_id", String(64)), Column("mode", String(12)), Column("at", String(TS)),
    Column("method", String(8)), Column("route", String(128)), Column("status_code", Integer),
    Column("error", String(64)), Column("idempotency_key", Boolean), Column("duration_ms", Integer))
partner_conformance = Table(
    "partner_conformance", metadata, Column("report_id", String(64), primary_key=True),
    Column("partner_id", String(64)), Column("at", String(TS)), Column("passed", Boolean), Column("report", Text))

JSON_COLUMNS = {"products", "scenes", "frame_origins", "scopes", "inputs", "pricing", "disclosures", "acknowledgements",
                "request", "preview", "details", "scene_facts", "report"}


def _decode(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for name in JSON_COLUMNS & out.keys():
        if isinstance(out[name], str):
            out[name] = json.loads(out[name])
    return out


def _encode(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (json.dumps(v, ensure_ascii=False, sort_keys=True) if k in JSON_COLUMNS and v is not None
                and not isinstance(v, str) else v) for k, v in values.items()}


def _one(conn: Engine | Connection, query: Any) -> dict[str, Any] | None:
    if isinstance(conn, Engine):
        with conn.connect() as c:
            row = c.execute(query).first()
    else:
        row = conn.execute(query).first()
    return None if row is None else _decode(row)


def _all(conn: Engine | Connection, query: Any) -> list[dict[str, Any]]:
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return [_decode(r) for r in c.execute(query)]
    return [_decode(r) for r in conn.execute(query)]


def _insert(engine: Engine | Connection, table: Table, values: Mapping[str, Any]) -> None:
    if isinstance(engine, Engine):
        with engine.begin() as conn:
            conn.execute(insert(table).values(**_encode(values)))
    else:
        engine.execute(insert(table).values(**_encode(values)))


def _update(engine: Engine | Connection, table: Table, where: Any, values: Mapping[str, Any]) -> int:
    query = update(table).where(where).values(**_encode(values))
    if isinstance(engine, Engine):
        with engine.begin() as conn:
            return int(conn.execute(query).rowcount or 0)
    return int(engine.execute(query).rowcount or 0)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as conn:
        yield conn


# --- registry ------------------------------------------------------------------------------------------

def add_partner(engine: Engine | Connection, row: Mapping[str, Any]) -> None:
    _insert(engine, partner, row)


def get_partner(engine: Engine | Connection, partner_id: str) -> dict[str, Any] | None:
    return _one(engine, select(partner).where(partner.c.partner_id == partner_id))


def list_partners(engine: Engine) -> list[dict[str, Any]]:
    return _all(engine, select(partner).order_by(partner.c.partner_id))


def update_partner(engine: Engine | Connection, partner_id: str, values: Mapping[str, Any]) -> int:
    return _update(engine, partner, partner.c.partner_id == partner_id, values)


def add_key(engine: Engine | Connection, row: Mapping[str, Any]) -> None:
    _insert(engine, partner_key, row)


def get_key(engine: Engine | Connection, key_id: str) -> dict[str, Any] | None:
    return _one(engine, select(partner_key).where(partner_key.c.key_id == key_id))


def keys_of(engine: Engine, partner_id: str) -> list[dict[str, Any]]:
    return _all(engine, select(partner_key).where(partner_key.c.partner_id == partner_id)
                .order_by(partner_key.c.created_at, partner_key.c.key_id))


def update_key(engine: Engine | Connection, key_id: str, values: Mapping[str, Any]) -> int:
    return _update(engine, partner_key, partner_key.c.key_id == key_id, values)


# --- quotes, policies, changes, claims ---------------------------------------------------------------

def add_quote(engine: Engine | Connection, row: Mapping[str, Any]) -> None:
    _insert(engine, partner_quote, row)


def get_quote(engine: Engine | Connection, quote_id: str) -> dict[str, Any] | None:
    return _one(engine, select(partner_quote).where(partner_quote.c.quote_id == quote_id))


def add_policy(conn: Engine | Connection, row: Mapping[str, Any]) -> None:
    _insert(conn, partner_policy, row)


def get_policy(engine: Engine | Connection, policy_no: str) -> dict[str, Any] | None:
    return _one(engine, select(partner_policy).where(partner_policy.c.policy_no == policy_no))


def policy_by_order(engine: Engine | Connection, partner_id: str, order_no: str) -> dict[str, Any] | None:
    return _one(engine, select(partner_policy).where(partner_policy.c.partner_id == partner_id,
                                                     partner_policy.c.partner_order_no == order_no))


def policy_by_quote(engine: Engine | Connection, quote_id: str) -> dict[str, Any] | None:
    return _one(engine, select(partner_policy).where(partner_policy.c.quote_id == quote_id))


def policies_for_trigger(engine: Engine | Connection, partner_id: str, mode: str, scene_key: str
                         ) -> list[dict[str, Any]]:
    return _all(engine, select(partner_policy).where(
        partner_policy.c.partner_id == partner_id, partner_policy.c.mode == mode,
        partner_policy.c.scene_key == scene_key, partner_policy.c.status == "in_force")
        .order_by(partner_policy.c.policy_no))


def list_policies(engine: Engine, partner_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = select(partner_policy).order_by(partner_policy.c.bound_at.desc(), partner_policy.c.policy_no).limit(limit)
    if partner_id is not None:
        query = query.where(partner_policy.c.partner_id == partner_id)
    return _all(engine, query)


def update_policy(conn: Engine | Connection, policy_no: str, values: Mapping[str, Any], *,
                  status: str | None = None) -> int:
    where = partner_policy.c.policy_no == policy_no
    if status is not None:
        where = and_(where, partner_policy.c.status == status)
    return _update(conn, partner_policy, where, values)


def add_change(engine: Engine | Connection, row: Mapping[str, Any]) -> None:
    _insert(engine, partner_change, row)


def get_change(engine: Engine | Connection, change_id: str) -> dict[str, Any] | None:
    return _one(engine, select(partner_change).where(partner_change.c.change_id == change_id))


def update_change(conn: Engine | Connection, change_id: str, values: Mapping[str, Any], *, status: str) -> int:
    return _update(conn, partner_change, and_(partner_change.c.change_id == change_id,
                                              partner_change.c.status == status), values)


def add_claim(conn: Engine | Connection, row: Mapping[str, Any]) -> None:
    _insert(conn, partner_claim, row)


def claims_of(engine: Engine | Connection, policy_no: str) -> list[dict[str, Any]]:
    return _all(engine, select(partner_claim).where(partner_claim.c.policy_no == policy_no)
                .order_by(partner_claim.c.created_at, partner_claim.c.claim_id))


def claim_for_trigger(engine: Engine | Connection, policy_no: str, trigger_id: str) -> dict[str, Any] | None:
    return _one(engine, select(partner_claim).where(partner_claim.c.policy_no == policy_no,
                                                    partner_claim.c.trigger_id == trigger_id))


def list_claims(engine: Engine, partner_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = select(partner_claim).order_by(partner_claim.c.created_at.desc()).limit(limit)
    if partner_id is not None:
        query = query.where(partner_claim.c.partner_id == partner_id)
    return _all(engine, query)


# --- idempotency keys --------------------------------------------------------------------------------

def idempotency_get(conn: Engine | Connection, partner_id: str, key: str) -> dict[str, Any] | None:
    return _one(conn, select(partner_idempotency).where(partner_idempotency.c.partner_id == partner_id,
                                                        partner_idempotency.c.key == key))


def idempotency_add(conn: Engine | Connection, row: Mapping[str, Any]) -> None:
    """Raises IntegrityError when the key exists: exactly one request takes a key."""
    _insert(conn, partner_idempotency, row)


def idempotency_finish(engine: Engine, partner_id: str, key: str, status_code: int, response: str) -> None:
    _update(engine, partner_idempotency, and_(partner_idempotency.c.partner_id == partner_id,
                                              partner_idempotency.c.key == key),
            {"state": "done", "status_code": status_code, "response": response})


def idempotency_release(engine: Engine | Connection, partner_id: str, key: str, *, state: str | None = None,
                        created_at: str | None = None) -> int:
    """Remove a key (its request failed on our side, or it is stale), so that a retry may take it."""
    where = and_(partner_idempotency.c.partner_id == partner_id, partner_idempotency.c.key == key)
    if state is not None:
        where = and_(where, partner_idempotency.c.state == state)
    if created_at is not None:
        where = and_(where, partner_idempotency.c.created_at == created_at)
    query = delete(partner_idempotency).where(where)
    if isinstance(engine, Engine):
        with engine.begin() as conn:
            return int(conn.execute(query).rowcount or 0)
    return int(engine.execute(query).rowcount or 0)


def idempotency_purge(engine: Engine, before: str) -> int:
    with engine.begin() as conn:
        done = conn.execute(delete(partner_idempotency).where(partner_idempotency.c.expires_at < before))
        return int(done.rowcount or 0)


# --- hosted links, request log, conformance ----------------------------------------------------------

def add_link(engine: Engine | Connection, row: Mapping[str, Any]) -> None:
    _insert(engine, hosted_link, row)


def get_link(engine: Engine | Connection, token_sha256: str) -> dict[str, Any] | None:
    return _one(engine, select(hosted_link).where(hosted_link.c.token_sha256 == token_sha256))


def update_link(engine: Engine | Connection, token_sha256: str, values: Mapping[str, Any]) -> int:
    return _update(engine, hosted_link, hosted_link.c.token_sha256 == token_sha256, values)


def log_requests(engine: Engine, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(partner_request), [dict(r) for r in rows])


def requests_of(engine: Engine, partner_id: str, mode: str, since: str | None = None) -> list[dict[str, Any]]:
    query = select(partner_request).where(partner_request.c.partner_id == partner_id, partner_request.c.mode == mode)
    if since is not None:
        query = query.where(partner_request.c.at >= since)
    return _all(engine, query.order_by(partner_request.c.id))


def request_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(partner_request.c.partner_id, func.count()).group_by(partner_request.c.partner_id))
        return {str(r[0]): int(r[1]) for r in rows}


def recent_requests(engine: Engine, partner_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The partner's latest calls (both modes), newest first (the console's request log)."""
    return _all(engine, select(partner_request).where(partner_request.c.partner_id == partner_id)
                .order_by(partner_request.c.id.desc()).limit(limit))


def status_counts(engine: Engine, partner_id: str, since: str) -> dict[int, int]:
    """How many calls since ``since`` ended with each HTTP status (both modes)."""
    query = (select(partner_request.c.status_code, func.count())
             .where(partner_request.c.partner_id == partner_id, partner_request.c.at >= since)
             .group_by(partner_request.c.status_code))
    with engine.connect() as conn:
        return {int(r[0] or 0): int(r[1]) for r in conn.execute(query)}


def last_request_at(engine: Engine) -> dict[str, str]:
    """partner id -> the time of its latest call."""
    with engine.connect() as conn:
        rows = conn.execute(select(partner_request.c.partner_id, func.max(partner_request.c.at))
                            .group_by(partner_request.c.partner_id))
        return {str(r[0]): str(r[1]) for r in rows}


def add_report(engine: Engine, row: Mapping[str, Any]) -> None:
    _insert(engine, partner_conformance, row)


def reports_of(engine: Engine, partner_id: str) -> list[dict[str, Any]]:
    return _all(engine, select(partner_conformance).where(partner_conformance.c.partner_id == partner_id)
                .order_by(partner_conformance.c.at.desc()))


def get_report(engine: Engine, report_id: str) -> dict[str, Any] | None:
    return _one(engine, select(partner_conformance).where(partner_conformance.c.report_id == report_id))


# --- the conformance replay (partners.conformance) ---------------------------------------------------

def policies_since(engine: Engine, partner_id: str, mode: str, since: str) -> list[dict[str, Any]]:
    return _all(engine, select(partner_policy).where(
        partner_policy.c.partner_id == partner_id, partner_policy.c.mode == mode, partner_policy.c.bound_at >= since)
        .order_by(partner_policy.c.bound_at, partner_policy.c.policy_no))


def changes_since(engine: Engine, partner_id: str, mode: str, since: str) -> list[dict[str, Any]]:
    """The partner's changes of its policies in ``mode`` (a change row has no mode of its own)."""
    joined = partner_change.join(partner_policy, partner_policy.c.policy_no == partner_change.c.policy_no)
    return _all(engine, select(partner_change).select_from(joined).where(
        partner_change.c.partner_id == partner_id, partner_policy.c.mode == mode,
        partner_change.c.created_at >= since).order_by(partner_change.c.created_at, partner_change.c.change_id))


def claims_since(engine: Engine, partner_id: str, mode: str, since: str) -> list[dict[str, Any]]:
    joined = partner_claim.join(partner_policy, partner_policy.c.policy_no == partner_claim.c.policy_no)
    return _all(engine, select(partner_claim).select_from(joined).where(
        partner_claim.c.partner_id == partner_id, partner_policy.c.mode == mode,
        partner_claim.c.created_at >= since).order_by(partner_claim.c.created_at, partner_claim.c.claim_id))


def links_since(engine: Engine, partner_id: str, mode: str, since: str) -> list[dict[str, Any]]:
    return _all(engine, select(hosted_link).where(
        hosted_link.c.partner_id == partner_id, hosted_link.c.mode == mode, hosted_link.c.created_at >= since)
        .order_by(hosted_link.c.created_at))


def latest_report(engine: Engine, partner_id: str) -> dict[str, Any] | None:
    """The newest report (report ids sort by time too, which breaks ties within a second)."""
    return _one(engine, select(partner_conformance).where(partner_conformance.c.partner_id == partner_id)
                .order_by(partner_conformance.c.at.desc(), partner_conformance.c.report_id.desc()).limit(1))
