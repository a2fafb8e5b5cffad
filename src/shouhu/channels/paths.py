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
import pyarrow.compute as pc

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
    text = [p if isinstance(p, str) else sep.join(p) for p in paths]
    conv, null = np.asarray(list(conversions), dtype=float), np.asarray(list(nulls), dtype=float)
    amt = {k: np.asarray(list(v), dtype=float) for k, v in (amounts or {}).items()}
    for name, arr in {"conversions": conv, "nulls": null, **amt}.items():
        if len(arr) != len(text):
            raise InvalidInput(f"{name} has {len(arr)} rows for {len(text)} paths")
    return _build(pa.array(text, pa.string()), conv, null, amt, sep, channels)


def _split_paths(paths: pa.Array, sep: str) -> tuple[pa.Array, IntArray]:
    """(every non-blank channel name, trimmed, path after path; offsets per path), all in Arrow kernels."""
    lists = pc.split_pattern(pc.fill_null(paths, ""), pattern=sep)
    tokens = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    parent = pc.list_parent_indices(lists).to_numpy()
    keep = pc.not_equal(tokens, "").to_numpy(zero_copy_only=False)
    lengths = np.bincount(parent[keep], minlength=len(paths)).astype(np.int64)
    return tokens.filter(pa.array(keep)), np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _channel_codes(tokens: pa.Array, channels: Sequence[str] | None) -> tuple[tuple[str, ...], IntArray]:
    """Channel names (sorted, or as given) and the index of each token among them."""
    enc = pc.dictionary_encode(tokens)
    seen = np.asarray(enc.dictionary.to_pylist(), dtype=object)
    names = tuple(channels) if channels is not None else tuple(sorted(seen.tolist()))
    index = {c: i for i, c in enumerate(names)}
    unknown = [c for c in seen.tolist() if c not in index]
    if unknown:
        raise InvalidInput(f"path names channel {unknown[0]!r}, not among {list(names)}")
    lookup = np.array([index[c] for c in seen.tolist()], dtype=np.int64)
    return names, lookup[enc.indices.to_numpy(zero_copy_only=False)] if len(seen) else np.zeros(0, np.int64)


def _build(paths: pa.Array, conv: FloatArray, null: FloatArray, amt: Mapping[str, FloatArray], sep: str,
           channels: Sequence[str] | None) -> PathTable:
    tokens, offsets = _split_paths(paths, sep)
    names, codes = _channel_codes(tokens, channels)
    # One canonical string per path ("a>b", blanks and spaces gone) identifies duplicates.
    key = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets, pa.int64()), tokens), SEP)
    enc = pc.dictionary_encode(key)
    group = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    lengths = np.diff(offsets)
    empty = lengths == 0
    unattributed = {"conversions": float(conv[empty].sum()), **{k: float(v[empty].sum()) for k, v in amt.items()}}
    _, first = np.unique(group, return_index=True)  # groups are numbered in order of first appearance
    first = first[lengths[first] > 0]
    remap = np.full(len(enc.dictionary), -1, dtype=np.int64)
    remap[group[first]] = np.arange(len(first))
    g = remap[group[~empty]]

    def merge(a: FloatArray) -> FloatArray:
        return np.bincount(g, weights=a[~empty], minlength=len(first)).astype(float)

    new_lengths = lengths[first]
    new_offsets = np.concatenate([[0], np.cumsum(new_lengths)]).astype(np.int64)
    gather = np.repeat(offsets[first] - new_offsets[:-1], new_lengths) + np.arange(int(new_offsets[-1]))
    return PathTable(names, new_offsets, codes[gather], merge(conv), merge(null),
                     {k: merge(v) for k, v in amt.items()}, {k: v for k, v in unattributed.items() if v})


def _numbers(column: Any) -> FloatArray:
    return np.asarray(pc.fill_null(column.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False), dtype=float)


def from_arrow(table: pa.Table, *, path: str = "path", conversions: str = "conversions", nulls: str = "nulls",
               amounts: Sequence[str] = ("value",), sep: str = SEP) -> PathTable:
    """From a table with a path column; missing amount columns are skipped, missing numbers count as 0."""
    paths = table.column(path).cast(pa.string()).combine_chunks()
    amt = {a: _numbers(table.column(a)) for a in amounts if a in table.column_names}
    return _build(paths, _numbers(table.column(conversions)), _numbers(table.column(nulls)), amt, sep, None)
