"""Cohort retention curves with the shifted-beta-geometric model (Fader & Hardie 2007).

Each policy of a cohort renews at every period with its own probability ``1 - θ``; θ varies across
the cohort as Beta(α, β). Then, for period ``t = 1, 2, ...``:

    P(T = 1) = α / (α + β)
    P(T = t) = (β + t - 2) / (α + β + t - 1) · P(T = t - 1)
    S(t)     = S(t - 1) - P(T = t),  S(0) = 1
    r(t)     = S(t) / S(t - 1) = (β + t - 1) / (α + β + t - 1)    (retention rate, rising with t)

Given survivor counts ``n_0, n_1, ..., n_T`` of one cohort, the log-likelihood is
``Σ_t (n_{t-1} - n_t) ln P(T=t) + n_T ln S(T)``; we maximise it over (ln α, ln β).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from shouhu.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
# ln α, ln β bounds. A cohort without heterogeneity (every member churns at the same rate) pushes both to
# infinity at a fixed ratio; the bound stops there (α + β > 1e4 reads as "no heterogeneity, geometric").
LOG_BOUNDS = ((-7.0, 10.0), (-7.0, 12.0))


@dataclass(frozen=True)
class SBGFit:
    alpha: float
    beta: float
    log_likelihood: float
    counts: tuple[int, ...]
    # 95% intervals from a parametric bootstrap, when asked for
    alpha_ci: tuple[float, float] | None = None
    beta_ci: tuple[float, float] | None = None
    extra: dict[str, float] = field(default_factory=dict)

    def survival(self, periods: int) -> FloatArray:
        """S(0..periods): share of the cohort still in force."""
        return survival(self.alpha, self.beta, periods)

    def retention(self, periods: int) -> FloatArray:
        """r(1..periods): share of those in force at t-1 who renew at t."""
        t = np.arange(1, periods + 1, dtype=float)
        return np.asarray((self.beta + t - 1) / (self.alpha + self.beta + t - 1))

    def table(self, horizon: int | None = None) -> list[dict[str, float | int | None]]:
        """Fitted vs actual per period, projected up to ``horizon`` periods."""
        n0 = self.counts[0]
        horizon = max(horizon or 0, len(self.counts) - 1)
        surv, ret = self.survival(horizon), self.retention(horizon)
        rows: list[dict[str, float | int | None]] = []
        for t in range(horizon + 1):
            actual = self.counts[t] if t < len(self.counts) else None
            rows.append({
                "period": t,
                "actual": actual,
                "fitted": round(float(n0 * surv[t]), 1),
                "survival": round(float(surv[t]), 4),
                "retention": None if t == 0 else round(float(ret[t - 1]), 4),
                "actual_retention": (round(actual / self.counts[t - 1], 4)
                                     if actual is not None and t > 0 and self.counts[t - 1] else None),
                "projected": actual is None,
            })
        return rows


def churn_probabilities(alpha: float, beta: float, periods: int) -> FloatArray:
    """P(T = t) for t = 1..periods."""
    p = np.empty(periods)
    if periods == 0:
        return p
    p[0] = alpha / (alpha + beta)
    for t in range(2, periods + 1):
        p[t - 1] = p[t - 2] * (beta + t - 2) / (alpha + beta + t - 1)
    return p


def survival(alpha: float, beta: float, periods: int) -> FloatArray:
    return np.asarray(np.concatenate([[1.0], 1.0 - np.cumsum(churn_probabilities(alpha, beta, periods))]))


def log_likelihood(alpha: float, beta: float, counts: Sequence[int]) -> float:
    n = np.asarray(counts, dtype=float)
    periods = len(n) - 1
    p = churn_probabilities(alpha, beta, periods)
    s_end = max(1.0 - p.sum(), 1e-300)
    lost = n[:-1] - n[1:]
    return float(np.sum(lost * np.log(np.maximum(p, 1e-300))) + n[-1] * np.log(s_end))


def parse_counts(text: str) -> list[int]:
    """``"1000,869,743"`` -> [1000, 869, 743]; survivors must not increase."""
    try:
        counts = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise InvalidInput(f"survivor counts must be whole numbers separated by commas, got {text!r}") from None
    validate_counts(counts)
    return counts


def validate_counts(counts: Sequence[int]) -> None:
    if len(counts) < 3:
        raise InvalidInput("need the starting count and at least two periods of survivors", counts=list(counts))
    if counts[0] <= 0 or any(c < 0 for c in counts):
        raise InvalidInput("counts must be non-negative and the cohort must start with at least one",
                           counts=list(counts))
    if any(b > a for a, b in itertools.pairwise(counts)):
        raise InvalidInput("survivor counts cannot increase from one period to the next", counts=list(counts))


def fit_sbg(counts: Sequence[int], *, bootstrap: int = 0, seed: int = 0) -> SBGFit:
    """Maximum-likelihood (α, β) from survivor counts; ``bootstrap`` > 0 adds 95% intervals."""
    validate_counts(counts)
    alpha, beta, ll = _mle(counts)
    if bootstrap <= 0:
        return SBGFit(alpha, beta, ll, tuple(int(c) for c in counts))
    a_ci, b_ci = _bootstrap(alpha, beta, counts, bootstrap, seed)
    return SBGFit(alpha, beta, ll, tuple(int(c) for c in counts), a_ci, b_ci)


def _mle(counts: Sequence[int]) -> tuple[float, float, float]:
    def nll(x: FloatArray) -> float:
        return -log_likelihood(float(np.exp(x[0])), float(np.exp(x[1])), counts)

    best = None
    for start in ((0.0, 0.0), (-1.0, 1.0), (1.0, 2.0)):  # a few starts: the surface is flat along a ridge
        res = minimize(nll, np.array(start), method="Nelder-Mead", bounds=LOG_BOUNDS,
                       options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    return float(np.exp(best.x[0])), float(np.exp(best.x[1])), float(-best.fun)


def simulate_cohort(alpha: float, beta: float, size: int, periods: int, rng: np.random.Generator) -> list[int]:
    """Survivor counts of a simulated cohort: each member draws θ ~ Beta(α, β), then churns geometrically."""
    theta = rng.beta(alpha, beta, size)
    lifetime = rng.geometric(np.clip(theta, 1e-12, 1.0))  # period in which the member churns
    return [size] + [int((lifetime > t).sum()) for t in range(1, periods + 1)]


def _bootstrap(alpha: float, beta: float, counts: Sequence[int], rounds: int,
               seed: int) -> tuple[tuple[float, float], tuple[float, float]]:
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(rounds):
        sim = simulate_cohort(alpha, beta, int(counts[0]), len(counts) - 1, rng)
        if sim[-1] == sim[0]:
            continue
        a, b, _ = _mle(sim)
        draws.append((a, b))
    arr = np.array(draws)
    lo, hi = np.percentile(arr, [2.5, 97.5], axis=0)
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))
