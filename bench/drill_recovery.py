"""Recovery drills (issue 19 item 4): kill -9 during ingest, refresh and worker runs; backup and restore.

    python bench/drill_recovery.py                       # 50 trials of each, a 500-customer book
    python bench/drill_recovery.py --trials 10 --customers 300 --only ingest

Each trial starts the real command (``shouhu ingest``, ``shouhu refresh``, ``shouhu worker``) as its own
process, sends it SIGKILL after a random delay within the time a clean run takes, runs it again to the end
and compares the result with a clean run's:

* **ingest**: rows per ``src_*`` table and per quarantine equal the clean load's; every file logged once
  (a killed load leaves no partial file behind, and the re-run loads each file exactly once);
* **refresh**: right after the kill the serving database still answers with the previous publication in
  full (no half-published marts); after the re-run, rows per mart equal the clean refresh's;
* **worker**: every journey step done exactly once, one task and one inbox message per customer.

Then a backup of both databases is taken and restored into empty places: seconds for each, and the
recovery time (restore plus the first query answered). Prints one line per drill and a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

KEY = "0J0X5mD2mNqk0mJ8o4Yj1bq7Cq3b8vYz3uQy2Yc0mXo="
SHOUHU = [sys.executable, "-c", "from shouhu.cli.main import app; app()"]
MARTS = ("customer", "customer_360", "household", "customer_gap", "customer_value", "next_best_action")
JOURNEY = """
key: drill
name: 恢复演练
entry: {event: policy_issued}
start: tagged
nodes:
  tagged: {type: tag, tag: drilled, next: call}
  call: {type: task, title: 演练回访, due_in: 3d, next: note}
  note: {type: message, channel: inbox, template: drill_inbox, next: done}
  done: {type: end}
"""


def env_for(root: Path) -> dict[str, str]:
    return os.environ | {"SHOUHU_DATA_DIR": str(root), "SHOUHU_ENCRYPTION_KEY": KEY, "SHOUHU_MODE": "development"}


def run(root: Path, *args: str, check: bool = True) -> float:
    started = time.perf_counter()
    done = subprocess.run([*SHOUHU, *args], env=env_for(root), capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"shouhu {' '.join(args)} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started


def killed(root: Path, delay: float, *args: str) -> int:
    """Start the command, SIGKILL it after ``delay`` seconds; returns its exit code (negative: killed)."""
    proc = subprocess.Popen([*SHOUHU, *args], env=env_for(root), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return int(proc.returncode)


def wh_counts(root: Path) -> dict[str, int]:
    path = root / "warehouse.duckdb"
    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_name LIKE 'src_%' OR table_name LIKE 'ingest_%'").fetchall()]
        return {n: int(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in sorted(names)}  # type: ignore[index]


def duplicate_files(root: Path) -> int:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return int(con.execute("SELECT count(*) - count(DISTINCT file_id) FROM ingest_file").fetchone()[0])  # type: ignore[index]


def serving_counts(root: Path) -> dict[str, int]:
    """Rows per mart, read the way the server reads (``engine_for`` rolls back a killed writer's hot journal
    first; a bare read-only sqlite3 open would fail with "attempt to write a readonly database")."""
    from sqlalchemy import inspect, text

    from shouhu.storage.serving import engine_for

    engine = engine_for(f"sqlite:///{root / 'serving.sqlite'}")
    try:
        with engine.connect() as conn:
            have = set(inspect(conn).get_table_names())
            return {t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()) for t in MARTS
                    if t in have}
    finally:
        engine.dispose()


def drill(name: str, trials: int, trial: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    results = [trial(i) for i in range(trials)]
    failed = [r for r in results if not r["ok"]]
    summary = {"drill": name, "trials": trials, "killed_mid_run": sum(r["killed"] for r in results),
               "failed": len(failed), "lost": sum(r.get("lost", 0) for r in results),
               "duplicated": sum(r.get("duplicated", 0) for r in results), "examples": failed[:3]}
    print(f"{name:8s} trials {trials}  killed mid-run {summary['killed_mid_run']}  lost {summary['lost']}  "
          f"duplicated {summary['duplicated']}  failed {summary['failed']}", flush=True)
    return summary


def ingest_drill(work: Path, book: Path, trials: int, rng: random.Random) -> dict[str, Any]:
    clean = work / "ingest-clean"
    seconds = run(clean, "ingest", str(book))
    want = wh_counts(clean)

    def trial(i: int) -> dict[str, Any]:
        root = work / f"ingest-{i}"
        code = killed(root, rng.uniform(0.5, seconds), "ingest", str(book))
        run(root, "ingest", str(book))
        got = wh_counts(root)
        lost = sum(max(0, n - got.get(t, 0)) for t, n in want.items())
        duplicated = sum(max(0, got.get(t, 0) - n) for t, n in want.items()) + duplicate_files(root)
        shutil.rmtree(root)
        return {"ok": got == want and duplicated == 0, "killed": code < 0, "lost": lost, "duplicated": duplicated}

    return drill("ingest", trials, trial) | {"clean_seconds": round(seconds, 2)}


def refresh_drill(work: Path, book: Path, trials: int, rng: random.Random) -> dict[str, Any]:
    root = work / "refresh"
    run(root, "ingest", str(book))
    as_of = json.loads((book / "manifest.json").read_text(encoding="utf-8"))["as_of"]
    seconds = run(root, "refresh", "--as-of", as_of)
    want = serving_counts(root)

    def trial(i: int) -> dict[str, Any]:
        code = killed(root, rng.uniform(1.0, 0.8 * seconds), "refresh", "--as-of", as_of)
        between = serving_counts(root)  # the previous publication, whole
        run(root, "refresh", "--as-of", as_of)
        after = serving_counts(root)
        lost = sum(max(0, n - after.get(t, 0)) for t, n in want.items())
        duplicated = sum(max(0, after.get(t, 0) - n) for t, n in want.items())
        return {"ok": between == want and after == want, "killed": code < 0, "lost": lost,
                "duplicated": duplicated, "between": between if between != want else None}

    return drill("refresh", trials, trial) | {"clean_seconds": round(seconds, 2)}


def worker_drill(work: Path, trials: int, customers: int, rng: random.Random) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from datetime import UTC, datetime

    from sqlalchemy import func, insert, select

    from shouhu.journeys import engine as jeng
    from shouhu.privacy.crypto import FieldCipher
    from shouhu.storage import journeys as store
    from shouhu.storage import serving
    from shouhu.storage.tables import reflected, task

    cipher = FieldCipher.from_text(KEY)

    def setup(root: Path) -> Any:
        root.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{root / 'serving.sqlite'}"
        serving.upgrade(url)
        db = serving.engine_for(url)
        cust, c360 = reflected(db, "customer"), reflected(db, "customer_360")
        with db.begin() as conn:
            conn.execute(insert(cust), [{"customer_id": f"D{i:04d}", "name_masked": "张*",
                                         "phone_enc": cipher.encrypt("13912345678")} for i in range(customers)])
            conn.execute(insert(c360), [{"customer_id": f"D{i:04d}"} for i in range(customers)])
        now = datetime(2026, 12, 1, tzinfo=UTC)
        version = store.save_template(db, {"code": "drill_inbox", "channel": "inbox", "kind": "service",
                                           "purpose": "service", "subject_zh": "演练", "body_zh": "您好。",
                                           "subject_en": "Drill", "body_en": "Hello.", "created_by": "drill"}, now)
        store.set_template_status(db, "drill_inbox", version, "approved", ["draft", "pending"], "drill", None, now)
        jeng.publish(db, JOURNEY, "drill")
        jeng.add_events(db, [jeng.event_row(f"D{i:04d}", "policy_issued", jeng.utcnow()) for i in range(customers)])
        (root / "guards.toml").write_text('quiet_start = "00:00"\nquiet_end = "00:00"\n', encoding="utf-8")
        return db

    args = ("worker", "--until-idle", "--batch", "10")
    probe = work / "worker-clean"
    setup(probe).dispose()
    seconds = run(probe, *args, "--guards", str(probe / "guards.toml"))

    def trial(i: int) -> dict[str, Any]:
        root = work / f"worker-{i}"
        db = setup(root)
        guards = ("--guards", str(root / "guards.toml"))
        code = killed(root, rng.uniform(0.5, seconds), *args, *guards)
        store.resume(db, jeng.utcnow())
        run(root, *args, *guards)
        with db.connect() as conn:
            steps = conn.execute(select(store.step.c.status, func.count()).group_by(store.step.c.status)).all()
            tasks = conn.execute(select(task.c.source_key)).scalars().all()
            inbox = conn.execute(select(store.inbox.c.idempotency_key)).scalars().all()
        db.dispose()
        shutil.rmtree(root)
        done = dict(steps).get("done", 0)
        lost = customers * 4 - done + customers - len(set(tasks)) + customers - len(set(inbox))
        duplicated = len(tasks) - len(set(tasks)) + len(inbox) - len(set(inbox))
        return {"ok": dict(steps) == {"done": customers * 4} and lost == 0 and duplicated == 0,
                "killed": code < 0, "lost": lost, "duplicated": duplicated}

    return drill("worker", trials, trial) | {"clean_seconds": round(seconds, 2)}


def backup_drill(work: Path) -> dict[str, Any]:
    source = work / "refresh"
    target = work / "restored"
    dest = work / "backup"
    backup_s = run(source, "backup", "create", str(dest))
    target.mkdir()
    # the restored place is configured like the source but empty: recovery onto a new machine
    for name in ("warehouse.duckdb", "serving.sqlite"):
        (target / name).unlink(missing_ok=True)
    started = time.perf_counter()
    run(target, "backup", "restore", str(dest), "--yes", "--ignore-current")
    restore_s = time.perf_counter() - started
    run(target, "status")
    recovery_s = time.perf_counter() - started
    ok = serving_counts(target) == serving_counts(source)
    size = sum(p.stat().st_size for p in dest.iterdir())
    print(f"backup   {size / 2**20:.1f} MB in {backup_s:.2f} s; restore {restore_s:.2f} s; recovery (restore + first "
          f"command answered) {recovery_s:.2f} s; counts equal: {ok}", flush=True)
    return {"drill": "backup", "bytes": size, "backup_seconds": round(backup_s, 2),
            "restore_seconds": round(restore_s, 2), "recovery_seconds": round(recovery_s, 2), "ok": ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=("ingest", "refresh", "worker", "backup"), action="append")
    parser.add_argument("--workdir", type=Path, default=None)
    a = parser.parse_args()
    rng = random.Random(a.seed)
    work = Path(a.workdir or tempfile.mkdtemp(prefix="shouhu-drill-"))
    book = work / "book"
    if not (book / "manifest.json").exists():
        run(work, "synth", str(book), "--customers", str(a.customers), "--seed", str(a.seed))
    only = set(a.only or ("ingest", "refresh", "worker", "backup"))
    out: list[dict[str, Any]] = []
    if "ingest" in only:
        out.append(ingest_drill(work, book, a.trials, rng))
    if only & {"refresh", "backup"}:
        out.append(refresh_drill(work, book, a.trials if "refresh" in only else 0, rng))
    if "worker" in only:
        out.append(worker_drill(work, a.trials, max(50, a.customers // 5), rng))
    if "backup" in only:
        out.append(backup_drill(work))
    print(json.dumps({"customers": a.customers, "trials": a.trials, "cpus": os.cpu_count(), "drills": out},
                     ensure_ascii=False, default=str))
    if a.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    if any(d.get("failed") or d.get("ok") is False for d in out):
        sys.exit(1)


if __name__ == "__main__":
    main()
