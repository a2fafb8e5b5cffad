"""Upload other insurers' policies into the wallet from a CSV or Excel file.

The file edge of :mod:`shouhu.advice.wallet`: read with the ingest readers (encoding detection,
GBK, Excel via calamine) and parse values with the ingest parsers, so an upload behaves like any
ingest. It lives here, above both packages, because the layering contract keeps ``advice`` and
``ingest`` independent of each other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from shouhu.advice.model import Policy
from shouhu.advice.wallet import Parsers, external_policies
from shouhu.errors import SourceFileError
from shouhu.ingest.readers import read_file
from shouhu.ingest.validate import parse_date, parse_float, parse_int

INGEST_PARSERS = Parsers(number=parse_float, integer=parse_int, day=parse_date)
FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}


def _rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SourceFileError(f"{path}: upload a .csv or .xlsx file (got {path.suffix or 'no suffix'})",
                              file=str(path))
    for chunk in read_file(path, fmt):
        if chunk.broken:
            row, reason, _ = chunk.broken[0]
            raise SourceFileError(f"{path.name} row {row}: {reason}", file=str(path), row=row)
        for number, record in zip(chunk.row_numbers, chunk.records.to_dict("records"), strict=True):
            yield number, {str(k): v for k, v in record.items()}


def read_wallet_file(path: Path, today: date | None = None) -> list[Policy]:
    """Policies from an uploaded file; raises :class:`~shouhu.advice.wallet.WalletError` naming file, row, field."""
    return external_policies(_rows(path), file=path.name, parsers=INGEST_PARSERS, today=today)
