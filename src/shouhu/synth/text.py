"""Vectorised string building on Arrow arrays: names, IDs and addresses for a million people.

Python-level string formatting per row is what makes naive generators slow; these helpers keep
every step inside Arrow's C++ kernels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Strings = Any  # a pyarrow StringArray (pyarrow ships no type stubs)


def pick(options: Sequence[str], index: npt.NDArray[np.int64]) -> Strings:
    """``options[index]`` as an Arrow string array."""
    return pa.array(list(options), pa.string()).take(pa.array(index))


def num(values: npt.NDArray[np.int64], width: int = 0) -> Strings:
    """Integers as decimal strings, left-padded with zeros to ``width``."""
    out = pc.cast(pa.array(values), pa.string())
    return pc.utf8_lpad(out, width=width, padding="0") if width else out


def cat(*parts: Strings | str) -> Strings:
    """Element-wise concatenation; literal ``str`` parts are broadcast. Null if any part is null."""
    return pc.binary_join_element_wise(*parts, "")


def null_where(values: Strings, mask: npt.NDArray[np.bool_]) -> Strings:
    """Blank out ``values`` where ``mask`` is true (missing fields of a channel record)."""
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def choose(mask: npt.NDArray[np.bool_], if_true: Strings, if_false: Strings) -> Strings:
    return pc.if_else(pa.array(mask), if_true, if_false)


def random_digits(rng: np.random.Generator, n: int, width: int) -> Strings:
    """``n`` strings of ``width`` random digits (leading zeros kept)."""
    return num(rng.integers(0, 10**width, n, dtype=np.int64), width)


def random_letters(rng: np.random.Generator, n: int, width: int, alphabet: str) -> Strings:
    """``n`` random strings of ``width`` characters from an ASCII ``alphabet``."""
    codes = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    raw = codes[rng.integers(0, len(codes), (n, width))]
    return pa.array(raw.view(f"S{width}").ravel()).cast(pa.string())
