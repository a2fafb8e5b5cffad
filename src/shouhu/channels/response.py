"""Per-channel response curves: weekly outcome as a saturating function of carried-over spend.

Model, per channel, fitted on weekly spend ``x_t`` and outcome ``y_t`` (new policies or first-year
premium)::

    a_t = (1 - θ) x_t + θ a_{t-1}            geometric adstock (carry-over), a_{-1} = mean of the first 4 weeks
    y_t = b + β · a_t / (a_t + K) + ε_t       Michaelis-Menten saturation (Hill curve with slope 1)

``b`` is the weekly outcome without spend (word of mouth, renewals of relationships, the channel's own
sales force), ``β`` the most that spend can add, ``K`` the adstocked weekly spend that buys half of
``β`` and ``θ`` the share of one week's effect carried into the next. The normalised adstock keeps the
scale of spend, so at a steady weekly spend ``x`` the expected outcome is ``b + β x / (x + K)``:
returns diminish from the first yuan (the curve is concave), which is what makes a budget split optimal.

Estimation is maximum a posteriori with Gaussian noise (σ profiled out) and weakly informative priors
that keep the fit finite when a channel's spend varied little: ``log K ~ N(log mean(x), 1.5²)``,
``logit θ ~ N(0, 1.5²)``, and ``log β``, ``log b`` flat. A few starts over θ guard against local optima.
Uncertainty is the Laplace approximation: a Gaussian around the optimum in the transformed parameters
``(log b, log β, log K, logit θ)`` with the inverse Hessian (by central differences) as covariance.
Draws from it give intervals on any prediction. Documented in docs/channels.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from shouhu.channels.paths import FloatArray
from shouhu.errors import InvalidInput

MIN_WEEKS = 12
THETA_STARTS = (0.1, 0.4, 0.7)
PRIOR_SD = 1.5
EPS = 1e-9


def adstock(spend: Any, theta: float) -> FloatArray:
    x = np.asarray(spend, dtype=float)
    out = np.empty_like(x)
    prev = float(x[:4].mean()) if len(x) else 0.0
    for t, v in enumerate(x):
        prev = (1.0 - theta) * v + theta * prev
        out[t] = prev
    return out


def saturation(a: Any, k: Any) -> Any:
    return a / (a + k)


@dataclass(frozen=True)
class ResponseCurve:
    """A fitted channel: point estimates plus the Laplace covariance of ``(log b, log β, log K, logit θ)``."""

    channel: str
    base: float
    beta: float
    half_saturation: float
    theta: float
    sigma: float
    weeks: int
    mean_spend: float
    mean_outcome: float
    r2: float
    covariance: FloatArray = field(repr=False)

    @property
    def params(self) -> FloatArray:
        return np.array([np.log(self.base + EPS), np.log(self.beta + EPS), np.log(self.half_saturation),
                         _logit(self.theta)])

    def weekly(self, spend: Any) -> Any:
        """Expected weekly outcome at a steady weekly spend (point estimate)."""
        return self.base + self.beta * saturation(np.asarray(spend, dtype=float), self.half_saturation)

    def marginal(self, spend: float) -> float:
        """Extra weekly outcome per extra yuan of weekly spend at ``spend``."""
        return float(self.beta * self.half_saturation / (spend + self.half_saturation) ** 2)

    def draws(self, n: int, rng: np.random.Generator) -> FloatArray:
        """``n`` parameter draws (rows of b, β, K, θ) from the Laplace approximation."""
        z = rng.multivariate_normal(self.params, self.covariance, size=n, check_valid="ignore")
        return np.column_stack([np.exp(z[:, 0]), np.exp(z[:, 1]), np.exp(z[:, 2]), _expit(z[:, 3])])

    def to_dict(self) -> dict[str, Any]:
        sd = np.sqrt(np.clip(np.diag(self.covariance), 0, None))
        lo, hi = self.params - 1.96 * sd, self.params + 1.96 * sd
        return {"channel": self.channel, "base": self.base, "beta": self.beta,
                "half_saturation": self.half_saturation, "theta": self.theta, "sigma": self.sigma,
                "weeks": self.weeks, "mean_spend": self.mean_spend, "mean_outcome": self.mean_outcome,
                "r2": self.r2, "marginal_at_mean": self.marginal(self.mean_spend),
                "beta_ci95": [float(np.exp(lo[1])), float(np.exp(hi[1]))],
                "half_saturation_ci95": [float(np.exp(lo[2])), float(np.exp(hi[2]))],
                "theta_ci95": [float(_expit(lo[3])), float(_expit(hi[3]))]}


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def _expit(z: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-z))


def _neg_log_post(p: FloatArray, x: FloatArray, y: FloatArray, k_prior: float) -> float:
    b, beta, k, theta = np.exp(p[0]), np.exp(p[1]), np.exp(p[2]), _expit(p[3])
    pred = b + beta * saturation(adstock(x, theta), k)
    rss = float(np.sum((y - pred) ** 2)) + EPS
    n = len(y)
    nll = 0.5 * n * np.log(rss / n)  # Gaussian with σ profiled out
    prior = 0.5 * ((p[2] - k_prior) / PRIOR_SD) ** 2 + 0.5 * (p[3] / PRIOR_SD) ** 2
    return float(nll + prior)


def _hessian(f: Any, p: FloatArray, step: float = 1e-3) -> FloatArray:
    n = len(p)
    h = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.eye(n)[i] * step, np.eye(n)[j] * step
            val = (f(p + ei + ej) - f(p + ei - ej) - f(p - ei + ej) + f(p - ei - ej)) / (4 * step * step)
            h[i, j] = h[j, i] = val
    return h


def fit_curve(channel: str, spend: Sequence[float] | FloatArray, outcome: Sequence[float] | FloatArray
              ) -> ResponseCurve:
    """Fit one channel's curve to aligned weekly series (oldest week first)."""
    x, y = np.asarray(spend, dtype=float), np.asarray(outcome, dtype=float)
    if len(x) != len(y):
        raise InvalidInput("spend and outcome series differ in length", channel=channel)
    if len(x) < MIN_WEEKS:
        raise InvalidInput(f"a response curve needs at least {MIN_WEEKS} weeks; {channel} has {len(x)}",
                           channel=channel)
    if np.any(x < 0):
        raise InvalidInput("spend must not be negative", channel=channel)
    mean_x = max(float(x.mean()), 1.0)
    k_prior = float(np.log(mean_x))
    y_mean = max(float(y.mean()), EPS)

    def objective(p: FloatArray) -> float:
        return _neg_log_post(p, x, y, k_prior)

    best: Any = None
    for theta0 in THETA_STARTS:
        p0 = np.array([np.log(y_mean * 0.6 + EPS), np.log(y_mean * 0.8 + EPS), k_prior, _logit(theta0)])
        res = minimize(objective, p0, method="L-BFGS-B",
                       bounds=[(np.log(EPS), None), (np.log(EPS), None), (k_prior - 8, k_prior + 8), (-6, 6)])
        if best is None or res.fun < best.fun:
            best = res
    p = best.x
    b, beta, k, theta = float(np.exp(p[0])), float(np.exp(p[1])), float(np.exp(p[2])), float(_expit(p[3]))
    pred = b + beta * saturation(adstock(x, theta), k)
    rss = float(np.sum((y - pred) ** 2))
    tss = float(np.sum((y - y.mean()) ** 2))
    cov = _laplace_covariance(objective, p)
    return ResponseCurve(channel, b, beta, k, theta, float(np.sqrt(rss / len(y))), len(y), float(x.mean()),
                         float(y.mean()), 1.0 - rss / tss if tss > 0 else 0.0, cov)


def _laplace_covariance(objective: Any, p: FloatArray) -> FloatArray:
    h = _hessian(objective, p)
    # a parameter the data do not pin down (flat direction, e.g. a tiny base) gets a wide, not infinite, spread
    h = (h + h.T) / 2 + np.eye(len(p)) * 1e-3
    try:
        cov = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        cov = np.eye(len(p)) * 4.0
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    vals = np.clip(vals, 1e-8, 4.0)
    return np.asarray(vecs @ np.diag(vals) @ vecs.T, dtype=np.float64)
