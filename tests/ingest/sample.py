"""A tiny hand-made source (mapping + extract) for load tests that must not depend on the generator."""

from __future__ import annotations

from pathlib import Path

MAPPING = """
source = "demo_crm"
channel = "agent"
zh = "测试CRM"

[extracts.party]
files = ["customers*.csv"]
encoding = "auto"
[extracts.party.columns]
record_id = "客户编号"
name = "姓名"
gender = "性别"
birth_date = "出生日期"
id_number = "身份证号"
phone = "手机"
annual_income = "年收入"
[extracts.party.constants]
channel = "agent"
[extracts.party.values.gender]
"男" = "M"
"女" = "F"
"""

HEADER = "客户编号,姓名,性别,出生日期,身份证号,手机,年收入"
GOOD = [
    "C001,张伟,男,1949-12-31,11010519491231002X,13800138000,120000",
    "C002,李娜,女,1949-12-31,110105491231002,+86 139-0000-0000,88000.5",
]
# each bad row has its defect in the named field
BAD = {
    "C003,王芳,女,1990-02-30,,13900000001,50000": "birth_date",
    "C004,赵强,男,1980-01-01,,13900000002,abc": "annual_income",
    "C005,,男,1980-01-01,,13900000003,1": "name",
    "C006,钱七,X,1980-01-01,,13900000004,1": "gender",
    "C007,孙八,男,1980-01-01,110105198001010011,13900000005,1": "id_number",
    "C008,周九,男,1980-01-01,,12345,1": "phone",
}


def write_source(folder: Path, *, good_copies: int = 1, encoding: str = "utf-8",
                 name: str = "customers.csv") -> tuple[Path, Path]:
    """Write mapping + extract; the extract has ``2 * good_copies`` good rows then the bad ones."""
    folder.mkdir(parents=True, exist_ok=True)
    mapping = folder / "demo_crm.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    lines = [HEADER]
    for copy in range(good_copies):
        lines += [row.replace("C00", f"C{copy}_", 1) for row in GOOD]
    lines += list(BAD)
    extract = folder / name
    extract.write_text("\n".join(lines) + "\n", encoding=encoding)
    return mapping, extract
