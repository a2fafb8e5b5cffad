"""Web benchmark on the 1M-customer book: customer 360 reads, phone search and plans over HTTP.

    python bench/bench_web.py --prepare                      # once (minutes): publish, accounts, samples
    python bench/bench_web.py --backend sqlite --backend postgres

``--prepare`` publishes the marts of a loaded warehouse (default: the 1M refresh benchmark's,
opened read-only) into a fresh SQLite serving database under ``--workdir`` and into the PostgreSQL
database ``--pg-url`` with :func:`shouhu.pipeline.publish.publish_marts`, creates a head-office
account and an agent account (the agent with the most customers) with bearer tokens, and draws
the customers to ask for. Later runs reuse all of it.

A run starts ``shouhu serve`` (uvicorn, ONE process, one worker; uvloop and httptools when
installed) on a loopback port over that database and drives it with ``wrk`` (Debian's wrk 4, a
separate process, keep-alive connections, one thread) for each scenario at each connection count:

* ``profile-head`` / ``profile-agent``: ``GET /api/v1/customers/{id}`` (golden record + 360 facts,
  masked) as a head-office manager (customers drawn from the whole book) and as an agent (their
  own book, so the row-scope subquery is in the path);
* ``360-head`` / ``360-agent``: ``GET /api/v1/customers/{id}/360`` (everything the 360 page shows);
* ``search-phone``: ``GET /api/v1/customers?phone=...`` (blind-index lookup) as head office;
* ``plan``: ``GET /api/v1/customers/{id}/plan`` (warehouse read, gap engine, three MILPs,
  suitability log) at low concurrency.

Every request carries the bearer token, so authentication, the permission check, the row rule
and masking are all in the measured path. Prints one line per measurement and a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from _serve import free_port, serve

DEFAULT_WAREHOUSE = Path("/data/bench-refresh-1m/warehouse.duckdb")
DEFAULT_WORKDIR = Path("/data/bench-web")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/bench_web"
AS_OF = date(2026, 10, 31)

WRK_SCRIPT = r"""
local paths, headers, i = {}, {}, 0
init = function(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  headers["Authorization"] = "Bearer " .. args[2]
  i = math.random(#paths)
end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers)
end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def serving_url(backend: str, args: argparse.Namespace) -> str:
    return f"sqlite:///{args.workdir / 'serving.sqlite'}" if backend == "sqlite" else str(args.pg_url)


def key_text(workdir: Path) -> str:
    from shouhu.privacy.crypto import FieldCipher

    path = workdir / "encryption.key"
    if not path.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        path.write_text(FieldCipher.new_key_text() + "\n", encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


# --- prepare ------------------------------------------------------------------------------------

def _create_pg_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """Publish the warehouse's marts, create the bench accounts and draw the samples (once)."""
    from sqlalchemy import func, select

    from shouhu.pipeline.publish import publish_marts
    from shouhu.privacy.crypto import FieldCipher
    from shouhu.privacy.passwords import hash_password
    from shouhu.storage import accounts, serving
    from shouhu.storage.tables import customer_scope, reflected, staff
    from shouhu.storage.warehouse import Warehouse

    url = serving_url(backend, args)
    cipher = FieldCipher.from_text(key_text(args.workdir))
    if backend == "sqlite":
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    else:
        _create_pg_database(url)
    started = time.perf_counter()
    serving.upgrade(url)
    with Warehouse(f"duckdb:///{args.warehouse}", read_only=True) as wh:
        written = publish_marts(wh, url, cipher, as_of=AS_OF)
    publish_s = time.perf_counter() - started
    print(f"[{backend}] published {sum(written.values()):,} rows in {publish_s:.0f}s: {written}", flush=True)

    engine = serving.engine_for(url)
    if backend == "postgres":
        with engine.connect() as conn:  # fresh planner statistics, as autovacuum would gather after a refresh
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    with engine.connect() as conn:
        agent, branch = conn.execute(
            select(customer_scope.c.agent_id, customer_scope.c.branch_id)
            .join(staff, staff.c.staff_id == customer_scope.c.agent_id)
            .group_by(customer_scope.c.agent_id, customer_scope.c.branch_id)
            .order_by(func.count().desc(), customer_scope.c.agent_id).limit(1)).one()
        cust = reflected(engine, "customer")
        everyone = [r[0] for r in conn.execute(select(cust.c.customer_id))]
        own = [r[0] for r in conn.execute(select(customer_scope.c.customer_id)
                                          .where(customer_scope.c.agent_id == agent))]
        rng = random.Random(args.seed)
        head_ids = rng.sample(everyone, min(args.sample, len(everyone)))
        phones = []
        for row in conn.execute(select(cust.c.phone_enc).where(cust.c.customer_id.in_(head_ids[:2000]),
                                                                cust.c.phone_enc.isnot(None))):
            phones.append(cipher.decrypt(row.phone_enc))
    password = hash_password(os.urandom(16).hex())
    tokens = {}
    for user_id, role, scope in (("bench-head", "head_office", {}),
                                 ("bench-agent", "agent", {"staff_id": agent, "branch_id": branch})):
        if accounts.get_user(engine, user_id) is None:
            accounts.create_user(engine, user_id=user_id, display_name=user_id, role=role, password_hash=password,
                                 can_reveal=True, **scope)
        tokens[role] = accounts.create_token(engine, user_id, "bench", days=365)
    engine.dispose()
    facts = {"backend": backend, "url": url, "customers": len(everyone), "agent": agent, "agent_customers": len(own),
             "head_ids": head_ids, "agent_ids": own, "phones": [p for p in phones if p], "tokens": tokens,
             "published_rows": written, "publish_seconds": round(publish_s, 1)}
    (args.workdir / f"{backend}.json").write_text(json.dumps(facts), encoding="utf-8")
    print(f"[{backend}] {len(everyone):,} customers; agent {agent} has {len(own):,}", flush=True)
    return facts


# --- serve and drive ----------------------------------------------------------------------------


def start_server(url: str, args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"SHOUHU_SERVING_URL": url, "SHOUHU_WAREHOUSE_URL": f"duckdb:///{args.warehouse}",
                        "SHOUHU_ENCRYPTION_KEY": key_text(args.workdir), "SHOUHU_DATA_DIR": str(args.workdir),
                        "SHOUHU_MODE": "development"}
    return serve(env, args.workdir, port, pin=args.pin, wait_s=300)


def wrk(port: int, paths: list[str], token: str, connections: int, seconds: float, args: argparse.Namespace,
        timeout_s: int = 5) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        script, listing = Path(tmp) / "paths.lua", Path(tmp) / "paths.txt"
        script.write_text(WRK_SCRIPT, encoding="utf-8")
        listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout_s}s",
               "-s", str(script), f"http://127.0.0.1:{port}", "--", str(listing), token]
        if args.pin:
            cmd = ["taskset", "-c", "1", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    raw = json.loads(line.removeprefix("RESULT "))
    seconds_run = raw["duration_us"] / 1e6
    return {"connections": connections, "requests": raw["requests"], "rps": round(raw["requests"] / seconds_run),
            "p50_ms": round(raw["p50_us"] / 1000, 2), "p90_ms": round(raw["p90_us"] / 1000, 2),
            "p99_ms": round(raw["p99_us"] / 1000, 2), "max_ms": round(raw["max_us"] / 1000, 1),
            "non_2xx": raw["non_2xx"], "socket_errors": raw["socket_errors"]}


def check(port: int, path: str, token: str) -> None:
    """One request by hand: 200, and personal fields masked."""
    r = httpx.get(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=120)
    if r.status_code != 200:
        raise SystemExit(f"{path}: {r.status_code} {r.text[:300]}")
    if "/plan" not in path and "_enc" in r.text:
        raise SystemExit(f"{path}: ciphertext in the answer")


def scenarios(facts: dict[str, Any], args: argparse.Namespace) -> dict[str, tuple[list[str], str]]:
    head, agent = facts["tokens"]["head_office"], facts["tokens"]["agent"]
    rng = random.Random(args.seed)
    plan_ids = rng.sample(facts["agent_ids"], min(200, len(facts["agent_ids"])))
    out = {
        "profile-head": ([f"/api/v1/customers/{c}" for c in facts["head_ids"]], head),
        "profile-agent": ([f"/api/v1/customers/{c}" for c in facts["agent_ids"]], agent),
        "360-head": ([f"/api/v1/customers/{c}/360" for c in facts["head_ids"]], head),
        "360-agent": ([f"/api/v1/customers/{c}/360" for c in facts["agent_ids"]], agent),
        "search-phone": ([f"/api/v1/customers?phone={p}" for p in facts["phones"]], head),
        "plan": ([f"/api/v1/customers/{c}/plan" for c in plan_ids], agent),
    }
    return {k: v for k, v in out.items() if not args.scenario or k in args.scenario}


def run(backend: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    facts = json.loads((args.workdir / f"{backend}.json").read_text(encoding="utf-8"))
    port = args.port or free_port()
    started = time.perf_counter()
    server = start_server(facts["url"], args, port)
    print(f"[{backend}] shouhu serve up in {time.perf_counter() - started:.1f}s on port {port} "
          f"(one process; {facts['customers']:,} customers)", flush=True)
    results = []
    try:
        for name, (paths, token) in scenarios(facts, args).items():
            check(port, paths[0], token)
            counts = args.plan_connections if name == "plan" else args.connections
            seconds = args.plan_seconds if name == "plan" else args.seconds
            wrk(port, paths, token, counts[0], args.warmup, args, timeout_s=30)  # warm caches and connections
            for c in counts:
                result = {"backend": backend, "scenario": name} | wrk(port, paths, token, c, seconds, args,
                                                                        timeout_s=30 if name == "plan" else 5)
                results.append(result)
                print(f"[{backend}] {name:<14} c={c:<3} {result['rps']:>6} req/s  p50 {result['p50_ms']:>7} ms  "
                      f"p90 {result['p90_ms']:>7} ms  p99 {result['p99_ms']:>7} ms  max {result['max_ms']:>7} ms  "
                      f"non-2xx {result['non_2xx']}  errors {result['socket_errors']}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepare", action="store_true", help="publish, create accounts, draw samples (once)")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    parser.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--scenario", action="append", help="only these scenarios (repeatable)")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4, 8, 16, 32])
    parser.add_argument("--plan-connections", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--plan-seconds", type=float, default=40)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--sample", type=int, default=20_000, help="customers drawn for the head-office reads")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int)
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, wrk on CPU 1 (taskset)")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    backends = args.backend or ["sqlite", "postgres"]
    args.warehouse, args.workdir = args.warehouse.resolve(), args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.prepare:
        if not args.warehouse.exists():
            raise SystemExit(f"no warehouse at {args.warehouse}; run bench/bench_refresh.py --customers 1000000 first")
        for backend in backends:
            prepare(backend, args)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk on PATH (apt-get install wrk)")
    results = [r for backend in backends for r in run(backend, args)]
    load = os.getloadavg()
    summary = {"results": results, "cpus": os.cpu_count(), "loadavg_after": [round(x, 1) for x in load],
               "server": "shouhu serve: uvicorn, 1 process, 1 worker", "driver": "wrk 4, 1 thread"}
    print(json.dumps(summary))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
