"""The health programme's configuration: earning rules, caps, expiry, tiers, vouchers, reward tables and
service levels, read from ``programme.toml`` (shipped beside this module) or a file of the same shape.

Loading checks the rules that keep the programme honest, and names the key that breaks one:

* every category's annual cap is below the first status threshold, so no single activity earns a status;
* the annual caps together reach the top threshold, so every tier can be reached;
* a reward table exists only for a product on the shelf, covers every tier, never promises more premium
  discount than ``max_discount_pct`` and never gives a higher tier less than a lower one;
* every customer-value tier has a service level.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from shouhu.errors import ConfigError

SHIPPED = Path(__file__).with_name("programme.toml")
STEPS = "steps"
VALUE_TIERS = ("platinum", "gold", "silver", "standard")  # shouhu.scoring.value.TIERS, best first


@dataclass(frozen=True)
class Band:
    min_age: int
    max_age: int
    thresholds: tuple[tuple[int, int], ...]  # (at least, points), ascending


@dataclass(frozen=True)
class Category:
    code: str
    name_zh: str
    name_en: str
    daily_cap: int
    annual_cap: int
    points: int = 0                               # event categories: points per event
    bands: tuple[Band, ...] = ()                  # steps: age-adjusted step bands
    active_thresholds: tuple[tuple[int, int], ...] = ()  # steps: active-minute bands


@dataclass(frozen=True)
class Tier:
    code: str
    name_zh: str
    name_en: str
    min_points: int


@dataclass(frozen=True)
class Voucher:
    code: str
    name_zh: str
    name_en: str
    partner: str
    points: int


@dataclass(frozen=True)
class TierReward:
    premium_discount_pct: int
    cover_growth_cap_pct: int
    vouchers: tuple[str, ...]


@dataclass(frozen=True)
class RewardTable:
    product_code: str
    cover_growth_steps: int
    cover_growth_bp_per_day: int
    tiers: dict[str, TierReward]


@dataclass(frozen=True)
class ServiceLevel:
    tier: str
    name_zh: str
    name_en: str
    response_minutes: int
    routing_priority: int
    benefits: tuple[str, ...]


@dataclass(frozen=True)
class Programme:
    year_start: tuple[int, int]                   # (month, day)
    expiry_days: int
    carry_share: float
    max_discount_pct: int
    categories: dict[str, Category]
    tiers: tuple[Tier, ...]                       # lowest first
    vouchers: dict[str, Voucher]
    rewards: dict[str, RewardTable]
    service_levels: dict[str, ServiceLevel]
    benefits: dict[str, tuple[str, str]]          # code -> (zh, en)

    @property
    def event_kinds(self) -> tuple[str, ...]:
        return tuple(c for c in self.categories if c != STEPS)

    def year_of(self, day: date) -> int:
        """The programme year a day falls in, named by the calendar year it starts in."""
        return day.year if (day.month, day.day) >= self.year_start else day.year - 1

    def year_starts(self, year: int) -> date:
        return date(year, *self.year_start)


class _Reader:
    """Typed access to one TOML table, with errors that name the file and the key."""

    def __init__(self, source: str, raw: dict[str, Any], prefix: str = "") -> None:
        self.source, self.raw, self.prefix = source, raw, prefix

    def bad(self, key: str, why: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.prefix}{key}: {why}", field=f"{self.prefix}{key}")

    def sub(self, key: str) -> _Reader:
        value = self.raw.get(key, {})
        if not isinstance(value, dict):
            raise self.bad(key, "must be a table")
        return _Reader(self.source, value, f"{self.prefix}{key}.")

    def integer(self, key: str, low: int = 0, default: int | None = None) -> int:
        value = self.raw.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise self.bad(key, f"must be a whole number of at least {low}, not {value!r}")
        return value

    def text(self, key: str) -> str:
        value = self.raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.bad(key, "must be a non-empty text")
        return value

    def pairs(self, key: str) -> tuple[tuple[int, int], ...]:
        value = self.raw.get(key)
        ok = isinstance(value, list) and value and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, int) and x > 0 for x in p) for p in value)
        if not ok:
            raise self.bad(key, "must be a list of [at least, points] pairs of positive whole numbers")
        pairs = tuple((int(a), int(b)) for a, b in value)  # type: ignore[union-attr]
        if any(x[0] >= y[0] or x[1] >= y[1] for x, y in itertools.pairwise(pairs)):
            raise self.bad(key, "thresholds and points must both rise from band to band")
        return pairs

    def codes(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.bad(key, "must be a list of codes")
        return tuple(value)


def _year_start(r: _Reader) -> tuple[int, int]:
    text = r.text("year_start")
    try:
        parsed = date.fromisoformat(f"2001-{text}")  # 2001: not a leap year, so 02-29 is refused
    except ValueError:
        raise r.bad("year_start", f"must be MM-DD of a day every year has, not {text!r}") from None
    return parsed.month, parsed.day


def _steps(r: _Reader, base: Category) -> Category:
    raw_bands = r.raw.get("bands")
    if not isinstance(raw_bands, list) or not raw_bands:
        raise r.bad("bands", "list at least one age band ([[categories.steps.bands]])")
    bands = []
    for i, raw in enumerate(raw_bands):
        b = _Reader(r.source, raw, f"{r.prefix}bands[{i}].")
        bands.append(Band(b.integer("min_age"), b.integer("max_age"), b.pairs("thresholds")))
    active = r.sub("active_minutes").pairs("thresholds") if "active_minutes" in r.raw else ()
    return replace(base, bands=tuple(bands), active_thresholds=active)


def _category(r: _Reader, code: str) -> Category:
    base = Category(code, r.text("name_zh"), r.text("name_en"), r.integer("daily_cap", 1), r.integer("annual_cap", 1))
    if base.annual_cap < base.daily_cap:
        raise r.bad("annual_cap", "must be at least daily_cap")
    if code == STEPS:
        return _steps(r, base)
    return replace(base, points=r.integer("points", 1))


def _check_caps(r: _Reader, categories: dict[str, Category], tiers: tuple[Tier, ...]) -> None:
    first = next((t.min_points for t in tiers if t.min_points > 0), None)
    for c in categories.values():
        if first is not None and c.annual_cap >= first:
            raise r.bad(f"categories.{c.code}.annual_cap",
                        f"{c.annual_cap} would earn status {tiers[1].code} ({first}) by one activity alone")
    if sum(c.annual_cap for c in categories.values()) < tiers[-1].min_points:
        raise r.bad("categories", f"the annual caps add up to less than the top tier's {tiers[-1].min_points}")


def _tiers(r: _Reader) -> tuple[Tier, ...]:
    raw = r.raw.get("tiers")
    if not isinstance(raw, list) or len(raw) < 2:
        raise r.bad("tiers", "list at least two tiers ([[tiers]]), the first at 0 points")
    tiers = tuple(Tier(t.text("code"), t.text("name_zh"), t.text("name_en"), t.integer("min_points"))
                  for t in (_Reader(r.source, x, f"tiers[{i}].") for i, x in enumerate(raw)))
    if tiers[0].min_points != 0 or any(a.min_points >= b.min_points for a, b in itertools.pairwise(tiers)):
        raise r.bad("tiers", "the first tier starts at 0 points and each next one needs more")
    return tiers


def _reward(r: _Reader, product: str, tiers: tuple[Tier, ...], vouchers: dict[str, Voucher],
            ceiling: int) -> RewardTable:
    by_tier: dict[str, TierReward] = {}
    for t in tiers:
        tr = r.sub("tiers").sub(t.code)
        if not tr.raw:
            raise tr.bad("", f"the table gives nothing for tier {t.code}; every tier needs a row")
        reward = TierReward(tr.integer("premium_discount_pct"), tr.integer("cover_growth_cap_pct"),
                            tr.codes("vouchers"))
        if reward.premium_discount_pct > ceiling:
            raise tr.bad("premium_discount_pct", f"{reward.premium_discount_pct}% is over the {ceiling}% ceiling")
        unknown = [v for v in reward.vouchers if v not in vouchers]
        if unknown:
            raise tr.bad("vouchers", f"unknown voucher {unknown[0]!r}; valid: {', '.join(sorted(vouchers))}")
        lower = by_tier[tiers[len(by_tier) - 1].code] if by_tier else None
        if lower and (reward.premium_discount_pct < lower.premium_discount_pct
                      or reward.cover_growth_cap_pct < lower.cover_growth_cap_pct):
            raise tr.bad("", "a higher tier may not get less than the tier below it")
        by_tier[t.code] = reward
    return RewardTable(product, r.integer("cover_growth_steps"), r.integer("cover_growth_bp_per_day"), by_tier)


def _rewards(r: _Reader, tiers: tuple[Tier, ...], vouchers: dict[str, Voucher], ceiling: int) -> dict[str, RewardTable]:
    from shouhu.reference.products import SHELF

    shelf = {p.code for p in SHELF}
    out = {}
    for product in r.raw:
        if product not in shelf:
            raise r.bad(product, f"no product {product!r} on the shelf (shouhu.reference.products)")
        out[product] = _reward(r.sub(product), product, tiers, vouchers, ceiling)
    return out


def _service_levels(r: _Reader, benefits: dict[str, tuple[str, str]]) -> dict[str, ServiceLevel]:
    out = {}
    for tier in VALUE_TIERS:
        s = r.sub(tier)
        if not s.raw:
            raise s.bad("", f"value tier {tier} has no service level")
        level = ServiceLevel(tier, s.text("name_zh"), s.text("name_en"), s.integer("response_minutes", 1),
                             s.integer("routing_priority", 1), s.codes("benefits"))
        unknown = [b for b in level.benefits if b not in benefits]
        if unknown:
            raise s.bad("benefits", f"unknown benefit {unknown[0]!r}; valid: {', '.join(sorted(benefits))}")
        out[tier] = level
    return out


def _benefits(r: _Reader) -> dict[str, tuple[str, str]]:
    out = {}
    for code, value in r.raw.items():
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
            raise r.bad(code, "must be [zh, en]")
        out[code] = (str(value[0]), str(value[1]))
    return out


def parse(text: str, source: str = "programme.toml") -> Programme:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}", field="(file)") from e
    r = _Reader(source, raw)
    p = r.sub("programme")
    share = p.raw.get("carry_share")
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0 <= share <= 1:
        raise p.bad("carry_share", f"must be a share between 0 and 1, not {share!r}")
    tiers = _tiers(r)
    cats = {code: _category(r.sub("categories").sub(code), code) for code in r.sub("categories").raw}
    if STEPS not in cats:
        raise r.bad("categories.steps", "the steps category is required")
    _check_caps(r, cats, tiers)
    vouchers = {code: Voucher(code, v.text("name_zh"), v.text("name_en"), v.text("partner"), v.integer("points", 1))
                for code, v in ((c, r.sub("vouchers").sub(c)) for c in r.sub("vouchers").raw)}
    ceiling = p.integer("max_discount_pct")
    benefits = _benefits(r.sub("benefits"))
    return Programme(_year_start(p), p.integer("expiry_days", 1), float(share), ceiling, cats, tiers, vouchers,
                     _rewards(r.sub("rewards"), tiers, vouchers, ceiling),
                     _service_levels(r.sub("service_levels"), benefits), benefits)


def load(path: Path | None = None) -> Programme:
    """The programme in ``path``; the shipped one without (cached)."""
    if path is None:
        return shipped()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the programme file: {e}", field="(file)") from e
    return parse(text, str(path))


@lru_cache(maxsize=1)
def shipped() -> Programme:
    return parse(SHIPPED.read_text(encoding="utf-8"), SHIPPED.name)


__all__ = ["Band", "Category", "Programme", "RewardTable", "ServiceLevel", "Tier", "TierReward", "Voucher",
           "load", "parse", "shipped"]
