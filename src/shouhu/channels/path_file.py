"""An analyst's own aggregated journeys: a CSV or Parquet file of ``path, conversions, nulls, value``.

``path`` is a channel sequence such as ``search > agent > bank``; ``conversions`` is required, ``nulls``
and ``value`` default to 0 when the column is absent. A blank number counts as 0; a number that is
not a number, or is negative, is an error naming the file, the row and the column, so nothing is
dropped silently. Rows are counted from 1 after the header (the CSV line is the row + 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from shouhu.channels.paths import SEP, PathTable, from_arrow
from shouhu.errors import SourceFileError

NUMBER_COLUMNS = ("conversions", "nulls", "value")
REQUIRED = ("path", "conversions")


def _read(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, pa.ArrowException) as e:
        raise SourceFileError(f"cannot read {path}: {e}", file=str(path)) from e
    raise SourceFileError(f"{path}: expected a .csv or .parquet file of paths", file=str(path))


def _numbers(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    raw = frame[column]
    blank = raw.isna() | (raw.astype(str).str.strip() == "")
    values = pd.to_numeric(raw.where(~blank, 0), errors="coerce")
    for problem, bad in (("is not a number", values.isna()), ("is negative", values < 0)):
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise SourceFileError(f"{path}: row {row + 1}, column {column!r}: {raw.iloc[row]!r} {problem}",
                                  file=str(path), row=row + 1, column=column)
    return values.astype(float)


def read_paths_file(path: Path, sep: str = SEP) -> PathTable:
    """The paths of ``path`` (CSV or Parquet), duplicates merged, ready for every attribution model."""
    if not path.is_file():
        raise SourceFileError(f"no such file: {path}", file=str(path))
    frame = _read(path)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise SourceFileError(f"{path}: no column(s) {', '.join(missing)}; the file has: "
                              f"{', '.join(map(str, frame.columns))}", file=str(path), column=missing[0])
    columns = {"path": frame["path"].astype("string").fillna("")}
    for c in NUMBER_COLUMNS:
        columns[c] = _numbers(frame, c, path) if c in frame.columns else pd.Series(0.0, index=frame.index)
    table = pa.Table.from_pandas(pd.DataFrame(columns), preserve_index=False)
    try:
        return from_arrow(table, amounts=("value",), sep=sep)
    except ValueError as e:
        raise SourceFileError(f"{path}: {e}", file=str(path)) from e
