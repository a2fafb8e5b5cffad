"""CL(2010-2013) mortality: the one table both pricing and synthetic deaths are driven by.

The table is packaged as ``data/cl_2010_2013.csv`` (qx at integer ages 0-105, six columns). Three
"tables" exist, each with a male and a female column:

* ``nonpension1`` (CL1/CL2) - non-pension business table I: protection business (term, whole
  life, critical illness). Used for pricing protection products and for synthetic deaths.
* ``nonpension2`` (CL3/CL4) - non-pension business table II.
* ``pension`` (CL5/CL6) - pension / annuity business (lighter mortality).
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources
from typing import Literal

import numpy as np
import numpy.typing as npt

Sex = Literal["M", "F"]
TABLES: tuple[str, ...] = ("nonpension1", "nonpension2", "pension")
MAX_AGE = 105
_COLUMNS = {
    ("nonpension1", "M"): "CL1_male_nonpension1",
    ("nonpension1", "F"): "CL2_female_nonpension1",
    ("nonpension2", "M"): "CL3_male_nonpension2",
    ("nonpension2", "F"): "CL4_female_nonpension2",
    ("pension", "M"): "CL5_male_pension",
    ("pension", "F"): "CL6_female_pension",
}


@cache
def _load() -> dict[str, npt.NDArray[np.float64]]:
    """Parse the packaged CSV once; comment lines (``#``) carry the source and are skipped."""
    text = resources.files("shouhu.reference").joinpath("data/cl_2010_2013.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#")))))
    ages = [int(r["age"]) for r in rows]
    if ages != list(range(MAX_AGE + 1)):
        raise ValueError("cl_2010_2013.csv must list ages 0..105 in order")
    return {col: np.array([float(r[col]) for r in rows]) for col in _COLUMNS.values()}


def qx_vector(sex: Sex, table: str = "nonpension1") -> npt.NDArray[np.float64]:
    """All 106 one-year death probabilities of one table and sex (index = age); a read-only view."""
    try:
        col = _COLUMNS[(table, sex)]
    except KeyError:
        raise ValueError(f"unknown mortality table/sex {table!r}/{sex!r}; tables: {TABLES}, sex M or F") from None
    out = _load()[col]
    out.flags.writeable = False
    return out


def qx(age: int, sex: Sex, table: str = "nonpension1") -> float:
    """One-year death probability at integer age ``age`` (ages above 105 are treated as 105)."""
    if age < 0:
        raise ValueError(f"age must be >= 0, got {age}")
    return float(qx_vector(sex, table)[min(age, MAX_AGE)])


def qx_matrix(table: str = "nonpension1") -> npt.NDArray[np.float64]:
    """qx as a (2, 106) array, row 0 male and row 1 female: handy for vectorised lookups by sex code."""
    return np.vstack([qx_vector("M", table), qx_vector("F", table)])
