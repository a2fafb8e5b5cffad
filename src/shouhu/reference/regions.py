"""Real administrative regions (GB/T 2260) for addresses and resident ID numbers.

``data/cities.csv`` lists ~85 prefecture-level cities across all 31 mainland provinces with a
city tier (drives incomes) and an approximate population (drives how many customers live there).
``data/region_districts.csv`` lists county-level codes per city together with the years each code
was in use: a resident ID number is only valid if its region code existed in the holder's birth
year (python-stdnum checks this), so generators must pick codes with :meth:`Regions.valid_in`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

# Typical annual household-head income (CNY) by city tier; tiers 1-4 (first, new first, second, lower).
TIER_INCOME: dict[int, float] = {1: 180_000.0, 2: 130_000.0, 3: 100_000.0, 4: 75_000.0}


@dataclass(frozen=True)
class City:
    code: str
    province: str
    name: str
    tier: int
    population_m: float


@dataclass(frozen=True)
class Regions:
    """Cities and districts as parallel arrays so that generators can index them with numpy."""

    cities: tuple[City, ...]
    city_weight: npt.NDArray[np.float64]  # sampling probability per city (sums to 1)
    district_city: IntArray  # city index of each district row
    district_code: IntArray  # 6-digit code as int
    district_name: tuple[str, ...]
    valid_from: IntArray  # first year the code was in use (0 = always)
    valid_to: IntArray  # last year (9999 = still in use)

    def valid_in(self, district: IntArray, year: IntArray) -> npt.NDArray[np.bool_]:
        """Whether each district code was in use in the given (birth) year."""
        return (self.valid_from[district] <= year) & (year <= self.valid_to[district])

    @property
    def always_valid(self) -> IntArray:
        """District rows whose code was never renamed: the fallback for old birth years."""
        return np.flatnonzero((self.valid_from == 0) & (self.valid_to == 9999))

    def districts_of(self, city: int) -> IntArray:
        return np.flatnonzero(self.district_city == city)


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("shouhu.reference").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#")))))


@cache
def regions() -> Regions:
    """Load the packaged city and district lists (cached: they never change at run time)."""
    cities = tuple(
        City(r["city_code"], r["province"], r["city"], int(r["tier"]), float(r["population_m"]))
        for r in _rows("cities.csv")
    )
    index = {c.code: i for i, c in enumerate(cities)}
    dist = _rows("region_districts.csv")
    weight = np.array([c.population_m for c in cities])
    return Regions(
        cities=cities,
        city_weight=weight / weight.sum(),
        district_city=np.array([index[r["city_code"]] for r in dist], dtype=np.int64),
        district_code=np.array([int(r["district_code"]) for r in dist], dtype=np.int64),
        district_name=tuple(r["district"] for r in dist),
        valid_from=np.array([int(r["valid_from"] or 0) for r in dist], dtype=np.int64),
        valid_to=np.array([int(r["valid_to"] or 9999) for r in dist], dtype=np.int64),
    )
