"""Plan computation over HTTP: ``GET /api/v1/customers/{id}/plan`` p50/p90/p99 and requests/s.

    python bench/bench_web_plan.py --requests 200 --concurrency 4

Serves the application with uvicorn on a free loopback port over a copy of the serving database
(SQLite; the original is not touched) and the configured warehouse (opened read-only per request,
as the server does), signs requests with a bearer token of a throwaway admin account, and asks for
the plans of customers drawn at random from the book. Every request does it all: authentication,
the row-scope check, the household read from the warehouse, the gap engine, three integer
programmes (recommended, cheaper, fuller) and the suitability checks written to the serving
database. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import socket
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select

from shouhu.privacy.passwords import hash_password
from shouhu.settings import get_settings
from shouhu.storage import accounts
from shouhu.storage.tables import reflected


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    from shouhu.web.app import create_app

    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    settings = get_settings()
    source = Path(settings.serving.removeprefix("sqlite:///"))
    if not settings.serving.startswith("sqlite:///") or not source.exists():
        raise SystemExit(f"needs a SQLite serving database (run make demo first); got {settings.serving}")
    with tempfile.TemporaryDirectory(prefix="shouhu-bench-plan-") as tmp:
        copy = Path(tmp) / "serving.sqlite"
        shutil.copy(source, copy)
        local = settings.model_copy(update={"serving_url": f"sqlite:///{copy}",
                                            "warehouse_url": settings.warehouse})
        app = create_app(local, migrate=True)
        engine = app.state.shouhu.engine
        accounts.create_user(engine, user_id="bench-plan", display_name="bench", role="admin",
                             password_hash=hash_password("bench-plan-password"))
        token = accounts.create_token(engine, "bench-plan", "bench")
        c360 = reflected(engine, "customer_360")
        with engine.connect() as conn:
            ids = [r[0] for r in conn.execute(select(c360.c.customer_id).order_by(c360.c.customer_id))]
        rng = random.Random(args.seed)
        sample = [rng.choice(ids) for _ in range(args.requests)]
        port = _port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        headers = {"Authorization": f"Bearer {token}"}
        times: list[float] = []
        errors: dict[int, int] = {}
        lock = threading.Lock()

        def one(client: httpx.Client, cid: str) -> None:
            t0 = time.perf_counter()
            r = client.get(f"/api/v1/customers/{cid}/plan", headers=headers)
            spent = time.perf_counter() - t0
            with lock:
                if r.status_code == 200:
                    times.append(spent)
                else:
                    errors[r.status_code] = errors.get(r.status_code, 0) + 1

        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=120) as warm:
            one(warm, sample[0])  # imports and the first warehouse open
        times.clear()
        clients = [httpx.Client(base_url=base, timeout=120) for _ in range(args.concurrency)]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            for i, cid in enumerate(sample):
                pool.submit(one, clients[i % args.concurrency], cid)
        wall = time.perf_counter() - t0
        for c in clients:
            c.close()
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
    ms = [t * 1000 for t in times]
    result: dict[str, Any] = {
        "requests": args.requests, "concurrency": args.concurrency, "ok": len(ms), "errors": errors,
        "p50_ms": round(percentile(ms, 0.50), 1) if ms else None,
        "p90_ms": round(percentile(ms, 0.90), 1) if ms else None,
        "p99_ms": round(percentile(ms, 0.99), 1) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 1) if ms else None,
        "requests_per_s": round(len(ms) / wall, 2), "customers": len(ids),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
