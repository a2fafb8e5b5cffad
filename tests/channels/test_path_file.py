"""``shouhu channels attribute --paths FILE``: an analyst's own journeys, and the vectorised path parser."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from shouhu.channels.path_file import read_paths_file
from shouhu.channels.paths import from_arrow, from_rows
from shouhu.cli.channels import channels_app
from shouhu.errors import SourceFileError

CSV = """path,conversions,nulls,value
search > agent > bank,3,10,15000
search>agent>bank,1,0,5000
agent,2,5,
bank >  ,0,4,0
 ,1,0,800
"""


def test_paths_are_trimmed_merged_and_blank_ones_unattributed(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(CSV, encoding="utf-8")
    paths = read_paths_file(tmp_path / "p.csv")
    assert paths.channels == ("agent", "bank", "search")
    assert paths.path_strings() == ["search>agent>bank", "agent", "bank"]
    assert paths.conversions.tolist() == [4.0, 2.0, 0.0]
    assert paths.nulls.tolist() == [10.0, 5.0, 4.0]
    assert paths.amounts["value"].tolist() == [20000.0, 0.0, 0.0]
    assert paths.unattributed == {"conversions": 1.0, "value": 800.0}


def test_parquet_without_optional_columns(tmp_path: Path) -> None:
    pd.DataFrame({"path": ["a > b", "b", None], "conversions": [1, 0, 2]}).to_parquet(tmp_path / "p.parquet")
    paths = read_paths_file(tmp_path / "p.parquet")
    assert paths.path_strings() == ["a>b", "b"] and paths.nulls.tolist() == [0.0, 0.0]
    assert paths.unattributed == {"conversions": 2.0}


@pytest.mark.parametrize(("text", "message"), [
    ("path,conversions\na>b,1\nb,two\n", r"row 2, column 'conversions': 'two' is not a number"),
    ("path,conversions,nulls\na>b,1,-3\n", r"row 1, column 'nulls': '-3' is negative"),
    ("route,conversions\na,1\n", r"no column\(s\) path; the file has: route, conversions"),
])
def test_bad_rows_name_file_row_and_column(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.csv").write_text(text, encoding="utf-8")
    with pytest.raises(SourceFileError, match=message) as e:
        read_paths_file(tmp_path / "bad.csv")
    assert "bad.csv" in str(e.value)


def test_cli_attributes_a_file_without_a_warehouse(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(CSV, encoding="utf-8")
    res = CliRunner().invoke(channels_app, ["attribute", "--paths", str(tmp_path / "p.csv"),
                                            "--models", "last_touch,markov", "--order", "1", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    last = {r["channel"]: r["conversions"] for r in payload["results"] if r["model"] == "last_touch"}
    assert last == pytest.approx({"bank": 4.0, "agent": 2.0, "search": 0.0})
    markov = [r for r in payload["results"] if r["model"] == "markov"]
    assert sum(r["conversions"] for r in markov) == pytest.approx(6.0)
    assert payload["end"] is None and payload["distinct_paths"] == 3
    bad = CliRunner().invoke(channels_app, ["attribute", "--paths", str(tmp_path / "none.csv")])
    assert bad.exit_code != 0 and "none.csv" in bad.output


def test_vectorised_parser_agrees_with_a_plain_python_parse() -> None:
    rng = np.random.default_rng(3)
    names = ["agent", "bank", "app", "search"]
    raw = [" > ".join(rng.choice(names, rng.integers(0, 6))) for _ in range(400)]
    conv = rng.integers(0, 3, 400).astype(float)
    parsed = from_rows(raw, conv, np.ones(400))
    expected: dict[str, float] = {}
    for p, c in zip(raw, conv, strict=True):
        key = ">".join(t.strip() for t in p.split(">") if t.strip())
        if key:
            expected[key] = expected.get(key, 0.0) + c
    assert dict(zip(parsed.path_strings(), parsed.conversions.tolist(), strict=True)) == expected
    assert list(expected) == parsed.path_strings()  # first-appearance order, as before
    again = from_arrow(parsed.to_arrow())
    assert again.path_strings() == parsed.path_strings()


def test_fixed_channel_order_and_unknown_channel() -> None:
    p = from_rows(["b>a"], [1], [0], channels=["b", "a", "c"])
    assert p.channels == ("b", "a", "c") and p.touches.tolist() == [0, 1]
    with pytest.raises(ValueError, match="'z', not among"):
        from_rows(["z"], [1], [0], channels=["a"])
