from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from shouhu.cli.identity import identity_app
from shouhu.identity import evaluate, resolve_identities
from shouhu.storage.warehouse import Warehouse
from tests.conftest import LoadedBookFactory


def test_f1_on_a_generated_book(loaded_book: LoadedBookFactory) -> None:
    book, url = loaded_book(customers=1500, seed=42)
    with Warehouse(url) as wh:
        result = resolve_identities(wh)
        metrics = evaluate(wh, book / "ground_truth.parquet")
        n_party = wh.query("SELECT COUNT(*) FROM src_party")[0][0]
    assert result.records == n_party == metrics["records"]
    assert metrics["pairwise_f1"] >= 0.99, metrics
    assert metrics["bcubed_f1"] >= 0.99, metrics


def test_cli_link_on_a_person_file(tmp_path: Path) -> None:
    tmp = tmp_path
    people = pd.DataFrame({
        "编号": ["1", "2", "3", "4"], "姓名": ["张伟", "張偉", "李娜", "王强"],
        "生日": ["1988-10-08", "1988/10/08", "1990-01-02", "1975-05-05"],
        "手机": ["13800000001", "+86 138 0000 0001", "13800000002", "13800000009"],
        "person": ["p1", "p1", "p2", "p3"],
    })
    people.to_csv(tmp / "people.csv", index=False)
    (tmp / "map.toml").write_text('record_id = "编号"\nname = "姓名"\nbirth_date = "生日"\nphone = "手机"\n',
                                  encoding="utf-8")
    res = CliRunner().invoke(identity_app, ["link", str(tmp / "people.csv"), "--mapping", str(tmp / "map.toml"),
                                            "--truth-column", "person", "--out", str(tmp / "out"), "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    clusters = pd.read_csv(tmp / "out" / "clusters.csv", dtype=str)
    c = dict(zip(clusters["record_id"], clusters["cluster_id"], strict=True))
    assert c["1"] == c["2"] and len({c["1"], c["3"], c["4"]}) == 3
    assert payload["metrics"]["pairwise_f1"] == 1.0
    assert "explanation" in pd.read_csv(tmp / "out" / "pairs.csv").columns


def test_cli_resolve_then_evaluate(loaded_book: LoadedBookFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    from shouhu.settings import get_settings

    book, url = loaded_book(customers=1500, seed=42)
    monkeypatch.setenv("SHOUHU_WAREHOUSE_URL", url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        resolved = runner.invoke(identity_app, ["resolve", "--json"])
        assert resolved.exit_code == 0, resolved.output
        assert json.loads(resolved.output)["records"] > 0
        scored = runner.invoke(identity_app, ["evaluate", str(book), "--json"])
        assert scored.exit_code == 0, scored.output
        assert json.loads(scored.output)["pairwise_f1"] >= 0.99
        missing = runner.invoke(identity_app, ["evaluate", str(book / "nowhere")])
        assert missing.exit_code != 0 and "ground_truth.parquet" in missing.output
    finally:
        get_settings.cache_clear()
