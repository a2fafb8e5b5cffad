"""Earning rules: how many points a day of activity and a completed event earn, after the caps.

Steps (or, for members who move without many steps, active minutes: the larger of the two) earn by
age-adjusted bands; health checks, quizzes and annual reviews earn fixed points per event. Two caps
apply to every category: the daily cap, and the annual cap of the programme year (what was already
earned that year counts against it). The annual caps are each below the first status threshold
(checked when the programme loads), so status needs more than one activity.

:func:`step_points` is the rule for one member; :func:`score_steps` the same rule over a whole frame of
members at once (numpy), which the daily run uses; a property test holds them equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from shouhu.health.config import STEPS, Band, Category, Programme
from shouhu.health.ledger import Entry


def band_for(category: Category, age: int | None) -> Band:
    """The age group whose ages include ``age``; the first group when the age is unknown."""
    if age is not None:
        for b in category.bands:
            if b.min_age <= age <= b.max_age:
                return b
    return category.bands[0]


def _by_thresholds(thresholds: Sequence[tuple[int, int]], value: int | None) -> int:
    points = 0
    for at_least, pts in thresholds:
        if value is not None and value >= at_least:
            points = pts
    return points


def step_points(category: Category, steps: int | None, active_minutes: int | None, age: int | None) -> int:
    """The day's points before the caps: the better of the step band and the active-minute band."""
    return max(_by_thresholds(band_for(category, age).thresholds, steps),
               _by_thresholds(category.active_thresholds, active_minutes))


def capped(points: int, category: Category, earned_this_year: int, earned_today: int = 0) -> int:
    """``points`` cut to what the daily and annual caps still allow."""
    room = min(category.daily_cap - earned_today, category.annual_cap - earned_this_year)
    return max(0, min(points, room))


def _band_points(category: Category, steps: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """Band points per row; each row uses the first group that lists its age, else the first group."""
    chosen = np.full(len(steps), -1, dtype=np.int64)
    for i, b in enumerate(category.bands):
        chosen[(chosen < 0) & (ages >= b.min_age) & (ages <= b.max_age)] = i  # NaN ages never match
    chosen[chosen < 0] = 0
    out = np.zeros(len(steps), dtype=np.int64)
    for i, band in enumerate(category.bands):
        for at_least, pts in band.thresholds:
            out[(chosen == i) & (steps >= at_least)] = pts
    return out


def score_steps(programme: Programme, frame: pd.DataFrame) -> np.ndarray:
    """Capped step points for every row of ``frame`` (columns ``steps``, ``active_minutes``, ``age``,
    ``earned_steps_year``: step points already earned in the programme year; missing values allowed)."""
    cat = programme.categories[STEPS]
    steps = frame["steps"].astype("float64").fillna(-1).to_numpy()
    active = frame["active_minutes"].astype("float64").fillna(-1).to_numpy()
    ages = frame["age"].astype("float64").to_numpy()
    pts = _band_points(cat, steps, ages)
    active_pts = np.zeros(len(frame), dtype=np.int64)
    for at_least, p in cat.active_thresholds:
        active_pts[active >= at_least] = p
    pts = np.maximum(pts, active_pts)
    room = np.minimum(cat.daily_cap, cat.annual_cap - frame["earned_steps_year"].fillna(0).to_numpy(np.int64))
    capped_pts: np.ndarray = np.clip(np.minimum(pts, room), 0, None).astype(np.int64)
    return capped_pts


@dataclass(frozen=True)
class Event:
    """A completed health check, quiz or review: earns once per ``ref``."""

    customer_id: str
    kind: str
    ref: str
    day: date


def event_entries(programme: Programme, events: Sequence[Event], earned_year: Mapping[tuple[str, str], int],
                  now_day: date) -> list[Entry]:
    """Ledger lots for the day's events, in ``ref`` order, each capped by what its category still allows."""
    out: list[Entry] = []
    today: dict[tuple[str, str], int] = {}
    year = dict(earned_year)
    for e in sorted(events, key=lambda e: (e.customer_id, e.kind, e.ref)):
        cat = programme.categories[e.kind]
        key = (e.customer_id, e.kind)
        pts = capped(cat.points, cat, year.get(key, 0), today.get(key, 0))
        if pts > 0:
            out.append(lot(programme, e.customer_id, e.kind, pts, e.day, f"earn:{e.kind}:{e.customer_id}:{e.ref}"))
            today[key] = today.get(key, 0) + pts
            year[key] = year.get(key, 0) + pts
    return out


def lot(programme: Programme, customer_id: str, category: str, points: int, day: date, key: str) -> Entry:
    return Entry(key, customer_id, "earn", category, points, day, programme.year_of(day),
                 expires_on=day + timedelta(days=programme.expiry_days))


def step_key(customer_id: str, day: date) -> str:
    return f"earn:{STEPS}:{customer_id}:{day.isoformat()}"


__all__ = ["Event", "band_for", "capped", "event_entries", "lot", "score_steps", "step_key", "step_points"]
