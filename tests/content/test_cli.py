"""``shouhu content`` end to end on a copy of the published book (SQLite)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shouhu.cli.main import app
from shouhu.settings import get_settings
from tests.conftest import KEY, Published
from tests.content.factories import FIXTURES, md

runner = CliRunner()


@pytest.fixture
def book(published: Published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    copy = tmp_path / "serving.sqlite"
    shutil.copy(published.sqlite_path, copy)
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOUHU_SERVING_URL", f"sqlite:///{copy}")
    monkeypatch.setenv("SHOUHU_WAREHOUSE_URL", published.warehouse_url)
    monkeypatch.setenv("SHOUHU_ENCRYPTION_KEY", KEY)
    get_settings.cache_clear()
    yield f"sqlite:///{copy}"
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["content", *args])
    return result.exit_code, result.stdout, result.stderr


def test_import_review_publish_recommend(book: str) -> None:
    code, out, _ = run("import", "--json")
    assert code == 0 and len(json.loads(out)["created"]) >= 15
    code, out, _ = run("review", "--json")
    assert code == 0 and {r["status"] for r in json.loads(out)} == {"draft"}
    for item in ("education-fund-planning", "ci-basics", "medical-million"):
        assert run("review", item, "--submit")[0] == 0
        assert run("review", item, "--approve", "--reviewer", "compliance-officer", "--note", "ok")[0] == 0
        assert run("publish", item)[0] == 0
    code, out, _ = run("recommend", "--customer", _any_customer(book), "--encoder", "char_tfidf", "--json")
    recs = json.loads(out)["recommendations"]
    assert code == 0 and {r["item_id"] for r in recs} <= {"education-fund-planning", "ci-basics", "medical-million"}
    assert all(r["explanation_en"] for r in recs)


def test_a_bad_file_fails_with_its_name_and_field(book: str, tmp_path: Path) -> None:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "vendor.md").write_text(md("id: vendor-one\nkind: article\ntitle: 外来文章\ntags:\n  diseases: [flu]"),
                                      encoding="utf-8")
    code, _, err = run("import", str(folder))
    assert code == 1 and "vendor.md" in err and "tags.diseases" in err


def test_approving_your_own_import_is_refused(book: str) -> None:
    run("import")
    run("review", "ci-basics", "--submit")
    code, _, err = run("review", "ci-basics", "--approve")
    assert code == 1 and "another person" in err


def test_diseases_decrypt_the_income_with_the_configured_key(book: str) -> None:
    code, out, _ = run("diseases", "--customer", _any_customer(book), "--json")
    result = json.loads(out)
    assert code == 0 and result["income_known"] and len(result["diseases"]) >= 6
    code, out, _ = run("compare", "--customer", _any_customer(book), "--type", "critical_illness")
    assert code == 0 and "佣金" in out


def test_evaluate_prints_ndcg_for_the_ranker_and_the_baselines(book: str) -> None:
    code, out, _ = run("evaluate", str(FIXTURES / "ranking_labels.toml"), "--encoder", "char_tfidf", "--json")
    scores = json.loads(out)
    assert code == 0 and scores["full"] > scores["text_only"] > scores["library_order"]


def _any_customer(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        cid = conn.execute(text("SELECT customer_id FROM customer_360 WHERE children_count > 0 "
                                "ORDER BY customer_id LIMIT 1")).scalar_one()
    engine.dispose()
    return str(cid)
