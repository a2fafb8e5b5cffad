"""Ecosystem services (增值服务) for the API, the console and the H5: the catalogue, a customer's
entitlements, service orders scoped like customers, SLA states, provider settlements and the funnel.

Rules live in ``shouhu.partners.ecosystem``; this module scopes, shapes and audits. An order is seen by
whoever sees its customer (404 otherwise); an ecosystem user's order (no customer yet) only by roles that
see every customer. Writes are audited (``eco_order_placed``, ``eco_order_status``, ``eco_settlement_run``,
``eco_settlement_confirmed``). Domain refusals map to HTTP here, in one place: no unit left or a
forbidden transition is 409, anything else the caller got wrong 422 naming the field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy import Select, and_, or_, select

from shouhu.access.policy import Principal, row_rule
from shouhu.errors import InvalidInput, ShouhuError, UnknownName
from shouhu.partners import ecosystem as eco
from shouhu.storage import audit
from shouhu.storage import ecosystem as store
from shouhu.storage.customers import scope_condition
from shouhu.web import display
from shouhu.web.auth import record
from shouhu.web.customers import record_or_404
from shouhu.web.state import AppState

SLA_STATES: dict[str, tuple[str, str]] = {
    "due": ("时限内", "Within SLA"), "breached": ("已超时", "Breached"), "done": ("已达标", "Met"),
    "closed": ("已关闭", "Closed"), "none": ("时限待定", "No due time yet")}
SLA_VIEWS = ("due", "breached", "done")
FUNNEL_BY = {"source": "source", "scene": "scene", "all": None}

display.AUDIT_ACTIONS.update({
    "eco_order_placed": ("下达增值服务订单", "Ecosystem service ordered"),
    "eco_order_status": ("更新增值服务订单", "Ecosystem order status"),
    "eco_settlement_run": ("生成服务商结算单", "Provider settlement run"),
    "eco_settlement_confirmed": ("确认服务商结算单", "Provider settlement confirmed"),
})


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    """Today in China time (the business calendar's day)."""
    return now().astimezone(display.LOCAL_TZ).date()


def refused(e: ShouhuError) -> HTTPException:
    """The one mapping of ecosystem domain errors to HTTP."""
    if isinstance(e, eco.InvalidTransition | eco.NotEntitled):
        return HTTPException(409, e.message)
    return HTTPException(422, e.message)


def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def yuan(fen: Any) -> str:
    return "" if fen is None else f"¥{int(fen) // 100:,}.{int(fen) % 100:02d}"


def name_of(row: dict[str, Any] | None, lang: str, fallback: str = "") -> str:
    if row is None:
        return fallback
    return str(row["name_zh"] if lang == "zh" else row["name_en"])


def sla_text(svc: dict[str, Any], lang: str) -> str:
    if svc.get("sla_hours"):
        return f"{svc['sla_hours']} 小时" if lang == "zh" else f"{svc['sla_hours']} hours"
    days = svc.get("sla_working_days")
    return f"{days} 个工作日" if lang == "zh" else f"{days} working days"


def tier_label(tier: str, lang: str) -> str:
    return pick(eco.TIERS.get(tier, (tier, tier)), lang)


def quantity_text(qty: int | None, lang: str) -> str:
    return ("不限" if lang == "zh" else "unlimited") if qty is None else str(qty)


# --- the catalogue -----------------------------------------------------------------------------------


def _services(state: AppState) -> dict[str, dict[str, Any]]:
    return {s["service_code"]: s for s in store.services(state.engine)}


def catalogue(state: AppState, lang: str, category: str | None = None) -> dict[str, Any]:
    """Services by category, each with its provider, SLA, prices and units per tier and programme year."""
    try:
        rows = eco.services(state.engine, category)
    except ShouhuError as e:
        raise refused(e) from None
    providers = {p["provider_id"]: p for p in store.providers(state.engine)}
    per_tier = {t: store.entitlements(state.engine, t) for t in eco.TIERS}
    groups: dict[str, list[dict[str, Any]]] = {}
    for svc in rows:
        prov = providers.get(svc["provider_id"])
        entitled = {t: quantity_text(q[svc["service_code"]], lang) if svc["service_code"] in q else ""
                    for t, q in per_tier.items()}
        groups.setdefault(svc["category"], []).append(
            svc | {"name": name_of(svc, lang), "provider_name": name_of(prov, lang, svc["provider_id"]),
                   "provider_status": prov["status"] if prov else "unknown", "sla": sla_text(svc, lang),
                   "unit_price": yuan(svc["unit_price_fen"]), "retail_price": yuan(svc["retail_price_fen"]),
                   "entitled": entitled})
    return {"tiers": [{"tier": t, "label": tier_label(t, lang)} for t in eco.TIERS],
            "categories": [{"category": c.value, "label": c.label(lang), "services": groups[c.value]}
                           for c in eco.ServiceCategory if c.value in groups],
            "providers": [p | {"name": name_of(p, lang)} for p in providers.values()]}


def entitlements(state: AppState, principal: Principal, customer_id: str, lang: str) -> dict[str, Any]:
    """What the customer may still use this programme year, by their tier (404 outside the scope)."""
    record_or_404(state, principal, customer_id)
    tier, year = eco.tier_of(state.engine, customer_id), eco.programme_year(now())
    services = _services(state)
    items: list[dict[str, Any]] = []
    for code, left in eco.remaining(state.engine, customer_id, tier, year).items():
        svc = services.get(code)
        if svc is None:
            continue
        items.append(left | {"service_code": code, "name": name_of(svc, lang), "category": svc["category"],
                             "category_label": eco.ServiceCategory(svc["category"]).label(lang),
                             "sla": sla_text(svc, lang), "orderable": svc["status"] == "active",
                             "quantity_text": quantity_text(left["quantity"], lang),
                             "remaining_text": quantity_text(left["remaining"], lang)})
    order = eco.ServiceCategory.codes()
    items.sort(key=lambda i: (order.index(str(i["category"])), str(i["service_code"])))
    return {"customer_id": customer_id, "tier": tier, "tier_label": tier_label(tier, lang), "year": year,
            "items": items}


# --- orders ------------------------------------------------------------------------------------------


def sla_state(row: dict[str, Any], at: str) -> str:
    if row["breached"]:
        return "breached"
    if row["status"] == "cancelled":
        return "closed"
    if row["status"] not in eco.SLA_RUNNING:
        return "done"
    if row["due_at"] is None:
        return "none"
    return "breached" if row["due_at"] <= at else "due"


def shaped(row: dict[str, Any], services: dict[str, dict[str, Any]], lang: str, at: str) -> dict[str, Any]:
    row = row | {"breached": bool(row["breached"])}
    state = sla_state(row, at)
    return row | {"service_name": name_of(services.get(row["service_code"]), lang, row["service_code"]),
                  "category_label": eco.ServiceCategory(row["category"]).label(lang),
                  "status_label": eco.OrderStatus(row["status"]).label(lang),
                  "tier_label": tier_label(row["tier"], lang),
                  "sla_state": state, "sla_label": pick(SLA_STATES[state], lang), "charge": yuan(row["charge_fen"]),
                  "moves": [(m, eco.OrderStatus(m).label(lang)) for m in sorted(eco.TRANSITIONS[row["status"]])]}


def _scoped(principal: Principal, customer_id: str | None = None) -> Select[Any]:
    o = store.order
    return select(o).where(scope_condition(row_rule(principal), o.c.customer_id, customer_id))


def _sla_filter(view: str, at: str) -> Any:
    o = store.order
    running = o.c.status.in_(eco.SLA_RUNNING)
    if view == "breached":
        return or_(o.c.breached.is_(True), and_(running, o.c.due_at <= at))
    if view == "due":
        return and_(running, o.c.breached.is_(False), or_(o.c.due_at.is_(None), o.c.due_at > at))
    return and_(o.c.status.not_in(eco.SLA_RUNNING), o.c.breached.is_(False))


def _rows(state: AppState, query: Any) -> list[dict[str, Any]]:
    with state.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def list_orders(state: AppState, principal: Principal, lang: str, *, status: str | None = None,
                sla: str | None = None, customer_id: str | None = None, limit: int = 50,
                offset: int = 0) -> dict[str, Any]:
    """Orders of the customers the principal sees, newest first; ``sla`` due | breached | done."""
    o, at = store.order, store.stamp(now())
    query = _scoped(principal, customer_id)
    if customer_id is not None:
        query = query.where(o.c.customer_id == customer_id)
    if status is not None:
        query = query.where(o.c.status == status)
    if sla is not None:
        query = query.where(_sla_filter(sla, at))
    rows = _rows(state, query.order_by(o.c.requested_at.desc(), o.c.order_id).limit(limit + 1).offset(offset))
    services = _services(state)
    items = [shaped(r, services, lang, at) for r in rows[:limit]]
    return {"items": items, "count": len(items), "offset": offset, "limit": limit,
            "next_offset": offset + limit if len(rows) > limit else None}


def order_or_404(state: AppState, principal: Principal, order_id: str) -> dict[str, Any]:
    rows = _rows(state, _scoped(principal).where(store.order.c.order_id == order_id))
    if not rows:
        raise HTTPException(404, f"no service order {order_id} that you may see")
    return rows[0]


def get_order(state: AppState, principal: Principal, order_id: str, lang: str) -> dict[str, Any]:
    row = order_or_404(state, principal, order_id)
    events = [{k: e[k] for k in ("at", "kind", "from_status", "to_status", "actor", "note")}
              for e in store.events(state.engine, order_id)]
    return shaped(row, _services(state), lang, store.stamp(now())) | {"events": events}


def place(state: AppState, principal: Principal, request: Request, *, customer_id: str, service_code: str,
          pay: bool = False, request_key: str | None = None, lang: str = "zh") -> dict[str, Any]:
    """Order a service for a customer the principal sees; a retry with the same ``request_key`` (per
    customer) returns the first order and takes no second unit."""
    record_or_404(state, principal, customer_id)
    key = f"{customer_id}:{request_key}" if request_key else None
    replay = key is not None and store.order_by_key(state.engine, key) is not None
    try:
        row = eco.order(state.engine, service_code, now(), customer_id=customer_id, pay=pay, request_key=key,
                        actor=principal.user_id)
    except ShouhuError as e:
        raise refused(e) from None
    if not replay:
        record(state, principal, "eco_order_placed", "eco_order", row["order_id"], request, customer_id=customer_id,
               service_code=service_code, basis=row["basis"], charge_fen=row["charge_fen"])
    return get_order(state, principal, row["order_id"], lang) | {"replayed": replay}


def move(state: AppState, principal: Principal, request: Request, order_id: str, to: str, *,
         scheduled_for: datetime | None = None, reason: str = "", lang: str = "zh") -> dict[str, Any]:
    row = order_or_404(state, principal, order_id)
    try:
        eco.transition(state.engine, order_id, to, now(), actor=principal.user_id, scheduled_for=scheduled_for,
                       reason=audit.scrub(reason.strip()) or None)
    except ShouhuError as e:
        raise refused(e) from None
    record(state, principal, "eco_order_status", "eco_order", order_id, request, customer_id=row["customer_id"],
           from_status=row["status"], to_status=to)
    return get_order(state, principal, order_id, lang)


# --- settlements and the funnel ----------------------------------------------------------------------


def settlements(state: AppState, provider: str | None = None, period: str | None = None) -> list[dict[str, Any]]:
    """Settlements of one provider or of all, oldest period first."""
    pids = [provider] if provider else [p["provider_id"] for p in store.providers(state.engine)]
    rows = [s for pid in pids for s in store.settlements(state.engine, pid, period)]
    return sorted(rows, key=lambda s: (s["period"], s["provider_id"], s["seq"]))


def statement(state: AppState, settlement_id: str, lang: str) -> dict[str, Any]:
    """A settlement with its provider and the orders it pays (404 when there is none)."""
    row = store.get_settlement(state.engine, settlement_id)
    if row is None:
        raise HTTPException(404, f"no settlement {settlement_id}")
    services = _services(state)
    lines = [{"order_id": o["order_id"], "service_code": o["service_code"],
              "service_name": name_of(services.get(o["service_code"]), lang, o["service_code"]),
              "completed_at": o["completed_at"], "breached": bool(o["breached"]), "price_fen": o["price_fen"],
              "settled_fen": o["settled_fen"]}
             for o in store.orders(state.engine, provider_id=row["provider_id"], status="completed")
             if o["settlement_id"] == settlement_id]
    provider = store.get_provider(state.engine, row["provider_id"])
    return row | {"provider_name": name_of(provider, lang, row["provider_id"]), "lines": lines,
                  "gross": yuan(row["gross_fen"]), "deduction": yuan(row["deduction_fen"]),
                  "amount": yuan(row["amount_fen"])}


def settle(state: AppState, principal: Principal, request: Request, provider: str, period: str,
           lang: str = "zh") -> dict[str, Any] | None:
    """Settle a provider's month (safe to repeat: nothing new, nothing changed); audited when it ran."""
    if not (eco.PERIOD.match(period) and 2000 <= int(period[:4]) <= 2100):
        raise HTTPException(422, f"period: a month from 2000-01 to 2100-12 as YYYY-MM, not {period!r}")
    try:
        row = eco.settle(state.engine, provider, period, now())
    except ShouhuError as e:
        raise refused(e) from None
    record(state, principal, "eco_settlement_run", "eco_settlement", row["settlement_id"] if row else provider,
           request, provider_id=provider, period=period, orders=row["orders"] if row else 0,
           amount_fen=row["amount_fen"] if row else 0)
    return statement(state, row["settlement_id"], lang) if row else None


def confirm(state: AppState, principal: Principal, request: Request, settlement_id: str,
            lang: str = "zh") -> dict[str, Any]:
    statement(state, settlement_id, lang)  # 404 first
    eco.confirm_settlement(state.engine, settlement_id, now(), actor=principal.user_id)
    record(state, principal, "eco_settlement_confirmed", "eco_settlement", settlement_id, request)
    return statement(state, settlement_id, lang)


def _day(value: date, field: str) -> datetime:
    if not 2000 <= value.year <= 2100:
        raise HTTPException(422, f"{field}: a date from 2000 to 2100, not {value}")
    return datetime(value.year, value.month, value.day, tzinfo=display.LOCAL_TZ)


def funnel(state: AppState, since: date, until: date, by: str, lang: str) -> dict[str, Any]:
    """Ecosystem users registered in [since, until] (China dates) through the funnel, per ``by``."""
    if by not in FUNNEL_BY:
        raise HTTPException(422, f"by: one of {', '.join(FUNNEL_BY)}, not {by!r}")
    start, end = _day(since, "since"), _day(until, "until")
    try:
        groups = eco.funnel(state.engine, start, end + timedelta(days=1), FUNNEL_BY[by])
    except (InvalidInput, UnknownName) as e:
        raise refused(e) from None
    for g in groups:
        for s in g["steps"]:
            s["label"] = s["label_zh"] if lang == "zh" else s["label_en"]
    return {"since": since.isoformat(), "until": until.isoformat(), "by": by, "groups": groups}
