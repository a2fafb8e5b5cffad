"""The policy wallet: form records and CSV/Excel uploads, validated like ingest; errors name file, row, field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import xlsxwriter

from shouhu.advice.gaps import person_gaps
from shouhu.advice.wallet import Wallet, WalletError, external_policies
from shouhu.errors import SourceFileError
from shouhu.model.vocab import CoverageType
from shouhu.reports.wallet_upload import read_wallet_file
from tests.advice.factories import AS_OF, make_person

HEADER = ("policy_no,insurer,product_name,product_type,insured_id,issue_date,annual_premium,sa_critical_illness,"
          "sa_life\n")
GOOD = "EXT-1,他司人寿,康乐重疾,critical_illness,P1,2023-04-01,\"6,800\",400000,400000\n"


def test_form_records_become_external_policies() -> None:
    [pol] = external_policies([(1, {"policy_no": "F1", "insurer": "他司", "product_name": "百万医疗",
                                    "product_type": "medical", "insured_id": "P1", "issue_date": "2024-01-01",
                                    "sa_medical": 2_000_000, "coverage_term_years": 1})], today=AS_OF)
    assert pol.source == "external" and pol.coverages == {"medical": 2_000_000.0}
    assert pol.expiry_date == date(2025, 1, 1)


def test_csv_upload_counts_as_existing_cover(tmp_path: Path) -> None:
    path = tmp_path / "wallet.csv"
    path.write_text(HEADER + GOOD, encoding="gbk")  # GBK, as channel files often are
    policies = read_wallet_file(path, today=AS_OF)
    assert policies[0].annual_premium == 6_800 and policies[0].insurer == "他司人寿"
    wallet = Wallet("HH")
    wallet.add(policies)
    wallet.add(policies)  # the same policy again replaces, never duplicates
    assert len(wallet.for_person("P1")) == 1
    gaps = person_gaps(make_person(), wallet.policies, AS_OF)
    ci = next(g for g in gaps if g.coverage is CoverageType.CRITICAL_ILLNESS)
    assert ci.existing == 400_000


def test_csv_errors_name_file_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    rows = [GOOD,
            "EXT-2,他司,X,spaceship,P1,2023-04-01,100,1000,\n",  # bad product type
            "EXT-3,他司,X,accident,P1,2031-01-01,-5,,\n",  # future date, negative premium, no sum assured
            "EXT-1,他司,X,accident,P1,2023-04-01,100,,5000\n",  # duplicate policy number
            ",他司,X,accident,P1,not a date,100,,5000\n"]  # missing number, bad date
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    with pytest.raises(WalletError) as info:
        read_wallet_file(path, today=AS_OF)
    found = {(p.row, p.field) for p in info.value.problems}
    assert {(3, "product_type"), (4, "issue_date"), (4, "annual_premium"), (5, "policy_no"), (6, "policy_no"),
            (6, "issue_date")} <= found
    assert "bad.csv row 3, field 'product_type'" in str(info.value)
    assert "not a valid date" in str(info.value)  # the ingest parser's own message


def test_excel_upload(tmp_path: Path) -> None:
    path = tmp_path / "wallet.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    for c, h in enumerate(HEADER.strip().split(",")):
        ws.write(0, c, h)
    for c, v in enumerate(["EXT-9", "他司", "意外险", "accident", "P1", "2024-02-02", 120, None, None]):
        if v is not None:
            ws.write(1, c, v)
    ws.write(1, 9, None)
    wb.close()
    with pytest.raises(WalletError, match=r"wallet.xlsx row 2, field 'sa_\*'"):
        read_wallet_file(path, today=AS_OF)


def test_unsupported_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wallet.pdf"
    path.write_bytes(b"%PDF")
    with pytest.raises(SourceFileError, match=r"upload a \.csv or \.xlsx"):
        read_wallet_file(path)
