"""The sales traceability ledger on SQLite and PostgreSQL: hash chains, Merkle seals and inclusion proofs
verify; a change made with the triggers dropped (an event's payload, a seal's root, events reordered or
removed, a session's header) is named by ``verify``; the triggers refuse UPDATE and DELETE; receipts verify
and fail when any field changes; a destroyed subject key shreds the replay's personal parts while hashes
and proofs still verify; retention runs 5 or 10 years from the contract's end by cover term; bad input
names the field. Outside-style input: a page file in GBK with CRLF, a partner's batch missing a field."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from shouhu.cli.main import app
from shouhu.compliance import subject_keys
from shouhu.compliance import traceability as trace
from shouhu.errors import InvalidInput
from shouhu.privacy.crypto import FieldCipher
from shouhu.settings import Settings
from shouhu.storage import serving
from shouhu.storage import traceability as store
from tests.journeys.conftest import CIPHER

AT = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
TERMS = "第一条 保险责任\n在本合同保险期间内，被保险人初次确诊本合同所定义的重大疾病，我们按基本保险金额给付。\n"
HEALTH = "健康告知\n1. 过去两年内是否曾住院？\n2. 是否患有高血压？\n"
PHONE, ID_NUMBER, NAME = "13912345678", "110101199003071234", "张三丰"


@pytest.fixture
def db(serving_url: str) -> Iterator[Engine]:
    serving.upgrade(serving_url)
    engine = serving.engine_for(serving_url)
    try:
        yield engine
    finally:
        engine.dispose()


def publish(db: Engine) -> None:
    trace.publish_page(db, "terms_ci", "terms", "重大疾病保险条款", TERMS, "compliance", AT)
    trace.publish_page(db, "health_ci", "health_notice", "健康告知", HEALTH, "compliance", AT)


def events(n: int = 0) -> list[dict[str, Any]]:
    return [
        {"client_event_id": f"e{n}-1", "type": "page_view", "at": "2026-12-07T10:00:00+08:00", "page_code": "terms_ci",
         "page_version": 1, "duration_ms": 95_000, "scrolled_to_end": True},
        {"client_event_id": f"e{n}-2", "type": "confirm", "at": "2026-12-07T10:01:40+08:00", "page_code": "terms_ci",
         "page_version": 1, "field": "read_terms", "value": True},
        {"client_event_id": f"e{n}-3", "type": "answer", "at": "2026-12-07T10:02:00+08:00", "page_code": "health_ci",
         "page_version": 1, "question": "q1_hospital", "answer": "no"},
        {"client_event_id": f"e{n}-4", "type": "input", "at": "2026-12-07T10:03:00+08:00", "page_code": "health_ci",
         "page_version": 1, "field": "applicant", "personal": {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER}},
        {"client_event_id": f"e{n}-5", "type": "sign", "at": "2026-12-07T10:04:00+08:00", "method": "handwritten"},
        {"client_event_id": f"e{n}-6", "type": "pay", "at": "2026-12-07T10:05:00+08:00", "method": "wechat_pay",
         "amount_fen": 36_800},
    ]


def sale(db: Engine, customer: str = "CU0000000000a1", n: int = 0, *, close: bool = True,
         cover: tuple[str | None, str | None] = ("2026-12-08", "2027-12-07")) -> str:
    s = trace.start_session(db, customer_id=customer, product_code="ci_2026", application_no=f"AP{n:04d}",
                            recorded_by="t-head_office", started_at=AT)
    done = trace.record_events(db, CIPHER, s["session_id"], events(n), now=AT)
    assert done["recorded"] == 6
    if close:
        trace.close_session(db, s["session_id"], outcome="issued", policy_no=f"P{n:04d}", cover_start=cover[0],
                            cover_end=cover[1], now=AT)
    return str(s["session_id"])


def drop_triggers(db: Engine) -> None:
    with db.begin() as conn:
        for name in trace_tables():
            if db.dialect.name == "postgresql":
                conn.execute(text(f"DROP TRIGGER {name}_append_only ON {name}"))
            else:
                conn.execute(text(f"DROP TRIGGER {name}_no_update"))
                conn.execute(text(f"DROP TRIGGER {name}_no_delete"))


def trace_tables() -> tuple[str, ...]:
    return ("sales_page_version", "trace_event", "trace_seal")


def execute(db: Engine, sql: str, **params: Any) -> None:
    with db.begin() as conn:
        conn.execute(text(sql), params)


# --- the Merkle tree ---------------------------------------------------------------------------------

# RFC 6962 test vectors (certificate-transparency's merkle tree tests): the inputs, and the tree heads of the
# first 1..8 of them.
CT_LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
             b"\x50\x51\x52\x53\x54\x55\x56\x57", bytes(range(0x60, 0x70))]
CT_ROOTS = ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]


def test_merkle_roots_match_rfc6962_vectors() -> None:
    leaves = [trace.leaf_hash(d) for d in CT_LEAVES]
    for n, root in enumerate(CT_ROOTS, start=1):
        assert trace.merkle_root(leaves[:n]).hex() == root, n
    assert trace.merkle_root([]).hex() == hashlib.sha256(b"").hexdigest()


def test_every_inclusion_proof_verifies_and_no_wrong_one_does() -> None:
    for size in range(1, 34):
        leaves = [trace.leaf_hash(f"leaf {i}".encode()) for i in range(size)]
        root = trace.merkle_root(leaves)
        for i in range(size):
            path = trace.inclusion_proof(i, leaves)
            assert trace.verify_inclusion(leaves[i], i, size, path, root), (size, i)
            assert not trace.verify_inclusion(trace.leaf_hash(b"other"), i, size, path, root)
            if size > 1:
                assert not trace.verify_inclusion(leaves[i], (i + 1) % size, size, path, root)
                assert not trace.verify_inclusion(leaves[i], i, size, path[:-1], root)
            if path:
                bent = [bytes(32), *path[1:]]
                assert not trace.verify_inclusion(leaves[i], i, size, bent, root)
    # a leaf is never a node: the prefixes keep an inner node from posing as a leaf
    a, b = trace.leaf_hash(b"a"), trace.leaf_hash(b"b")
    assert trace.leaf_hash(a + b) != trace.node_hash(a, b)


# --- the ledger --------------------------------------------------------------------------------------

def test_chain_seal_and_inclusion_proofs_verify(db: Engine) -> None:
    publish(db)
    ids = [sale(db, f"CU00000000000{i}", i) for i in range(5)]
    open_one = sale(db, "CU0000000000ff", 9, close=False)
    done = trace.seal(db, now=AT)
    assert done["sealed"] == 5 and done["refused"] == [] and done["seal"]["seq"] == 1
    assert trace.seal(db, now=AT)["seal"] is None  # nothing new to seal
    later = sale(db, "CU0000000000a9", 7)
    assert trace.seal(db, now=AT)["seal"]["seq"] == 2
    result = trace.verify(db)
    assert result.ok, result
    assert (result.pages, result.sessions, result.events, result.seals) == (2, 7, 6 * 7 + 6, 2)
    for sid in [*ids, later]:
        p = trace.proof(db, sid)
        assert trace.check_proof(p)
        assert p["head_hash"] == store.get_session(db, sid)["head_hash"]  # type: ignore[index]
        assert not trace.check_proof(p | {"head_hash": "0" * 64})
        assert not trace.check_proof(p | {"root": "1" * 64})
    with pytest.raises(trace.Conflict, match="still open"):
        trace.proof(db, open_one)
    with pytest.raises(trace.Conflict, match="closed"):
        trace.record_events(db, CIPHER, ids[0], events(42))


def test_events_are_minimised_and_idempotent(db: Engine) -> None:
    publish(db)
    sid = sale(db, close=False)
    again = trace.record_events(db, CIPHER, sid, [
        *events(0)[:2], {"client_event_id": "new", "type": "submit", "at": "2026-12-07T10:06:00+08:00"},
        {"client_event_id": "new", "type": "submit", "at": "2026-12-07T10:06:01+08:00"}])
    assert again["recorded"] == 1 and again["duplicates"] == ["e0-1", "e0-2", "new"] and again["events"] == 7
    with db.connect() as conn:
        rows = store.events_of(conn, sid)
    stored = json.dumps(rows, ensure_ascii=False, default=str)
    for clear in (PHONE, ID_NUMBER, NAME):
        assert clear not in stored  # personal parts are sealed, never stored in clear
    typed = next(r for r in rows if r["type"] == "input")
    assert typed["sealed"].startswith("s1:") and json.loads(typed["data"]) == {
        "field": "applicant", "personal_keys": ["id_number", "name", "phone"]}
    assert rows[0]["page_hash"] == hashlib.sha256(TERMS.encode()).hexdigest()


@pytest.mark.parametrize("tamper", ["payload", "sealed_text", "reorder", "remove_middle", "remove_last", "header",
                                    "seal_root", "seal_leaves", "page"])
def test_tampering_with_the_triggers_dropped_is_named(db: Engine, tamper: str) -> None:
    publish(db)
    ids = [sale(db, f"CU00000000000{i}", i) for i in range(3)]
    trace.seal(db, now=AT)
    assert trace.verify(db).ok
    victim = ids[1]
    drop_triggers(db)
    if tamper == "payload":  # the customer did not read to the end, says the edit
        execute(db, "UPDATE trace_event SET data = :d WHERE session_id = :s AND seq = 1",
                d=trace.canonical({"duration_ms": 95_000, "scrolled_to_end": False}), s=victim)
    elif tamper == "sealed_text":
        other = store.events_of(db, ids[0])[3]["sealed"]
        execute(db, "UPDATE trace_event SET sealed = :x WHERE session_id = :s AND seq = 4", x=other, s=victim)
    elif tamper == "reorder":
        execute(db, "UPDATE trace_event SET seq = 100 WHERE session_id = :s AND seq = 2", s=victim)
        execute(db, "UPDATE trace_event SET seq = 2 WHERE session_id = :s AND seq = 3", s=victim)
        execute(db, "UPDATE trace_event SET seq = 3 WHERE session_id = :s AND seq = 100", s=victim)
    elif tamper == "remove_middle":
        execute(db, "DELETE FROM trace_event WHERE session_id = :s AND seq = 3", s=victim)
    elif tamper == "remove_last":  # the close event goes, and the session's head is set back to match
        rows = store.events_of(db, victim)
        execute(db, "DELETE FROM trace_event WHERE session_id = :s AND seq = :n", s=victim, n=len(rows))
        execute(db, "UPDATE trace_session SET events = :n, head_hash = :h, closed_at = NULL WHERE session_id = :s",
                n=len(rows) - 1, h=rows[-2]["hash"], s=victim)
    elif tamper == "header":  # the session moved to another customer
        execute(db, "UPDATE trace_session SET customer_id = 'CU0000000000ee' WHERE session_id = :s", s=victim)
    elif tamper == "seal_root":
        execute(db, "UPDATE trace_seal SET root = :r WHERE seq = 1", r="ab" * 32)
    elif tamper == "seal_leaves":  # a forged session head and a root recomputed over it; the seal's hash is not
        leaves = store.get_seal(db, 1)["leaves"]  # type: ignore[index]
        leaves[1][1] = "cd" * 32
        root = trace.merkle_root([trace.session_leaf(s, h) for s, h in leaves]).hex()
        execute(db, "UPDATE trace_seal SET leaves = :l, root = :r WHERE seq = 1", l=trace.canonical(leaves), r=root)
    elif tamper == "page":
        execute(db, "UPDATE sales_page_version SET content = :c WHERE code = 'terms_ci'", c=TERMS + "（免责）")
    result = trace.verify(db)
    assert not result.ok
    # removing the close event and setting the session back leaves a consistent session: its seal catches it
    expected = {"seal_root": ("seal", "1"), "seal_leaves": ("seal", "1"), "remove_last": ("seal", "1"),
                "page": ("page", "terms_ci v1")}
    assert (result.broken_kind, result.broken_id) == expected.get(tamper, ("session", victim)), result
    assert result.problem


def test_sealing_refuses_a_broken_chain(db: Engine) -> None:
    publish(db)
    good, bad = sale(db, "CU0000000000a1", 1), sale(db, "CU0000000000a2", 2)
    drop_triggers(db)
    execute(db, "UPDATE trace_event SET at = '2026-12-06T00:00:00.000Z' WHERE session_id = :s AND seq = 2", s=bad)
    done = trace.seal(db, now=AT)
    assert done["sealed"] == 1 and [r["session_id"] for r in done["refused"]] == [bad]
    assert "event 2 was changed" in done["refused"][0]["problem"]
    assert trace.check_proof(trace.proof(db, good))


def test_triggers_refuse_update_and_delete(db: Engine) -> None:
    publish(db)
    sale(db)
    trace.seal(db, now=AT)
    statements = [("UPDATE sales_page_version SET title = 'x'", "sales_page_version"),
                  ("DELETE FROM sales_page_version", "sales_page_version"),
                  ("UPDATE trace_event SET data = '{}'", "trace_event"), ("DELETE FROM trace_event", "trace_event"),
                  ("UPDATE trace_seal SET root = 'x'", "trace_seal"), ("DELETE FROM trace_seal", "trace_seal")]
    if db.dialect.name == "postgresql":
        statements += [(f"TRUNCATE {t}", t) for t in trace_tables()]
    for sql, table in statements:
        with pytest.raises(DatabaseError, match=f"{table} is append-only"):
            execute(db, sql)
    assert trace.verify(db).ok


# --- receipts ----------------------------------------------------------------------------------------

def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "x"
    return str(value)[:-1] + ("0" if not str(value).endswith("0") else "1")


def test_receipt_verifies_and_fails_when_any_field_changes(db: Engine, tmp_path: Path) -> None:
    publish(db)
    ids = [sale(db, f"CU00000000000{i}", i) for i in range(3)]
    trace.seal(db, now=AT)
    key = trace.signing_key(Settings(data_dir=tmp_path), environ={})
    assert (tmp_path / trace.KEY_FILE).stat().st_mode & 0o777 == 0o600
    doc = trace.receipt(db, ids[2], key, now=AT)
    assert trace.verify_receipt(doc, key.public_key()) == []
    assert doc["session"]["customer"] == "CU00******0002" and "CU000000000002" not in json.dumps(doc)
    assert [p["code"] for p in doc["pages"]] == ["health_ci", "terms_ci"]
    json.dumps(doc)  # plain JSON
    for path in _leaves({k: v for k, v in doc.items() if k != "signature"}):
        forged = copy.deepcopy(doc)
        holder = forged
        for k in path[:-1]:
            holder = holder[k]
        holder[path[-1]] = _changed(holder[path[-1]])
        assert trace.verify_receipt(forged, key.public_key()), f"a change of {path} went unnoticed"
    other = trace.signing_key(Settings(data_dir=tmp_path / "other"), environ={})
    assert any("signature" in p for p in trace.verify_receipt(doc, other.public_key()))
    # the public key survives its PEM form (what GET /api/v1/trace/public-key serves)
    assert trace.verify_receipt(doc, trace.load_public_key(trace.public_key_pem(key))) == []
    with pytest.raises(trace.Conflict, match="not sealed"):
        trace.receipt(db, sale(db, "CU0000000000b1", 8), key)

    # offline, with the public key file only (no database, no settings)
    receipt_file, pem = tmp_path / "receipt.json", tmp_path / "public.pem"
    receipt_file.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    pem.write_text(trace.public_key_pem(key), encoding="ascii")
    run = CliRunner().invoke
    result = run(app, ["trace", "verify-receipt", str(receipt_file), "--public-key", str(pem)])
    assert result.exit_code == 0 and "verifies" in result.output, result.output
    forged = doc | {"session": doc["session"] | {"outcome": "abandoned"}}
    receipt_file.write_text(json.dumps(forged, ensure_ascii=False), encoding="utf-8")
    result = run(app, ["trace", "verify-receipt", str(receipt_file), "--public-key", str(pem)])
    assert result.exit_code == 1 and "signature" in result.output


def test_signing_key_from_the_environment_and_refused_in_production(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from shouhu.errors import ConfigError

    made = Ed25519PrivateKey.generate()
    pem = made.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    key = trace.signing_key(Settings(data_dir=tmp_path), environ={trace.KEY_ENV: pem})
    assert trace.key_id(key.public_key()) == trace.key_id(made.public_key())
    assert not (tmp_path / trace.KEY_FILE).exists()
    production = Settings(mode="production", data_dir=tmp_path, encryption_key=FieldCipher.new_key_text(),
                          warehouse_url="duckdb:///x.duckdb", serving_url="sqlite:///x.sqlite")
    with pytest.raises(ConfigError, match=trace.KEY_ENV):
        trace.signing_key(production, environ={})
    with pytest.raises(ConfigError, match="not an Ed25519"):
        trace.signing_key(Settings(data_dir=tmp_path), environ={trace.KEY_ENV: "bm90IGEga2V5"})


# --- crypto-shredding and replay ---------------------------------------------------------------------

def test_shredded_key_masks_nothing_readable_and_proofs_still_verify(db: Engine, tmp_path: Path) -> None:
    publish(db)
    sid = sale(db, "CU0000000000c1", 1)
    trace.seal(db, now=AT)
    shown = trace.replay(db, CIPHER, sid)
    typed = next(e for e in shown["events"] if e["type"] == "input")
    assert typed["personal"] == {"name": "张**", "phone": "139****5678", "id_number": "110***********1234"}
    assert shown["chain_ok"] and not shown["shredded"]
    assert [(p["code"], p["duration_ms"], p["scrolled_to_end"]) for p in shown["pages"]] == [
        ("terms_ci", 95_000, True), ("health_ci", 0, False)]
    clear = json.dumps(shown, ensure_ascii=False)
    assert PHONE not in clear and ID_NUMBER not in clear and NAME not in clear
    key = trace.signing_key(Settings(data_dir=tmp_path), environ={})
    before = trace.receipt(db, sid, key, now=AT)

    with db.begin() as conn:
        assert subject_keys.destroy(conn, "CU0000000000c1", "retention ended")
    shown = trace.replay(db, CIPHER, sid)
    typed = next(e for e in shown["events"] if e["type"] == "input")
    assert typed["personal"] == {"id_number": "shredded", "name": "shredded", "phone": "shredded"}
    assert shown["shredded"] and shown["chain_ok"]
    assert trace.verify(db).ok
    assert trace.check_proof(trace.proof(db, sid))
    after = trace.receipt(db, sid, key, now=AT)
    assert trace.verify_receipt(after, key.public_key()) == [] and after["session"] == before["session"]
    fresh = trace.start_session(db, customer_id="CU0000000000c1", product_code="ci_2026", recorded_by="t")
    with pytest.raises(subject_keys.Shredded):  # nothing personal is sealed any more for a shredded customer
        trace.record_events(db, CIPHER, fresh["session_id"], events(5)[3:4])


# --- retention ---------------------------------------------------------------------------------------

def test_retention_by_cover_term() -> None:
    closed = date(2026, 12, 7)
    d = date.fromisoformat
    assert trace.retention(d("2026-12-08"), d("2027-12-07"), closed) == ("short", d("2027-12-07"), d("2032-12-07"))
    assert trace.retention(d("2026-12-08"), d("2027-12-08"), closed) == ("short", d("2027-12-08"), d("2032-12-08"))
    assert trace.retention(d("2026-12-08"), d("2027-12-09"), closed) == ("long", d("2027-12-09"), d("2037-12-09"))
    assert trace.retention(d("2026-12-08"), d("2046-12-07"), closed) == ("long", d("2046-12-07"), d("2056-12-07"))
    assert trace.retention(d("2026-12-08"), None, closed) == ("long", None, None)  # whole life: end unknown
    assert trace.retention(None, None, closed) == ("none", None, d("2031-12-07"))  # no contract
    assert trace.retention(d("2027-03-01"), d("2028-02-29"), closed)[2] == d("2033-02-28")  # 29 Feb + 5 years


def test_due_for_deletion(db: Engine) -> None:
    publish(db)
    short = sale(db, "CU0000000000d1", 1, cover=("2026-12-08", "2027-12-07"))       # kept until 2032-12-07
    long = sale(db, "CU0000000000d1", 2, cover=("2026-12-08", "2036-12-07"))        # kept until 2046-12-07
    life = sale(db, "CU0000000000d2", 3, cover=("2026-12-08", None))                # until the contract ends
    other = sale(db, "CU0000000000d3", 4, cover=("2026-12-08", "2027-06-07"))       # kept until 2032-06-07
    assert trace.due_for_deletion(db, date(2032, 12, 7)) == [
        {"session_id": other, "customer_id": "CU0000000000d3", "retain_until": "2032-06-07", "term_class": "short",
         "contract_end": "2027-06-07", "customer_fully_due": True}]
    due = trace.due_for_deletion(db, date(2032, 12, 8))
    assert [(r["session_id"], r["customer_fully_due"]) for r in due] == [(other, True), (short, False)]
    assert {r["session_id"] for r in trace.due_for_deletion(db, date(2047, 1, 1))} == {short, long, other}
    with pytest.raises(trace.Conflict):  # an open session has no contract to end
        trace.set_contract_end(db, sale(db, "CU0000000000d9", 9, close=False), "2030-01-01")
    assert trace.set_contract_end(db, life, "2040-05-01")["retain_until"] == "2050-05-01"  # surrendered
    assert life in {r["session_id"] for r in trace.due_for_deletion(db, date(2050, 5, 2))}
    with db.begin() as conn:
        subject_keys.destroy(conn, "CU0000000000d3", "retention ended")
    assert other not in {r["session_id"] for r in trace.due_for_deletion(db, date(2060, 1, 1))}
    assert trace.verify(db).ok


# --- input from outside ------------------------------------------------------------------------------

def test_a_page_file_in_gbk_with_crlf_is_the_same_page(db: Engine, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, serving_url: str) -> None:
    utf8 = tmp_path / "条款.txt"
    utf8.write_text(TERMS, encoding="utf-8")
    gbk = tmp_path / "terms-gbk.txt"
    gbk.write_bytes(TERMS.replace("\n", "\r\n").encode("gbk"))
    bom = tmp_path / "terms-bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + TERMS.encode("utf-8"))
    binary = tmp_path / "scan.pdf"
    binary.write_bytes(b"%PDF-1.4\x00\xff\xfe\x00")
    monkeypatch.setenv("SHOUHU_SERVING_URL", serving_url)
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path))
    from shouhu.settings import get_settings

    get_settings.cache_clear()
    run = CliRunner().invoke
    base = ["trace", "pages", "publish", "--code", "terms_ci", "--kind", "terms", "--title", "重大疾病保险条款"]
    try:
        first = run(app, [*base, str(gbk), "--json"])
        assert first.exit_code == 0, first.output
        made = json.loads(first.output)
        assert made["version"] == 1 and made["sha256"] == hashlib.sha256(TERMS.encode()).hexdigest()
        for same in (utf8, bom):
            again = json.loads(run(app, [*base, str(same), "--json"]).output)
            assert again["unchanged"] and again["version"] == 1
        result = run(app, [*base, str(binary)])
        assert result.exit_code == 1 and "scan.pdf: neither UTF-8 nor GBK" in result.output, result.output
        result = run(app, [*base[:-2], "--title", "", str(utf8)])
        assert result.exit_code == 1 and "title" in result.output
        assert store.page(db, "terms_ci", 1)["content"] == TERMS  # type: ignore[index]
        assert store.page(db, "health_ci", 1) is None  # never published: a sale against it is refused below
        s = trace.start_session(db, customer_id="CU0000000000e1", product_code="ci_2026", recorded_by="t")
        with pytest.raises(InvalidInput) as e:
            trace.record_events(db, CIPHER, s["session_id"], events())
        assert e.value.data["field"] == "events[2].page_version"
        assert trace.close_session(db, s["session_id"], outcome="abandoned")["retain_until"]
        assert run(app, ["trace", "seal"]).exit_code == 0
        result = run(app, ["trace", "verify", "--json"])
        assert result.exit_code == 0 and json.loads(result.output)["ok"], result.output
        result = run(app, ["trace", "proof", s["session_id"], "--json"])
        assert result.exit_code == 0 and json.loads(result.output)["verified"]
        result = run(app, ["trace", "replay", s["session_id"]])
        assert result.exit_code == 0 and s["session_id"] in result.output
        result = run(app, ["trace", "receipt", s["session_id"], "-o", str(tmp_path / "r.json")])
        assert result.exit_code == 0, result.output
        result = run(app, ["trace", "verify-receipt", str(tmp_path / "r.json")])
        assert result.exit_code == 0, result.output
        drop_triggers(db)
        execute(db, "UPDATE trace_seal SET root = :r", r="ef" * 32)
        result = run(app, ["trace", "verify"])
        assert result.exit_code == 1 and "broken seal 1" in result.output
    finally:
        get_settings.cache_clear()


BAD = [
    ({"type": "page_view", "at": "2026-12-07T10:00:00+08:00", "page_code": "terms_ci"}, "events[0].page_version"),
    ({"type": "scroll", "at": "2026-12-07T10:00:00+08:00"}, "events[0].type"),
    ({"at": "2026-12-07T10:00:00+08:00"}, "events[0].type"),
    ({"type": "submit"}, "events[0].at"),
    ({"type": "submit", "at": "2026-12-07 10:00"}, "events[0].at"),
    ({"type": "submit", "at": "yesterday"}, "events[0].at"),
    ({"type": "confirm", "at": "2026-12-07T10:00:00+08:00", "page_code": "terms_ci", "page_version": 1,
      "field": "read_terms"}, "events[0].value"),
    ({"type": "confirm", "at": "2026-12-07T10:00:00+08:00", "page_code": "terms_ci", "page_version": 1,
      "field": "read_terms", "value": "yes"}, "events[0].value"),
    ({"type": "answer", "at": "2026-12-07T10:00:00+08:00", "page_code": "health_ci", "page_version": 1,
      "question": "q1", "answer": "我去年住过院，因为肺炎"}, "events[0].answer"),  # free text, not a code
    ({"type": "confirm", "at": "2026-12-07T10:00:00+08:00", "page_code": "terms_ci", "page_version": 1,
      "field": "read_terms", "value": True, "comment": "客户说没看懂"}, "events[0].comment"),
    ({"type": "page_view", "at": "2026-12-07T10:00:00+08:00", "page_code": "terms_ci", "page_version": 1,
      "personal": {"name": NAME}}, "events[0].personal"),
    ({"type": "input", "at": "2026-12-07T10:00:00+08:00", "page_code": "terms_ci", "page_version": 1,
      "field": "applicant"}, "events[0].personal"),
    ({"type": "page_view", "at": "2026-12-07T10:00:00+08:00", "page_code": "terms_ci", "page_version": 1,
      "duration_ms": -5}, "events[0].duration_ms"),
    ({"type": "page_view", "at": "2026-12-07T10:00:00+08:00", "page_code": "terms_ci", "page_version": 3},
     "events[0].page_version"),
    ({"type": "page_view", "at": "2026-12-07T10:00:00+08:00", "page_code": "terms_ci", "page_version": 1,
      "page_hash": "ab" * 32}, "events[0].page_hash"),
    ({"type": "pay", "at": "2026-12-07T10:00:00+08:00", "method": "card", "amount_fen": 1.5}, "events[0].amount_fen"),
    ("page_view", "events[0]"),
    ({"type": ["page_view"], "at": "2026-12-07T10:00:00+08:00"}, "events[0].type"),
    ({"type": "submit", "at": "2026-12-07T10:00:00+08:00", "client_event_id": "客户 1"}, "events[0].client_event_id"),
]


@pytest.mark.parametrize(("event", "where"), BAD, ids=[w + ":" + str(i) for i, (_, w) in enumerate(BAD)])
def test_bad_input_names_the_field(db: Engine, event: Any, where: str) -> None:
    publish(db)
    s = trace.start_session(db, customer_id="CU0000000000f1", product_code="ci_2026", recorded_by="t")
    with pytest.raises(InvalidInput) as e:
        trace.record_events(db, CIPHER, s["session_id"], [event])
    assert e.value.data["field"] == where, e.value.message
    assert e.value.message.startswith(where)


def test_a_partner_batch_missing_a_field_records_nothing(db: Engine) -> None:
    publish(db)
    s = trace.start_session(db, customer_id="CU0000000000f2", product_code="ci_2026", recorded_by="t")
    batch = events()
    del batch[2]["answer"]  # the partner's system left out the health answer
    with pytest.raises(InvalidInput, match=r"events\[2\]\.answer: missing"):
        trace.record_events(db, CIPHER, s["session_id"], batch)
    assert store.events_of(db, s["session_id"]) == []
    for bad, field in ((dict(customer_id="张三"), "customer_id"), (dict(channel="微信 小程序"), "channel")):
        with pytest.raises(InvalidInput) as e:
            trace.start_session(db, **({"customer_id": "CU1", "product_code": "p", "recorded_by": "t"} | bad))
        assert e.value.data["field"] == field
    with pytest.raises(InvalidInput, match="outcome"):
        trace.close_session(db, s["session_id"], outcome="done")
    with pytest.raises(InvalidInput, match="cover_start"):
        trace.close_session(db, s["session_id"], outcome="issued", cover_end="2027-01-01")
    with pytest.raises(InvalidInput, match="cover_end: 9999-12-31 is outside"):
        trace.close_session(db, s["session_id"], outcome="issued", cover_start="2026-12-08", cover_end="9999-12-31")
    with pytest.raises(InvalidInput, match="cover_end: before cover_start"):
        trace.close_session(db, s["session_id"], outcome="issued", cover_start="2026-12-08", cover_end="2026-12-01")
    with pytest.raises(trace.NotFound):
        trace.record_events(db, CIPHER, "ts_nope", events())
    with pytest.raises(InvalidInput, match="kind"):
        trace.publish_page(db, "x", "brochure", "宣传册", "内容", "t")


def test_the_retention_job_shreds_sessions_past_retention_unless_held(db: Engine) -> None:
    """``shouhu retention run``: a customer whose every session is past retention has their key destroyed
    (the ledger's personal parts become unreadable, proofs still verify); a legal hold keeps it."""
    from shouhu.compliance import retention

    publish(db)
    gone = sale(db, "CU0000000000r1", 1, cover=("2026-12-08", "2027-06-07"))  # kept until 2032-06-07
    sale(db, "CU0000000000r2", 2, cover=("2026-12-08", "2027-06-07"))
    hold = retention.place_hold(db, "CU0000000000r2", "理赔纠纷 2032-001", "compliance-1")
    assert retention.run(db, today=date(2032, 6, 1))["trace_shredded"] == []
    dry = retention.run(db, today=date(2032, 6, 8), dry_run=True)
    assert dry["trace_shredded"] == ["CU0000000000r1"]
    assert retention.run(db, today=date(2032, 6, 8))["trace_shredded"] == ["CU0000000000r1"]
    assert gone not in {r["session_id"] for r in trace.due_for_deletion(db, date(2032, 6, 8))}
    retention.release_hold(db, hold, "compliance-1")
    assert retention.run(db, today=date(2032, 6, 8))["trace_shredded"] == ["CU0000000000r2"]
    assert trace.verify(db).ok
