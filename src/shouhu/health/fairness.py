"""Fairness report: who can and cannot earn, by age band, region and device ownership, so that the
programme does not silently exclude a group.

For each group of the population (every customer, members or not):

* ``can_earn``: enrolled and consented to the ``health_data`` purpose (events earn without a device);
* ``can_earn_steps``: ... and a device that sent data in the window;
* ``earning``: earned any points in the window; ``first_tier``: reached the first status tier this year;
* ``mean_points``: mean points earned in the window per member of the group who can earn.

A group is **flagged** when its earning rate is below four fifths of the best group's in the same
dimension (the "four-fifths rule" of disparate-impact testing). Groups smaller than ``min_group`` are
pooled into ``other`` so that the report never singles out a handful of people.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

AGE_BANDS = ((0, 29, "<30"), (30, 44, "30–44"), (45, 59, "45–59"), (60, 69, "60–69"), (70, 200, "70+"))
DIMENSIONS = ("age_band", "region", "device")
COLUMNS = ("customer_id", "age", "province", "has_device", "member", "consented", "earned_points",
           "status_points")
FOUR_FIFTHS = 0.8


@dataclass(frozen=True)
class Group:
    dimension: str
    group: str
    population: int
    can_earn: float
    can_earn_steps: float
    earning: float
    first_tier: float
    mean_points: float
    flagged: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def age_band(age: float | None) -> str:
    if age is None or pd.isna(age):
        return "unknown"
    return next((label for low, high, label in AGE_BANDS if low <= age <= high), "unknown")


def _groups(frame: pd.DataFrame, min_group: int) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    out["age_band"] = frame["age"].map(age_band)
    region = frame["province"].fillna("unknown").astype(str)
    counts = region.map(region.value_counts())
    out["region"] = region.where(counts >= min_group, "other")
    out["device"] = np.where(frame["has_device"].fillna(False).astype(bool), "device", "no_device")
    return out


def _rates(frame: pd.DataFrame, first_tier: int) -> pd.DataFrame:
    can = frame["member"].astype(bool) & frame["consented"].astype(bool)
    rows = pd.DataFrame({
        "can_earn": can,
        "can_earn_steps": can & frame["has_device"].fillna(False).astype(bool),
        "earning": frame["earned_points"].fillna(0) > 0,
        "first_tier": frame["status_points"].fillna(0) >= first_tier,
        "points_if_can": frame["earned_points"].fillna(0).where(can),
    })
    return rows


def report(frame: pd.DataFrame, first_tier: int, min_group: int = 20) -> list[Group]:
    """One row per dimension and group, flagged groups marked; ``frame`` has the ``COLUMNS``."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"fairness frame lacks columns: {', '.join(missing)}")
    groups, rates = _groups(frame, min_group), _rates(frame, first_tier)
    out: list[Group] = []
    for dim in DIMENSIONS:
        agg = rates.groupby(groups[dim]).agg(
            population=("can_earn", "size"), can_earn=("can_earn", "mean"), can_earn_steps=("can_earn_steps", "mean"),
            earning=("earning", "mean"), first_tier=("first_tier", "mean"), mean_points=("points_if_can", "mean"))
        best = float(agg["earning"].max()) if len(agg) else 0.0
        for name, r in agg.sort_index().iterrows():
            out.append(Group(dim, str(name), int(r["population"]), round(float(r["can_earn"]), 4),
                             round(float(r["can_earn_steps"]), 4), round(float(r["earning"]), 4),
                             round(float(r["first_tier"]), 4), round(float(np.nan_to_num(r["mean_points"])), 1),
                             bool(best > 0 and float(r["earning"]) < FOUR_FIFTHS * best)))
    return out


__all__ = ["AGE_BANDS", "COLUMNS", "DIMENSIONS", "Group", "age_band", "report"]
