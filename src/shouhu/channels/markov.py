"""Markov-chain attribution with exact removal effects (absorbing chain solved by sparse linear algebra).

The chain (the usual construction, as in Anderl et al. 2016 and the ``ChannelAttribution`` package):

* **States** of order k are windows of k consecutive channels sliding one touch at a time (a path of
  ``a>b>c`` at order 2 visits ``(a,b)`` then ``(b,c)``); a path shorter than k is one state, the whole
  path. Consecutive repeats of one state are merged (a self-loop changes no absorption probability).
* **Transitions** are counted over the aggregated paths, each path weighted by its journeys
  (conversions + nulls): ``start → first state``, state → next state, and from the last state to the
  absorbing ``conversion`` (weight = conversions) and ``null`` (weight = nulls) states; each row is
  normalised into probabilities.
* **Conversion probability** from start: with Q the transient-to-transient block, r the one-step
  conversion probabilities and p0 the start distribution, the expected visits are
  ``n = (I - Qᵀ)⁻¹ p0`` and ``P(conversion) = n · r``. Solved with a sparse LU, no simulation.
* **Removal effect** of channel c: every state containing c becomes ``null``;
  ``RE_c = 1 - P₋c(conversion) / P(conversion)``. Channel c is credited with
  ``total conversions × RE_c / Σ RE``.
* **Value**: each conversion is worth the mean value per conversion of the paths ending in the state
  the chain converts from (``m_s``), so ``V = Σ_s n_s r_s m_s`` and the value removal effect is
  ``1 - V₋c / V``: the expectation of what ``ChannelAttribution`` estimates by simulating conversion
  values per last state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from shouhu.channels.models import Attribution, AttributionModel, outcomes
from shouhu.channels.paths import FloatArray, IntArray, PathTable, tally
from shouhu.errors import InvalidInput

MAX_ORDER = 6


@dataclass(frozen=True)
class Chain:
    """The fitted chain: ``states[s]`` is a tuple of channel indices."""

    states: list[tuple[int, ...]]
    start: FloatArray  # p0 over states
    q: sp.csr_matrix  # transient -> transient probabilities
    to_conversion: FloatArray  # r
    to_null: FloatArray
    mean_amount: dict[str, FloatArray]  # m_s per amount column (value per conversion, by last state)

    def conversion_probability(self, keep: Any = None) -> float:
        return float(self.absorbed(keep).sum())

    def absorbed(self, keep: Any = None) -> FloatArray:
        """Probability of converting from each state (zero for removed states): ``n_s r_s``."""
        k = np.ones(len(self.states), dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
        out = np.zeros(len(self.states))
        idx = np.flatnonzero(k)
        if len(idx) == 0:
            return out
        qk = self.q[idx][:, idx]
        system = (sp.identity(len(idx), format="csc") - qk.T.tocsc()).tocsc()
        visits = splu(system).solve(self.start[idx])
        out[idx] = visits * self.to_conversion[idx]
        return out

    def transition_rows(self, channels: tuple[str, ...]) -> list[dict[str, Any]]:
        """Transition probabilities as rows (from, to, probability), states written ``a>b``."""
        name = [">".join(channels[c] for c in s) for s in self.states]
        rows = [{"from": "(start)", "to": name[s], "probability": float(p)}
                for s, p in enumerate(self.start) if p > 0]
        coo = self.q.tocoo()
        rows += [{"from": name[i], "to": name[j], "probability": float(p)}
                 for i, j, p in zip(coo.row, coo.col, coo.data, strict=True)]
        for s in range(len(self.states)):
            for to, p in (("(conversion)", self.to_conversion[s]), ("(null)", self.to_null[s])):
                if p > 0:
                    rows.append({"from": name[s], "to": to, "probability": float(p)})
        return rows


def state_sequences(paths: PathTable, order: int) -> tuple[list[tuple[int, ...]], IntArray, IntArray]:
    """(states, state id of every visited window path after path with repeats merged, offsets)."""
    if not 1 <= order <= MAX_ORDER:
        raise InvalidInput(f"Markov order must be between 1 and {MAX_ORDER}", order=order)
    base = len(paths.channels) + 1
    if base ** order >= 2**62:
        raise InvalidInput("too many channels for this Markov order", order=order, channels=base - 1)
    lengths = paths.lengths
    windows = np.maximum(lengths - order + 1, 1)
    wpath = np.repeat(np.arange(len(paths)), windows)
    wstart = paths.offsets[wpath] + (np.arange(windows.sum()) - np.repeat(np.cumsum(windows) - windows, windows))
    wlen = np.minimum(lengths[wpath], order)
    key = np.zeros(len(wpath), dtype=np.int64)
    for t in range(order):
        inside = t < wlen
        digit = paths.touches[np.minimum(wstart + t, len(paths.touches) - 1)] + 1
        key = np.where(inside, key * base + digit, key)
    uniq, sid = np.unique(key, return_inverse=True)
    # merge consecutive repeats of one state within a path
    first = np.ones(len(sid), dtype=bool)
    first[1:] = (sid[1:] != sid[:-1]) | (wpath[1:] != wpath[:-1])
    sid, wpath = sid[first], wpath[first]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(wpath, minlength=len(paths)))]).astype(np.int64)
    states = [_decode(int(k), base) for k in uniq]
    return states, sid.astype(np.int64), offsets


def _decode(key: int, base: int) -> tuple[int, ...]:
    digits: list[int] = []
    while key:
        key, d = divmod(key, base)
        digits.append(d - 1)
    return tuple(reversed(digits))


def fit_chain(paths: PathTable, order: int = 1) -> Chain:
    states, sid, offsets = state_sequences(paths, order)
    n = len(states)
    weight = paths.conversions + paths.nulls
    lengths = np.diff(offsets)
    pid = np.repeat(np.arange(len(paths)), lengths)
    first, last = offsets[:-1], offsets[1:] - 1
    start = tally(sid[first], weight, n)
    inner = np.ones(len(sid), dtype=bool)
    inner[last] = False  # a transition leaves every state but the path's last
    src, dst = sid[inner], sid[np.flatnonzero(inner) + 1]
    counts = sp.coo_matrix((weight[pid[inner]], (src, dst)), shape=(n, n)).tocsr()
    conv = tally(sid[last], paths.conversions, n)
    null = tally(sid[last], paths.nulls, n)
    out = np.asarray(counts.sum(axis=1)).ravel() + conv + null
    inv = np.divide(1.0, out, out=np.zeros(n), where=out > 0)
    q = sp.diags(inv) @ counts
    total_start = start.sum()
    means = {}
    for col, amount in paths.amounts.items():
        got = tally(sid[last], amount, n)
        means[col] = np.divide(got, conv, out=np.zeros(n), where=conv > 0)
    return Chain(states, start / total_start if total_start else start, sp.csr_matrix(q), conv * inv, null * inv,
                 means)


class Markov(AttributionModel):
    name: ClassVar[str] = "markov"
    label: ClassVar[str] = "马尔可夫链 Markov chain"

    def __init__(self, order: int = 1) -> None:
        if not 1 <= order <= MAX_ORDER:
            raise InvalidInput(f"Markov order must be between 1 and {MAX_ORDER}", order=order)
        self.order = order

    def attribute(self, paths: PathTable) -> Attribution:
        chain = fit_chain(paths, self.order)
        absorbed = chain.absorbed()
        full = {"conversions": float(absorbed.sum()),
                **{c: float(absorbed @ m) for c, m in chain.mean_amount.items()}}
        member = _membership(chain.states, len(paths.channels))
        removal: dict[str, FloatArray] = {col: np.zeros(len(paths.channels)) for col in full}
        for c in range(len(paths.channels)):
            kept = chain.absorbed(~member[:, c])
            removal["conversions"][c] = _effect(float(kept.sum()), full["conversions"])
            for col, m in chain.mean_amount.items():
                removal[col][c] = _effect(float(kept @ m), full[col])
        credit = {}
        for col, observed in outcomes(paths).items():
            re = removal[col]
            credit[col] = re / re.sum() * observed.sum() if re.sum() > 0 else np.zeros(len(re))
        details = {"order": self.order, "states": len(chain.states),
                   "conversion_probability": full["conversions"],
                   "removal_effects": {col: dict(zip(paths.channels, map(float, re), strict=True))
                                       for col, re in removal.items()}}
        return Attribution(f"markov_{self.order}" if self.order > 1 else "markov", paths.channels, credit, details)


def _membership(states: list[tuple[int, ...]], channels: int) -> Any:
    m = np.zeros((len(states), channels), dtype=bool)
    for s, chs in enumerate(states):
        m[s, list(chs)] = True
    return m


def _effect(removed: float, full: float) -> float:
    return max(0.0, 1.0 - removed / full) if full > 0 else 0.0
