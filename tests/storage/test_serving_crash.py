"""A publisher killed mid-publish (SIGKILL) leaves a hot SQLite journal; read-only openings still work.

Without recovery, a read-only connection fails with "attempt to write a readonly database" until the
next writer comes; ``storage.serving.engine_for`` rolls the journal back first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import text

from shouhu.storage import serving
from shouhu.storage.publish import publish_tables

WRITER = textwrap.dedent("""
    import sys, time
    import pyarrow as pa
    from shouhu.storage.publish import publish_tables

    def batches():
        for b in range(3):
            yield pa.RecordBatch.from_pylist([{"customer_id": f"N{b}-{i}", "name_enc": "x" * 200}
                                             for i in range(5000)])
        print("mid-publish", flush=True)
        time.sleep(600)  # killed here, inside the open transaction

    publish_tables(sys.argv[1], {"probe": batches})
""")


@pytest.fixture
def crashed(tmp_path: Path) -> tuple[Path, str]:
    """A serving database whose publication of ``probe`` was killed half way; the old rows are C1, C2."""
    path = tmp_path / "serving.sqlite"
    url = f"sqlite:///{path}"
    engine = serving.engine_for(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (customer_id TEXT PRIMARY KEY, name_enc TEXT)"))
    engine.dispose()
    publish_tables(url, {"probe": pa.table({"customer_id": ["C1", "C2"], "name_enc": ["a", "b"]})})
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    writer = subprocess.Popen([sys.executable, str(script), url], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "mid-publish"
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    journal = Path(f"{path}-journal")
    assert journal.exists() and journal.stat().st_size > 0  # the hot journal the crash left
    return path, url


def ids(engine: object) -> list[str]:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT customer_id FROM probe ORDER BY customer_id"))]
    finally:
        engine.dispose()


def test_read_only_url_opens_after_a_crash_mid_publish(crashed: tuple[Path, str]) -> None:
    path, _ = crashed
    # the URI form a read-only reporting account uses; SQLite alone fails here
    assert ids(serving.engine_for(f"sqlite:///file:{path}?mode=ro&uri=true")) == ["C1", "C2"]
    assert not Path(f"{path}-journal").exists()  # rolled back: the previous publication is whole


def test_read_only_engine_opens_after_a_crash_mid_publish(crashed: tuple[Path, str]) -> None:
    _, url = crashed
    assert ids(serving.engine_for(url, read_only=True)) == ["C1", "C2"]


def test_a_pooled_read_only_engine_recovers_from_a_later_crash(tmp_path: Path) -> None:
    path = tmp_path / "serving.sqlite"
    url = f"sqlite:///{path}"
    engine = serving.engine_for(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (customer_id TEXT PRIMARY KEY, name_enc TEXT)"))
    engine.dispose()
    publish_tables(url, {"probe": pa.table({"customer_id": ["C1"], "name_enc": ["a"]})})
    reader = serving.engine_for(url, read_only=True)
    try:
        with reader.connect() as conn:  # a pooled connection, open before the crash
            assert conn.execute(text("SELECT count(*) FROM probe")).scalar() == 1
        script = tmp_path / "writer.py"
        script.write_text(WRITER, encoding="utf-8")
        writer = subprocess.Popen([sys.executable, str(script), url], stdout=subprocess.PIPE, text=True)
        assert writer.stdout is not None and writer.stdout.readline().strip() == "mid-publish"
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        assert Path(f"{path}-journal").exists()
        with reader.connect() as conn:
            assert conn.execute(text("SELECT customer_id FROM probe")).scalars().all() == ["C1"]
    finally:
        reader.dispose()


def test_a_read_only_process_that_cannot_recover_says_what_to_do(crashed: tuple[Path, str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from shouhu.errors import StorageError

    _, url = crashed

    def refuse(*_: object, **__: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(serving.sqlite3, "connect", refuse)
    with pytest.raises(StorageError, match="shouhu db upgrade"):
        serving.engine_for(url, read_only=True)
