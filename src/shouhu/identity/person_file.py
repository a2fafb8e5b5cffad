"""Link any file of person records: the user's own column names, the same matching as the pipeline.

A small TOML mapping names the user's columns for the canonical fields; the records are loaded
into a throw-away DuckDB warehouse as ``src_party`` and resolved there, so nothing touches the
configured warehouse.
"""

from __future__ import annotations

import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from shouhu.errors import MappingError
from shouhu.identity.evaluation import cluster_metrics
from shouhu.identity.resolve import IdentityResult, resolve_identities
from shouhu.storage.warehouse import Warehouse

CANONICAL_COLUMNS = ("record_id", "name", "family_name", "given_name", "birth_date", "gender", "id_number",
                     "other_id", "phone", "email", "city", "address")
# A passport, social-security or any other document number: compared exactly, never a merge guard.
OTHER_ID_TYPE = "other"
SOURCE = "file"
_GENDER = {"m": "M", "male": "M", "男": "M", "1": "M", "f": "F", "female": "F", "女": "F", "2": "F"}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def load_link_mapping(path: Path) -> dict[str, str]:
    """Canonical field -> the file's column, from ``name = "客户姓名"`` lines (optionally under ``[columns]``)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise MappingError(f"cannot read the mapping {path}: {e}", file=str(path)) from e
    table = raw.get("columns", raw)
    unknown = sorted(set(table) - set(CANONICAL_COLUMNS))
    if unknown:
        raise MappingError(f"{path}: unknown field(s) {', '.join(unknown)}; valid: {', '.join(CANONICAL_COLUMNS)}",
                           file=str(path))
    if "record_id" not in table:
        raise MappingError(f"{path}: the mapping must name a column for record_id", file=str(path))
    if "name" not in table and not {"family_name", "given_name"} & set(table):
        raise MappingError(f"{path}: the mapping must name a column for name, or for family_name and/or "
                           "given_name", file=str(path))
    return {k: str(v) for k, v in table.items()}


def id18(value: Any) -> str | None:
    """An 18-character resident ID from an 18- or 15-digit one (check character recomputed), else None."""
    if value is None or pd.isna(value):
        return None
    s = str(value).strip().upper()
    if len(s) == 15 and s.isdigit():
        s = s[:6] + "19" + s[6:]
        s += "10X98765432"[sum(int(c) * w for c, w in zip(s, _ID_WEIGHTS, strict=True)) % 11]
    if len(s) == 18 and s[:17].isdigit() and (s[17].isdigit() or s[17] == "X"):
        return s
    return None


def mobile(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    digits = "".join(c for c in str(value) if c.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if len(digits) == 11 and digits.startswith("1") else None


def _text(series: pd.Series) -> pd.Series:
    s = series.astype("string").str.strip()
    return s.where(s != "", None)


def full_name(family: pd.Series, given: pd.Series) -> pd.Series:
    """One name from separate columns: 张 + 伟 → 张伟; romanised "neumann" + "michaela" → "michaela neumann".

    Romanised names are written given-first so the last word is the surname, as for a single name column.
    """
    f, g = family.fillna(""), given.fillna("")
    latin = f.str.isascii() & g.str.isascii()
    joined = (g + " " + f).str.strip().where(latin, f + g)
    return joined.where(joined != "", None).astype("string")


def _names(records: pd.DataFrame, col: Any) -> pd.Series:
    if "family_name" not in records and "given_name" not in records:
        return col("name")  # type: ignore[no-any-return]
    split = full_name(col("family_name"), col("given_name"))
    return split if "name" not in records else col("name").fillna(split)


def _id_columns(records: pd.DataFrame, col: Any) -> tuple[pd.Series, pd.Series]:
    """(id_type, id_number): the resident ID when there is one, else the other document's number."""
    resident = col("id_number").map(id18).astype("string")
    other = col("other_id").str.upper()
    number = resident.fillna(other)
    id_type = pd.Series(["resident_id"] * len(records), dtype="string").where(resident.notna(), OTHER_ID_TYPE)
    return id_type.where(number.notna(), None), number


def party_table(records: pd.DataFrame) -> pa.Table:
    """``records`` (canonical column names) as a ``src_party``-shaped Arrow table."""
    n = len(records)

    def col(name: str) -> pd.Series:
        return _text(records[name]) if name in records else pd.Series([None] * n, dtype="string")

    birth = pd.to_datetime(col("birth_date"), errors="coerce", format="mixed")
    gender = col("gender").str.lower().map(_GENDER)
    id_type, id_number = _id_columns(records, col)
    frame = pd.DataFrame({
        "record_id": col("record_id"), "name": _names(records, col),
        "gender": gender.astype("string"),
        "birth_date": birth.dt.strftime("%Y-%m-%d").astype("string"),
        "id_type": id_type, "id_number": id_number,
        "phone": col("phone").map(mobile).astype("string"),
        "email": col("email"), "province": pd.Series([None] * n, dtype="string"),
        "city": col("city"), "address": col("address"),
        "_source": SOURCE, "_file_id": "file", "_row_number": range(1, n + 1),
    })
    return pa.Table.from_pandas(frame, preserve_index=False)


@dataclass
class LinkOutcome:
    result: IdentityResult
    clusters_csv: Path
    pairs_csv: Path
    metrics: dict[str, Any] | None


def link_person_table(records: pd.DataFrame, out_dir: Path, *, truth_column: str | None = None,
                      link_threshold: float = 0.95, review_band: tuple[float, float] = (0.5, 0.95)) -> LinkOutcome:
    """Link ``records`` (canonical column names, plus ``truth_column`` if given); write CSVs to ``out_dir``."""
    if records["record_id"].duplicated().any():
        raise MappingError("record_id must be unique in the file")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shouhu-link-") as tmp, \
            Warehouse(f"duckdb:///{Path(tmp) / 'link.duckdb'}") as wh:
        wh.write_table("src_party", party_table(records))
        result = resolve_identities(wh, link_threshold=link_threshold, review_band=review_band)
        clusters = wh.table("identity_cluster").select("record_id", cluster_id="customer_id").to_pandas()
        pairs = wh.table("identity_pair").to_pandas()
    for side in ("l", "r"):
        pairs.insert(0 if side == "l" else 1, f"record_id_{side}",
                     pairs.pop(f"unique_id_{side}").str.removeprefix(f"{SOURCE}:"))
    clusters = clusters.sort_values("record_id")
    clusters.to_csv(out_dir / "clusters.csv", index=False)
    pairs.sort_values(["record_id_l", "record_id_r"]).to_csv(out_dir / "pairs.csv", index=False)
    metrics = None
    if truth_column is not None:
        truth = records.assign(record_id=records["record_id"].astype("string"))[["record_id", truth_column]]
        merged = clusters.merge(truth, on="record_id")
        metrics = dict(cluster_metrics(merged["cluster_id"].tolist(), merged[truth_column].astype(str).tolist()))
    return LinkOutcome(result, out_dir / "clusters.csv", out_dir / "pairs.csv", metrics)
