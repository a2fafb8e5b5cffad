"""Health points benchmark: the daily points run for N members (default 1,000,000).

    python bench/bench_points.py --members 1000000 [--serving-url sqlite:///…] [--engine-only]

Two figures:

* ``engine``: the vectorised scoring core (:func:`shouhu.health.points.score_steps`, numpy) on a frame of
  N members — steps, active minutes, ages (a fifth aged 60+, a tenth unknown) and step points already
  earned this year (some at the annual cap);
* ``run``: the whole :func:`shouhu.health.run.points_run` on a serving database holding N active,
  consenting members with one day of wearable data each (85% of them; the rest sent nothing), a day of
  expiring lots for 1% of them and events (health checks) for 0.1%: consent lookup, reads, scoring,
  ledger append, status totals, in one transaction. Setup (bulk inserts) is not timed.

Prints JSON: members/s, wall seconds and peak RSS (MB) of each part.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shouhu.health import config, points
from shouhu.health.run import points_run
from shouhu.storage import serving

DAY = date(2026, 3, 1)
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def activity(n: int, seed: int = 16) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ages = rng.integers(18, 90, n).astype("float64")
    ages[rng.random(n) < 0.1] = np.nan
    steps = rng.lognormal(8.6, 0.6, n).round()
    active = rng.poisson(25, n).astype("float64")
    return pd.DataFrame({"customer_id": [f"M{i:08d}" for i in range(n)], "steps": steps, "active_minutes": active,
                         "age": pd.array(ages, dtype="Float64"),
                         "earned_steps_year": np.where(rng.random(n) < 0.02, 3400, rng.integers(0, 900, n))})


def bench_engine(n: int) -> dict[str, Any]:
    p = config.shipped()
    frame = activity(n)
    t0 = time.perf_counter()
    pts = points.score_steps(p, frame)
    wall = time.perf_counter() - t0
    return {"members": n, "wall_s": round(wall, 3), "members_per_s": round(n / wall), "points": int(pts.sum()),
            "earning": int((pts > 0).sum()), "peak_rss_mb": peak_rss_mb()}


def _bulk(raw: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    cur = raw.cursor()
    for start in range(0, len(rows), 100_000):
        cur.executemany(sql, rows[start:start + 100_000])
    raw.commit()


def setup(url: str, n: int) -> None:
    serving.upgrade(url)
    frame = activity(n)
    ids = frame["customer_id"].tolist()
    sent = np.random.default_rng(3).random(n) < 0.85
    engine = serving.engine_for(url)
    raw = engine.raw_connection()
    try:
        ph = "?" if url.startswith("sqlite") else "%s"
        _bulk(raw, f"INSERT INTO health_member VALUES ({ph},{ph},{ph},{ph},{ph})",
              [(c, "CI03", "2026-01-01", "active", "t") for c in ids])
        _bulk(raw, "INSERT INTO consent_event (customer_id, purpose, channel, granted, source, actor, recorded_at)"
                   f" VALUES ({ph},'health_data','any',{'1' if ph == '?' else 'true'},'bench','bench','t')",
              [(c,) for c in ids])
        _bulk(raw, f"INSERT INTO customer_360 (customer_id, age) VALUES ({ph},{ph})",
              [(c, None if pd.isna(a) else int(a)) for c, a in zip(ids, frame["age"], strict=True)])
        _bulk(raw, f"INSERT INTO health_daily VALUES ({ph},'{DAY.isoformat()}','csv',{ph},{ph},NULL,'bench','t')",
              [(c, int(s), int(m)) for c, s, m, k in zip(ids, frame["steps"], frame["active_minutes"], sent,
                                                           strict=True) if k])
        expiring = ids[: n // 100]
        _bulk(raw, "INSERT INTO points_ledger (entry_key, customer_id, kind, category, points, day, programme_year,"
                   f" expires_on, created_at) VALUES ({ph},{ph},'earn','steps',10,'2025-09-02',2025,"
                   f"'{DAY.isoformat()}','t')", [(f"earn:steps:{c}:2025-09-02", c) for c in expiring])
        _bulk(raw, f"INSERT INTO health_event VALUES ({ph},'health_check','hc-2026',{ph},'t','bench',NULL)",
              [(c, (DAY - timedelta(days=1)).isoformat()) for c in ids[: max(1, n // 1000)]])
    finally:
        raw.close()
        engine.dispose()


def bench_run(url: str, n: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    setup(url, n)
    setup_s = time.perf_counter() - t0
    engine = serving.engine_for(url)
    try:
        t0 = time.perf_counter()
        result = points_run(engine, DAY, NOW)
        wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = points_run(engine, DAY, NOW)
        rerun = time.perf_counter() - t0
    finally:
        engine.dispose()
    return {"members": n, "setup_s": round(setup_s, 1), "wall_s": round(wall, 1),
            "members_per_s": round(n / wall), "rerun_s": round(rerun, 1), "rerun_entries": again.entries,
            **{k: v for k, v in result.to_dict().items() if k != "day"}, "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--serving-url", default=None, help="an EMPTY database; default: a temporary SQLite file")
    ap.add_argument("--engine-only", action="store_true")
    args = ap.parse_args()
    report: dict[str, Any] = {"engine": bench_engine(args.members)}
    if not args.engine_only:
        with tempfile.TemporaryDirectory() as tmp:
            url = args.serving_url or f"sqlite:///{Path(tmp) / 'serving.sqlite'}"
            report["run"] = bench_run(url, args.members)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
