"""The workbench's "today's tasks" query on a large serving database: p50/p99 per agent.

    python bench/bench_worklist.py --customers 1000000 --tasks 1000000 --agents 5000 --big-agents 50

Builds a fresh SQLite serving database (migrated to head, in a temporary folder unless ``--db``)
and writes rows directly: ``customers`` customers spread over ``agents`` agents (``big-agents`` of
them with 2,000 customers each, the rest sharing the remainder), their ``customer_scope`` rows, and
``tasks`` tasks on random customers (55% open, 10% snoozed, 25% done, 10% cancelled; due dates
from 60 days ago to 30 days ahead; owned by the customer's agent as materialised next best actions
are). Then runs what ``/console/work`` runs for an agent, ``storage.activities.list_tasks`` with
view ``today`` and the owner filter (limit 101), for ``--samples`` agents drawn at random (and
separately for the big agents), after one warm-up pass; then the workbench's "my customers" first
page (``storage.workbench.my_customers``: attention score over gaps, value tiers, lapse scores,
retention actions and due tasks, which the build fills for every customer), and prints JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from shouhu.access.policy import Principal, row_rule
from shouhu.access.roles import Role
from shouhu.storage import serving
from shouhu.storage.activities import list_tasks
from shouhu.storage.workbench import my_customers

STATUSES = ("open",) * 55 + ("snoozed",) * 10 + ("done",) * 25 + ("cancelled",) * 10
BIG = 2_000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def build(path: Path, customers: int, tasks: int, agents: int, big_agents: int, today: date, seed: int
          ) -> tuple[list[str], dict[str, int], float]:
    """Write the book; returns (agent ids, customers per agent, seconds taken)."""
    started = time.perf_counter()
    serving.upgrade(f"sqlite:///{path}")
    rng = random.Random(seed)
    agent_ids = [f"AG{i:07d}" for i in range(agents)]
    owner: list[str] = []
    for a in agent_ids[:big_agents]:
        owner += [a] * BIG
    rest = agent_ids[big_agents:]
    left = customers - len(owner)
    owner += [rest[i % len(rest)] for i in range(left)]
    rng.shuffle(owner)
    counts: dict[str, int] = {}
    for a in owner:
        counts[a] = counts.get(a, 0) + 1
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    ids = [f"CU{i:012x}" for i in range(customers)]
    conn.executemany("INSERT INTO customer (customer_id, name_masked, name_enc) VALUES (?, ?, ?)",
                     ((c, "张*", None) for c in ids))
    conn.executemany("INSERT INTO customer_scope (customer_id, agent_id, branch_id, team_id, service_team_id) "
                     "VALUES (?, ?, ?, ?, ?)",
                     ((c, a, f"BR{int(a[2:]) % 100:04d}", f"TM{int(a[2:]) % 1000:04d}",
                       f"BR{int(a[2:]) % 100:04d}-SVC") for c, a in zip(ids, owner, strict=True)))
    stamp = f"{today.isoformat()}T08:00:00+08:00"

    def rows() -> Any:
        for i in range(tasks):
            k = rng.randrange(customers)
            status = STATUSES[rng.randrange(len(STATUSES))]
            due = today + timedelta(days=rng.randint(-60, 30))
            snoozed = (today + timedelta(days=rng.randint(-5, 10))).isoformat() if status == "snoozed" else None
            closed = stamp if status in ("done", "cancelled") else None
            yield (ids[k], owner[k], "回访客户", "nba", f"nba:{ids[k]}:retention_contact:{i}", "retention_contact",
                   status, 1 + i % 3, due.isoformat(), snoozed, stamp, "bench", stamp, closed)

    conn.executemany("INSERT INTO task (customer_id, owner_staff_id, title, source, source_key, action, status, "
                     "priority, due_date, snoozed_until, created_at, created_by, updated_at, closed_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
    _marts(conn, ids, rng)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return agent_ids, counts, time.perf_counter() - started


def _marts(conn: sqlite3.Connection, ids: list[str], rng: random.Random) -> None:
    """What "my customers" reads: 360 (age), gaps, value tiers, one lapse score per customer, and a
    retention next best action for a third of the customers."""
    tiers = (("platinum", "白金", "Platinum"),) + (("gold", "黄金", "Gold"),) * 3 + \
        (("silver", "白银", "Silver"),) * 6 + (("standard", "标准", "Standard"),) * 10
    conn.executemany("INSERT INTO customer_360 (customer_id, age) VALUES (?, ?)",
                     ((c, rng.randint(20, 75)) for c in ids))
    conn.executemany("INSERT INTO customer_value (customer_id, value, tier, tier_zh, tier_en, policies) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     ((c, rng.random() * 50_000, *tiers[rng.randrange(len(tiers))], 1) for c in ids))
    needs = ("life", "critical_illness", "medical", "accident", "pension", "education")
    cols = ", ".join(f"need_{n}, gap_{n}" for n in needs)
    marks = ", ".join("?" for _ in range(1 + 2 * len(needs)))
    conn.executemany(f"INSERT INTO customer_gap (customer_id, {cols}) VALUES ({marks})",
                     ((c, *[v for _ in needs for v in (500_000.0, max(0.0, rng.gauss(100_000, 200_000)))])
                      for c in ids))
    conn.executemany("INSERT INTO lapse_score (policy_no, customer_id, probability) VALUES (?, ?, ?)",
                     ((f"P{c}", c, rng.random() ** 3) for c in ids))
    conn.executemany("INSERT INTO next_best_action (customer_id, rank, action, expected_value, probability, "
                     "outcome_value, reason_zh, reason_en, kind) VALUES (?, 1, 'retention_contact', 100, 0.3, "
                     "300, '即将失效', 'about to lapse', 'service')", ((c,) for c in ids if rng.random() < 1 / 3))


def measure_customers(engine: Any, agents: list[str], today: date) -> dict[str, Any]:
    """The workbench's "my customers" first page (storage.workbench.my_customers, 21 rows) per agent."""
    times = []
    for a in agents:
        principal = Principal(user_id=f"u-{a}", role=Role.AGENT, staff_id=a)
        t0 = time.perf_counter()
        my_customers(engine, row_rule(principal), today, limit=21)
        times.append((time.perf_counter() - t0) * 1000)
    return {"agents": len(agents), "p50_ms": round(statistics.median(times), 2),
            "p90_ms": round(percentile(times, 0.90), 2), "p99_ms": round(percentile(times, 0.99), 2),
            "max_ms": round(max(times), 2)}


def measure(engine: Any, agents: list[str], today: date) -> dict[str, Any]:
    times, found = [], []
    for a in agents:
        principal = Principal(user_id=f"u-{a}", role=Role.AGENT, staff_id=a)
        t0 = time.perf_counter()
        rows = list_tasks(engine, row_rule(principal), view="today", today=today, owner=(principal.user_id, a),
                          limit=101)
        times.append((time.perf_counter() - t0) * 1000)
        found.append(len(rows))
    return {"agents": len(agents), "p50_ms": round(statistics.median(times), 2),
            "p90_ms": round(percentile(times, 0.90), 2), "p99_ms": round(percentile(times, 0.99), 2),
            "max_ms": round(max(times), 2), "mean_tasks_returned": round(statistics.mean(found), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--agents", type=int, default=5_000)
    ap.add_argument("--big-agents", type=int, default=50, help=f"agents with {BIG:,} customers each")
    ap.add_argument("--samples", type=int, default=1_000, help="agents to time (drawn at random)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--db", type=Path, help="keep the database here (default: a temporary folder)")
    args = ap.parse_args()
    if args.big_agents * BIG > args.customers or args.big_agents >= args.agents:
        ap.error("too many big agents for the customers and agents given")
    today = date.today()
    with tempfile.TemporaryDirectory(prefix="shouhu-bench-worklist-") as tmp:
        path = args.db or Path(tmp) / "serving.sqlite"
        if path.exists():
            path.unlink()
        agents, counts, built_s = build(path, args.customers, args.tasks, args.agents, args.big_agents, today,
                                        args.seed)
        engine = serving.engine_for(f"sqlite:///{path}")
        rng = random.Random(args.seed + 1)
        sample = rng.sample(agents, min(args.samples, len(agents)))
        big = agents[:args.big_agents]
        measure(engine, sample[:50], today)  # warm-up: page cache, reflected tables, statement cache
        report = {"customers": args.customers, "tasks": args.tasks, "agents": args.agents, "build_s": round(built_s, 1),
                  "db_mb": round(path.stat().st_size / 2**20, 1),
                  "customers_per_agent": {"median": statistics.median(counts.values()), "max": max(counts.values())},
                  "today_tasks_random_agents": measure(engine, sample, today),
                  "today_tasks_agents_with_2000_customers": measure(engine, big * max(1, 200 // max(1, len(big))),
                                                                    today),
                  "my_customers_random_agents": measure_customers(engine, sample[:200], today),
                  "my_customers_agents_with_2000_customers": measure_customers(engine, big, today)}
        engine.dispose()
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
