"""Budget reallocation across channels on the fitted response curves.

Over a planning horizon of ``weeks`` weeks at steady weekly spend, channel c returns
``weeks × (b_c + β_c x_c / (x_c + K_c))`` (the adstock is at its steady state, equal to the spend).
Maximise the total subject to:

* the total: ``Σ_c spend_c = budget``;
* per-channel floors and caps (``floors``/``caps``, amounts over the horizon);
* channels held fixed at today's spend (``fixed``);
* a maximum change per period: ``|spend_c - today_c| ≤ max_change × today_c``.

Every curve is concave, so the optimum equalises marginal returns: for a multiplier λ each channel spends
``clip(sqrt(β K / λ) - K, lower, upper)`` (water-filling) and λ is the root of the budget equation
(``scipy.optimize.brentq``); exact, with no local optima. "Today" is the spend of the last ``weeks``
weeks of data. The expected outcome's interval comes from Laplace draws of every curve's parameters
(90% by default), for the proposal, for today's allocation and for their difference on the same draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import brentq

from shouhu.channels.paths import FloatArray
from shouhu.channels.response import ResponseCurve, saturation
from shouhu.errors import InvalidInput, UnknownName

TOLERANCE = 1e-6


@dataclass(frozen=True)
class Constraints:
    floors: Mapping[str, float] = field(default_factory=dict)
    caps: Mapping[str, float] = field(default_factory=dict)
    fixed: Sequence[str] = ()
    max_change: float | None = None  # fraction of today's spend, e.g. 0.3

    def bounds(self, channel: str, today: float, budget: float) -> tuple[float, float]:
        if channel in self.fixed:
            return today, today
        lo, hi = self.floors.get(channel, 0.0), self.caps.get(channel, budget)
        if self.max_change is not None:
            lo, hi = max(lo, today * (1 - self.max_change)), min(hi, today * (1 + self.max_change))
        return lo, hi


@dataclass(frozen=True)
class Plan:
    budget: float
    weeks: int
    outcome: str
    rows: list[dict[str, Any]]
    expected: dict[str, float]  # mean, low, high of the proposal
    today: dict[str, float]
    uplift: dict[str, float]
    level: float

    def to_dict(self) -> dict[str, Any]:
        return {"budget": self.budget, "weeks": self.weeks, "outcome": self.outcome, "interval": self.level,
                "expected": self.expected, "today": self.today, "uplift": self.uplift, "channels": self.rows}


def _check(curves: Mapping[str, ResponseCurve], today: Mapping[str, float], c: Constraints, budget: float) -> None:
    if budget < 0:
        raise InvalidInput("the budget must not be negative", budget=budget)
    for name in (*c.floors, *c.caps, *c.fixed):
        if name not in curves:
            raise UnknownName("channel in the constraints", name, list(curves))
    if c.max_change is not None and c.max_change < 0:
        raise InvalidInput("max change must not be negative", max_change=c.max_change)
    missing = [ch for ch in curves if ch not in today]
    if missing:
        raise InvalidInput(f"no spend today for {missing}", channels=",".join(missing))


def allocate(curves: Mapping[str, ResponseCurve], today: Mapping[str, float], budget: float, weeks: int,
             constraints: Constraints | None = None) -> dict[str, float]:
    """The optimal split of ``budget`` (over ``weeks`` weeks) under the constraints."""
    c = constraints or Constraints()
    _check(curves, today, c, budget)
    names = list(curves)
    bounds = np.array([c.bounds(ch, today[ch], budget) for ch in names]) / weeks
    lo, hi = bounds[:, 0], bounds[:, 1]
    target = budget / weeks
    if np.any(lo > hi + TOLERANCE):
        bad = [names[i] for i in np.flatnonzero(lo > hi + TOLERANCE)]
        raise InvalidInput(f"the constraints leave no room for {bad}: floor above cap or outside the max change",
                           channels=",".join(bad))
    if lo.sum() > target * (1 + TOLERANCE) or hi.sum() < target * (1 - TOLERANCE):
        raise InvalidInput(f"the budget {budget:,.0f} cannot be met: the constraints allow "
                           f"{lo.sum() * weeks:,.0f} to {hi.sum() * weeks:,.0f}", budget=budget)
    beta = np.array([curves[ch].beta for ch in names])
    k = np.array([curves[ch].half_saturation for ch in names])

    def spend_at(lam: float) -> FloatArray:
        free = np.sqrt(np.maximum(beta * k, 0) / lam) - k
        return np.asarray(np.clip(free, lo, hi), dtype=np.float64)

    productive = beta * k > 0
    top = np.where(productive, hi, lo).sum()
    if top < target:  # the productive channels are at their caps: the rest goes pro rata where there is room
        x = np.where(productive, hi, lo)
        room = np.where(productive, 0.0, hi - lo)
        x = x + room * (target - top) / room.sum()
    elif lo.sum() >= target * (1 - TOLERANCE):
        x = lo
    else:
        lam_hi = float(np.max(beta / np.maximum(k, 1e-12))) * 2 + 1e-300  # spend 0 everywhere beyond it
        lam_lo = lam_hi
        while spend_at(lam_lo).sum() < target and lam_lo > 1e-300:
            lam_lo /= 10
        root = brentq(lambda lg: spend_at(float(np.exp(lg))).sum() - target, np.log(lam_lo), np.log(lam_hi),
                      xtol=1e-12)
        x = spend_at(float(np.exp(root)))
        x = x + (target - x.sum()) * (hi - x) / max((hi - x).sum(), 1e-12)  # close the root's rounding gap
    return {ch: float(v * weeks) for ch, v in zip(names, x, strict=True)}


def _outcome_draws(curves: Mapping[str, ResponseCurve], spend: Mapping[str, float], weeks: int,
                   draws: Mapping[str, FloatArray]) -> FloatArray:
    total = np.zeros(len(next(iter(draws.values()))))
    for ch, d in draws.items():
        total += weeks * (d[:, 0] + d[:, 1] * saturation(spend[ch] / weeks, d[:, 2]))
    return total


def _summary(point: float, values: FloatArray, level: float) -> dict[str, float]:
    """The point estimate (at the fitted parameters) and the median and interval of the draws."""
    tail = (1 - level) / 2 * 100
    return {"point": point, "median": float(np.median(values)), "low": float(np.percentile(values, tail)),
            "high": float(np.percentile(values, 100 - tail))}


def plan(curves: Mapping[str, ResponseCurve], today: Mapping[str, float], budget: float, *, weeks: int = 13,
         constraints: Constraints | None = None, outcome: str = "policies", draws: int = 1000, level: float = 0.9,
         seed: int = 0) -> Plan:
    """Proposed allocation, expected outcome with an interval, and the change from today."""
    c = constraints or Constraints()
    proposal = allocate(curves, today, budget, weeks, c)
    rng = np.random.default_rng(seed)
    param_draws = {ch: curve.draws(draws, rng) for ch, curve in curves.items()}
    new = _outcome_draws(curves, proposal, weeks, param_draws)
    old = _outcome_draws(curves, today, weeks, param_draws)
    rows = []
    for ch, curve in curves.items():
        lo, hi = c.bounds(ch, today[ch], budget)
        x = proposal[ch]
        rows.append({
            "channel": ch, "today": today[ch], "proposed": x, "change": x - today[ch],
            "change_pct": (x - today[ch]) / today[ch] if today[ch] else None,
            "lower_bound": lo, "upper_bound": hi, "fixed": ch in c.fixed,
            "expected_outcome": float(weeks * curve.weekly(x / weeks)),
            "today_outcome": float(weeks * curve.weekly(today[ch] / weeks)),
            "marginal_per_10k": curve.marginal(x / weeks) * 10_000,
        })
    at_new = float(sum(weeks * curve.weekly(proposal[ch] / weeks) for ch, curve in curves.items()))
    at_old = float(sum(weeks * curve.weekly(today[ch] / weeks) for ch, curve in curves.items()))
    return Plan(budget, weeks, outcome, rows, _summary(at_new, new, level), _summary(at_old, old, level),
                _summary(at_new - at_old, new - old, level), level)
