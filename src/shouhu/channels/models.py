"""Attribution models as small strategies in a registry.

Every model reads a :class:`~shouhu.channels.paths.PathTable` and credits each channel with a share of
the conversions and of every amount column (first-year premium, customer value). Heuristic models give
each touch a fraction of its path's outcome; the fractions of one path sum to 1, so the credited totals
always equal the observed totals.

* ``first_touch`` / ``last_touch``: the whole outcome to the first / last touch.
* ``linear``: 1/n to each of the n touches.
* ``time_decay``: weight ``0.5 ** (steps_before_conversion / half_life)``. Aggregated paths carry no
  timestamps, so time is counted in touches (the last touch is step 0); ``half_life`` defaults to 1 touch.
* ``position_based`` (U-shaped): 40% first, 40% last, 20% shared by the middle touches; a one-touch path
  gives 100% to it, a two-touch path 50/50.
* ``markov`` (:mod:`shouhu.channels.markov`) and ``shapley`` (below) use the whole population of paths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from math import factorial
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from shouhu.channels.paths import FloatArray, PathTable, tally
from shouhu.errors import InvalidInput, UnknownName

MAX_SHAPLEY_CHANNELS = 20


@dataclass(frozen=True)
class Attribution:
    """Per-channel credit from one model: ``credit["conversions"]``, ``credit["value"]``, ..."""

    model: str
    channels: tuple[str, ...]
    credit: Mapping[str, FloatArray]
    details: Mapping[str, Any] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        return [{"model": self.model, "channel": ch, **{k: float(v[i]) for k, v in self.credit.items()}}
                for i, ch in enumerate(self.channels)]

    def share(self, column: str = "conversions") -> dict[str, float]:
        total = float(self.credit[column].sum())
        return {ch: (float(self.credit[column][i]) / total if total else 0.0) for i, ch in enumerate(self.channels)}


class AttributionModel:
    """Base strategy. Heuristic models only define :meth:`touch_weights`."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""

    def touch_weights(self, paths: PathTable) -> FloatArray:
        raise NotImplementedError

    def attribute(self, paths: PathTable) -> Attribution:
        w = self.touch_weights(paths)
        pid = paths.path_of_touch
        n = len(paths.channels)
        credit = {col: tally(paths.touches, w * arr[pid], n)
                  for col, arr in outcomes(paths).items()}
        return Attribution(self.name, paths.channels, credit)


def outcomes(paths: PathTable) -> dict[str, FloatArray]:
    return {"conversions": paths.conversions, **paths.amounts}


class FirstTouch(AttributionModel):
    name, label = "first_touch", "首次触点 First touch"

    def touch_weights(self, paths: PathTable) -> FloatArray:
        return np.asarray(paths.position == 0, dtype=np.float64)


class LastTouch(AttributionModel):
    name, label = "last_touch", "末次触点 Last touch"

    def touch_weights(self, paths: PathTable) -> FloatArray:
        return np.asarray(paths.position == paths.lengths[paths.path_of_touch] - 1, dtype=np.float64)


class Linear(AttributionModel):
    name, label = "linear", "线性 Linear"

    def touch_weights(self, paths: PathTable) -> FloatArray:
        return np.asarray(1.0 / paths.lengths[paths.path_of_touch], dtype=np.float64)


class TimeDecay(AttributionModel):
    name, label = "time_decay", "时间衰减 Time decay"

    def __init__(self, half_life: float = 1.0) -> None:
        if half_life <= 0:
            raise InvalidInput("time-decay half-life must be positive", half_life=half_life)
        self.half_life = half_life

    def touch_weights(self, paths: PathTable) -> FloatArray:
        pid = paths.path_of_touch
        steps_back = paths.lengths[pid] - 1 - paths.position
        raw = 0.5 ** (steps_back / self.half_life)
        return np.asarray(raw / tally(pid, raw, len(paths))[pid], dtype=np.float64)


class PositionBased(AttributionModel):
    name, label = "position_based", "位置(U型) Position based"

    def __init__(self, first: float = 0.4, last: float = 0.4) -> None:
        if first < 0 or last < 0 or first + last > 1:
            raise InvalidInput("position-based shares must be non-negative and sum to at most 1",
                               first=first, last=last)
        self.first, self.last = first, last

    def touch_weights(self, paths: PathTable) -> FloatArray:
        n = paths.lengths[paths.path_of_touch]
        pos = paths.position
        middle = (1.0 - self.first - self.last) / np.maximum(n - 2, 1)
        # two touches: first and last split everything in proportion to their shares
        pair_first = self.first / (self.first + self.last) if self.first + self.last else 0.5
        return np.select(
            [n == 1, (n == 2) & (pos == 0), n == 2, pos == 0, pos == n - 1],
            [1.0, pair_first, 1.0 - pair_first, self.first, self.last],
            middle,
        )


class Shapley(AttributionModel):
    """Exact Shapley value over channel coalitions (every subset of channels is enumerated).

    The characteristic function of a coalition S is the outcome of the journeys whose set of channels
    lies inside S (Zhao et al. 2018, "Shapley value methods for attribution modeling in online
    advertising"): ``v(S) = Σ_{T ⊆ S} outcome(T)``, where ``outcome(T)`` sums the journeys touching
    exactly the channels T. That game is a sum of unanimity games, so each channel's Shapley value is the
    outcome of every journey split equally among the journey's *distinct* channels; the general formula
    is computed anyway so that other characteristic functions can be plugged in. With
    ``characteristic="rate"`` the coalition's worth is instead its conversion rate (conversions over
    journeys with channels inside S), which rewards channels whose journeys convert better, and the
    values are scaled to the observed total (they may then be negative for a channel that lowers it).
    """

    name, label = "shapley", "Shapley值 Shapley value"
    CHARACTERISTICS = ("conversions", "rate")

    def __init__(self, characteristic: str = "conversions") -> None:
        if characteristic not in self.CHARACTERISTICS:
            raise UnknownName("Shapley characteristic", characteristic, list(self.CHARACTERISTICS))
        self.characteristic = characteristic

    def attribute(self, paths: PathTable) -> Attribution:
        n = len(paths.channels)
        if n > MAX_SHAPLEY_CHANNELS:
            raise InvalidInput(f"Shapley enumerates 2^channels coalitions; {n} channels is more than "
                               f"{MAX_SHAPLEY_CHANNELS}", channels=n)
        masks = coalition_masks(paths)
        credit: dict[str, FloatArray] = {}
        journeys = subset_sums(tally(masks, paths.conversions + paths.nulls, 1 << n), n)
        for col, arr in outcomes(paths).items():
            worth = subset_sums(tally(masks, arr, 1 << n), n)
            if self.characteristic == "rate":
                rate = np.divide(worth, journeys, out=np.zeros_like(worth), where=journeys > 0)
                phi = shapley_values(rate, n)
                total = phi.sum()
                credit[col] = phi / total * arr.sum() if total else np.zeros(n)
            else:
                credit[col] = shapley_values(worth, n)
        return Attribution(self.name, paths.channels, credit, {"characteristic": self.characteristic})


def coalition_masks(paths: PathTable) -> npt.NDArray[np.int64]:
    """Bit mask of the distinct channels of each path (bit i = channel i)."""
    bits = np.left_shift(np.int64(1), paths.touches)
    return np.bitwise_or.reduceat(bits, paths.offsets[:-1]).astype(np.int64)


def subset_sums(f: FloatArray, n: int) -> FloatArray:
    """``g[S] = Σ_{T ⊆ S} f[T]`` for every mask S (the zeta transform, O(n 2^n))."""
    g = np.array(f, dtype=float)
    idx = np.arange(1 << n)
    for i in range(n):
        has = (idx >> i) & 1 == 1
        g[has] += g[idx[has] ^ (1 << i)]
    return g


def shapley_values(v: FloatArray, n: int) -> FloatArray:
    """Exact Shapley values of the game ``v`` (indexed by coalition mask, ``v[0]`` the empty set)."""
    idx = np.arange(1 << n)
    size = _popcount(idx)
    weight = np.array([factorial(k) * factorial(n - k - 1) / factorial(n) for k in range(n)])
    phi = np.zeros(n)
    for i in range(n):
        without = idx[(idx >> i) & 1 == 0]
        phi[i] = float(np.sum(weight[size[without]] * (v[without | (1 << i)] - v[without])))
    return phi


def _popcount(idx: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    out = np.zeros_like(idx)
    x = idx.copy()
    while np.any(x):
        out += x & 1
        x >>= 1
    return out


def _markov(**kw: Any) -> AttributionModel:
    from shouhu.channels.markov import Markov

    return Markov(**kw)


REGISTRY: dict[str, Callable[..., AttributionModel]] = {
    FirstTouch.name: FirstTouch,
    LastTouch.name: LastTouch,
    Linear.name: Linear,
    TimeDecay.name: TimeDecay,
    PositionBased.name: PositionBased,
    "markov": _markov,
    Shapley.name: Shapley,
}
DEFAULT_MODELS: tuple[str, ...] = tuple(REGISTRY)


def get_model(name: str, **params: Any) -> AttributionModel:
    """A model by name (``markov`` takes ``order``; ``time_decay`` ``half_life``; ...)."""
    try:
        factory = REGISTRY[name]
    except KeyError:
        raise UnknownName("attribution model", name, list(REGISTRY)) from None
    try:
        return factory(**params)
    except TypeError as e:
        raise InvalidInput(f"attribution model {name!r}: {e}", model=name) from None


def attribute_all(paths: PathTable, models: Mapping[str, Mapping[str, Any]] | None = None) -> list[Attribution]:
    """Run several models side by side: ``{"markov": {"order": 2}, "linear": {}}`` (default: all)."""
    chosen = models if models is not None else {m: {} for m in DEFAULT_MODELS}
    return [get_model(name, **params).attribute(paths) for name, params in chosen.items()]
