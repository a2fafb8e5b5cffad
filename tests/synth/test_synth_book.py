import contextlib
import csv
import hashlib
import io
import json
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import stdnum.cn.ric as ric

from shouhu.ingest.mapping import SHIPPED_DIR, load_mapping_file
from shouhu.model import vocab
from shouhu.reference.products import BY_CODE, SHELF, annual_premium
from shouhu.synth.layouts import ZH, mapping_toml

AS_OF = date(2026, 10, 31)
PHONE = re.compile(r"^1[3-9]\d{9}$")


def read_rows(book: Path, extract: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Headers and rows of one manifest extract, read the plain way a user would."""
    path = book / extract["path"]
    fmt = extract["format"]
    if fmt == "csv":
        text = path.read_bytes().decode(extract["encoding"])
        reader = csv.DictReader(io.StringIO(text))
        rows = list(reader)
        return list(reader.fieldnames or []), rows
    if fmt == "jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return (list(rows[0]) if rows else []), rows
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return table.schema.names, table.to_pylist()
    from openpyxl import load_workbook

    ws = load_workbook(path, read_only=True).worksheets[0]
    values = list(ws.iter_rows(values_only=True))
    headers = [str(h) for h in values[0]]
    return headers, [dict(zip(headers, r, strict=True)) for r in values[1:]]


def manifest(book: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((book / "manifest.json").read_text(encoding="utf-8"))
    return result


def hashes(book: Path) -> dict[str, str]:
    return {
        str(p.relative_to(book)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(book.rglob("*"))
        if p.is_file()
    }


def canonical(book: Path, extract: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows mapped onto canonical fields with the shipped mapping (value maps and date formats applied)."""
    mapping = load_mapping_file(SHIPPED_DIR / f"{extract['source']}.toml").extract(extract["entity"])
    _, rows = read_rows(book, extract)
    out = []
    for row in rows:
        rec: dict[str, Any] = dict(mapping.constants)
        for fld, col in mapping.columns.items():
            v = row.get(col)
            v = None if v == "" else v
            if v is not None and fld in mapping.values:
                v = mapping.values[fld].get(str(v), v)
            if isinstance(v, str) and fld in mapping.date_formats:
                with contextlib.suppress(ValueError):
                    v = datetime.strptime(v, mapping.date_formats[fld]).date()
            elif isinstance(v, str) and ("date" in fld or fld.endswith("_at")):
                with contextlib.suppress(ValueError):
                    v = datetime.fromisoformat(v).date()
            elif isinstance(v, datetime):
                v = v.date()
            rec[fld] = v
        out.append(rec)
    return out


def bad_rows(book: Path) -> dict[tuple[str, int], tuple[str, str]]:
    with (book / "bad_rows.csv").open(encoding="utf-8") as fh:
        return {(r["path"], int(r["row_number"])): (r["field"], r["kind"]) for r in csv.DictReader(fh)}


def test_same_seed_same_bytes_and_other_seed_other_bytes(make_book, tmp_path):
    from shouhu.synth import SynthConfig, generate_book

    first = make_book(customers=400, seed=11)
    again = tmp_path / "again"
    generate_book(again, SynthConfig(customers=400, seed=11))
    assert hashes(first) == hashes(again)
    other = hashes(make_book(customers=400, seed=12))
    seeded = [k for k in hashes(first) if k.endswith((".csv", ".jsonl", ".xlsx")) and k != "core/products.csv"]
    assert all(other[k] != hashes(first)[k] for k in seeded)


def test_manifest_lists_every_extract_with_its_row_count(make_book):
    book = make_book()
    m = manifest(book)
    assert m["format"] == "shouhu-book/1" and m["as_of"] == "2026-10-31" and m["customers"] == 1500
    entities = [e["entity"] for e in m["extracts"]]
    assert entities.index("product") < entities.index("party") < entities.index("policy")
    assert {p.name for p in book.iterdir() if p.is_dir()} == {e["path"].split("/")[0] for e in m["extracts"]}
    for e in m["extracts"]:
        _, rows = read_rows(book, e)
        assert len(rows) == e["rows"] > 0, e["path"]


def test_shipped_mappings_parse_match_the_files_and_are_generated(make_book):
    book = make_book()
    m = manifest(book)
    assert {p.stem for p in SHIPPED_DIR.glob("*.toml")} >= set(ZH)
    for source in ZH:
        path = SHIPPED_DIR / f"{source}.toml"
        assert path.read_text(encoding="utf-8") == mapping_toml(source), f"regenerate {path}"
        load_mapping_file(path)
    for e in m["extracts"]:
        mapping = load_mapping_file(SHIPPED_DIR / f"{e['source']}.toml")
        ext = mapping.extract_for_file(Path(e["path"]).name)
        assert ext.entity.name == e["entity"]
        headers, _ = read_rows(book, e)
        assert set(ext.columns.values()) <= set(headers), e["path"]


def test_bank_files_are_gbk_not_utf8(make_book):
    book = make_book()
    for name in ("customers.csv", "policies.csv", "sellers.csv"):
        (book / "bancassurance" / name).read_bytes().decode("gbk")
    for name in ("customers.csv", "sellers.csv"):  # the policy file happens to be pure ASCII
        with pytest.raises(UnicodeDecodeError):
            (book / "bancassurance" / name).read_bytes().decode("utf-8")
    assert (book / "agent_crm" / "customers.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_bad_rows_are_listed_at_about_the_configured_share(make_book):
    book = make_book()
    bad = bad_rows(book)
    m = manifest(book)
    eligible = [e for e in m["extracts"] if e["entity"] in ("party", "policy", "premium_payment")]
    total = sum(e["rows"] for e in eligible)
    assert abs(len(bad) - 0.01 * total) <= len(eligible)
    assert sum(e["bad_rows"] for e in m["extracts"]) == len(bad)
    kinds = Counter(k for _, k in bad.values())
    assert set(kinds) == {
        "id_checksum",
        "impossible_date",
        "future_birth_date",
        "non_numeric",
        "bad_phone",
        "bad_enum",
        "blank_required",
    }
    gt = pq.read_table(book / "ground_truth.parquet").to_pylist()
    assert sum(r["is_bad"] for r in gt) == sum(
        1 for p, _ in bad if any(e["path"] == p and e["entity"] == "party" for e in m["extracts"])
    )


def _party_extracts(book: Path) -> list[dict[str, Any]]:
    return [e for e in manifest(book)["extracts"] if e["entity"] == "party"]


def test_valid_party_rows_have_valid_consistent_ids_phones_and_dates(make_book):
    book = make_book()
    bad = bad_rows(book)
    codes = {f: set(getattr(vocab, cls).codes()) for f, cls in (("gender", "Gender"), ("channel", "Channel"))}
    seen15 = seen18 = 0
    for e in _party_extracts(book):
        offset = 1 if e["format"] in ("jsonl", "parquet") else 2
        for i, r in enumerate(canonical(book, e)):
            if (e["path"], i + offset) in bad:
                continue
            assert r["name"] and r["gender"] in codes["gender"] and r["channel"] in codes["channel"]
            if r.get("phone") is not None:
                assert PHONE.match(str(r["phone"])), r
            for fld in ("birth_date", "created_at"):
                if r.get(fld) is not None:
                    assert isinstance(r[fld], date) and date(1900, 1, 1) <= r[fld] <= AS_OF, (fld, r)
            idn = r.get("id_number")
            if idn:
                full = idn if len(idn) == 18 else idn[:6] + "19" + idn[6:] + "0"
                if len(idn) == 15:
                    seen15 += 1
                    full = full[:17] + ric.calc_check_digit(full)
                else:
                    seen18 += 1
                assert ric.is_valid(full), r
                assert (int(full[16]) % 2 == 1) == (r["gender"] == "M")
                if r.get("birth_date"):
                    assert ric.get_birth_date(full) == r["birth_date"]
    assert seen15 > 0 and 0.005 < seen15 / (seen15 + seen18) < 0.06


def test_people_appear_in_several_channels_with_variations(make_book):
    gt = pq.read_table(make_book() / "ground_truth.parquet").to_pylist()
    per_person = Counter(r["person_id"] for r in gt)
    multi = sum(1 for c in per_person.values() if c > 1) / len(per_person)
    assert 0.25 < multi < 0.5
    assert len(per_person) == 1500


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def test_term_life_premiums_in_the_book_follow_the_rate_book(make_book):
    book = make_book(bad_row_share=0.0, customers=3000)
    ex = {e["path"]: e for e in manifest(book)["extracts"]}
    people = {r["record_id"]: r for r in canonical(book, ex["agent_crm/customers.csv"])}
    checked = 0
    for p in canonical(book, ex["agent_crm/policies.csv"]):
        insured = people[p["insured_record_id"]]
        if p["product_code"] not in ("TL01", "TL02", "WL01", "CI01") or not insured.get("id_number"):
            continue
        idn = insured["id_number"]
        birth = ric.get_birth_date(idn if len(idn) == 18 else idn[:6] + "19" + idn[6:] + "0")
        age = _age(birth, p["issue_date"])
        # the rate book in force at issue (the interest cap of that date)
        issued = date.fromisoformat(str(p["issue_date"])[:10])
        expected = annual_premium(BY_CODE[p["product_code"]], age, insured["gender"], float(p["sum_assured"]), issued)
        assert float(p["annual_premium"]) == pytest.approx(expected, abs=0.006)
        checked += 1
    assert checked > 20


def test_minors_death_cover_stays_within_the_cap_per_policy(make_book):
    """保监发〔2015〕90号: a policy paying on a child's death is at most 200,000 under 10, 500,000 at 10-17."""
    book = make_book(bad_row_share=0.0, customers=3000)
    ex = {e["path"]: e for e in manifest(book)["extracts"]}
    people = {r["record_id"]: r for r in canonical(book, ex["agent_crm/customers.csv"])}
    pays_death = {p.code for p in SHELF if p.basis != "savings" and
                  any(c.value in ("life", "accident") for c in p.coverages)}
    seen = {"under_10": 0, "10_17": 0}
    for p in canonical(book, ex["agent_crm/policies.csv"]):
        insured = people[p["insured_record_id"]]
        if p["product_code"] not in pays_death or not insured.get("id_number"):
            continue
        idn = insured["id_number"]
        age = _age(ric.get_birth_date(idn if len(idn) == 18 else idn[:6] + "19" + idn[6:] + "0"), p["issue_date"])
        if age < 10:
            seen["under_10"] += 1
            assert float(p["sum_assured"]) <= 200_000
        elif age < 18:
            seen["10_17"] += 1
            assert float(p["sum_assured"]) <= 500_000
    assert seen["under_10"] > 0 and seen["10_17"] > 0


@pytest.mark.parametrize("p13,p25", [(0.90, 0.85), (0.80, 0.70)])
def test_persistency_is_near_the_configured_rates(make_book, p13, p25):
    book = make_book(customers=3000, bad_row_share=0.0, persistency_13m=p13, persistency_25m=p25)
    ex = {e["path"]: e for e in manifest(book)["extracts"]}
    policies = {}
    for path in (
        "agent_crm/policies.csv",
        "bancassurance/policies.csv",
        "broker/policies.xlsx",
        "internet/orders.jsonl",
    ):
        for p in canonical(book, ex[path]):
            if p["payment_frequency"] == "annual" and int(p["premium_term_years"]) >= 3:
                policies[p["policy_no"]] = p
    paid: dict[str, dict[int, bool]] = {}
    for row in canonical(book, ex["core/premium_payments.csv"]):
        if row["policy_no"] in policies:
            year = row["due_date"].year - policies[row["policy_no"]]["issue_date"].year
            # paid within the 60-day grace period: arrears paid on reinstatement (复效) come later and
            # are not the configured lapse model's persistency
            on_time = row["paid_date"] is not None and (row["paid_date"] - row["due_date"]).days <= 60
            paid.setdefault(row["policy_no"], {})[year] = on_time
    for months, target in ((13, p13), (25, p25)):
        cutoff = date(AS_OF.year - (months + 3) // 12 - 1, AS_OF.month, 1)
        cohort = [p for p in policies.values() if p["issue_date"] < cutoff and p["status"] not in ("claimed",)]
        kept = sum(
            1 for p in cohort if all(paid.get(p["policy_no"], {}).get(y, False) for y in range(1, months // 12 + 1))
        )
        assert kept / len(cohort) == pytest.approx(target, abs=0.05), months


def test_no_date_after_as_of_anywhere(make_book):
    book = make_book(bad_row_share=0.0)
    for e in manifest(book)["extracts"]:
        for r in canonical(book, e):
            for k, v in r.items():
                if isinstance(v, date):
                    assert date(1900, 1, 1) <= v <= AS_OF, (e["path"], k, v)
