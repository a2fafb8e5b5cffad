"""Customer reads for the web layer, always through a row rule (access.policy.row_rule).

This module is where a :class:`~shouhu.access.policy.RowRule` becomes SQL: every query that returns
customers or customer rows joins ``customer_scope`` (or filters on the customer id) according to
the rule, so no caller can forget it. Records come back as stored (encrypted, masked and indexed
columns); shaping for display is the web layer's job, through ``access.policy.field_view``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    String,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from shouhu.access.policy import RowRule
from shouhu.storage.tables import customer_detail, customer_scope, customer_search_token, reflected, staff

_shared: ContextVar[Connection | None] = ContextVar("shouhu_customer_reads", default=None)


@contextmanager
def reading(engine: Engine) -> Iterator[None]:
    """The reads of this module inside the block share one connection instead of checking out one
    each: a 360 page makes about ten of them."""
    if _shared.get() is not None:
        yield
        return
    with _reader(engine) as conn:
        token = _shared.set(conn)
        try:
            yield
        finally:
            _shared.reset(token)


@contextmanager
def _connect(engine: Engine) -> Iterator[Connection]:
    shared = _shared.get()
    if shared is not None and shared.engine is engine:
        yield shared
        return
    with _reader(engine) as conn:
        yield conn


@contextmanager
def _reader(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only. On PostgreSQL without a transaction: that saves the BEGIN and
    ROLLBACK round trips of every checkout (each statement still sees committed data only)."""
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT") if conn.dialect.name == "postgresql" else conn


def scope_condition(rule: RowRule, id_column: Any, customer_id: str | ColumnElement[Any] | None = None
                    ) -> ColumnElement[bool]:
    """A condition on ``id_column`` (a customer id) that keeps only the rule's customers.

    Give ``customer_id`` when the query is about that one customer (``id_column == customer_id`` is in
    the query too): the check is then a single primary-key probe of ``customer_scope`` instead of
    the list of every customer in the scope (thousands for a branch on a large book)."""
    if rule.nothing:
        return false()
    if rule.everything:
        return true()
    if rule.column == "customer_id":
        return id_column == rule.value  # type: ignore[no-any-return]
    if customer_id is not None:
        return select(customer_scope.c.customer_id).where(
            customer_scope.c.customer_id == customer_id, customer_scope.c[rule.column or ""] == rule.value).exists()
    scoped = select(customer_scope.c.customer_id).where(customer_scope.c[rule.column or ""] == rule.value)
    return id_column.in_(scoped)  # type: ignore[no-any-return]


def in_scope(engine: Engine, rule: RowRule, customer_id: str) -> bool:
    if rule.nothing:
        return False
    if rule.column == "customer_id":
        return customer_id == rule.value
    with _connect(engine) as conn:
        if rule.everything:
            query = select(reflected(engine, "customer").c.customer_id).where(
                reflected(engine, "customer").c.customer_id == customer_id)
        else:
            query = select(customer_scope.c.customer_id).where(
                customer_scope.c.customer_id == customer_id, customer_scope.c[rule.column or ""] == rule.value)
        return conn.execute(query).first() is not None


@lru_cache(maxsize=1024)
def _scoped_ids_query(engine: Engine, rule: RowRule) -> Select[Any]:
    ids: Any = bindparam("customer_ids", expanding=True)
    if rule.column not in (None, "customer_id") and not rule.nothing:  # probe the few ids, not the whole scope
        return select(customer_scope.c.customer_id).where(customer_scope.c.customer_id.in_(ids),
                                                          customer_scope.c[rule.column or ""] == rule.value)
    cust = reflected(engine, "customer")
    return select(cust.c.customer_id).where(cust.c.customer_id.in_(ids), scope_condition(rule, cust.c.customer_id))


def scoped_ids(engine: Engine, rule: RowRule, customer_ids: list[str]) -> set[str]:
    """Which of ``customer_ids`` the rule allows."""
    if not customer_ids:
        return set()
    with _connect(engine) as conn:
        rows = conn.execute(_scoped_ids_query(engine, rule), {"customer_ids": list(customer_ids)})
        return {r.customer_id for r in rows}


def _customer_param() -> Any:
    return bindparam("customer_id", type_=String)


@lru_cache(maxsize=1024)
def _record_query(engine: Engine, rule: RowRule) -> Select[Any]:
    """get_record's statement for one rule, built once (the customer id is bound at execution):
    rebuilding an 80-column join on every request cost more than running it."""
    cust, c360 = reflected(engine, "customer"), reflected(engine, "customer_360")
    value = reflected(engine, "customer_value")
    cols = [*cust.c, *[c for c in c360.c if c.name not in cust.c], customer_scope.c.agent_id,
            customer_scope.c.branch_id, customer_scope.c.service_team_id,
            value.c.value.label("customer_value"), value.c.tier_zh.label("value_tier_zh"),
            value.c.tier_en.label("value_tier_en")]
    cid = _customer_param()
    return (select(*cols).select_from(
        cust.outerjoin(c360, c360.c.customer_id == cust.c.customer_id)
        .outerjoin(customer_scope, customer_scope.c.customer_id == cust.c.customer_id)
        .outerjoin(value, value.c.customer_id == cust.c.customer_id))
        .where(cust.c.customer_id == cid, scope_condition(rule, cust.c.customer_id, cid)))


def get_record(engine: Engine, rule: RowRule, customer_id: str) -> dict[str, Any] | None:
    """The customer's golden record, 360 row, scope, value tier; None if absent OR outside the rule."""
    with _connect(engine) as conn:
        row = conn.execute(_record_query(engine, rule), {"customer_id": customer_id}).first()
    return None if row is None else dict(row._mapping)


SEARCH_COLUMNS = ("customer_id", "name_masked", "name_enc", "phone_masked", "phone_enc", "id_number_masked",
                  "id_number_enc", "gender", "birth_date", "city", "channels")


def search(engine: Engine, rule: RowRule, *, name_bidx: str | None = None, phone_bidx: str | None = None,
           id_bidx: str | None = None, customer_id: str | None = None, city: str | None = None,
           city_token: str | None = None, terms: list[dict[str, int]] | None = None,
           lifecycle_stage: str | None = None, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Customers matching every given criterion, within the rule.

    Exact criteria go through blind indexes. ``terms`` (identity.search.hashed_terms) are partial
    ones: each is ``{token: weight}`` and a customer must hold one token of every term in
    ``customer_search_token``; results rank by the sum of each term's best weight (``score``).
    ``city_token`` matches the normalised city (上海 finds 上海市); ``city`` the stored value as is."""
    cust, c360 = reflected(engine, "customer"), reflected(engine, "customer_360")
    source: Any = cust.outerjoin(c360, c360.c.customer_id == cust.c.customer_id)
    score: Any = literal(0)
    for i, term in enumerate(terms or []):
        weight = case(term, value=customer_search_token.c.token, else_=0)
        matched = (select(customer_search_token.c.customer_id, func.max(weight).label("w"))
                   .where(customer_search_token.c.token.in_(list(term)))
                   .group_by(customer_search_token.c.customer_id).subquery(f"term{i}"))
        source = source.join(matched, matched.c.customer_id == cust.c.customer_id)
        score = score + matched.c.w
    query: Select[Any] = select(*[cust.c[c] for c in SEARCH_COLUMNS], c360.c.age, c360.c.lifecycle_stage,
                                c360.c.policies_in_force, c360.c.annualised_premium,
                                score.label("score")).select_from(source)
    conditions = [scope_condition(rule, cust.c.customer_id)]
    for column, value in (("name_bidx", name_bidx), ("phone_bidx", phone_bidx), ("id_number_bidx", id_bidx),
                          ("customer_id", customer_id)):
        if value:
            conditions.append(cust.c[column] == value)
    if city_token:
        in_city = select(customer_search_token.c.customer_id).where(customer_search_token.c.token == city_token)
        conditions.append(or_(cust.c.customer_id.in_(in_city), cust.c.city == city) if city
                          else cust.c.customer_id.in_(in_city))
    elif city:
        conditions.append(cust.c.city == city)
    if lifecycle_stage:
        conditions.append(c360.c.lifecycle_stage == lifecycle_stage)
    query = (query.where(and_(*conditions)).order_by(score.desc(), cust.c.customer_id)
             .limit(limit).offset(offset))
    with _connect(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


@lru_cache(maxsize=16)
def _household_query(engine: Engine) -> Select[Any]:
    member, cust = reflected(engine, "household_member"), reflected(engine, "customer")
    c360 = reflected(engine, "customer_360")
    hh = select(member.c.household_id).where(member.c.customer_id == _customer_param()).scalar_subquery()
    return (select(member.c.customer_id, member.c.household_id, member.c.role, member.c.evidence,
                   cust.c.name_masked, cust.c.name_enc, cust.c.gender, c360.c.age, c360.c.policies_in_force)
            .select_from(member.join(cust, cust.c.customer_id == member.c.customer_id)
                         .outerjoin(c360, c360.c.customer_id == member.c.customer_id))
            .where(member.c.household_id == hh).order_by(member.c.role, member.c.customer_id))


def household(engine: Engine, rule: RowRule, customer_id: str) -> list[dict[str, Any]]:
    """The customer's household members; members outside the rule come back with ``visible=False``
    and nothing but their role (so a page can draw the family without leaking who they are)."""
    with _connect(engine) as conn:
        rows = [dict(r._mapping) for r in conn.execute(_household_query(engine), {"customer_id": customer_id})]
    visible = scoped_ids(engine, rule, [r["customer_id"] for r in rows])
    out = []
    for r in rows:
        if r["customer_id"] in visible:
            out.append(r | {"visible": True})
        else:
            out.append({"customer_id": None, "household_id": r["household_id"], "role": r["role"],
                        "visible": False})
    return out


@lru_cache(maxsize=1024)
def _rows_query(engine: Engine, rule: RowRule, table: str, order_by: str | None) -> Select[Any]:
    t = reflected(engine, table)
    cid = _customer_param()
    query = select(t).where(t.c.customer_id == cid, scope_condition(rule, t.c.customer_id, cid))
    return query.order_by(t.c[order_by]) if order_by else query


def rows_for(engine: Engine, rule: RowRule, table: str, customer_id: str, order_by: str | None = None
             ) -> list[dict[str, Any]]:
    """Rows of a per-customer mart (customer_gap, next_best_action, customer_tag, ...) within the rule."""
    with _connect(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(_rows_query(engine, rule, table, order_by),
                                                       {"customer_id": customer_id})]


def detail(engine: Engine, rule: RowRule, customer_id: str) -> dict[str, Any]:
    """Policies and the touchpoint timeline of the customer (empty lists when not published)."""
    rows = rows_for(engine, rule, customer_detail.name, customer_id)
    if not rows:
        return {"policies": [], "timeline": []}
    return {"policies": json.loads(rows[0]["policies"]), "timeline": json.loads(rows[0]["timeline"])}


def provenance(engine: Engine, rule: RowRule, customer_id: str) -> dict[str, Any]:
    rows = rows_for(engine, rule, "customer_provenance", customer_id)
    return {} if not rows else dict(json.loads(rows[0]["provenance"]))


_STAFF = select(staff).where(staff.c.staff_id == bindparam("staff_id", type_=String))


def staff_member(engine: Engine, staff_id: str) -> dict[str, Any] | None:
    with _connect(engine) as conn:
        row = conn.execute(_STAFF, {"staff_id": staff_id}).first()
    return None if row is None else dict(row._mapping)


def dashboard(engine: Engine, rule: RowRule) -> dict[str, Any]:
    """Aggregates within the rule: counts, in-force premium, lifecycle funnel, channel mix, gaps, tiers."""
    c360, gap, value = reflected(engine, "customer_360"), reflected(engine, "customer_gap"), \
        reflected(engine, "customer_value")
    keep = scope_condition(rule, c360.c.customer_id)
    with _connect(engine) as conn:
        totals = conn.execute(select(
            func.count().label("customers"),
            func.coalesce(func.sum(c360.c.annualised_premium), 0).label("in_force_premium"),
            func.coalesce(func.sum(c360.c.policies_in_force), 0).label("policies_in_force"),
            func.coalesce(func.sum(c360.c.policies_total), 0).label("policies_total"),
            func.coalesce(func.sum(c360.c.policies_lapsed), 0).label("policies_lapsed"),
        ).where(keep)).one()._mapping
        lifecycle = {r[0] or "unknown": r[1] for r in conn.execute(
            select(c360.c.lifecycle_stage, func.count()).where(keep).group_by(c360.c.lifecycle_stage))}
        channels = {r[0] or "unknown": r[1] for r in conn.execute(
            select(c360.c.channels, func.count()).where(keep).group_by(c360.c.channels))}
        gap_keep = scope_condition(rule, gap.c.customer_id)
        gaps = {}
        for need in ("life", "critical_illness", "medical", "pension"):
            col = gap.c.get(f"gap_{need}")
            if col is None:
                continue
            gaps[need] = conn.execute(select(func.count()).where(gap_keep, col > 0)).scalar_one()
        tiers = {r[0]: r[1] for r in conn.execute(
            select(value.c.tier, func.count()).where(scope_condition(rule, value.c.customer_id))
            .group_by(value.c.tier))}
    policies_total = int(totals["policies_total"])
    mix: dict[str, int] = {}
    for combo, n in channels.items():  # "agent_crm,bancassurance" counts once for each channel
        for ch in str(combo).split(","):
            mix[ch.strip()] = mix.get(ch.strip(), 0) + int(n)
    return {"customers": int(totals["customers"]), "in_force_premium": float(totals["in_force_premium"]),
            "policies_in_force": int(totals["policies_in_force"]), "policies_total": policies_total,
            "policies_lapsed": int(totals["policies_lapsed"]),
            "in_force_ratio": (int(totals["policies_in_force"]) / policies_total) if policies_total else None,
            "lifecycle": lifecycle, "channel_mix": mix, "customers_with_gap": gaps, "value_tiers": tiers}
