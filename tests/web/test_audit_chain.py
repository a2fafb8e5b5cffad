"""Tamper detection of the hash-chained audit log (storage.audit), on SQLite and PostgreSQL.

Editing any field of any entry, removing an entry from the middle or the end, and racing writers
are each tried against :func:`shouhu.storage.audit.verify`.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, update

from shouhu.storage import audit, serving
from shouhu.storage.tables import audit_log

N = 12


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One migrated serving database per backend for the module (migrating costs seconds)."""
    import psycopg

    name = f"shouhu_audit_{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        url, server = f"sqlite:///{tmp_path_factory.mktemp('audit') / 'serving.sqlite'}", None
    else:
        server = request.getfixturevalue("pg_server")
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{server.rsplit('/', 1)[0]}/{name}"
    serving.upgrade(url)
    eng = serving.engine_for(url)
    yield eng
    eng.dispose()
    if server:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(migrated: Engine) -> Engine:
    """The module's database with an empty audit log."""
    with migrated.begin() as conn:
        conn.execute(delete(audit_log))
    return migrated


def _fill(engine: Engine, n: int = N) -> list[dict[str, Any]]:
    return [audit.append(engine, actor=f"user-{i % 3}", actor_role="agent", action=("reveal", "export", "login")[i % 3],
                         target_kind="customer", target_id=f"CU{i:06x}", reason=f"客户来电 {i}",
                         detail={"fields": ["phone"], "i": i, "note": "联系人 张三"}, client="127.0.0.1")
            for i in range(n)]


def _row(engine: Engine, seq: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(select(audit_log).where(audit_log.c.seq == seq)).one()._mapping)


def _set(engine: Engine, at: int, /, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == at).values(**values))


def _tampered(field: str, value: Any) -> Any:
    if field == "detail":
        return value.replace("}", ',"x":1}') if value.endswith("}") else value + "x"
    if field in ("hash", "prev_hash"):
        return ("0" if value[0] != "0" else "1") + value[1:]
    return value + "x"


def test_appended_entries_verify_and_chain(engine: Engine) -> None:
    rows = _fill(engine)
    result = audit.verify(engine)
    assert result.ok and result.entries == N and result.head == rows[-1]["hash"]
    assert [r["seq"] for r in rows] == list(range(1, N + 1))
    assert rows[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(rows))
    assert audit.verify(engine, expect_head=rows[-1]["hash"]).ok


def test_empty_log_verifies(engine: Engine) -> None:
    result = audit.verify(engine)
    assert result.ok and result.entries == 0 and result.head == audit.GENESIS


TAMPERABLE = [f for f in (*audit.FIELDS, "prev_hash", "hash") if f != "seq"]


def test_changing_any_field_of_any_entry_breaks_the_chain_at_that_entry(engine: Engine) -> None:
    _fill(engine)
    for seq in (1, 2, N // 2, N - 1, N):
        original = _row(engine, seq)
        for field in TAMPERABLE:
            _set(engine, seq, **{field: _tampered(field, original[field])})
            result = audit.verify(engine)
            assert not result.ok, (seq, field)
            assert result.broken_at == seq, (seq, field, result)
            assert result.entries == seq - 1
            _set(engine, seq, **{field: original[field]})
        assert audit.verify(engine).ok


def test_rewriting_an_entry_and_its_hash_breaks_the_next_link(engine: Engine) -> None:
    """A forger who recomputes the changed entry's own hash is still caught at the next entry."""
    _fill(engine)
    seq = N // 2
    row = _row(engine, seq) | {"reason": "nothing to see"}
    row["hash"] = audit.entry_hash(row["prev_hash"], row)
    _set(engine, seq, reason=row["reason"], hash=row["hash"])
    result = audit.verify(engine)
    assert not result.ok and result.broken_at == seq + 1 and "link" in result.problem


def test_renumbering_an_entry_is_detected(engine: Engine) -> None:
    _fill(engine)
    _set(engine, N // 2, seq=N + 100)
    result = audit.verify(engine)
    assert not result.ok and result.broken_at == N // 2 + 1 and "missing" in result.problem


@pytest.mark.parametrize("seq", [1, N // 2])
def test_deleting_an_entry_is_detected_as_missing(engine: Engine, seq: int) -> None:
    _fill(engine)
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == seq))
    result = audit.verify(engine)
    assert not result.ok and result.broken_at == seq + 1
    assert result.problem == f"entry {seq} is missing"


def test_deleting_the_last_entry_is_detected_only_with_the_expected_head(engine: Engine) -> None:
    rows = _fill(engine)
    head = audit.verify(engine).head
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == N))
    plain = audit.verify(engine)
    assert plain.ok and plain.entries == N - 1 and plain.head == rows[-2]["hash"]
    checked = audit.verify(engine, expect_head=head)
    assert not checked.ok and checked.broken_at is None and "head differs" in checked.problem


def test_details_never_keep_a_clear_id_number_or_phone(engine: Engine) -> None:
    audit.append(engine, actor="a", actor_role="agent", action="reveal", target_kind="customer",
                 target_id="110105194912310021", reason="call 13812345678",
                 detail={"phone": "13812345678", "id": "11010519491231002X"})
    row = _row(engine, 1)
    text = " ".join(str(row[f]) for f in audit.FIELDS)
    assert "13812345678" not in text and "110105194912310021" not in text and "11010519491231002X" not in text
    assert "138****5678" in text and audit.verify(engine).ok


def _race(engine: Engine, threads: int, each: int) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        try:
            start.wait()
            for i in range(each):
                audit.append(engine, actor=f"thread-{t}", actor_role="agent", action="reveal",
                             target_kind="customer", target_id=f"CU{t:02d}{i:04d}", detail={"i": i})
        except BaseException as e:  # collected and re-raised in the main thread
            errors.append(e)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors


def _check_race(engine: Engine, total: int) -> None:
    with engine.connect() as conn:
        seqs = [r[0] for r in conn.execute(select(audit_log.c.seq).order_by(audit_log.c.seq))]
        assert conn.execute(select(func.count(func.distinct(audit_log.c.hash)))).scalar_one() == total
    assert seqs == list(range(1, total + 1))
    result = audit.verify(engine)
    assert result.ok and result.entries == total


def test_concurrent_appends_from_threads_keep_one_valid_chain(engine: Engine) -> None:
    _race(engine, threads=8, each=15)
    _check_race(engine, 8 * 15)


def test_concurrent_appends_without_the_process_lock_keep_one_valid_chain(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """As if each thread were a separate server process: only the database keeps the chain whole."""
    monkeypatch.setattr(audit, "_lock", contextlib.nullcontext())
    _race(engine, threads=4, each=10)
    _check_race(engine, 4 * 10)
