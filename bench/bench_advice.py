"""Advice benchmark: batch gaps for N customers, and one household plan (p50/p99 ms).

    python bench/bench_advice.py --customers 100000 --plans 200

Batch gaps run :func:`shouhu.advice.service.batch_gaps` on a synthetic ``customer_360`` frame of N
rows (ages, incomes, children and in-force sums assured drawn at random), the way the refresh
step would call it on the mart. Plans run :func:`shouhu.advice.plan.recommend` for the worked
family of four (4 members, every gap open) with a budget varied per run, so the optimiser is
measured, not a cache. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date

import numpy as np
import pandas as pd

from shouhu.advice.gaps import household_gaps
from shouhu.advice.model import Dependent, Household, Person
from shouhu.advice.plan import recommend
from shouhu.advice.service import batch_gaps

AS_OF = date(2026, 10, 31)


def customer_360(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    kids = rng.integers(0, 3, n)
    return pd.DataFrame({
        "customer_id": [f"C{i:08d}" for i in range(n)], "age": rng.integers(0, 85, n),
        "gender": rng.choice(["M", "F"], n), "annual_income": rng.choice([0.0, 60_000.0, 150_000.0, 400_000.0], n),
        "household_role": rng.choice(["head", "spouse", "child"], n), "children_count": kids,
        "youngest_child_age": np.where(kids > 0, rng.integers(0, 20, n), None),
        **{f"sa_{c}": rng.choice([0.0, 100_000.0, 500_000.0, 2_000_000.0], n)
           for c in ("life", "critical_illness", "medical", "accident", "pension", "education")},
    })


def family() -> Household:
    kids = (Dependent("child", 6), Dependent("child", 10))
    return Household("HH", (Person("A", 38, "M", 300_000.0, mortgage=1_200_000.0, dependents=kids),
                            Person("B", 36, "F", 100_000.0, role="spouse", dependents=kids),
                            Person("C", 6, "F", role="child"), Person("D", 10, "M", role="child")))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--plans", type=int, default=200)
    args = ap.parse_args()
    frame = customer_360(args.customers)
    t0 = time.perf_counter()
    out = batch_gaps(frame, AS_OF)
    batch_s = time.perf_counter() - t0
    hh = family()
    gaps = household_gaps(hh, [], AS_OF)
    times = []
    for i in range(args.plans):
        t = time.perf_counter()
        recommend(hh, gaps, [], risk_level="R3", budget=10_000 + 150 * i)
        times.append((time.perf_counter() - t) * 1000)
    print(json.dumps({
        "customers": args.customers, "batch_gaps_seconds": round(batch_s, 2),
        "customers_per_second": round(args.customers / batch_s), "rows_out": len(out),
        "projected_1m_seconds": round(batch_s * 1_000_000 / args.customers, 1),
        "plans": args.plans, "plan_ms_p50": round(float(np.percentile(times, 50)), 1),
        "plan_ms_p99": round(float(np.percentile(times, 99)), 1),
        "note": "each plan solves three MILPs (recommended, cheaper, fuller)",
    }, indent=2))


if __name__ == "__main__":
    main()
