"""Partner API under sustained load: quotes, and full binds (quote + traceability session + events + bind).

    python bench/bench_partners.py                                   # SQLite, and PostgreSQL when a URL is set
    python bench/bench_partners.py --backend sqlite --clients 1 8 32 --seconds 30

Each backend gets a fresh serving database (SQLite under ``--workdir``; on PostgreSQL a new database on the
server of ``--pg-url``, ``SHOUHU_BENCH_POSTGRES_URL`` or ``SHOUHU_TEST_POSTGRES_URL``, dropped afterwards)
with the shipped disclosure pages published and one licensed intermediary whose rate limit is raised to the
registry's maximum (100,000 requests a minute) so that the limiter never answers 429. ``shouhu serve``
(uvicorn, ONE process, one worker) serves it on a loopback port; this process drives it with N concurrent
clients (asyncio + httpx, keep-alive connections, one fresh ``Idempotency-Key`` per write) for a fixed
duration per scenario:

* ``quote``: ``POST /api/v1/partner/quotes`` for a return-shipping policy (RS01), a new order each time;
* ``bind``: the whole sale: quote, ``POST /trace/sessions``, ``POST /trace/sessions/{id}/events`` (a page
  view and a confirmation of each disclosure page), ``POST /policies``; one policy per order number.

Every request is authenticated with the partner's API key, rate-limited, logged in ``partner_request`` and
goes through the idempotency store, so all of that is in the measured path. Prints one line per measurement
(requests or sales per second; p50, p95, p99 and max latency; errors = transport errors and unexpected
statuses) and a JSON summary. Traffic goes to 127.0.0.1 only, and every loop stops at its deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from _serve import free_port, serve

API = "/api/v1/partner"
PARTNER = "bench-broker"
ID_NUMBER, PHONE = "110101199003074514", "13912345678"


# --- the database and the server ------------------------------------------------------------------

def pg_server_url() -> str | None:
    return os.environ.get("SHOUHU_BENCH_POSTGRES_URL") or os.environ.get("SHOUHU_TEST_POSTGRES_URL")


def create_pg_database(server: str) -> str:
    import psycopg

    name = f"bench_partners_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server.rsplit('/', 1)[0]}/{name}"


def drop_pg_database(server: str, url: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def prepare(url: str, workdir: Path, key_text: str) -> str:
    """Migrate, publish the disclosure pages, register the partner; its sandbox API key."""
    from shouhu.partners import registry, sales
    from shouhu.settings import Settings
    from shouhu.web.app import create_app

    app = create_app(Settings(data_dir=workdir / "data", serving_url=url, encryption_key=key_text))
    engine = app.state.shouhu.engine
    sales.publish_disclosures(engine, "bench")
    registry.create_partner(engine, PARTNER, "基准测试经纪有限公司", "intermediary", licence_no="260000000000000009",
                            product_codes=["RS01"], scenes=["ecommerce"], rate_per_minute=100_000)
    key = str(registry.issue_key(engine, PARTNER, "sandbox")["key"])
    engine.dispose()
    return key



def start_server(url: str, workdir: Path, key_text: str, port: int, pin: bool) -> subprocess.Popen[bytes]:
    env = os.environ | {"SHOUHU_SERVING_URL": url, "SHOUHU_ENCRYPTION_KEY": key_text,
                        "SHOUHU_DATA_DIR": str(workdir / "data"), "SHOUHU_MODE": "development"}
    return serve(env, workdir, port, pin=pin, wait_s=120)


# --- the clients ----------------------------------------------------------------------------------

@dataclass
class Tally:
    """Latencies (seconds) of the measured unit (a request, or a whole sale) and of the bind step."""

    latencies: list[float] = field(default_factory=list)
    bind_step: list[float] = field(default_factory=list)
    requests: int = 0
    errors: int = 0
    samples: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < 5:
            self.samples.append(what[:300])


class Sale:
    """One client's requests; raises ``Failed`` on a transport error or an unexpected status."""

    def __init__(self, client: httpx.AsyncClient, key: str, delivered_on: str, tally: Tally) -> None:
        self.client, self.key, self.delivered_on, self.tally = client, key, delivered_on, tally

    async def post(self, path: str, body: dict[str, Any], expect: int) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.key}", "Idempotency-Key": uuid.uuid4().hex}
        self.tally.requests += 1
        try:
            r = await self.client.post(API + path, json=body, headers=headers)
        except httpx.HTTPError as e:
            raise Failed(f"{path}: {type(e).__name__} {e}") from None
        if r.status_code != expect:
            raise Failed(f"{path}: {r.status_code} {r.text[:200]}")
        return dict(r.json())

    async def quote(self, order_no: str) -> dict[str, Any]:
        facts = {"seller_id": "S-889", "seller_orders_12m": 1200, "seller_returns_12m": 96, "category": "apparel",
                 "order_no": order_no, "order_value_fen": 15900, "delivered_on": self.delivered_on}
        return await self.post("/quotes", {"product_code": "RS01", "facts": facts}, 201)

    async def bind(self, order_no: str) -> None:
        q = await self.quote(order_no)
        opened = await self.post("/trace/sessions", {"product_code": "RS01", "customer_ref": order_no}, 201)
        sid = opened["session_id"]
        await self.post(f"/trace/sessions/{sid}/events", {"events": events(q["disclosures"])}, 200)
        body = {"quote_id": q["quote_id"], "partner_order_no": order_no, "customer_ref": order_no,
                "applicant": {"name": "张三", "id_number": ID_NUMBER, "phone": PHONE},
                "acknowledgements": [{k: d[k] for k in ("code", "version", "sha256")} for d in q["disclosures"]],
                "trace_session_id": sid}
        started = time.perf_counter()
        await self.post("/policies", body, 201)
        self.tally.bind_step.append(time.perf_counter() - started)


class Failed(Exception):
    pass


def events(disclosures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, d in enumerate(disclosures):
        page = {"page_code": d["code"], "page_version": d["version"], "page_hash": d["sha256"]}
        out += [{"client_event_id": f"v{i}", "type": "page_view", "at": "2026-12-07T10:00:00+08:00",
                 "duration_ms": 20_000, "scrolled_to_end": True} | page,
                {"client_event_id": f"c{i}", "type": "confirm", "at": "2026-12-07T10:00:30+08:00",
                 "field": "read", "value": True} | page]
    return out


async def client_loop(sale: Sale, scenario: str, worker: str, deadline: float) -> None:
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        order_no = f"{worker}-{n}"
        started = time.perf_counter()
        try:
            await (sale.quote(order_no) if scenario == "quote" else sale.bind(order_no))
        except Failed as e:
            sale.tally.fail(str(e))
            continue
        sale.tally.latencies.append(time.perf_counter() - started)


async def drive(port: int, key: str, scenario: str, clients: int, seconds: float, delivered_on: str) -> Tally:
    tally = Tally()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
        sale = Sale(client, key, delivered_on, tally)
        deadline = time.perf_counter() + seconds
        run = uuid.uuid4().hex[:6]
        await asyncio.gather(*(client_loop(sale, scenario, f"{scenario[0]}{run}{c}", deadline)
                               for c in range(clients)))
    return tally


# --- figures --------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, int(q / 100 * len(ordered) + 0.5) - 1))] * 1000, 1)


def figures(backend: str, scenario: str, clients: int, seconds: float, tally: Tally) -> dict[str, Any]:
    done = len(tally.latencies)
    out = {"backend": backend, "scenario": scenario, "clients": clients, "seconds": seconds, "completed": done,
           "per_s": round(done / seconds, 1), "requests": tally.requests,
           "requests_per_s": round(tally.requests / seconds, 1), "errors": tally.errors,
           "p50_ms": percentile(tally.latencies, 50), "p95_ms": percentile(tally.latencies, 95),
           "p99_ms": percentile(tally.latencies, 99), "max_ms": percentile(tally.latencies, 100)}
    if tally.bind_step:
        out |= {"bind_p50_ms": percentile(tally.bind_step, 50), "bind_p99_ms": percentile(tally.bind_step, 99)}
    if tally.samples:
        out["error_samples"] = tally.samples
    return out


def show(r: dict[str, Any]) -> None:
    unit = "quotes/s" if r["scenario"] == "quote" else "sales/s "
    extra = f"  (bind step p50 {r['bind_p50_ms']} / p99 {r['bind_p99_ms']} ms; {r['requests_per_s']} req/s)" \
        if "bind_p99_ms" in r else ""
    print(f"[{r['backend']}] {r['scenario']:<5} c={r['clients']:<3} {r['per_s']:>7} {unit}  p50 {r['p50_ms']:>7} ms  "
          f"p95 {r['p95_ms']:>7} ms  p99 {r['p99_ms']:>7} ms  max {r['max_ms']:>7} ms  errors {r['errors']}{extra}",
          flush=True)
    for sample in r.get("error_samples", []):
        print(f"    error: {sample}", flush=True)


# --- main -----------------------------------------------------------------------------------------

def bench_backend(backend: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    from shouhu.partners import registry, sales
    from shouhu.privacy.crypto import FieldCipher

    workdir = Path(tempfile.mkdtemp(prefix=f"bench-partners-{backend}-", dir=args.workdir))
    server_url = args.pg_url if backend == "postgres" else None
    url = create_pg_database(server_url) if server_url else f"sqlite:///{workdir / 'serving.sqlite'}"
    key_text = FieldCipher.new_key_text()
    results = []
    try:
        key = prepare(url, workdir, key_text)
        port = free_port()
        server = start_server(url, workdir, key_text, port, args.pin)
        delivered_on = (sales.today(registry.now_utc()) + timedelta(days=2)).isoformat()
        try:
            for scenario in args.scenario:
                asyncio.run(drive(port, key, scenario, args.clients[0], args.warmup, delivered_on))
                for clients in args.clients:
                    tally = asyncio.run(drive(port, key, scenario, clients, args.seconds, delivered_on))
                    results.append(figures(backend, scenario, clients, args.seconds, tally))
                    show(results[-1])
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        if server_url:
            drop_pg_database(server_url, url)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"],
                        help="default: sqlite, and postgres when a PostgreSQL URL is set")
    parser.add_argument("--scenario", nargs="+", choices=["quote", "bind"], default=["quote", "bind"])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=30, help="duration of each measurement")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds before each scenario")
    parser.add_argument("--pg-url", default=pg_server_url(),
                        help="a PostgreSQL server where a database may be created (default: "
                             "$SHOUHU_BENCH_POSTGRES_URL, else $SHOUHU_TEST_POSTGRES_URL)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--keep", action="store_true", help="keep the SQLite database and server.log")
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, clients on CPU 1")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    backends = args.backend or (["sqlite", "postgres"] if args.pg_url else ["sqlite"])
    if "postgres" in backends and not args.pg_url:
        raise SystemExit("postgres needs --pg-url, SHOUHU_BENCH_POSTGRES_URL or SHOUHU_TEST_POSTGRES_URL")
    if args.pin:
        os.sched_setaffinity(0, {1})
    args.workdir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server and drop the database on kill
    results = [r for backend in backends for r in bench_backend(backend, args)]
    summary = {"results": results, "cpus": os.cpu_count(), "loadavg_after": [round(x, 1) for x in os.getloadavg()],
               "server": "shouhu serve: uvicorn, 1 process, 1 worker", "driver": "asyncio + httpx, 1 process"}
    print(json.dumps(summary))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
