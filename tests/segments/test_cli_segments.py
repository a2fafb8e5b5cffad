"""``shouhu tags …`` / ``shouhu segment …`` end to end on a temp data dir (DuckDB warehouse)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from shouhu.cli.segments import segment_app, tags_app
from shouhu.settings import get_settings
from shouhu.storage.warehouse import Warehouse
from tests.segments.factory import make_customer_360
from tests.segments.test_tags import CUSTOMERS

app = typer.Typer()
app.add_typer(tags_app, name="tags")
app.add_typer(segment_app, name="segment")
runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    data = tmp_path / "data"
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(data))
    get_settings.cache_clear()
    with Warehouse(get_settings().warehouse) as wh:
        wh.write_table("customer_360", make_customer_360(CUSTOMERS))
    yield data
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_tags_apply_and_list(data_dir: Path) -> None:
    code, out, _ = run("tags", "apply", "--json")
    assert code == 0 and json.loads(out)["tags"]["newly_married"] == 2
    code, out, _ = run("tags", "list", "--counts", "--json")
    tags = {t["code"]: t for t in json.loads(out)["tags"]}
    assert code == 0 and tags["high_net_worth"]["customers"] == 2 and tags["high_net_worth"]["zh"] == "高净值"
    code, out, _ = run("tags", "list")
    assert code == 0 and "重疾保障不足" in out


def test_segment_count_save_list_export(data_dir: Path, tmp_path: Path) -> None:
    code, out, _ = run("segment", "count", 'marital_status == "married" and age < 35', "--json")
    assert code == 0 and json.loads(out)["customers"] == 3
    code, out, _ = run("segment", "count", "age < 35", "--tag", "新婚", "--json")
    assert code == 0 and json.loads(out)["customers"] == 2
    code, out, _ = run("segment", "save", "新婚客群", 'marital_status == "married"', "--description", "新婚礼包")
    assert code == 0 and "@新婚客群" in out
    code, out, _ = run("segment", "list", "--counts", "--json")
    assert code == 0 and json.loads(out)[0]["customers"] == 3
    code, out, _ = run("segment", "export", "@新婚客群", "--out", str(tmp_path / "x.csv"), "--json")
    assert code == 0 and json.loads(out)["rows"] == 3
    assert "annual_income" not in (tmp_path / "x.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    code, out, err = run("segment", "export", "true", "--out", str(tmp_path / "y.xlsx"), "--include-sensitive")
    assert code == 0 and "sensitive" in err and (tmp_path / "y.xlsx").exists()
    code, out, _ = run("segment", "delete", "新婚客群")
    assert code == 0 and run("segment", "list", "--json")[1].strip() == "[]"


@pytest.mark.parametrize("rule", ["age >", "__import__('os').system('x')", "agee > 3", 'city > 3'])
def test_bad_rule_exits_non_zero_with_the_reason(data_dir: Path, rule: str) -> None:
    code, _, err = run("segment", "count", rule)
    assert code == 2 and "invalid_rule" in err and "^" in err, err


def test_unknown_saved_segment_and_column(data_dir: Path, tmp_path: Path) -> None:
    code, _, err = run("segment", "count", "@nope")
    assert code == 2 and "saved segment" in err
    code, _, err = run("segment", "export", "true", "--out", str(tmp_path / "a.csv"), "--column", "annual_income")
    assert code == 1 and "sensitive" in err


def test_columns_and_check(data_dir: Path, tmp_path: Path) -> None:
    code, out, _ = run("segment", "columns", "--json")
    assert code == 0 and {"column": "annual_income", "type": "float", "zh": "年收入(元)", "en": "Annual income (CNY)",
                          "sensitive": True} in json.loads(out)
    bad = tmp_path / "tags.toml"
    bad.write_text('[[tag]]\ncode = "x"\nzh = "x"\nen = "x"\nrule = "age >"\n', encoding="utf-8")
    code, _, err = run("tags", "check", str(bad))
    assert code == 2 and "bad rule" in err
