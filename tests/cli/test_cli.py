"""The CLI end to end on embedded defaults (DuckDB + SQLite in a temp data dir)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shouhu.cli.main import app
from shouhu.settings import get_settings
from tests.ingest.sample import BAD, write_source

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_commands() -> None:
    code, out, _ = run("--help")
    assert code == 0
    for command in ("demo", "synth", "ingest", "status", "quarantine", "sources", "db", "model"):
        assert command in out


def test_ingest_status_quarantine_json(data_dir: Path, tmp_path: Path) -> None:
    mapping, extract = write_source(tmp_path / "in")
    code, out, err = run("ingest", str(extract), "--source", str(mapping), "--json")
    assert code == 0, err
    [result] = json.loads(out)
    assert result["rows_in"] == result["rows_loaded"] + result["rows_quarantined"] == 2 + len(BAD)

    code, out, _ = run("status", "--json")
    assert code == 0
    [src] = json.loads(out)["sources"]
    assert (src["source"], src["files"], src["rows_quarantined"]) == ("demo_crm", 1, len(BAD))

    code, out, _ = run("quarantine", "--json")
    rows = json.loads(out)
    assert {r["field"] for r in rows} == set(BAD.values())
    assert "110105198001010011" not in out and "12345" not in out  # masked

    # published to the serving database too, so the console never scans the warehouse
    from shouhu.storage.serving import read_ingest_files

    assert read_ingest_files(get_settings().serving)[0]["rows_in"] == 2 + len(BAD)


def test_user_mapping_dir_and_sources(data_dir: Path, tmp_path: Path) -> None:
    mapping, extract = write_source(tmp_path / "in")
    (data_dir / "mappings").mkdir(parents=True)
    (data_dir / "mappings" / "demo_crm.toml").write_text(mapping.read_text(encoding="utf-8"), encoding="utf-8")
    code, out, _ = run("sources", "--json")
    assert code == 0 and "demo_crm" in [s["source"] for s in json.loads(out)]
    code, out, err = run("ingest", str(extract.parent), "--source", "demo_crm")
    assert code == 0, err
    assert "quarantined" in out


def test_failures_exit_non_zero_with_a_clear_message(data_dir: Path, tmp_path: Path) -> None:
    code, _, err = run("ingest", str(tmp_path), "--source", "no_such_source")
    assert code == 2 and "unknown source 'no_such_source'" in err
    code, _, err = run("ingest", str(tmp_path / "missing.csv"), "--source", "demo_crm.toml")
    assert code != 0 and "mapping file not found" in err
    code, _, err = run("ingest", str(tmp_path))
    assert code == 1 and "no manifest.json" in err


def test_status_when_empty(data_dir: Path) -> None:
    code, out, _ = run("status", "--json")
    assert code == 0 and json.loads(out)["sources"] == []


def test_db_upgrade_and_model_docs(data_dir: Path, tmp_path: Path) -> None:
    code, out, _ = run("db", "upgrade", "--json")
    from shouhu.storage.serving import head_revision

    assert code == 0 and json.loads(out)["revision"] == head_revision()
    target = tmp_path / "dm.md"
    code, _, _ = run("model", "docs", "--out", str(target))
    assert code == 0 and "证件号码" in target.read_text(encoding="utf-8")


def test_demo_generates_and_ingests_a_book(data_dir: Path) -> None:
    code, out, err = run("demo", "--customers", "300", "--json")
    assert code == 0, err
    payload = json.loads(out)
    manifest = json.loads((data_dir / "book" / "manifest.json").read_text(encoding="utf-8"))
    assert len(payload["files"]) == len(manifest["extracts"])
    assert sum(f["rows_quarantined"] for f in payload["files"]) == sum(x["bad_rows"] for x in manifest["extracts"])
    assert [s["step"] for s in payload["refresh"]["steps"]][-1] == "publish"
    assert payload["identity"]["pairwise_f1"] >= 0.97
    code, out, _ = run("demo", "--customers", "300", "--json")  # re-running is safe
    assert code == 0 and {f["status"] for f in json.loads(out)["files"]} == {"skipped"}


def test_synth_command_is_deterministic(tmp_path: Path) -> None:
    code_a, out_a, _ = run("synth", str(tmp_path / "a"), "--customers", "200", "--seed", "5", "--json")
    code_b, out_b, _ = run("synth", str(tmp_path / "b"), "--customers", "200", "--seed", "5", "--json")
    assert code_a == code_b == 0
    assert json.loads(out_a)["extracts"] == json.loads(out_b)["extracts"]
    a = (tmp_path / "a" / "bancassurance" / "customers.csv").read_bytes()
    assert a == (tmp_path / "b" / "bancassurance" / "customers.csv").read_bytes()
