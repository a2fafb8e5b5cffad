"""Planted channel returns: weekly marketing spend that really drives the timing of new business.

Spend is drawn first (from its own seed child, so no other stage's draws move). Then, within the
spend window, each selling channel's new policies are placed in weeks in proportion to::

    λ_c(w) = (1 - s_c) / W  +  s_c · f_c(w) / Σ_w f_c(w),    f_c = a / (a + K_c),  a = adstock(spend_c, θ_c)

so a share ``s_c`` of the channel's business follows its own carried-over, saturating response to spend
(``K_c = k_c × mean weekly spend``) and the rest arrives evenly. Channels therefore differ in what one
more yuan buys: with the defaults in :data:`CHANNEL_RESPONSE` the internet is far from saturation, the
agency is close to it, and the app (direct) and group channels have spend but no new business of their
own. docs/synthetic-book.md lists the parameters; ``shouhu.channels`` is tested to recover them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# channel: (spend-driven share s, half-saturation k as a multiple of mean weekly spend, carry-over θ)
CHANNEL_RESPONSE: dict[str, tuple[float, float, float]] = {
    "agent": (0.25, 0.5, 0.5),
    "bancassurance": (0.30, 1.0, 0.3),
    "broker": (0.20, 1.0, 0.2),
    "internet": (0.60, 4.0, 0.2),
}


def weekly_spend(spend: dict[str, Any], weeks: int) -> tuple[int, dict[str, FloatArray]]:
    """(first Monday, spend per channel per week) from the rows of ``activity.marketing_spend``."""
    starts = np.asarray(spend["week_start"], dtype=np.int64)
    first = int(starts.min()) if len(starts) else 0
    out: dict[str, FloatArray] = {}
    for ch, day, amount in zip(spend["channel"], starts, spend["amount"], strict=True):
        out.setdefault(ch, np.zeros(weeks))[(int(day) - first) // 7] += float(amount)
    return first, out


def adstock(x: FloatArray, theta: float) -> FloatArray:
    out, prev = np.empty_like(x), float(x[:4].mean())
    for t, v in enumerate(x):
        prev = (1 - theta) * v + theta * prev
        out[t] = prev
    return out


def week_weights(spend: FloatArray, share: float, k: float, theta: float) -> FloatArray:
    a = adstock(spend, theta)
    f = a / (a + k * max(float(spend.mean()), 1.0))
    drive = f / f.sum() if f.sum() > 0 else np.full(len(f), 1 / len(f))
    return np.asarray((1 - share) / len(f) + share * drive, dtype=np.float64)


def retime(rng: np.random.Generator, channel: str, issue: IntArray, lb: IntArray, ub: IntArray,
           first_monday: int, spend: dict[str, FloatArray]) -> IntArray:
    """Issue days of one channel's policies, those in the spend window re-drawn by week from λ_c."""
    if channel not in CHANNEL_RESPONSE or channel not in spend:
        return issue
    x = spend[channel]
    weights = week_weights(x, *CHANNEL_RESPONSE[channel])
    idx = np.flatnonzero(issue >= first_monday)
    week = rng.choice(len(x), size=len(idx), p=weights)
    day = first_monday + 7 * week + rng.integers(0, 7, len(idx))
    ok = (day >= lb[idx]) & (day <= ub[idx])
    out = issue.copy()
    out[idx[ok]] = day[ok]
    return out
