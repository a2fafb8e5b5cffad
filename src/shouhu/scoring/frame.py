"""Turning any table into LightGBM features, the same way at training and at scoring time.

Numbers stay numbers, booleans become 0/1, strings become categories (the training categories
are kept; a category unseen at training becomes missing), dates become days since 1970-01-01.
The feature schema is stored with the model, so a scoring file is read exactly like the training one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shouhu.errors import InvalidInput, SourceFileError

MAX_CATEGORIES = 200  # more distinct strings than this: an id-like column, not a feature


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # "numeric" | "categorical" | "date"
    categories: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "categories": list(self.categories)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Feature:
        return cls(d["name"], d["kind"], tuple(d.get("categories", ())))


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame (by extension)."""
    if not path.exists():
        raise SourceFileError(f"no such file: {path}", path=str(path))
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".csv", ".txt"):
        return pd.read_csv(path)
    raise SourceFileError(f"read CSV or Parquet files, not {suffix or 'files without extension'}: {path}",
                          path=str(path))


def write_table(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".parquet", ".pq"):
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)


def fingerprint(df: pd.DataFrame) -> str:
    """SHA-256 of the data: column names, types and every value (row order matters)."""
    h = hashlib.sha256()
    h.update("|".join(f"{c}:{df[c].dtype}" for c in df.columns).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def binary_target(df: pd.DataFrame, target: str) -> np.ndarray[Any, np.dtype[np.int64]]:
    if target not in df.columns:
        raise InvalidInput(f"no target column {target!r}; columns are {list(df.columns)}", target=target)
    col = df[target]
    if col.isna().any():
        raise InvalidInput(f"target {target!r} has {int(col.isna().sum())} missing values", target=target)
    values = sorted({str(v) for v in col.unique()})
    mapping = {"0": 0, "1": 1, "false": 0, "true": 1, "0.0": 0, "1.0": 1, "no": 0, "yes": 1}
    try:
        y = col.astype(str).str.lower().map(mapping)
    except Exception as e:  # pragma: no cover - defensive
        raise InvalidInput(f"target {target!r} must be binary") from e
    if y.isna().any() or len(values) != 2:
        raise InvalidInput(f"target {target!r} must be binary (0/1, true/false); found {values[:10]}", target=target)
    return np.asarray(y.to_numpy(dtype=np.int64), dtype=np.int64)


def infer_features(df: pd.DataFrame, exclude: set[str]) -> list[Feature]:
    feats: list[Feature] = []
    for name in df.columns:
        if name in exclude:
            continue
        col = df[name]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            feats.append(Feature(name, "numeric"))
        elif pd.api.types.is_datetime64_any_dtype(col):
            feats.append(Feature(name, "date"))
        else:
            cats = sorted({str(v) for v in col.dropna().unique()})
            if len(cats) <= MAX_CATEGORIES:
                feats.append(Feature(name, "categorical", tuple(cats)))
    if not feats:
        raise InvalidInput("no usable feature columns (numbers, dates or strings with few distinct values)")
    return feats


def matrix(df: pd.DataFrame, features: list[Feature]) -> pd.DataFrame:
    """The model's input frame; missing feature columns are an error, extra columns are ignored."""
    missing = [f.name for f in features if f.name not in df.columns]
    if missing:
        raise InvalidInput(f"the data lacks feature columns the model needs: {missing}", missing=missing)
    cols: dict[str, Any] = {}
    for f in features:
        col = df[f.name]
        if f.kind == "numeric":
            cols[f.name] = pd.to_numeric(col, errors="coerce").astype("float64")
        elif f.kind == "date":
            days = pd.to_datetime(col, errors="coerce").astype("int64") // 86_400_000_000_000
            cols[f.name] = days.where(col.notna()).astype("float64")
        else:
            text = col.astype("string")
            known = text.where(text.isin(list(f.categories)))  # unseen at training: missing
            cols[f.name] = pd.Categorical(known, categories=list(f.categories))
    return pd.DataFrame(cols, index=df.index)


def display_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)
