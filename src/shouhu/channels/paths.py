"""Aggregated customer journeys: one row per distinct channel path with its conversions, value and nulls.

Millions of customers collapse into (path, conversions, value, nulls) rows, the input every attribution
model reads (and the format of the reference package ``ChannelAttribution``). Internally the paths are
stored CSR-style: ``touches`` holds channel indices of all paths end to end and ``offsets[i]:offsets[i+1]``
delimits path ``i``, so the models run as vectorised numpy over every touch at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shouhu.errors import InvalidInput

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
SEP = ">"


def tally(index: IntArray, weights: Any, size: int) -> FloatArray:
    """``np.bincount`` with weights, typed as float."""
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64)


@dataclass(frozen=True)
class PathTable:
    """Distinct paths with their outcomes. ``amounts`` holds value columns credited like conversions:
    ``value`` (first-year premium) always, ``customer_value`` when the customer value mart was present."""

    channels: tuple[str, ...]
    offsets: IntArray  # len = paths + 1
    touches: IntArray  # channel index of every touch, path after path
    conversions: FloatArray
    nulls: FloatArray
    amounts: Mapping[str, FloatArray] = field(default_factory=dict)
    unattributed: Mapping[str, float] = field(default_factory=dict)  # conversions/value with no touch at all

    def __post_init__(self) -> None:
        n = len(self.offsets) - 1
        if n < 0 or self.offsets[0] != 0 or self.offsets[-1] != len(self.touches):
            raise InvalidInput("path offsets do not match the touches")
        if np.any(np.diff(self.offsets) < 1):
            raise InvalidInput("every path needs at least one touch")
        for name, arr in {"conversions": self.conversions, "nulls": self.nulls, **self.amounts}.items():
            if len(arr) != n:
                raise InvalidInput(f"{name} has {len(arr)} rows for {n} paths")
            if np.any(np.asarray(arr) < 0):
                raise InvalidInput(f"{name} must not be negative")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> IntArray:
        return np.diff(self.offsets)

    @property
    def path_of_touch(self) -> IntArray:
        """Index of the path each touch belongs to."""
        return np.repeat(np.arange(len(self)), self.lengths)

    @property
    def position(self) -> IntArray:
        """0-based position of each touch within its path."""
        return np.arange(len(self.touches)) - np.repeat(self.offsets[:-1], self.lengths)

    def path(self, i: int) -> tuple[str, ...]:
        return tuple(self.channels[c] for c in self.touches[self.offsets[i]:self.offsets[i + 1]])

    def path_strings(self, sep: str = SEP) -> list[str]:
        return [sep.join(self.path(i)) for i in range(len(self))]

    def totals(self) -> dict[str, float]:
        out = {"journeys": float(self.conversions.sum() + self.nulls.sum()),
               "conversions": float(self.conversions.sum()), "nulls": float(self.nulls.sum())}
        out.update({k: float(v.sum()) for k, v in self.amounts.items()})
        return out

    def to_arrow(self, sep: str = SEP) -> pa.Table:
        cols: dict[str, Any] = {"path": self.path_strings(sep), "conversions": self.conversions, "nulls": self.nulls}
        cols.update(self.amounts)
        return pa.table(cols)

    def to_pandas(self, sep: str = SEP) -> Any:
        return self.to_arrow(sep).to_pandas()


def from_rows(paths: Sequence[str | Sequence[str]], conversions: Iterable[float], nulls: Iterable[float], *,
              amounts: Mapping[str, Iterable[float]] | None = None, sep: str = SEP,
              channels: Sequence[str] | None = None) -> PathTable:
    """Build from path strings ``"agent>internet"`` (or sequences of channel names); merges duplicate paths.

    ``channels`` fixes the channel order (default: sorted names seen in the paths)."""
    split = [tuple(p.split(sep)) if isinstance(p, str) else tuple(p) for p in paths]
    split = [tuple(c.strip() for c in p if c.strip()) for p in split]
    names = tuple(channels) if channels is not None else tuple(sorted({c for p in split for c in p}))
    index = {c: i for i, c in enumerate(names)}
    conv, null = np.asarray(list(conversions), dtype=float), np.asarray(list(nulls), dtype=float)
    amt = {k: np.asarray(list(v), dtype=float) for k, v in (amounts or {}).items()}
    for name, arr in {"conversions": conv, "nulls": null, **amt}.items():
        if len(arr) != len(split):
            raise InvalidInput(f"{name} has {len(arr)} rows for {len(split)} paths")
    empty = np.array([len(p) == 0 for p in split], dtype=bool)
    unattributed = {"conversions": float(conv[empty].sum()), **{k: float(v[empty].sum()) for k, v in amt.items()}}
    try:
        keyed: dict[tuple[int, ...], int] = {}
        rows: list[int] = []
        for p in split:
            key = tuple(index[c] for c in p)
            rows.append(keyed.setdefault(key, len(keyed)))
    except KeyError as e:
        raise InvalidInput(f"path names channel {e.args[0]!r}, not among {list(names)}") from None
    keep = ~empty
    group = np.asarray(rows, dtype=np.int64)[keep] if rows else np.zeros(0, dtype=np.int64)
    uniq = [k for k in keyed if k]
    remap = np.full(len(keyed), -1, dtype=np.int64)
    for new, k in enumerate(uniq):
        remap[keyed[k]] = new
    g = remap[group]

    def merge(a: FloatArray) -> FloatArray:
        return np.bincount(g, weights=a[keep], minlength=len(uniq)).astype(float)

    lengths = np.array([len(k) for k in uniq], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    touches = np.array([c for k in uniq for c in k], dtype=np.int64)
    return PathTable(names, offsets, touches, merge(conv), merge(null), {k: merge(v) for k, v in amt.items()},
                     {k: v for k, v in unattributed.items() if v})


def from_arrow(table: pa.Table, *, path: str = "path", conversions: str = "conversions", nulls: str = "nulls",
               amounts: Sequence[str] = ("value",), sep: str = SEP) -> PathTable:
    """From a table with a path column; missing amount columns are skipped."""
    d = table.to_pydict()
    have = [a for a in amounts if a in d]
    fill = {a: [0.0 if v is None else v for v in d[a]] for a in have}
    return from_rows([p or "" for p in d[path]], [c or 0 for c in d[conversions]], [n or 0 for n in d[nulls]],
                     amounts=fill, sep=sep)
