"""Scene products: pricing, automatic claims and cancellation refunds. Pure functions, no database.

The four products and their parameters live in ``products.toml`` (the shipped file by default):

* **RS01 return shipping** (退货运费险): the chance of a return is a credibility blend of the seller's own return
  rate over the last 12 months and its category's, ``Z = n / (n + k)``; the payout is the return shipping fee
  of the buyer's province; a blended rate above the ceiling is uninsurable.
* **TD01 flight delay** (航班延误险): delay and cancellation probabilities by airport class, scaled by month and
  departure hour band; fixed payouts by delay band; no sale once the delay can be known.
* **AC01 trip accident** (出行意外险): a rate per 1,000 of sum assured per day by occupation class, loaded for
  ages 66-80; minors' death cover capped (保监发〔2015〕90号, ``shouhu.advice.minors``).
* **HM01 one-year medical** (短期医疗险): an annual premium by five-year age band, higher without social insurance.

Money is integer fen, computed in :class:`~decimal.Decimal`; premiums are rounded up to the next 10 fen,
refunds down to the fen. Every bad fact raises :class:`InvalidInput` with ``field`` set to the fact's name and a
message naming the field and the kind of value it got, never the value (it could be an ID number or a phone).
A refusal on the merits (too risky, too old, above the minors' cap) is :class:`Uninsurable`. Formulas, tables
and which numbers are assumptions: docs/partners.md.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from shouhu.advice.minors import RULE as MINOR_RULE
from shouhu.advice.minors import SOURCE as MINOR_SOURCE
from shouhu.advice.minors import death_cap
from shouhu.errors import ConfigError, InvalidInput

BUILT_IN = Path(__file__).with_name("products.toml")
CHINA = timezone(timedelta(hours=8))
MAX_DEPARTURE_AHEAD_DAYS = 365
MAX_DELIVERY_AHEAD_DAYS = 60
TD01_MIN_LEAD = timedelta(hours=2)  # a same-day purchase must be this long before the scheduled departure
PROVINCES = ("北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江", "安徽", "福建",
             "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川", "贵州", "云南", "西藏",
             "陕西", "甘肃", "青海", "宁夏", "新疆")
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")
FLIGHT_NO = re.compile(r"(?:[A-Z]{2}|[A-Z]\d|\d[A-Z])\d{1,4}")  # IATA airline code + 1-4 digits: CA1234, 3U8888
IATA_AIRPORT = re.compile(r"[A-Z]{3}")
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}")  # order numbers, seller ids
_NOISE = Decimal("0.0001")  # Decimal division leaves digits far below a fen; settle them before rounding up
_SHOW = Decimal("0.000001")

T = TypeVar("T")


class Uninsurable(InvalidInput):
    """Valid facts the product will not cover (too risky, too old, above a legal cap)."""

    code = "uninsurable"


# --- the products ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReturnShippingPricing:
    credibility_orders: int
    category_return_rate: dict[str, Decimal]
    standard_fee_fen: int
    region_fee_fen: dict[str, int]
    max_payout_fen: int
    rate_ceiling: Decimal
    risk_margin: Decimal
    expense_ratio: Decimal
    min_premium_fen: int


@dataclass(frozen=True)
class DelayBand:
    minutes: int
    payout_fen: int


@dataclass(frozen=True)
class FlightDelayPricing:
    hub_airports: tuple[str, ...]
    delay_bands: tuple[DelayBand, ...]  # ascending minutes
    cancel_payout_fen: int
    delay_probability: dict[str, tuple[Decimal, ...]]  # airport class -> P(delay >= band minutes) per band
    cancel_probability: dict[str, Decimal]
    month_factor: tuple[Decimal, ...]  # Jan ... Dec
    hour_bands: tuple[tuple[int, Decimal], ...]  # (first hour, factor), ascending from 0
    risk_margin: Decimal
    expense_ratio: Decimal
    min_premium_fen: int


@dataclass(frozen=True)
class AccidentPricing:
    min_days: int
    max_days: int
    min_sum_assured_fen: int
    max_sum_assured_fen: int
    sum_assured_step_fen: int
    max_start_ahead_days: int
    min_age_days: int
    max_age: int
    min_premium_fen: int
    refused_classes: tuple[int, ...]
    rate_per_mille_per_day: dict[int, Decimal]
    age_loading: tuple[tuple[int, int, Decimal], ...]  # (from age, to age, factor)


@dataclass(frozen=True)
class HealthPricing:
    min_age_days: int
    max_issue_age: int
    max_start_ahead_days: int
    deductible_fen: int
    waiting_days: int
    no_social_insurance_factor: Decimal
    sum_assured_options: dict[int, Decimal]  # sum assured (fen) -> factor
    age_band_premium_fen: tuple[int, ...]  # five-year bands from age 0, with social insurance


Pricing = ReturnShippingPricing | FlightDelayPricing | AccidentPricing | HealthPricing


@dataclass(frozen=True)
class SceneProduct:
    code: str
    name_zh: str
    name_en: str
    scene: str
    kind: str
    cover_days: int
    automatic_claims: tuple[str, ...]
    disclosures: tuple[str, ...]
    pricing: Pricing


@dataclass(frozen=True)
class Price:
    premium_fen: int
    sum_assured_fen: int
    cover_start: date
    cover_end: date  # inclusive
    scene_key: str | None
    basis: dict[str, Any]  # JSON-ready: how the premium was reached, and what claims and refunds read later
    facts_used: dict[str, Any]  # only the facts the product prices on, normalised


@dataclass(frozen=True)
class Payout:
    amount_fen: int
    event_type: str
    reason_zh: str
    reason_en: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Refund:
    amount_fen: int
    rule: str  # before_start, cover_started, claim_paid, expired, pro_rata
    reason_zh: str
    reason_en: str


# --- reading products.toml ---------------------------------------------------------------------------------

class _Table:
    """One table of a product; every error names the file, the product and the field (dotted)."""

    def __init__(self, path: Path, code: str, data: Mapping[str, Any], prefix: str = "") -> None:
        self.path, self.code, self.data, self.prefix = path, code, data, prefix

    def fail(self, name: str, problem: str) -> NoReturn:
        where = self.prefix + name
        raise ConfigError(f"{self.path}: product {self.code}: field {where}: {problem}",
                          file=str(self.path), product=self.code, field=where)

    def raw(self, name: str, kinds: type | tuple[type, ...], label: str) -> Any:
        if name not in self.data:
            self.fail(name, "missing")
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, kinds):
            self.fail(name, f"must be {label}, got {_toml_type(value)}")
        return value

    def text(self, name: str) -> str:
        value: str = self.raw(name, str, "a string")
        if not value.strip():
            self.fail(name, "must not be empty")
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        values = self.raw(name, list, "a list of strings")
        if not all(isinstance(v, str) and v for v in values):
            self.fail(name, "must be a list of strings")
        return tuple(values)

    def integer(self, name: str, low: int = 0, high: int | None = None) -> int:
        return self._int_in(name, self.raw(name, int, "an integer"), low, high)

    def _int_in(self, name: str, value: int, low: int, high: int | None) -> int:
        if value < low or (high is not None and value > high):
            self.fail(name, f"must be from {low} to {high}" if high is not None else f"must be at least {low}")
        return value

    def number(self, name: str, low: Decimal = Decimal(0), high: Decimal | None = None) -> Decimal:
        return self._number_in(name, self.raw(name, (int, Decimal), "a number"), low, high)

    def _number_in(self, name: str, value: int | Decimal, low: Decimal, high: Decimal | None) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.fail(name, f"must be a number, got {_toml_type(value)}")
        if value < low or (high is not None and value > high):
            self.fail(name, f"must be from {low} to {high}" if high is not None else f"must be at least {low}")
        return Decimal(value)

    def numbers(self, name: str, count: int | None = None, high: Decimal | None = None) -> tuple[Decimal, ...]:
        values = self.raw(name, list, "a list of numbers")
        if count is not None and len(values) != count:
            self.fail(name, f"must have {count} entries, has {len(values)}")
        return tuple(self._number_in(f"{name}[{i}]", v, Decimal(0), high) for i, v in enumerate(values))

    def integers(self, name: str) -> tuple[int, ...]:
        values = self.raw(name, list, "a list of integers")
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                self.fail(f"{name}[{i}]", "must be a whole number of at least 0")
        return tuple(values)

    def sub(self, name: str) -> _Table:
        return _Table(self.path, self.code, self.raw(name, dict, "a table"), f"{self.prefix}{name}.")

    def rows(self, name: str) -> list[_Table]:
        values = self.raw(name, list, "a list of tables")
        if not values:
            self.fail(name, "must not be empty")
        out = []
        for i, v in enumerate(values):
            if not isinstance(v, dict):
                self.fail(f"{name}[{i}]", f"must be a table, got {_toml_type(v)}")
            out.append(_Table(self.path, self.code, v, f"{self.prefix}{name}[{i}]."))
        return out

    def names(self) -> list[str]:
        return list(self.data)


def _toml_type(value: Any) -> str:
    names = {bool: "boolean", str: "string", int: "integer", Decimal: "float", list: "array", dict: "table"}
    return names.get(type(value), type(value).__name__)


def load_products(path: Path | None = None) -> dict[str, SceneProduct]:
    """Read and check a products file (the shipped ``products.toml`` by default). A mistake raises
    :class:`ConfigError` naming the file, the product and the field."""
    source = path or BUILT_IN
    try:
        doc = tomllib.loads(source.read_text(encoding="utf-8"), parse_float=Decimal)
    except FileNotFoundError:
        raise ConfigError(f"products file not found: {source}", file=str(source)) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}", file=str(source)) from e
    shelf = doc.get("products")
    if not isinstance(shelf, dict) or not shelf:
        raise ConfigError(f"{source}: no [products.<code>] tables", file=str(source))
    out = {}
    for code, table in shelf.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: product {code}: must be a table [products.{code}]",
                              file=str(source), product=code)
        out[code] = _product(_Table(source, code, table))
    return out


def _product(t: _Table) -> SceneProduct:
    kind = t.text("kind")
    if kind not in _KINDS:
        t.fail("kind", f"unknown kind; valid: {', '.join(sorted(_KINDS))}")
    cover_days = t.integer("cover_days", 0 if kind == "accident" else 1, 366)  # accident: chosen per policy
    claims = t.texts("automatic_claims")
    for name in claims:
        if name not in _KINDS[kind].claims:
            t.fail("automatic_claims", f"{kind} cannot claim automatically on {name!r:.40}; valid: "
                   f"{', '.join(sorted(_KINDS[kind].claims)) or '(none)'}")
    return SceneProduct(code=t.code, name_zh=t.text("name_zh"), name_en=t.text("name_en"), scene=t.text("scene"),
                        kind=kind, cover_days=cover_days, automatic_claims=claims,
                        disclosures=t.texts("disclosures"), pricing=_KINDS[kind].parse(t.sub("pricing")))


def _loading(t: _Table) -> tuple[Decimal, Decimal, int]:
    return t.number("risk_margin", high=Decimal(1)), t.number("expense_ratio", high=Decimal("0.9")), \
        t.integer("min_premium_fen", 1)


def _parse_rs(t: _Table) -> ReturnShippingPricing:
    rates = t.sub("category_return_rate")
    fees = t.sub("region_fee_fen")
    for region in fees.names():
        if region not in PROVINCES:
            fees.fail(region, "not a mainland province short name (e.g. 新疆, 广东)")
    margin, expense, minimum = _loading(t)
    return ReturnShippingPricing(
        credibility_orders=t.integer("credibility_orders", 1), rate_ceiling=t.number("rate_ceiling", high=Decimal(1)),
        category_return_rate={c: rates.number(c, high=Decimal(1)) for c in rates.names()},
        standard_fee_fen=t.integer("standard_fee_fen", 1), region_fee_fen={r: fees.integer(r, 1) for r in fees.names()},
        max_payout_fen=t.integer("max_payout_fen", 1), risk_margin=margin, expense_ratio=expense,
        min_premium_fen=minimum)


def _parse_td(t: _Table) -> FlightDelayPricing:
    bands = tuple(DelayBand(r.integer("minutes", 1), r.integer("payout_fen", 1)) for r in t.rows("delay_bands"))
    if [b.minutes for b in bands] != sorted({b.minutes for b in bands}):
        t.fail("delay_bands", "minutes must be ascending and distinct")
    hours = [(r.integer("first_hour", 0, 23), r.number("factor")) for r in t.rows("hour_bands")]
    if [h for h, _ in hours] != sorted({h for h, _ in hours}) or hours[0][0] != 0:
        t.fail("hour_bands", "first_hour must start at 0 and ascend")
    prob = t.sub("probability")
    delay, cancel = {}, {}
    for cls in ("hub", "other"):
        p = prob.sub(cls)
        delay[cls] = p.numbers("delay", len(bands), Decimal(1))
        if list(delay[cls]) != sorted(delay[cls], reverse=True):
            p.fail("delay", "P(delay >= minutes) cannot grow with the minutes")
        cancel[cls] = p.number("cancel", high=Decimal(1))
    margin, expense, minimum = _loading(t)
    return FlightDelayPricing(
        hub_airports=t.texts("hub_airports"), delay_bands=bands, cancel_payout_fen=t.integer("cancel_payout_fen", 1),
        delay_probability=delay, cancel_probability=cancel, month_factor=t.numbers("month_factor", 12),
        hour_bands=tuple(hours), risk_margin=margin, expense_ratio=expense, min_premium_fen=minimum)


def _parse_ac(t: _Table) -> AccidentPricing:
    rates = t.sub("rate_per_mille_per_day")
    by_class = {}
    for key in rates.names():
        if key not in {"1", "2", "3", "4", "5", "6"}:
            rates.fail(key, "an occupation class 1 to 6")
        by_class[int(key)] = rates.number(key)
    loads = tuple((r.integer("from_age"), r.integer("to_age"), r.number("factor")) for r in t.rows("age_loading"))
    refused = t.integers("refused_classes")
    if missing := sorted(set(range(1, 7)) - set(refused) - set(by_class)):
        t.fail("rate_per_mille_per_day", f"no rate for occupation class {missing[0]} (nor refused)")
    return AccidentPricing(
        min_days=t.integer("min_days", 1), max_days=t.integer("max_days", 1, 366),
        min_sum_assured_fen=t.integer("min_sum_assured_fen", 1),
        max_sum_assured_fen=t.integer("max_sum_assured_fen", 1),
        sum_assured_step_fen=t.integer("sum_assured_step_fen", 1),
        max_start_ahead_days=t.integer("max_start_ahead_days"), min_age_days=t.integer("min_age_days"),
        max_age=t.integer("max_age", 1, 120), min_premium_fen=t.integer("min_premium_fen", 1),
        refused_classes=refused, rate_per_mille_per_day=by_class, age_loading=loads)


def _parse_hm(t: _Table) -> HealthPricing:
    options = {r.integer("sum_assured_fen", 1): r.number("factor") for r in t.rows("sum_assured_options")}
    max_age = t.integer("max_issue_age", 0, 120)
    bands = t.integers("age_band_premium_fen")
    if len(bands) <= max_age // 5:
        t.fail("age_band_premium_fen", f"needs a premium for every five-year band up to age {max_age}")
    return HealthPricing(
        min_age_days=t.integer("min_age_days"), max_issue_age=max_age,
        max_start_ahead_days=t.integer("max_start_ahead_days"), deductible_fen=t.integer("deductible_fen"),
        waiting_days=t.integer("waiting_days", 0, 365),
        no_social_insurance_factor=t.number("no_social_insurance_factor", Decimal(1)), sum_assured_options=options,
        age_band_premium_fen=bands)


# --- facts -------------------------------------------------------------------------------------------------

def _bad(name: str, problem: str, value: Any = None) -> InvalidInput:
    got = "" if value is None else f" (got {type(value).__name__})"
    return InvalidInput(f"{name}: {problem}{got}", field=name)


def _get(facts: Mapping[str, Any], name: str) -> Any:
    value = facts.get(name)
    if value is None or value == "":
        raise _bad(name, "missing")
    return value


def _int(facts: Mapping[str, Any], name: str, low: int, high: int, rule: str | None = None) -> int:
    value = _get(facts, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(name, "must be a whole number", value)
    if not low <= value <= high:
        raise _bad(name, rule or f"must be from {low} to {high}")
    return value


def _date(facts: Mapping[str, Any], name: str) -> date:
    value = _get(facts, name)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _bad(name, "must be a date YYYY-MM-DD", value)


def _ref(facts: Mapping[str, Any], name: str, pattern: re.Pattern[str] = REFERENCE, upper: bool = False,
         what: str = "letters, digits and _ . : / -, at most 64 characters") -> str:
    value = _get(facts, name)
    if not isinstance(value, str):
        raise _bad(name, f"must be a string of {what}", value)
    text = value.strip().upper() if upper else value.strip()
    if not pattern.fullmatch(text):
        raise _bad(name, f"must be {what}")
    return text


def _bool(facts: Mapping[str, Any], name: str) -> bool:
    value = facts.get(name)
    if not isinstance(value, bool):
        raise _bad(name, "must be true or false", value)
    return value


def _choice(facts: Mapping[str, Any], name: str, choices: Mapping[str, Any]) -> str:
    value = _get(facts, name)
    if not isinstance(value, str) or value not in choices:
        raise _bad(name, f"must be one of {', '.join(choices)}", value if not isinstance(value, str) else None)
    return value


def _start(facts: Mapping[str, Any], on: date, ahead: int) -> date:
    start = _date(facts, "start_date")
    if start < on:
        raise _bad("start_date", "cover cannot start before the quote day")
    if start > on + timedelta(days=ahead):
        raise _bad("start_date", f"cover must start within {ahead} days of the quote")
    return start


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _insured_age(facts: Mapping[str, Any], on: date, start: date, min_days: int, max_age: int) -> int:
    birth = _date(facts, "insured_birth_date")
    if birth > on:
        raise _bad("insured_birth_date", "is after the quote day")
    if (start - birth).days < min_days:
        raise Uninsurable(f"insured_birth_date: the insured must be at least {min_days} days old when cover "
                          "starts", field="insured_birth_date")
    age = _age(birth, start)
    if age > max_age:
        raise Uninsurable(f"insured_birth_date: ages above {max_age} are not accepted", field="insured_birth_date")
    return age


def _region(facts: Mapping[str, Any]) -> str | None:
    value = facts.get("shipping_region")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad("shipping_region", "must be a mainland province, e.g. 广东 or 新疆维吾尔自治区", value)
    short = value.strip()
    for suffix in _PROVINCE_SUFFIXES:
        if short.endswith(suffix) and short[: -len(suffix)] in PROVINCES:
            short = short[: -len(suffix)]
            break
    if short not in PROVINCES:
        raise _bad("shipping_region", "must be a mainland province, e.g. 广东 or 新疆维吾尔自治区")
    return short


# --- arithmetic --------------------------------------------------------------------------------------------

def _up10(amount: Decimal) -> int:
    """Round a premium up to the next 10 fen."""
    return int((amount.quantize(_NOISE) / 10).to_integral_value(rounding=ROUND_CEILING) * 10)


def _show(value: Decimal) -> str:
    return str(value.quantize(_SHOW))


def _load(margin: Decimal, expense: Decimal) -> Decimal:
    return (1 + margin) / (1 - expense)


def _step(name: str, value: Any, how: str) -> dict[str, Any]:
    return {"step": name, "value": _show(value) if isinstance(value, Decimal) else value, "how": how}


def _params(product: SceneProduct, cls: type[T]) -> T:
    if not isinstance(product.pricing, cls):
        raise ConfigError(f"product {product.code}: pricing is not {cls.__name__}", product=product.code)
    return product.pricing


def _ignored(facts: Mapping[str, Any], used: Mapping[str, Any]) -> list[str]:
    return sorted(str(k)[:40] for k in facts if k not in used)


# --- RS01 return shipping ----------------------------------------------------------------------------------

def _price_rs(product: SceneProduct, facts: Mapping[str, Any], on: date) -> Price:
    p = _params(product, ReturnShippingPricing)
    seller = _ref(facts, "seller_id")
    orders = _int(facts, "seller_orders_12m", 0, 10**9)
    returns = _int(facts, "seller_returns_12m", 0, orders, "must be from 0 to seller_orders_12m")
    category = _choice(facts, "category", p.category_return_rate)
    order_no = _ref(facts, "order_no")
    value = _int(facts, "order_value_fen", 1, 10**10)
    delivered = _date(facts, "delivered_on")
    if delivered < on:
        raise _bad("delivered_on", "before the quote day: return cover is bought before delivery")
    if delivered > on + timedelta(days=MAX_DELIVERY_AHEAD_DAYS):
        raise _bad("delivered_on", f"more than {MAX_DELIVERY_AHEAD_DAYS} days after the quote day")
    region = _region(facts)
    k = p.credibility_orders
    own = Decimal(returns) / orders if orders else Decimal(0)
    base = p.category_return_rate[category]
    z = Decimal(orders) / (orders + k)
    rate = z * own + (1 - z) * base
    if rate > p.rate_ceiling:
        raise Uninsurable(f"seller_returns_12m: the seller's blended return rate is above the ceiling of "
                          f"{p.rate_ceiling:.0%}", field="seller_returns_12m")
    fee = p.region_fee_fen.get(region, p.standard_fee_fen) if region else p.standard_fee_fen
    insured = min(fee, p.max_payout_fen, value)
    load = _load(p.risk_margin, p.expense_ratio)
    raw = rate * insured * load
    premium = max(p.min_premium_fen, _up10(raw))
    steps = [
        _step("seller_rate", own, f"seller_returns_12m / seller_orders_12m = {returns} / {orders}"),
        _step("credibility", z, f"Z = n / (n + k) = {orders} / ({orders} + {k})"),
        _step("category_rate", base, f"category {category}"),
        _step("return_probability", rate, "Z * seller_rate + (1 - Z) * category_rate"),
        _step("insured_fee_fen", insured, f"min(fee of {region or 'standard region'} {fee}, cap "
                                          f"{p.max_payout_fen}, order value {value})"),
        _step("loading", load, f"(1 + risk margin {p.risk_margin}) / (1 - expense ratio {p.expense_ratio})"),
        _step("raw_premium_fen", raw, "return_probability * insured_fee_fen * loading"),
        _step("premium_fen", premium, f"rounded up to 10 fen, at least {p.min_premium_fen}"),
    ]
    used = {"seller_id": seller, "seller_orders_12m": orders, "seller_returns_12m": returns, "category": category,
            "order_no": order_no, "order_value_fen": value, "delivered_on": delivered.isoformat()}
    if region:
        used["shipping_region"] = region
    basis = {"product": product.code, "method": "credibility_blend", "steps": steps, "insured_fee_fen": insured,
             "premium_fen": premium, "ignored_facts": _ignored(facts, used | {"shipping_region": None})}
    return Price(premium, insured, delivered, delivered + timedelta(days=product.cover_days - 1), order_no, basis,
                 used)


# --- TD01 flight delay -------------------------------------------------------------------------------------

def _booked(facts: Mapping[str, Any], on: date, departure: datetime) -> str | None:
    """When the customer bought: before the departure day, or on it at least 2 hours before departure (a time)."""
    value = facts.get("booked_on")
    same_day = on >= departure.date()
    if value is None or value == "" or (isinstance(value, date) and not isinstance(value, datetime)) or (
            isinstance(value, str) and len(value) == 10):
        if same_day:
            raise Uninsurable("booked_on: on the departure day, the time of purchase is needed (at least 2 hours "
                              "before departure)", field="booked_on")
        if value is None or value == "":
            return None
        day = _date(facts, "booked_on")
        if day > on:
            raise _bad("booked_on", "is after the quote day")
        return day.isoformat()
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        at = at.astimezone(CHINA) if at.tzinfo else at.replace(tzinfo=CHINA)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 with an offset has no China time
        raise _bad("booked_on", "must be a date or an ISO 8601 time", value) from None
    if at.date() > on:
        raise _bad("booked_on", "is after the quote day")
    if at > departure - TD01_MIN_LEAD:
        raise Uninsurable("booked_on: bought less than 2 hours before the scheduled departure (the delay may "
                          "be known)", field="booked_on")
    return at.isoformat()


def _price_td(product: SceneProduct, facts: Mapping[str, Any], on: date) -> Price:
    p = _params(product, FlightDelayPricing)
    flight = _ref(facts, "flight_no", FLIGHT_NO, upper=True, what="an airline code and 1-4 digits, e.g. CA1234")
    day = _date(facts, "departure_date")
    hour = _int(facts, "departure_hour", 0, 23)
    airport = _ref(facts, "departure_airport", IATA_AIRPORT, upper=True, what="an IATA airport code, e.g. PEK")
    if day < on:
        raise _bad("departure_date", "is before the quote day")
    if day > on + timedelta(days=MAX_DEPARTURE_AHEAD_DAYS):
        raise _bad("departure_date", f"more than {MAX_DEPARTURE_AHEAD_DAYS} days ahead")
    booked = _booked(facts, on, datetime(day.year, day.month, day.day, hour, tzinfo=CHINA))
    cls = "hub" if airport in p.hub_airports else "other"
    month = p.month_factor[day.month - 1]
    hour_factor = [f for first, f in p.hour_bands if first <= hour][-1]
    factor = month * hour_factor
    at_least = [min(Decimal(1), q * factor) for q in p.delay_probability[cls]]
    cancel = min(Decimal(1), p.cancel_probability[cls] * factor)
    expected = cancel * p.cancel_payout_fen
    steps = [_step("airport_class", cls, f"{airport} is {'a busy hub' if cls == 'hub' else 'not a hub'}"),
             _step("factor", factor, f"month {day.month} factor {month} * hour {hour} factor {hour_factor}")]
    for i, band in enumerate(p.delay_bands):
        only = at_least[i] - (at_least[i + 1] if i + 1 < len(at_least) else 0)
        expected += only * band.payout_fen
        steps.append(_step(f"p_delay_{band.minutes}", only, f"P(delay in band from {band.minutes} min) * factor"))
    load = _load(p.risk_margin, p.expense_ratio)
    raw = expected * load
    premium = max(p.min_premium_fen, _up10(raw))
    steps += [_step("p_cancel", cancel, "P(cancelled) * factor"),
              _step("expected_payout_fen", expected, "sum of p_delay * band payout + p_cancel * cancel payout"),
              _step("loading", load, f"(1 + risk margin {p.risk_margin}) / (1 - expense ratio {p.expense_ratio})"),
              _step("premium_fen", premium, f"expected * loading = {_show(raw)}, up to 10 fen, at least "
                                            f"{p.min_premium_fen}")]
    used = {"flight_no": flight, "departure_date": day.isoformat(), "departure_hour": hour,
            "departure_airport": airport}
    if booked:
        used["booked_on"] = booked
    basis = {"product": product.code, "method": "expected_payout", "steps": steps, "premium_fen": premium,
             "delay_bands": [{"minutes": b.minutes, "payout_fen": b.payout_fen} for b in p.delay_bands],
             "cancel_payout_fen": p.cancel_payout_fen, "ignored_facts": _ignored(facts, used | {"booked_on": None})}
    insured = max([b.payout_fen for b in p.delay_bands] + [p.cancel_payout_fen])
    return Price(premium, insured, day, day + timedelta(days=max(product.cover_days, 1) - 1), f"{flight}:{day}",
                 basis, used)


# --- AC01 trip accident ------------------------------------------------------------------------------------

def _price_ac(product: SceneProduct, facts: Mapping[str, Any], on: date) -> Price:
    p = _params(product, AccidentPricing)
    start = _start(facts, on, p.max_start_ahead_days)
    age = _insured_age(facts, on, start, p.min_age_days, p.max_age)
    occ = _int(facts, "occupation_class", 1, 6, "must be an occupation class from 1 to 6")
    if occ in p.refused_classes:
        raise Uninsurable(f"occupation_class: classes {', '.join(map(str, p.refused_classes))} are not accepted",
                          field="occupation_class")
    days = _int(facts, "days", p.min_days, p.max_days)
    sa = _int(facts, "sum_assured_fen", p.min_sum_assured_fen, p.max_sum_assured_fen,
              f"must be from {p.min_sum_assured_fen // 100:,} to {p.max_sum_assured_fen // 100:,} yuan (in fen)")
    if sa % p.sum_assured_step_fen:
        raise _bad("sum_assured_fen", f"must be a multiple of {p.sum_assured_step_fen // 100:,} yuan")
    elsewhere = 0 if facts.get("other_death_cover_fen") is None else _int(facts, "other_death_cover_fen", 0, 10**12)
    cap = death_cap(age)
    if cap is not None and sa + elsewhere > int(cap) * 100:
        raise Uninsurable(f"sum_assured_fen: rule {MINOR_RULE} ({MINOR_SOURCE}): a child aged {age} may have at most "
                          f"{int(cap):,} yuan of death cover over all insurers", field="sum_assured_fen",
                          rule=MINOR_RULE)
    rate = p.rate_per_mille_per_day[occ]
    loading = next((f for low, high, f in p.age_loading if low <= age <= high), Decimal(1))
    raw = Decimal(sa) * rate / 1000 * days * loading
    premium = max(p.min_premium_fen, _up10(raw))
    steps = [_step("age_at_start", age, f"whole years on {start}"),
             _step("rate_per_mille_per_day", rate, f"occupation class {occ}"),
             _step("age_loading", loading, "ages 66-80 loaded" if loading != 1 else "none"),
             _step("raw_premium_fen", raw, f"sum_assured_fen {sa} * rate / 1000 * {days} days * age_loading"),
             _step("premium_fen", premium, f"rounded up to 10 fen, at least {p.min_premium_fen}")]
    if cap is not None:
        steps.insert(1, _step("minor_death_cap_fen", int(cap) * 100, f"{MINOR_RULE} ({MINOR_SOURCE}), with "
                                                                     f"{elsewhere} fen declared elsewhere"))
    used: dict[str, Any] = {"insured_birth_date": _date(facts, "insured_birth_date").isoformat(),
                            "occupation_class": occ, "days": days, "sum_assured_fen": sa,
                            "start_date": start.isoformat()}
    if elsewhere:
        used["other_death_cover_fen"] = elsewhere
    basis = {"product": product.code, "method": "rate_per_mille_per_day", "steps": steps, "premium_fen": premium,
             "ignored_facts": _ignored(facts, used | {"other_death_cover_fen": None})}
    return Price(premium, sa, start, start + timedelta(days=days - 1), None, basis, used)


# --- HM01 one-year medical ---------------------------------------------------------------------------------

def _price_hm(product: SceneProduct, facts: Mapping[str, Any], on: date) -> Price:
    p = _params(product, HealthPricing)
    start = _start(facts, on, p.max_start_ahead_days)
    age = _insured_age(facts, on, start, p.min_age_days, p.max_issue_age)
    sa = _get(facts, "sum_assured_fen")
    if isinstance(sa, bool) or not isinstance(sa, int) or sa not in p.sum_assured_options:
        options = ", ".join(f"{o // 100:,} yuan ({o})" for o in p.sum_assured_options)
        raise _bad("sum_assured_fen", f"must be one of {options}", sa if not isinstance(sa, int) else None)
    social = _bool(facts, "has_social_insurance")
    band = age // 5
    annual = p.age_band_premium_fen[band]
    sa_factor = p.sum_assured_options[sa]
    si_factor = Decimal(1) if social else p.no_social_insurance_factor
    raw = annual * sa_factor * si_factor
    premium = _up10(raw)
    illness_from = start + timedelta(days=p.waiting_days)
    steps = [_step("age_at_start", age, f"whole years on {start}"),
             _step("band_premium_fen", annual, f"age band {band * 5}-{band * 5 + 4}, with social insurance"),
             _step("sum_assured_factor", sa_factor, f"sum assured {sa // 100:,} yuan"),
             _step("social_insurance_factor", si_factor, "with 社保" if social else "without 社保"),
             _step("premium_fen", premium, f"{annual} * {sa_factor} * {si_factor} = {_show(raw)}, up to 10 fen")]
    used = {"insured_birth_date": _date(facts, "insured_birth_date").isoformat(), "sum_assured_fen": sa,
            "has_social_insurance": social, "start_date": start.isoformat()}
    basis = {"product": product.code, "method": "age_band_table", "steps": steps, "premium_fen": premium,
             "deductible_fen": p.deductible_fen, "waiting_days": p.waiting_days,
             "illness_cover_from": illness_from.isoformat(), "ignored_facts": _ignored(facts, used)}
    return Price(premium, sa, start, start + timedelta(days=product.cover_days - 1), None, basis, used)


def price(product: SceneProduct, facts: Mapping[str, Any], *, on: date) -> Price:
    """Price ``product`` on the partner's scene ``facts`` for a quote made ``on`` (China date)."""
    if not isinstance(facts, Mapping):
        raise InvalidInput("facts: must be an object", field="facts")
    return _KINDS[product.kind].price(product, facts, on)


# --- automatic claims --------------------------------------------------------------------------------------

def _policy_date(policy: Mapping[str, Any], name: str) -> date:
    value = policy.get(name)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise _bad(name, "the policy needs a date YYYY-MM-DD", value) from None


def _basis_int(policy: Mapping[str, Any], name: str) -> int:
    basis = policy.get("basis")
    value = basis.get(name) if isinstance(basis, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"basis.{name}", "the policy's pricing basis lacks this amount", value)
    return value


def _covered(policy: Mapping[str, Any], day: date) -> bool:
    return _policy_date(policy, "cover_start") <= day <= _policy_date(policy, "cover_end")


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


def _claim_rs(policy: Mapping[str, Any], trigger: Mapping[str, Any]) -> Payout | None:
    order_no = _ref(trigger, "order_no")
    shipped = _date(trigger, "shipped_on")
    actual = None if trigger.get("shipping_fee_fen") is None else _int(trigger, "shipping_fee_fen", 0, 10**7)
    if order_no != policy.get("scene_key") or not _covered(policy, shipped):
        return None
    insured = _basis_int(policy, "insured_fee_fen")
    if isinstance(cap := policy.get("sum_assured_fen"), int) and cap > 0:
        insured = min(insured, cap)
    amount = insured if actual is None else min(insured, actual)
    if amount <= 0:
        return None
    return Payout(amount, "return_shipped", f"退货已于{shipped}寄出，赔付退货运费{_yuan(amount)}元",
                  f"return shipped on {shipped}: return shipping fee of {_yuan(amount)} yuan paid",
                  {"order_no": order_no, "shipped_on": shipped.isoformat(), "insured_fee_fen": insured,
                   "actual_fee_fen": actual})


def _flight(policy: Mapping[str, Any], trigger: Mapping[str, Any]) -> date | None:
    flight = _ref(trigger, "flight_no", FLIGHT_NO, upper=True, what="an airline code and 1-4 digits, e.g. CA1234")
    day = _date(trigger, "departure_date")
    if f"{flight}:{day}" != policy.get("scene_key") or not _covered(policy, day):
        return None
    return day


def _bands(policy: Mapping[str, Any]) -> list[tuple[int, int]]:
    """The delay bands stored at quote time, (minutes, payout fen), ascending."""
    bands: Any = (policy.get("basis") or {}).get("delay_bands")
    try:
        out = sorted((int(b["minutes"]), int(b["payout_fen"])) for b in bands)
    except (TypeError, KeyError, ValueError):
        raise _bad("basis.delay_bands", "the policy's pricing basis lacks the delay bands") from None
    if not out:
        raise _bad("basis.delay_bands", "the policy's pricing basis lacks the delay bands")
    return out


def _claim_delay(policy: Mapping[str, Any], trigger: Mapping[str, Any]) -> Payout | None:
    minutes = _int(trigger, "delay_minutes", 0, 7 * 24 * 60)
    if (day := _flight(policy, trigger)) is None:
        return None
    reached = [(m, fen) for m, fen in _bands(policy) if m <= minutes]
    if not reached:
        return None
    band, amount = reached[-1]
    key = policy["scene_key"]
    return Payout(amount, "flight_delayed", f"航班{key}延误{minutes}分钟（达到{band}分钟档），赔付{_yuan(amount)}元",
                  f"flight {key} delayed {minutes} minutes (band {band}): {_yuan(amount)} yuan paid",
                  {"departure_date": day.isoformat(), "delay_minutes": minutes, "band_minutes": band})


def _claim_cancel(policy: Mapping[str, Any], trigger: Mapping[str, Any]) -> Payout | None:
    if (day := _flight(policy, trigger)) is None:
        return None
    amount = _basis_int(policy, "cancel_payout_fen")
    return Payout(amount, "flight_cancelled", f"航班{policy['scene_key']}取消，赔付{_yuan(amount)}元",
                  f"flight {policy['scene_key']} cancelled: {_yuan(amount)} yuan paid",
                  {"departure_date": day.isoformat()})


_CLAIMS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], Payout | None]] = {
    "return_shipped": _claim_rs, "flight_delayed": _claim_delay, "flight_cancelled": _claim_cancel}


def automatic_claim(product: SceneProduct, policy: Mapping[str, Any], trigger: Mapping[str, Any]) -> Payout | None:
    """The payout a trigger event earns ``policy``, or None: another order or flight, outside the cover, below
    the first delay band, or an event this product does not claim automatically. A malformed trigger raises
    :class:`InvalidInput` naming the field."""
    kind = trigger.get("type")
    if not isinstance(kind, str) or not kind:
        raise _bad("type", "the trigger's type is missing", kind)
    if kind not in product.automatic_claims or kind not in _CLAIMS:
        return None
    return _CLAIMS[kind](policy, trigger)


# --- cancellation ------------------------------------------------------------------------------------------

def refund(product: SceneProduct, policy: Mapping[str, Any], on: date, *, claimed: bool) -> Refund:
    """What cancelling ``policy`` on ``on`` refunds. Before cover starts: everything. A paid claim: nothing.
    Return shipping and flight delay once cover has started: nothing (the risk is mostly run by then). Accident
    and medical: the unexpired premium pro rata by days, the cancellation day counting as used."""
    start, end = _policy_date(policy, "cover_start"), _policy_date(policy, "cover_end")
    premium = policy.get("premium_fen")
    premium = _basis_int(policy, "premium_fen") if premium is None else premium
    if isinstance(premium, bool) or not isinstance(premium, int) or premium < 0:
        raise _bad("premium_fen", "the policy needs its premium in fen", premium)
    if claimed:
        return Refund(0, "claim_paid", "已发生赔付，不退还保险费", "a claim was paid: no refund")
    if on < start:
        return Refund(premium, "before_start", f"保障开始（{start}）前退保，全额退还保险费",
                      f"cancelled before cover starts on {start}: full refund")
    if product.kind in ("return_shipping", "travel_delay"):
        return Refund(0, "cover_started", "保障已开始，不退还保险费", "cover has started: no refund")
    unexpired, total = (end - on).days, (end - start).days + 1
    if unexpired <= 0:
        return Refund(0, "expired", "保障期已届满，不退还保险费", "cover has run out: no refund")
    amount = int((Decimal(premium) * unexpired / total).to_integral_value(rounding=ROUND_FLOOR))
    return Refund(amount, "pro_rata", f"按未满期天数退还保险费：{premium}分 × {unexpired}/{total}天",
                  f"unexpired premium refunded pro rata: {premium} fen * {unexpired}/{total} days")


# --- the kinds ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Kind:
    parse: Callable[[_Table], Pricing]
    price: Callable[[SceneProduct, Mapping[str, Any], date], Price]
    claims: frozenset[str]


_KINDS: dict[str, _Kind] = {
    "return_shipping": _Kind(_parse_rs, _price_rs, frozenset({"return_shipped"})),
    "travel_delay": _Kind(_parse_td, _price_td, frozenset({"flight_delayed", "flight_cancelled"})),
    "accident": _Kind(_parse_ac, _price_ac, frozenset()),
    "health": _Kind(_parse_hm, _price_hm, frozenset()),
}
