"""Engagement data: touchpoints, wearable daily steps, consents and marketing spend.

Touchpoints fall in the last two years, after the record was created. Wearable users keep daily
aggregates only (steps, active minutes, resting heart rate), as the design requires; a person's
level is stable with day-to-day noise and some days without data. Weekly spend follows a yearly
cycle with peaks around the "开门红" New-Year sales push and Double 11.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shouhu.synth.render import MISSING
from shouhu.synth.text import cat, num, pick

IntArray = npt.NDArray[np.int64]
DAY_SECONDS = 86_400
INTERNET_EVENTS = (
    ("page_view", 0.5),
    ("quote", 0.2),
    ("content_read", 0.15),
    ("app_login", 0.1),
    ("service_request", 0.05),
)
APP_EVENTS = (
    ("app_login", 0.35),
    ("content_read", 0.2),
    ("page_view", 0.15),
    ("wechat_message", 0.1),
    ("service_request", 0.05),
    ("event_attend", 0.03),
    ("quote", 0.04),
    ("health_checkin", 0.08),
)
PAGES = (
    "/home",
    "/product/TL03",
    "/product/CI03",
    "/product/MD01",
    "/product/MD02",
    "/product/AC01",
    "/claim",
    "/policy/list",
    "/health/steps",
    "/member/points",
    "/article/critical-illness-101",
    "/article/pension-plan",
)
CONTENT = (
    "重疾险怎么选",
    "百万医疗险的免赔额",
    "养老金规划三步走",
    "孩子的教育金要准备多少",
    "每天走多少步最健康",
    "理赔流程一图看懂",
    "个人养老金账户开户指南",
)


@dataclass
class Events:
    record: IntArray  # row in the channel's records
    event_type: Any
    seconds: IntArray  # seconds since epoch
    properties: Any
    staff: Any


def _properties(rng: np.random.Generator, etype: IntArray, kinds: tuple[tuple[str, float], ...]) -> Any:
    """A small JSON object per event, e.g. {"page": "/claim", "duration_s": 35}; valid JSON always."""
    n = len(etype)
    page = pick([json.dumps(p) for p in PAGES], rng.integers(0, len(PAGES), n))
    title = pick([json.dumps(c, ensure_ascii=False) for c in CONTENT], rng.integers(0, len(CONTENT), n))
    duration = num(rng.integers(3, 600, n))
    device = pick(['"ios"', '"android"', '"wechat"', '"h5"'], rng.integers(0, 4, n))
    by_page = cat('{"page": ', page, ', "duration_s": ', duration, ', "device": ', device, "}")
    by_content = cat('{"title": ', title, ', "read_s": ', duration, "}")
    names = np.array([k for k, _ in kinds])[etype]
    import pyarrow.compute as pc

    content = pa.array(np.isin(names, ["content_read", "event_attend"]))
    return pc.if_else(content, by_content, by_page)


def touchpoints(
    rng: np.random.Generator,
    created: IntArray,
    end: int,
    mean: float,
    kinds: tuple[tuple[str, float], ...],
    staff: Any = None,
) -> Events:
    """Events of each record between max(created, end - 730 days) and the day before ``end``."""
    k = rng.poisson(mean, len(created))
    rec = np.repeat(np.arange(len(created)), k)
    lo = np.maximum(created[rec], end - 730)
    span = np.maximum(1, end - lo)
    day = lo + (rng.random(len(rec)) * span).astype(np.int64)
    day = np.minimum(day, end - 1)
    seconds = day * DAY_SECONDS + rng.integers(7 * 3600, 23 * 3600, len(rec))
    w = np.array([p for _, p in kinds])
    etype = rng.choice(len(kinds), size=len(rec), p=w / w.sum())
    order = np.lexsort((seconds, rec))
    rec, seconds, etype = rec[order], seconds[order], etype[order]
    return Events(
        rec,
        pick([k for k, _ in kinds], etype),
        seconds,
        _properties(rng, etype, kinds),
        staff.take(pa.array(rec)) if staff is not None else pa.nulls(len(rec), pa.string()),
    )


def wearables(rng: np.random.Generator, users: IntArray, end: int, days: int) -> dict[str, Any]:
    """Daily aggregates for the last ``days`` days of each wearable user (~8% of days missing)."""
    level = rng.lognormal(np.log(7000), 0.45, len(users))
    rhr = rng.normal(68, 7, len(users))
    rec = np.repeat(users, days)
    day = np.tile(np.arange(end - days + 1, end + 1), len(users))
    keep = rng.random(len(rec)) >= 0.08
    u = np.repeat(np.arange(len(users)), days)[keep]
    steps = np.maximum(0, rng.normal(level[u], level[u] * 0.3)).astype(np.int64)
    return {
        "record": rec[keep],
        "day": day[keep],
        "steps": steps,
        "active_minutes": np.clip(steps // 110 + rng.integers(-5, 6, len(u)), 0, 600).astype(np.int64),
        "resting_heart_rate": np.clip(np.round(rng.normal(rhr[u], 2.5)), 40, 110).astype(np.int64),
    }


def consents(rng: np.random.Generator, created: IntArray, wearable: npt.NDArray[np.bool_], end: int) -> dict[str, Any]:
    """Per app user and purpose: granted or not at registration; some later withdrawn (PIPL)."""
    purposes = ("service_contact", "marketing", "data_sharing", "health_data")
    grant_p = np.array([0.97, 0.7, 0.45, 0.3])
    n = len(created)
    rec = np.repeat(np.arange(n), len(purposes))
    purpose = np.tile(np.arange(len(purposes)), n)
    granted = rng.random(len(rec)) < grant_p[purpose]
    granted |= (purpose == 3) & wearable[rec]
    seconds = created[rec] * DAY_SECONDS + rng.integers(8 * 3600, 22 * 3600, len(rec))
    withdraw = granted & (purpose == 1) & (rng.random(len(rec)) < 0.08)
    w_day = created[rec] + (rng.random(len(rec)) * np.maximum(1, end - 1 - created[rec])).astype(np.int64)
    w_sec = np.where(withdraw & (w_day > created[rec]), w_day * DAY_SECONDS + 12 * 3600, MISSING)
    return {
        "record": rec,
        "purpose": pick(purposes, purpose),
        "granted": granted,
        "recorded": seconds,
        "withdrawn": w_sec,
    }


def marketing_spend(rng: np.random.Generator, end: int, weeks: int, scale: float = 1.0) -> dict[str, Any]:
    """Weekly spend per channel and campaign; Mondays only, none after ``end``. Budgets follow seasons and
    drift; :mod:`shouhu.synth.marketing` makes new business respond to them. The plans below are for a
    book of 100,000 customers; ``scale`` sizes them to the book, so cost per policy does not depend on it."""
    monday = end - ((end + 3) % 7)  # 1970-01-01 was a Thursday
    starts = monday - 7 * np.arange(weeks)[::-1]
    plans = (
        ("agent", "开门红", 180_000.0),
        ("agent", "客户节", 60_000.0),
        ("bancassurance", "开门红", 120_000.0),
        ("bancassurance", "网点沙龙", 30_000.0),
        ("broker", "渠道激励", 50_000.0),
        ("internet", "信息流投放", 220_000.0),
        ("internet", "双11大促", 90_000.0),
        ("direct", "App拉新", 80_000.0),
        ("direct", "健康打卡活动", 25_000.0),
        ("group", "雇主福利推介", 20_000.0),
    )
    doy = (starts.astype("datetime64[D]") - starts.astype("datetime64[D]").astype("datetime64[Y]")).astype(np.int64)
    rows: dict[str, list[Any]] = {"channel": [], "week_start": [], "amount": [], "campaign": []}
    for channel, campaign, base in plans:
        season = 1 + 0.8 * np.exp(-((((doy - 10) % 365) / 30.0) ** 2)) if campaign == "开门红" else np.ones(len(doy))
        if campaign == "双11大促":
            season = np.where((doy > 290) & (doy < 320), 3.0, 0.0)
        # budgets drift for months at a time (a slow log-scale walk), so each channel's response is visible
        walk = np.zeros(len(doy))
        shocks = rng.normal(0, 0.25, len(doy))
        for t in range(1, len(doy)):
            walk[t] = 0.85 * walk[t - 1] + shocks[t]
        amount = np.round(scale * base * season * np.exp(walk) * rng.lognormal(0, 0.15, len(doy)), 2)
        live = amount > 0
        rows["channel"] += [channel] * int(live.sum())
        rows["week_start"] += list(starts[live])
        rows["amount"] += list(amount[live])
        rows["campaign"] += [campaign] * int(live.sum())
    return rows
