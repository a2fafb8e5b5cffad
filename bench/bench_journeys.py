"""Journey engine benchmark: steps executed per second and scheduling latency with N enrolled customers.

    python bench/bench_journeys.py --customers 1000000 --due 50000 --workers 1
    python bench/bench_journeys.py --serving postgresql://postgres@127.0.0.1:5432/bench --workers 4 ...

N customers are enrolled in a three-node journey (wait → content push → end); their wait steps are
written in bulk, spread over the next days, so the step table holds N live rows as it would with N
enrolled people. ``--due`` of them fall due now. Then ``--workers`` worker processes (one on SQLite)
run until nothing is due. Figures: enrolment write rate, steps executed per second (wall clock, all
workers), and the scheduling latency of the due steps (taken up - due: p50/p95/p99/max), as JSON.
Event intake (events → enrolments) is measured separately with ``--events`` on a fresh journey.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from shouhu.journeys import engine as jeng
from shouhu.storage import journeys as store
from shouhu.storage import serving

JOURNEY = """
key: bench
name: 基准
entry: {event: custom.bench}
start: pause
nodes:
  pause: {type: wait, duration: 1d, next: push}
  push: {type: content, title: 基准内容, link: /h5/bench, next: done}
  done: {type: end}
"""


def _load(url: str, customers: int, due: int, now: datetime) -> float:
    engine = serving.engine_for(url)
    jeng.publish(engine, JOURNEY, "bench", now=now)
    t0 = time.perf_counter()
    chunk = 20_000
    at = store.stamp(now)
    with engine.begin() as conn:
        first = conn.execute(select(store.enrollment.c.id).order_by(store.enrollment.c.id.desc()).limit(1)).scalar()
        base = int(first or 0)
        for start in range(0, customers, chunk):
            ids = range(start, min(customers, start + chunk))
            conn.execute(insert(store.enrollment), [
                {"id": base + i + 1, "journey_key": "bench", "version": 1, "customer_id": f"B{i:08d}",
                 "instance_key": "", "status": "active", "node_id": "pause", "entered_at": at} for i in ids])
            conn.execute(insert(store.step), [
                {"enrollment_id": base + i + 1, "seq": 1, "node_id": "pause", "status": "pending",
                 "due_at": store.stamp(now - timedelta(seconds=1) if i < due
                                       else now + timedelta(days=1, seconds=i % 86_400)),
                 "attempts": 0, "created_at": at} for i in ids])
        if engine.dialect.name == "postgresql":  # the ids were given: move the sequence past them
            conn.execute(text("SELECT setval(pg_get_serial_sequence('journey_enrollment', 'id'), "
                              "(SELECT max(id) FROM journey_enrollment))"))
    engine.dispose()
    return time.perf_counter() - t0


def _work(url: str, index: int) -> None:
    engine = serving.engine_for(url)
    worker = jeng.Worker(engine, worker_id=f"bench-{index}", batch=500)
    worker.run(until_idle=True)
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--due", type=int, default=50_000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--events", type=int, default=20_000, help="events taken in and enrolled, measured apart")
    ap.add_argument("--serving", help="serving database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-journeys-"))
    url = args.serving or f"sqlite:///{tmp / 'serving.sqlite'}"
    if url.startswith("sqlite") and args.workers > 1:
        raise SystemExit("SQLite has one writer: use --workers 1, or PostgreSQL with --serving")
    serving.upgrade(url)
    now = datetime.now(UTC).replace(microsecond=0)
    load_s = _load(url, args.customers, args.due, now)
    t0 = time.perf_counter()
    # the --due steps fell due a second ago, all at once (a burst); the other N - due are due tomorrow
    procs = [mp.Process(target=_work, args=(url, i)) for i in range(args.workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    engine = serving.engine_for(url)
    with engine.connect() as conn:
        rows = conn.execute(select(store.step.c.due_at, store.step.c.started_at, store.step.c.node_id)
                            .where(store.step.c.status == "done")).all()
        live = conn.execute(select(store.step.c.id).where(store.step.c.status.in_(["pending", "waiting"]))).all()
    executed = len(rows)
    # latency: when a due wait step was taken up, after the moment it fell due (1 s resolution)
    latency = sorted((store.parse_stamp(r.started_at) - store.parse_stamp(r.due_at)).total_seconds()
                     for r in rows if r.node_id == "pause") or [0.0]
    # event intake on a second journey
    jeng.publish(engine, JOURNEY.replace("key: bench", "key: bench_events").replace("custom.bench", "custom.intake"),
                 "bench", now=now)
    events = [jeng.event_row(f"E{i:08d}", "custom.intake", now) for i in range(args.events)]
    jeng.add_events(engine, events, now)
    worker = jeng.Worker(engine, worker_id="bench-intake", clock=lambda: now)
    t1 = time.perf_counter()
    while worker.process_events(limit=1000):
        pass
    intake = time.perf_counter() - t1
    engine.dispose()
    q = statistics.quantiles(latency, n=100) if len(latency) > 1 else [latency[0]] * 99
    result: dict[str, Any] = {
        "backend": url.split(":", 1)[0], "enrolled": args.customers, "due": args.due, "workers": args.workers,
        "enrol_rows_per_s": round(args.customers / load_s),
        "steps_executed": executed, "steps_per_s": round(executed / wall, 1), "wall_s": round(wall, 1),
        "still_scheduled": len(live),
        "latency_s": {"p50": round(q[49], 2), "p95": round(q[94], 2), "p99": round(q[98], 2),
                      "max": round(max(latency), 2)},
        "events_enrolled_per_s": round(args.events / intake, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
