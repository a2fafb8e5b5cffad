"""Policy review report: HTML content, masking, and a real PDF from the demo book with CJK glyphs and charts."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from shouhu.advice import service
from shouhu.advice.gaps import household_gaps
from shouhu.advice.review import Review, build_review, due_dates
from shouhu.cli.advice import register
from shouhu.pipeline.refresh import refresh
from shouhu.reports.review import render_html, review_batch, write_review
from shouhu.settings import Settings, get_settings
from shouhu.storage.warehouse import Warehouse
from tests.advice.factories import AS_OF, family_of_four, family_policies, make_policy
from tests.conftest import LoadedBookFactory
from tests.reports.cjk import assert_chinese_pdf, poppler

BOOK_AS_OF = date(2026, 10, 31)
PEOPLE = {"HEAD": {"name": "王大明", "id_number": "110101198801011234"}}


def family_review() -> Review:
    hh, pols = family_of_four(), family_policies()
    return build_review(hh, pols, household_gaps(hh, pols, AS_OF), AS_OF, PEOPLE)


def test_review_data_overlaps_calendar_reinstatement() -> None:
    r = family_review()
    spouse = next(m for m in r.members if m.person.person_id == "SPOUSE")
    assert "只赔一次" in spouse.overlaps[0].zh
    assert [(p.policy_no, d) for p, d in r.reinstatable] == [("AC-LAPSED", date(2027, 5, 1))]
    calendar = dict(r.calendar)
    assert calendar["2027-01"] == 2_000  # TL-OLD is due every 1 January
    assert calendar["2027-09"] == 8_000 and calendar["2027-03"] == 340 and calendar["2027-06"] == 340
    monthly = make_policy(payment_frequency="monthly", annual_premium=1_200, issue_date=date(2026, 1, 15),
                          premium_term_years=20)
    assert len(due_dates(monthly, date(2026, 10, 1), date(2027, 10, 1))) == 12


def test_html_is_masked_and_bilingual() -> None:
    zh = render_html(family_review())
    assert "家庭保单检视报告" in zh and "王**" in zh and "110***********1234" in zh
    assert "王大明" not in zh and "110101198801011234" not in zh
    assert zh.count("data:image/png;base64,") == 5  # one chart per member + the calendar
    en = render_html(family_review(), "en")
    assert "Household policy review" in en and "Premium calendar" in en


@pytest.fixture
def refreshed(loaded_book: LoadedBookFactory, tmp_path: Path) -> Settings:
    _, url = loaded_book(customers=600, seed=5)
    settings = Settings(data_dir=tmp_path / "data", warehouse_url=url, serving_url=f"sqlite:///{tmp_path / 's.db'}")
    refresh(settings, as_of=BOOK_AS_OF)
    return settings


def family_customer(wh: Warehouse) -> str:
    rows = wh.query("SELECT customer_id FROM customer_360 WHERE household_size = 4 AND policies_in_force > 0 "
                    "AND household_role = 'head' ORDER BY customer_id LIMIT 1")
    return str(rows[0][0])


def test_demo_book_review_pdf_renders_chinese_and_charts(refreshed: Settings, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    poppler()
    with Warehouse(refreshed.warehouse) as wh:
        cid = family_customer(wh)
        data, _ = service.diagnose(wh, cid, as_of=BOOK_AS_OF)
        c360 = wh.table("customer_360").execute()
        review = service.review(wh, cid, as_of=BOOK_AS_OF)
    assert len(data.household.members) == 4 and data.policies
    own = c360.set_index("customer_id").loc[cid]
    in_force_life = sum(p.coverages.get("life", 0) for p in data.policies if p.insured_id == cid and p.in_force())
    assert in_force_life == pytest.approx(own["sa_life"])  # same cover the 360 reports
    pdf = tmp_path / "review.pdf"
    write_review(review, pdf=pdf)
    # a CJK font embedded (not boxes), and the headings read back as text
    assert_chinese_pdf(pdf, "家庭保单检视报告", "保障与需求", "保单明细", "未来12个月保费日历", "可复效的失效保单")
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert sum(1 for line in images.splitlines()[2:] if line.split()[2] == "image") == 5  # 4 members + calendar

    # the CLI on the same warehouse: review writes files, advise prints JSON
    monkeypatch.setenv("SHOUHU_WAREHOUSE_URL", refreshed.warehouse)
    monkeypatch.setenv("SHOUHU_SERVING_URL", refreshed.serving)
    get_settings.cache_clear()
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    res = runner.invoke(app, ["review", cid, "--as-of", "2026-10-31", "--pdf", str(tmp_path / "cli.pdf"),
                              "--html", str(tmp_path / "cli.html"), "--lang", "en"])
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "cli.pdf").stat().st_size > 10_000 and "Household policy review" in (
        tmp_path / "cli.html").read_text(encoding="utf-8")
    res = runner.invoke(app, ["advise", cid, "--as-of", "2026-10-31", "--method", "double_ten", "--budget", "30000",
                              "--risk-level", "R3", "--json"])
    assert res.exit_code == 0, res.stderr
    payload = json.loads(res.stdout)
    assert payload["gaps"]["method"] == "double_ten" and {"plan", "alternatives", "blocked"} <= set(payload)
    # every suitability check of that plan is in the compliance log, blocks included
    from shouhu.storage.compliance import read_checks

    checks = read_checks(refreshed.serving)
    assert checks and all(c["reason_zh"] and c["reason_en"] and c["inputs"] for c in checks)
    assert sum(not c["passed"] for c in checks) >= len(payload["blocked"])
    res = runner.invoke(app, ["advise", cid, "--method", "nope"])
    assert res.exit_code == 2 and "valid choices" in res.stderr
    res = runner.invoke(app, ["advise", "CU-nobody", "--as-of", "2026-10-31"])
    assert res.exit_code == 1 and "no customer" in res.stderr
    # a segment's reports in one go
    res = runner.invoke(app, ["review-batch", f'household_size >= 3 and customer_id == "{cid}"', "--out",
                              str(tmp_path / "seg"), "--as-of", "2026-10-31", "--json"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["reports"] == [str(tmp_path / "seg" / f"{cid}.pdf")]
    assert (tmp_path / "seg" / f"{cid}.pdf").read_bytes()[:4] == b"%PDF"
    get_settings.cache_clear()

    paths = review_batch(refreshed.warehouse, [cid], tmp_path / "batch", as_of=BOOK_AS_OF)
    assert [p.name for p in paths] == [f"{cid}.pdf"]


def test_batch_gaps_from_customer_360(refreshed: Settings) -> None:
    with Warehouse(refreshed.warehouse) as wh:
        c360 = wh.table("customer_360").execute()
    out = service.batch_gaps(c360, BOOK_AS_OF)
    assert len(out) == len(c360) and (out.filter(like="gap_") >= 0).all().all()
    assert (out.gap_medical[c360.sa_medical.fillna(0).to_numpy() >= 2_000_000] == 0).all()
