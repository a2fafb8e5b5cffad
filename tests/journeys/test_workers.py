"""Durability of ``shouhu worker`` as real processes: several workers on PostgreSQL execute each step exactly
once; a worker killed with SIGKILL mid-run loses, duplicates and skips nothing when it is restarted
(issue 14 item 4 and "Also")."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func, select
from tests.journeys.conftest import KEY_TEXT, add_customer, add_template

from shouhu.journeys import engine as jeng
from shouhu.storage import journeys as store
from shouhu.storage import serving
from shouhu.storage.tables import task

NO_QUIET = 'quiet_start = "00:00"\nquiet_end = "00:00"\n'  # the tests run at any hour: no quiet period

INTERNAL = """
key: welcome
name: 欢迎
entry: {event: policy_issued}
start: tagged
nodes:
  tagged: {type: tag, tag: welcomed, next: guide}
  guide: {type: content, title: 新保单指南, link: /h5/help/new-policy, next: call}
  call: {type: task, title: 新单回访, due_in: 3d, next: note}
  note: {type: message, channel: inbox, template: welcome_inbox, next: done}
  done: {type: end}
"""


def _env(tmp_path: Path, serving_url: str) -> dict[str, str]:
    guards = tmp_path / "guards.toml"
    guards.write_text(NO_QUIET, encoding="utf-8")
    return os.environ | {"SHOUHU_SERVING_URL": serving_url, "SHOUHU_DATA_DIR": str(tmp_path),
                         "SHOUHU_ENCRYPTION_KEY": KEY_TEXT, "SHOUHU_MODE": "development"}


def _worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", "from shouhu.cli.main import app; app()", "worker", "--json", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.postgres
@pytest.mark.parametrize("workers", [2, 4])
def test_several_workers_on_postgres_execute_each_step_exactly_once(pg_database: str, tmp_path: Path,
                                                                    workers: int) -> None:
    serving.upgrade(pg_database)
    db = serving.engine_for(pg_database)
    serving_url = pg_database
    customers = 600
    for i in range(customers):
        add_customer(db, f"C{i:04d}")
    add_template(db, "welcome_inbox", channel="inbox", body_zh="欢迎成为守护客户。")
    jeng.publish(db, INTERNAL, "ops")
    jeng.add_events(db, [jeng.event_row(f"C{i:04d}", "policy_issued", jeng.utcnow()) for i in range(customers)])
    env = _env(tmp_path, serving_url)
    procs = [_worker(env, "--until-idle", "--batch", "25", "--guards", str(tmp_path / "guards.toml"))
             for _ in range(workers)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    with db.connect() as conn:
        rows = conn.execute(select(store.step.c.status, store.step.c.attempts, store.step.c.locked_by)).all()
        inbox = conn.execute(select(store.inbox.c.idempotency_key)).scalars().all()
        tasks = conn.execute(select(task.c.source_key)).scalars().all()
        sent = conn.execute(select(func.count()).select_from(store.message_log)
                            .where(store.message_log.c.status == "sent")).scalar()
        done = conn.execute(select(func.count()).select_from(store.enrollment)
                            .where(store.enrollment.c.status == "completed")).scalar()
    assert len(rows) == customers * 5 and {r.status for r in rows} == {"done"}
    assert {r.attempts for r in rows} == {1}  # nobody took a step another worker held
    assert len(inbox) == len(set(inbox)) == customers * 2 and len(tasks) == len(set(tasks)) == customers
    assert sent == customers and done == customers
    shares = Counter(r.locked_by for r in rows)
    assert len(shares) >= 2, shares  # the work was shared
    db.dispose()


class Inbox:
    """An SMTP server that records every message and takes a little while over each."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        time.sleep(0.01)
        text = envelope.content.decode("utf-8", "replace")  # type: ignore[attr-defined]
        mid = next(line.split(":", 1)[1].strip() for line in text.splitlines()
                   if line.lower().startswith("message-id:"))
        with self.lock:
            self.ids.append(mid)
        return "250 OK"


def test_a_worker_killed_mid_run_loses_nothing_and_sends_each_message_once(db: Engine, serving_url: str,
                                                                           tmp_path: Path) -> None:
    customers = 150
    for i in range(customers):
        add_customer(db, f"K{i:04d}", email=f"k{i}@example.com", phone=None)
    add_template(db, "welcome_mail", channel="email", body_zh="欢迎，{{ customer_name }}。")
    jeng.publish(db, INTERNAL.replace("template: welcome_inbox", "template: welcome_mail")
                 .replace("channel: inbox", "channel: email"), "ops")
    jeng.add_events(db, [jeng.event_row(f"K{i:04d}", "policy_issued", jeng.utcnow()) for i in range(customers)])
    handler = Inbox()
    smtp = Controller(handler, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    try:
        env = _env(tmp_path, serving_url) | {"SHOUHU_SMTP_HOST": "127.0.0.1", "SHOUHU_SMTP_PORT": str(smtp.port),
                                             "SHOUHU_SMTP_SENDER": "care@shouhu.example"}
        args = ("--batch", "10", "--guards", str(tmp_path / "guards.toml"))
        first = _worker(env, *args)
        deadline = time.monotonic() + 120
        while len(handler.ids) < customers // 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)  # no clean shutdown: mid-step, mid-send
        first.wait(timeout=30)
        assert 0 < len(handler.ids) < customers
        with db.connect() as conn:  # steps it held are still "running" under its lease
            held = conn.execute(select(func.count()).select_from(store.step)
                                .where(store.step.c.status == "running")).scalar()
        store.resume(db, jeng.utcnow())  # `shouhu journeys resume`: do not wait for the lease to run out
        second = _worker(env, "--until-idle", *args)
        _, err = second.communicate(timeout=300)
        assert second.returncode == 0, err[-2000:]
    finally:
        smtp.stop()
    with db.connect() as conn:
        statuses = Counter(conn.execute(select(store.step.c.status)).scalars())
        tasks = conn.execute(select(task.c.source_key)).scalars().all()
        log = Counter(conn.execute(select(store.message_log.c.status)).scalars())
    assert statuses == Counter({"done": customers * 5}), (statuses, held)
    assert len(tasks) == len(set(tasks)) == customers  # tasks are written with their step: never twice
    assert log == Counter({"sent": customers})
    received = Counter(handler.ids)
    assert len(received) == customers  # every message arrived
    # at most the messages in flight at the kill arrive twice, and a repeat carries the same Message-ID
    # (derived from the step), so the receiving side can drop it
    assert sum(n - 1 for n in received.values()) <= 10
