"""The ecosystem service catalogue (增值服务生态): providers, services, entitlements by value tier, service
orders with SLAs, provider settlement, and ecosystem users converted into customers. User guide:
docs/partners.md (ecosystem section).

* **Catalogue**: ``ecosystem.toml`` (or a file of the same shape) lists providers with their contract
  terms, services with prices and SLAs, and the units each tier may use per programme year (the calendar
  year in China time). :func:`load_catalogue` checks it and names the file, the entry and the field of
  any mistake; :func:`seed_catalogue` writes it (again and again: rows are updated, never duplicated).
* **Entitlements**: a customer's tier is the ``customer_value`` tier the last refresh published
  (``standard`` without one); an ecosystem user's tier is ``eco``. An order uses an entitlement whenever
  one is left. Otherwise it is refused (:class:`NotEntitled`) unless the caller passes ``pay=True``; the
  order is then charged the service's retail price (a service without one is a benefit only).
* **Lifecycle**: requested → accepted | cancelled; accepted → scheduled | completed | cancelled;
  scheduled → scheduled (rescheduled) | completed | cancelled. Completed and cancelled are final. A
  cancelled order gives its entitlement unit back. Anything else is an :class:`InvalidTransition`.
* **SLA**: due ``sla_hours`` clock hours after the request, or at close of business on the
  ``sla_working_days``-th working day after it (Chinese business calendar,
  :mod:`shouhu.operations.calendar`). The provider meets it by scheduling or completing the order in
  time. An order still requested or accepted after its due time is marked breached by
  :func:`sla_sweep` (or by the late transition itself); a breach stays on the order and costs the
  provider its contract's ``breach_deduction_pct`` at settlement.
* **Settlement**: :func:`settle` puts a provider's completed, unsettled orders of a month that is over
  into one settlement; sums are integer fen summed by the database, and an order joins one settlement
  only, however often or concurrently it runs.
* **Funnel**: ecosystem users (registered from a partner or a campaign, with no personal data) reach
  registered → service_used → quoted → converted; :func:`funnel` counts each cohort per source or scene.
"""

from __future__ import annotations

import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from shouhu.errors import ConfigError, InvalidInput, UnknownName
from shouhu.model.vocab import LabelledEnum
from shouhu.operations.calendar import BusinessCalendar, CalendarGap, load_calendar
from shouhu.storage import ecosystem as store

BUILT_IN = Path(__file__).with_name("ecosystem.toml")
CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
PERSONAL = re.compile(r"^(\+?86)?1\d{10}$|^\d{17}[\dXx]$|@")  # a phone, an ID number or an e-mail address


class ServiceCategory(LabelledEnum):
    HEALTH_CHECKUP = ("health_checkup", "健康体检", "Health check-up")
    FAMILY_DOCTOR = ("family_doctor", "家庭医生", "Family doctor")
    GREEN_CHANNEL = ("green_channel", "就医绿通", "Hospital green channel")
    ELDERLY_CARE = ("elderly_care", "居家养老", "Elderly care")
    LEGAL = ("legal", "法律服务", "Legal services")
    FINANCE = ("finance", "财务规划", "Family finance")
    DENTAL = ("dental", "口腔服务", "Dental care")


class OrderStatus(LabelledEnum):
    REQUESTED = ("requested", "待受理", "Requested")
    ACCEPTED = ("accepted", "已受理", "Accepted")
    SCHEDULED = ("scheduled", "已预约", "Scheduled")
    COMPLETED = ("completed", "已完成", "Completed")
    CANCELLED = ("cancelled", "已取消", "Cancelled")


class FunnelStep(LabelledEnum):
    REGISTERED = ("registered", "注册", "Registered")
    SERVICE_USED = ("service_used", "使用服务", "Used a service")
    QUOTED = ("quoted", "获取报价", "Got a quote")
    CONVERTED = ("converted", "成为客户", "Became a customer")


# The customer value tiers of shouhu.scoring.value (best first; kept here to spare the scoring stack's
# imports, a test checks they agree) and "eco", an ecosystem user who is not a customer yet.
TIERS: dict[str, tuple[str, str]] = {"platinum": ("白金", "Platinum"), "gold": ("黄金", "Gold"),
                                     "silver": ("白银", "Silver"), "standard": ("标准", "Standard"),
                                     "eco": ("生态用户", "Ecosystem user")}
TRANSITIONS: dict[str, frozenset[str]] = {
    "requested": frozenset({"accepted", "cancelled"}),
    "accepted": frozenset({"scheduled", "completed", "cancelled"}),
    "scheduled": frozenset({"scheduled", "completed", "cancelled"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}
SLA_RUNNING = ("requested", "accepted")  # the provider has not yet scheduled or delivered


class InvalidTransition(InvalidInput):
    """An order cannot go from its status to the one asked for (the web layer answers 409)."""

    code = "invalid_transition"


class NotEntitled(InvalidInput):
    """No entitlement is left for the service and the caller did not ask to pay."""

    code = "not_entitled"


# --- catalogue ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    provider_id: str
    name_zh: str
    name_en: str
    categories: tuple[str, ...]
    contact: str
    settlement_cycle: str
    payment_days: int
    breach_deduction_pct: int
    contract_start: date
    contract_end: date | None
    status: str = "active"


@dataclass(frozen=True)
class Service:
    service_code: str
    category: str
    name_zh: str
    name_en: str
    provider_id: str
    unit_price_fen: int
    retail_price_fen: int | None
    sla_hours: int | None
    sla_working_days: int | None
    status: str = "active"


@dataclass(frozen=True)
class Catalogue:
    providers: dict[str, Provider]
    services: dict[str, Service]
    entitlements: dict[str, dict[str, int | None]]  # tier -> service code -> units a year (None: unlimited)


@dataclass(frozen=True)
class _Entry:
    """One ``[section.key]`` table of a catalogue file, for error messages that say where."""

    path: Path
    name: str
    spec: Mapping[str, Any]

    @property
    def key(self) -> str:
        return self.name.split(".", 1)[1]

    def bad(self, field: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path} [{self.name}] {field}: {problem}", file=str(self.path), entry=self.name,
                           field=field)

    def check_fields(self, allowed: set[str]) -> None:
        for field in sorted(set(self.spec) - allowed):
            raise self.bad(field, f"unknown field; valid fields: {', '.join(sorted(allowed))}")

    def text(self, field: str) -> str:
        value = self.spec.get(field)
        if not isinstance(value, str) or not value.strip():
            raise self.bad(field, f"required text, not {value!r}")
        return value.strip()

    def number(self, field: str, lo: int, hi: int, *, required: bool = True) -> int | None:
        value = self.spec.get(field)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.bad(field, f"a whole number from {lo} to {hi}, not {value!r}")
        return value

    def day(self, field: str, *, required: bool = True) -> date | None:
        value = self.spec.get(field)
        if value is None and not required:
            return None
        try:
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError:
            raise self.bad(field, f"a date (YYYY-MM-DD), not {value!r}") from None

    def choice(self, field: str, choices: list[str], default: str | None = None) -> str:
        value = self.spec.get(field, default)
        if value not in choices:
            raise self.bad(field, f"one of {', '.join(choices)}, not {value!r}")
        return str(value)


PROVIDER_FIELDS = {"name_zh", "name_en", "categories", "contact", "settlement_cycle", "payment_days",
                   "breach_deduction_pct", "contract_start", "contract_end", "status"}
SERVICE_FIELDS = {"category", "name_zh", "name_en", "provider", "unit_price_fen", "retail_price_fen", "sla_hours",
                  "sla_working_days", "status"}
MAX_FEN = 10**10  # 100 million yuan: far above any service price, far below BigInteger


def _provider(entry: _Entry, key: str) -> Provider:
    entry.check_fields(PROVIDER_FIELDS)
    name_zh, name_en = entry.text("name_zh"), entry.text("name_en")
    categories = entry.spec.get("categories")
    if not isinstance(categories, list) or not categories:
        raise entry.bad("categories", f"a non-empty list of {', '.join(ServiceCategory.codes())}")
    for value in categories:
        if value not in ServiceCategory.codes():
            raise entry.bad("categories", f"{value!r} is not one of {', '.join(ServiceCategory.codes())}")
    start, end = entry.day("contract_start"), entry.day("contract_end", required=False)
    assert start is not None
    if end is not None and end < start:
        raise entry.bad("contract_end", f"{end} is before contract_start {start}")
    return Provider(key, name_zh, name_en, tuple(categories), entry.text("contact"),
                    entry.choice("settlement_cycle", ["monthly"]), int(entry.number("payment_days", 0, 365) or 0),
                    int(entry.number("breach_deduction_pct", 0, 100) or 0), start, end,
                    entry.choice("status", ["active", "suspended"], "active"))


def _service(entry: _Entry, key: str, providers: Mapping[str, Provider]) -> Service:
    entry.check_fields(SERVICE_FIELDS)
    name_zh, name_en = entry.text("name_zh"), entry.text("name_en")
    category = entry.choice("category", ServiceCategory.codes())
    provider_id = entry.text("provider")
    if provider_id not in providers:
        raise entry.bad("provider", f"unknown provider {provider_id!r}; valid: {', '.join(sorted(providers))}")
    if category not in providers[provider_id].categories:
        raise entry.bad("category", f"provider {provider_id} does not offer {category} "
                                    f"(it offers {', '.join(providers[provider_id].categories)})")
    hours = entry.number("sla_hours", 1, 720, required=False)
    days = entry.number("sla_working_days", 1, 60, required=False)
    if (hours is None) == (days is None):
        raise entry.bad("sla_hours", "give exactly one of sla_hours (clock hours) or sla_working_days")
    return Service(key, category, name_zh, name_en, provider_id,
                   int(entry.number("unit_price_fen", 0, MAX_FEN) or 0),
                   entry.number("retail_price_fen", 0, MAX_FEN, required=False), hours, days,
                   entry.choice("status", ["active", "paused"], "active"))


def _quantities(entry: _Entry, services: Mapping[str, Service]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for code, value in entry.spec.items():
        if code not in services:
            raise entry.bad(code, f"unknown service; valid: {', '.join(sorted(services))}")
        if value == "unlimited":
            out[code] = None
        elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
            raise entry.bad(code, f'units per programme year (1 to 1000) or "unlimited", not {value!r}')
        else:
            out[code] = value
    return out


def _tables(doc: Mapping[str, Any], path: Path, section: str) -> list[_Entry]:
    spec = doc.get(section, {})
    if not isinstance(spec, dict):
        raise ConfigError(f"{path} [{section}]: expected tables such as [{section}.NAME]", file=str(path))
    out = []
    for key, value in spec.items():
        entry = _Entry(path, f"{section}.{key}", value if isinstance(value, dict) else {})
        if not isinstance(value, dict):
            raise entry.bad("(entry)", f"expected a table [{section}.{key}], not {value!r}")
        if section != "entitlements" and not CODE.match(key):
            raise entry.bad("(name)", "lower-case letters, digits, '_' or '-', 2 to 64 characters")
        if section == "entitlements" and key not in TIERS:
            raise entry.bad("(name)", f"unknown tier; valid: {', '.join(TIERS)}")
        out.append(entry)
    return out


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and check a catalogue file (the shipped ``ecosystem.toml`` by default); the file is the whole
    catalogue. A mistake raises :class:`ConfigError` naming the file, the entry and the field."""
    source = path or BUILT_IN
    try:
        doc = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"catalogue file not found: {source}", file=str(source)) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}", file=str(source)) from e
    for section in sorted(set(doc) - {"providers", "services", "entitlements"}):
        raise ConfigError(f"{source} [{section}]: unknown section; valid: providers, services, entitlements",
                          file=str(source), entry=section)
    prov = {e.key: _provider(e, e.key) for e in _tables(doc, source, "providers")}
    svc = {e.key: _service(e, e.key, prov) for e in _tables(doc, source, "services")}
    ents = {e.key: _quantities(e, svc) for e in _tables(doc, source, "entitlements")}
    return Catalogue(prov, svc, ents)


@cache
def _built_in() -> Catalogue:
    return load_catalogue()


@cache
def _calendar() -> BusinessCalendar:
    return load_calendar()


def seed_catalogue(engine: Engine, now: datetime, path: Path | None = None) -> dict[str, int]:
    """Write a catalogue to the serving database; safe to run again. Providers and services the file no
    longer lists are suspended or paused (never deleted: orders name them); each tier's entitlements become
    exactly the file's. Returns counts of what was inserted, updated, suspended and paused."""
    cat, at = load_catalogue(path), store.stamp(_aware(now, "now"))
    counts = {"providers_inserted": 0, "providers_updated": 0, "providers_suspended": 0,
              "services_inserted": 0, "services_updated": 0, "services_paused": 0, "entitlements": 0}
    with engine.begin() as conn:
        for p in cat.providers.values():
            row = {**p.__dict__, "categories": list(p.categories), "contract_start": p.contract_start.isoformat(),
                   "contract_end": p.contract_end.isoformat() if p.contract_end else None, "updated_at": at}
            counts[f"providers_{store.upsert_provider(conn, row)}"] += 1
        for s in cat.services.values():
            counts[f"services_{store.upsert_service(conn, {**s.__dict__, 'updated_at': at})}"] += 1
        for old in store.providers(conn):
            if old["provider_id"] not in cat.providers and old["status"] != "suspended":
                store.upsert_provider(conn, {"provider_id": old["provider_id"], "status": "suspended",
                                             "updated_at": at})
                counts["providers_suspended"] += 1
        for gone in store.services(conn):
            if gone["service_code"] not in cat.services and gone["status"] != "paused":
                store.upsert_service(conn, {"service_code": gone["service_code"], "status": "paused",
                                            "updated_at": at})
                counts["services_paused"] += 1
        for tier in TIERS:
            quantities = cat.entitlements.get(tier, {})
            store.replace_entitlements(conn, tier, quantities)
            counts["entitlements"] += len(quantities)
    return counts


def services(engine: Engine, category: str | None = None) -> list[dict[str, Any]]:
    """The services in the database (all statuses), optionally of one category."""
    if category is not None and category not in ServiceCategory.codes():
        raise UnknownName("service category", category, ServiceCategory.codes())
    return store.services(engine, category)


def check_tier(tier: str) -> str:
    if tier not in TIERS:
        raise UnknownName("tier", tier, list(TIERS))
    return tier


def entitlements(tier: str, engine: Engine | None = None) -> dict[str, int | None]:
    """Units of each service a tier may use per programme year (None: unlimited): from the database when
    ``engine`` is given (what orders use), else from the shipped catalogue."""
    check_tier(tier)
    if engine is None:
        return dict(_built_in().entitlements.get(tier, {}))
    return store.entitlements(engine, tier)


# --- entitlements and orders -------------------------------------------------------------------------


def _aware(when: datetime, name: str) -> datetime:
    if when.tzinfo is None:
        raise InvalidInput(f"{name}: a time without a time zone: {when.isoformat()}", field=name)
    return when


def _holder(customer_id: str | None, eco_user_id: str | None) -> str:
    if (customer_id is None) == (eco_user_id is None):
        raise InvalidInput("give either customer_id or eco_user_id (not both, not neither)", field="customer_id")
    return f"c:{customer_id}" if customer_id is not None else f"e:{eco_user_id}"


def tier_of(engine: Engine, customer_id: str) -> str:
    """The customer's value tier from the last refresh's ``customer_value``; ``standard`` without a row."""
    return store.tier_of(engine, customer_id) or "standard"


def _tier(engine: Any, customer_id: str | None, tier: str | None) -> str:
    if customer_id is None:
        if tier not in (None, "eco"):
            raise InvalidInput(f"an ecosystem user's tier is eco, not {tier!r}", field="tier")
        return "eco"
    if tier is None:
        return store.tier_of(engine, customer_id) or "standard"
    if check_tier(tier) == "eco":
        raise InvalidInput(f"customer {customer_id}: eco is the tier of ecosystem users, not of customers",
                           field="tier")
    return tier


def programme_year(at: datetime, cal: BusinessCalendar | None = None) -> int:
    """The programme year of a moment: its calendar year in China time."""
    return (cal or _calendar()).local(_aware(at, "at")).year


def remaining(engine: Engine, customer_id: str | None, tier: str | None, year: int, *,
              eco_user_id: str | None = None) -> dict[str, dict[str, int | None]]:
    """Per service of the tier: ``quantity`` (None unlimited), ``used`` (orders on the entitlement that are
    not cancelled) and ``remaining`` (None unlimited) in the programme year. ``tier`` None: looked up."""
    _holder(customer_id, eco_user_id)
    tier = _tier(engine, customer_id, tier)
    used = store.used_by(engine, customer_id=customer_id, eco_user_id=eco_user_id, year=year)
    return {code: {"quantity": qty, "used": used.get(code, 0),
                   "remaining": None if qty is None else max(qty - used.get(code, 0), 0)}
            for code, qty in store.entitlements(engine, tier).items()}


def sla_due(service: Mapping[str, Any], requested: datetime,
            cal: BusinessCalendar | None = None) -> tuple[str | None, str | None]:
    """(due time, note) of an order for ``service`` requested at ``requested``. A working-day SLA that runs
    into a year the calendar does not know gives no due time and the calendar's reason (never a guess)."""
    if service.get("sla_hours"):
        return store.stamp(requested + timedelta(hours=int(service["sla_hours"]))), None
    try:
        return store.stamp((cal or _calendar()).add_working_days(requested, int(service["sla_working_days"]))), None
    except CalendarGap as e:
        return None, str(e)


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def _active_service(conn: Any, code: str) -> tuple[dict[str, Any], dict[str, Any]]:
    svc = store.get_service(conn, code)
    if svc is None:
        raise UnknownName("ecosystem service", code, [s["service_code"] for s in store.services(conn)])
    if svc["status"] != "active":
        raise InvalidInput(f"service {code} is {svc['status']}: it takes no orders", field="service_code")
    prov = store.get_provider(conn, svc["provider_id"])
    if prov is None or prov["status"] != "active":
        raise InvalidInput(f"service {code}: its provider {svc['provider_id']} is not active", field="service_code")
    return svc, prov


def _check_orderer(conn: Any, customer_id: str | None, eco_user_id: str | None) -> None:
    if customer_id is not None:
        if not customer_id.strip() or len(customer_id) > 64:
            raise InvalidInput("customer_id: give 1 to 64 characters", field="customer_id")
        return
    user = store.get_eco_user(conn, str(eco_user_id))
    if user is None:
        raise UnknownName("ecosystem user", str(eco_user_id), [])
    if user["customer_id"] is not None:
        raise InvalidInput(f"ecosystem user {eco_user_id} became customer {user['customer_id']}: order as the "
                           f"customer", field="eco_user_id")


def order(engine: Engine, service_code: str, now: datetime, *, customer_id: str | None = None,
          eco_user_id: str | None = None, tier: str | None = None, pay: bool = False,
          request_key: str | None = None, actor: str = "system", cal: BusinessCalendar | None = None) -> dict[str, Any]:
    """Place a service order for a customer or an ecosystem user; returns the order row.

    An entitlement unit of the holder's tier (``tier`` None: looked up) is used when one is left in the
    programme year. Otherwise :class:`NotEntitled` is raised, unless ``pay`` is true: the order is then
    charged the retail price (refused for a benefit-only service). ``request_key`` makes a retry return the
    first order instead of placing a second."""
    holder = _holder(customer_id, eco_user_id)
    cal = cal or _calendar()
    at = store.stamp(_aware(now, "now"))
    if request_key is not None:
        found = store.order_by_key(engine, request_key)
        if found is not None:
            if (found["service_code"], found["customer_id"], found["eco_user_id"]) != (service_code, customer_id,
                                                                                       eco_user_id):
                raise InvalidInput(f"request_key {request_key!r} was used for order {found['order_id']} of another "
                                   f"service or holder", field="request_key")
            return found
    with engine.begin() as conn:
        svc, prov = _active_service(conn, service_code)
        _check_orderer(conn, customer_id, eco_user_id)
        tier = _tier(conn, customer_id, tier)
        year = cal.local(now).year
        due, note = sla_due(svc, now, cal)
        row = {"order_id": f"EO{secrets.token_hex(8)}", "customer_id": customer_id, "eco_user_id": eco_user_id,
               "service_code": service_code, "category": svc["category"], "provider_id": svc["provider_id"],
               "tier": tier, "programme_year": year, "basis": "entitlement", "price_fen": int(svc["unit_price_fen"]),
               "charge_fen": 0, "deduction_pct": int(prov["breach_deduction_pct"]), "status": "requested",
               "request_key": request_key, "requested_at": at, "due_at": due, "sla_note": note, "breached": False}
        store.add_order(conn, row)  # first, so the entitlement unit below is taken inside this transaction
        quantities = store.entitlements(conn, tier)
        if not _take_unit(conn, holder, row, quantities):
            _pay_or_refuse(conn, row, svc, quantities, pay, customer_id, eco_user_id)
        store.add_event(conn, row["order_id"], at, "status", actor, to_status="requested", note=row["basis"])
    return store.get_order(engine, row["order_id"]) or row


def _take_unit(conn: Any, holder: str, row: Mapping[str, Any], quantities: Mapping[str, int | None]) -> bool:
    code = row["service_code"]
    if code not in quantities:
        return False
    qty = quantities[code]
    if qty is None:
        return True
    used = store.used_by(conn, customer_id=row["customer_id"], eco_user_id=row["eco_user_id"],
                         year=row["programme_year"]).get(code, 0)
    # the order row itself is already counted in ``used``
    return used <= qty and store.claim_slot(conn, holder, code, row["programme_year"], qty, row["order_id"]) is not None


def _pay_or_refuse(conn: Any, row: dict[str, Any], svc: Mapping[str, Any], quantities: Mapping[str, int | None],
                   pay: bool, customer_id: str | None, eco_user_id: str | None) -> None:
    code, tier, year = row["service_code"], row["tier"], row["programme_year"]
    who = f"customer {customer_id}" if customer_id is not None else f"ecosystem user {eco_user_id}"
    why = (f"{code} is not a benefit of the {tier} tier" if code not in quantities
           else f"{who} has used all {quantities[code]} {code} of the {tier} tier in {year}")
    if not pay:
        retail = svc["retail_price_fen"]
        offer = f"; pass pay=True to buy it at {_yuan(int(retail))}" if retail is not None else ""
        raise NotEntitled(f"{why}{offer}", service_code=code, tier=tier, year=year)
    if svc["retail_price_fen"] is None:
        raise NotEntitled(f"{why}, and {code} is a benefit only: it has no retail price", service_code=code,
                          tier=tier, year=year)
    row.update(basis="paid", charge_fen=int(svc["retail_price_fen"]))
    store.update_order(conn, row["order_id"], "requested", {"basis": "paid", "charge_fen": row["charge_fen"]})


def transition(engine: Engine, order_id: str, to: str, now: datetime, *, actor: str = "system",
               scheduled_for: datetime | None = None, reason: str | None = None) -> dict[str, Any]:
    """Move an order to ``to`` (lifecycle in the module docstring); returns the order row.

    ``scheduled`` needs ``scheduled_for`` (the appointment), ``cancelled`` a ``reason``. Leaving requested
    or accepted after the due time marks the order breached. Completing an ecosystem user's order records
    the user's ``service_used`` funnel step."""
    if to not in OrderStatus.codes():
        raise UnknownName("order status", to, OrderStatus.codes())
    at = store.stamp(_aware(now, "now"))
    with engine.begin() as conn:
        row = store.get_order(conn, order_id, lock=True)
        if row is None:
            raise UnknownName("service order", order_id, [])
        frm = row["status"]
        if to not in TRANSITIONS[frm]:
            allowed = ", ".join(sorted(TRANSITIONS[frm])) or "nothing: it is final"
            raise InvalidTransition(f"service order {order_id} is {frm}: it cannot become {to} (from {frm} it may "
                                    f"become {allowed})", order_id=order_id, status=frm, to=to)
        if at < row["requested_at"]:
            raise InvalidInput(f"service order {order_id} was requested at {row['requested_at']}, after {at}",
                               field="now")
        values = _transition_values(row, to, at, scheduled_for, reason)
        if not store.update_order(conn, order_id, frm, values):
            raise InvalidTransition(f"service order {order_id} changed meanwhile; read it again",
                                    order_id=order_id, status=frm, to=to)
        store.add_event(conn, order_id, at, "status", actor, from_status=frm, to_status=to,
                        note=reason if to == "cancelled" else values.get("scheduled_for"))
        if values.get("breached"):
            store.add_event(conn, order_id, at, "breach", actor, note=f"SLA due {row['due_at']}")
        if to == "cancelled":
            store.release_slot(conn, order_id)
        if to == "completed" and row["eco_user_id"] is not None:
            store.add_step(conn, row["eco_user_id"], "service_used", at, order_id)
    return store.get_order(engine, order_id) or row


def _transition_values(row: Mapping[str, Any], to: str, at: str, scheduled_for: datetime | None,
                       reason: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {"status": to, f"{to}_at": at}
    if to == "scheduled":
        if scheduled_for is None:
            raise InvalidInput(f"service order {row['order_id']}: scheduling needs scheduled_for (the appointment)",
                               field="scheduled_for")
        values["scheduled_for"] = store.stamp(_aware(scheduled_for, "scheduled_for"))
    if to == "cancelled":
        if not reason or not reason.strip():
            raise InvalidInput(f"service order {row['order_id']}: cancelling needs a reason", field="reason")
        values["cancel_reason"] = reason.strip()[:500]
    late = row["due_at"] is not None and at > row["due_at"]
    if row["status"] in SLA_RUNNING and to not in SLA_RUNNING and late and not row["breached"]:
        values.update(breached=True, breached_at=row["due_at"])
    return values


def order_detail(engine: Engine, order_id: str) -> dict[str, Any]:
    """An order with its history (``events``, oldest first)."""
    row = store.get_order(engine, order_id)
    if row is None:
        raise UnknownName("service order", order_id, [])
    return {**row, "events": store.events(engine, order_id)}


def sla_sweep(engine: Engine, now: datetime, cal: BusinessCalendar | None = None) -> dict[str, int]:
    """Mark breached every order still requested or accepted past its due time, once each, and fill in due
    times that were missing for a calendar gap. Safe to run again: a second run changes nothing."""
    at, cal = store.stamp(_aware(now, "now")), cal or _calendar()
    counts = {"due_set": 0, "breached": 0}
    with engine.begin() as conn:
        for row in store.missing_due(conn, SLA_RUNNING):
            svc = store.get_service(conn, row["service_code"])
            due, note = sla_due(svc or {}, store.parse_stamp(row["requested_at"]), cal) if svc else (None, None)
            if due is not None:
                store.set_due(conn, row["order_id"], due, None)
                counts["due_set"] += 1
            elif note != row["sla_note"]:
                store.set_due(conn, row["order_id"], None, note)
        for row in store.overdue(conn, SLA_RUNNING, at):
            if store.mark_breached(conn, row["order_id"], row["due_at"]):
                store.add_event(conn, row["order_id"], at, "breach", "sla_sweep", note=f"SLA due {row['due_at']}")
                counts["breached"] += 1
    return counts


# --- settlement --------------------------------------------------------------------------------------


def period_bounds(period: str, tz: ZoneInfo | None = None) -> tuple[str, str]:
    """[start, end) of a ``YYYY-MM`` month in China time (or ``tz``), as UTC stamps."""
    found = PERIOD.match(period)
    if not found:
        raise InvalidInput(f"period: a month as YYYY-MM, not {period!r}", field="period")
    zone = tz or _calendar().tz
    year, month = int(found.group(1)), int(found.group(2))
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return store.stamp(start), store.stamp(end)


def settle(engine: Engine, provider_id: str, period: str, now: datetime) -> dict[str, Any] | None:
    """Settle a provider's completed orders of a month that is over; returns the settlement they went into.

    Unsettled orders join the period's draft settlement, or a new one (``seq`` 2, 3 ... once the earlier
    ones are confirmed). Each order is paid its price frozen at order time, less its contract's breach
    deduction (rounded down to the fen) when it breached. Safe to run again: with nothing new it returns
    the period's latest settlement unchanged, or None when there is none."""
    start, end = period_bounds(period)
    if end > store.stamp(_aware(now, "now")):
        raise InvalidInput(f"period {period} is not over until {end}: settle a month once it has ended",
                           field="period")
    at = store.stamp(now)
    with engine.begin() as conn:
        if store.get_provider(conn, provider_id, lock=True) is None:  # the lock serialises settlement runs
            raise UnknownName("provider", provider_id, [p["provider_id"] for p in store.providers(conn)])
        existing = store.settlements(conn, provider_id, period)
        draft = next((s for s in existing if s["status"] == "draft"), None)
        sid = draft["settlement_id"] if draft else f"ES{secrets.token_hex(8)}"
        if not store.settle_orders(conn, provider_id, start, end, sid):
            return existing[-1] if existing else None
        totals = store.settlement_totals(conn, sid)
        if draft is None:
            store.add_settlement(conn, {"settlement_id": sid, "provider_id": provider_id, "period": period,
                                        "seq": len(existing) + 1, **totals, "status": "draft", "created_at": at,
                                        "updated_at": at})
        else:
            store.update_settlement(conn, sid, {**totals, "updated_at": at})
        return store.get_settlement(conn, sid)


def confirm_settlement(engine: Engine, settlement_id: str, now: datetime, *, actor: str) -> dict[str, Any]:
    """Confirm a draft settlement (its orders and amount are then final); confirming again changes nothing."""
    at = store.stamp(_aware(now, "now"))
    with engine.begin() as conn:
        row = store.get_settlement(conn, settlement_id, lock=True)
        if row is None:
            raise UnknownName("settlement", settlement_id, [])
        if row["status"] == "draft":
            store.update_settlement(conn, settlement_id, {"status": "confirmed", "confirmed_at": at,
                                                          "confirmed_by": actor, "updated_at": at})
        return store.get_settlement(conn, settlement_id) or row


def settlements(engine: Engine, provider_id: str, period: str | None = None) -> list[dict[str, Any]]:
    """A provider's settlements, oldest first."""
    return store.settlements(engine, provider_id, period)


# --- ecosystem users and the funnel ------------------------------------------------------------------


def _code(value: str | None, field: str) -> None:
    if value is not None and not CODE.match(value):
        raise InvalidInput(f"{field}: lower-case letters, digits, '_' or '-', 2 to 64 characters, not {value!r}",
                           field=field)


def register_eco_user(engine: Engine, source: str, now: datetime, *, source_ref: str | None = None,
                      scene: str | None = None) -> dict[str, Any]:
    """Register an ecosystem user who came from ``source`` (a partner id or campaign code); returns the row.

    ``source_ref`` is the source's pseudonymous id of its user (never a phone number, ID number or e-mail:
    those are refused); registering the same (source, source_ref) again returns the first row."""
    _code(source, "source")
    _code(scene, "scene")
    if source_ref is not None and (not 1 <= len(source_ref) <= 64 or PERSONAL.search(source_ref.strip())):
        raise InvalidInput("source_ref: the source's pseudonymous user id (1 to 64 characters), never a phone "
                           "number, ID number or e-mail address", field="source_ref")
    at = store.stamp(_aware(now, "now"))
    with engine.begin() as conn:
        found = store.eco_user_by_ref(conn, source, source_ref) if source_ref is not None else None
        if found is not None:
            return found
        row: dict[str, Any] = {"eco_user_id": f"EU{secrets.token_hex(8)}", "source": source, "scene": scene,
               "source_ref": source_ref, "registered_at": at, "customer_id": None, "converted_at": None}
        if not store.add_eco_user(conn, row):  # registered concurrently by the same source
            return store.eco_user_by_ref(conn, source, str(source_ref)) or row
        store.add_step(conn, row["eco_user_id"], "registered", at, None)
    return row


def record_step(engine: Engine, eco_user_id: str, step: str, now: datetime, *, ref: str | None = None) -> bool:
    """Record that an ecosystem user reached ``service_used`` or ``quoted`` (e.g. a partner quote, ``ref``
    its quote id); only the first time counts. True when it was recorded now."""
    if step not in ("service_used", "quoted"):
        raise InvalidInput(f"step: service_used or quoted, not {step!r} (registration and conversion record "
                           f"their own steps)", field="step")
    at = store.stamp(_aware(now, "now"))
    with engine.begin() as conn:
        if store.get_eco_user(conn, eco_user_id) is None:
            raise UnknownName("ecosystem user", eco_user_id, [])
        return store.add_step(conn, eco_user_id, step, at, ref)


def convert(engine: Engine, eco_user_id: str, customer_id: str, now: datetime) -> dict[str, Any]:
    """Link an ecosystem user to the customer they became and record the ``converted`` step; converting to
    the same customer again changes nothing, to another one is refused. The customer id is not checked
    against the serving database: a policy bound today reaches it with the next refresh."""
    if not customer_id or not customer_id.strip() or len(customer_id) > 64:
        raise InvalidInput("customer_id: give 1 to 64 characters", field="customer_id")
    at = store.stamp(_aware(now, "now"))
    with engine.begin() as conn:
        user = store.get_eco_user(conn, eco_user_id, lock=True)
        if user is None:
            raise UnknownName("ecosystem user", eco_user_id, [])
        if user["customer_id"] == customer_id:
            return user
        if user["customer_id"] is not None:
            raise InvalidInput(f"ecosystem user {eco_user_id} became customer {user['customer_id']} at "
                               f"{user['converted_at']}; it cannot become {customer_id} too", field="customer_id")
        store.set_converted(conn, eco_user_id, customer_id, at)
        store.add_step(conn, eco_user_id, "converted", at, customer_id)
        return store.get_eco_user(conn, eco_user_id) or user


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def funnel(engine: Engine, since: datetime, until: datetime, by: str | None = "source") -> list[dict[str, Any]]:
    """The funnel of ecosystem users registered in [since, until), per ``source``, ``scene`` or overall
    (``by`` None), counting steps whenever they were reached.

    Each step gives ``users`` (users who reached it, in any order: a customer won offline is converted
    without a quote), ``rate_from_registered`` and ``rate_from_previous``: the share of the previous step's
    users who also reached this one. Rates are None over zero."""
    if by not in ("source", "scene", None):
        raise UnknownName("funnel grouping", str(by), ["source", "scene"])
    reached: dict[str, set[str]] = {}
    group_of: dict[str, str] = {}
    for r in store.cohort_steps(engine, store.stamp(_aware(since, "since")), store.stamp(_aware(until, "until"))):
        group_of[r["eco_user_id"]] = "all" if by is None else (r[by] or "(none)")
        reached.setdefault(r["eco_user_id"], set()).add(r["step"])
    out = []
    for group in sorted(set(group_of.values())):
        cohort = [reached[u] for u, g in group_of.items() if g == group]
        out.append({"group": group, "registered": len(cohort), "steps": _steps(cohort)})
    return out


def _steps(cohort: list[set[str]]) -> list[dict[str, Any]]:
    out, previous = [], None
    for step in FunnelStep:
        users = sum(step.value in steps for steps in cohort)
        both = sum(step.value in steps and previous in steps for steps in cohort) if previous else 0
        out.append({"step": step.value, "label_zh": step.zh, "label_en": step.en, "users": users,
                    "rate_from_previous": _rate(both, sum(previous in s for s in cohort)) if previous else None,
                    "rate_from_registered": _rate(users, len(cohort))})
        previous = step.value
    return out
