"""Response curves and the budget optimiser: every constraint, and the best channel found on planted data."""

from __future__ import annotations

import numpy as np
import pytest

from shouhu.channels.optimise import Constraints, allocate, plan
from shouhu.channels.response import ResponseCurve, adstock, fit_curve
from shouhu.errors import InvalidInput, UnknownName


def curve(channel: str, beta: float, k: float, base: float = 1.0) -> ResponseCurve:
    return ResponseCurve(channel, base, beta, k, 0.3, 1.0, 104, k, base + beta / 2, 0.5, np.eye(4) * 0.01)


CURVES = {"agent": curve("agent", 10, 50_000), "internet": curve("internet", 40, 400_000),
          "broker": curve("broker", 5, 20_000), "direct": curve("direct", 0, 10_000)}
TODAY = {"agent": 650_000.0, "internet": 650_000.0, "broker": 650_000.0, "direct": 650_000.0}
WEEKS = 13


def test_adstock_carries_spend_over() -> None:
    got = adstock([0, 0, 0, 0, 100, 0, 0], 0.5)
    assert got == pytest.approx([0, 0, 0, 0, 50, 25, 12.5])


def test_unconstrained_optimum_equalises_marginal_returns() -> None:
    budget = sum(TODAY.values())
    x = allocate(CURVES, TODAY, budget, WEEKS)
    assert sum(x.values()) == pytest.approx(budget)
    assert x["direct"] == pytest.approx(0.0, abs=1e-6)  # spend there buys nothing
    margins = [CURVES[ch].marginal(x[ch] / WEEKS) for ch in ("agent", "internet", "broker") if x[ch] > 1]
    assert max(margins) == pytest.approx(min(margins), rel=1e-4)
    assert x["internet"] == max(x.values())


def test_every_constraint_is_respected() -> None:
    budget = 2_400_000.0
    c = Constraints(floors={"direct": 100_000.0}, caps={"internet": 900_000.0}, fixed=("broker",), max_change=0.5)
    x = allocate(CURVES, TODAY, budget, WEEKS, c)
    assert sum(x.values()) == pytest.approx(budget)
    assert x["broker"] == pytest.approx(TODAY["broker"])  # fixed
    assert x["internet"] <= 900_000.0 + 1e-6  # cap
    assert x["direct"] >= 325_000.0 - 1e-6  # max change (50% of 650k) binds above the 100k floor
    for ch in CURVES:
        assert TODAY[ch] * 0.5 - 1e-6 <= x[ch] <= TODAY[ch] * 1.5 + 1e-6


def test_floor_binds_when_it_is_the_tighter_limit() -> None:
    x = allocate(CURVES, TODAY, 2_600_000.0, WEEKS, Constraints(floors={"direct": 200_000.0}))
    assert x["direct"] == pytest.approx(200_000.0)


def test_infeasible_constraints_are_explained() -> None:
    with pytest.raises(InvalidInput, match="cannot be met"):
        allocate(CURVES, TODAY, 10_000_000.0, WEEKS, Constraints(max_change=0.1))
    with pytest.raises(InvalidInput, match="no room"):
        allocate(CURVES, TODAY, 2_600_000.0, WEEKS, Constraints(floors={"agent": 900_000.0}, caps={"agent": 1.0}))
    with pytest.raises(UnknownName, match="valid choices"):
        allocate(CURVES, TODAY, 2_600_000.0, WEEKS, Constraints(fixed=("tv",)))


def test_plan_reports_change_and_interval() -> None:
    p = plan(CURVES, TODAY, sum(TODAY.values()), weeks=WEEKS, draws=300)
    rows = {r["channel"]: r for r in p.rows}
    assert rows["direct"]["change"] == pytest.approx(-650_000.0)
    assert p.expected["low"] <= p.expected["median"] <= p.expected["high"]
    assert p.uplift["point"] > 0  # the optimum beats an even split on the fitted curves
    assert p.to_dict()["channels"][0]["channel"] == "agent"


def simulate(beta: float, k: float, theta: float, base: float, seed: int, weeks: int = 104) -> tuple:
    rng = np.random.default_rng(seed)
    walk = np.zeros(weeks)
    for t in range(1, weeks):
        walk[t] = 0.85 * walk[t - 1] + rng.normal(0, 0.3)
    spend = 100_000 * np.exp(walk)
    y = base + beta * adstock(spend, theta) / (adstock(spend, theta) + k)
    return spend, rng.poisson(y).astype(float)


def test_fit_recovers_a_planted_curve_and_the_best_channel() -> None:
    truth = {"strong": (30.0, 300_000.0, 0.3), "weak": (6.0, 30_000.0, 0.5), "none": (0.0, 50_000.0, 0.2)}
    curves, today = {}, {}
    for i, (ch, (beta, k, theta)) in enumerate(truth.items()):
        spend, y = simulate(beta, k, theta, base=5.0, seed=i)
        curves[ch] = fit_curve(ch, spend, y)
        today[ch] = float(spend[-WEEKS:].sum())
    strong = curves["strong"]
    assert strong.marginal(100_000) == pytest.approx(30 * 300_000 / 400_000**2, rel=0.5)
    assert curves["none"].marginal(100_000) < 0.1 * strong.marginal(100_000)
    p = plan(curves, today, sum(today.values()), weeks=WEEKS, draws=200)
    change = {r["channel"]: r["change"] for r in p.rows}
    assert max(change, key=change.get) == "strong"
    assert change["none"] < 0


def test_fit_needs_enough_weeks() -> None:
    with pytest.raises(InvalidInput, match="at least"):
        fit_curve("x", [1.0] * 5, [1.0] * 5)
