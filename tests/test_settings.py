from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shouhu.settings import Settings


def test_defaults_need_no_server(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.warehouse == f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    assert s.serving == f"sqlite:///{tmp_path / 'serving.sqlite'}"


def test_environment_variables_with_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHOUHU_WAREHOUSE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("SHOUHU_INGEST_CHUNK_ROWS", "5000")
    s = Settings()
    assert s.data_dir == tmp_path and s.warehouse == "postgresql://u@h/db" and s.ingest_chunk_rows == 5000


def test_production_refuses_unsafe_defaults() -> None:
    with pytest.raises(ValidationError, match="SHOUHU_ENCRYPTION_KEY is not set"):
        Settings(mode="production", warehouse_url="postgresql://a/b", serving_url="postgresql://a/c")
    with pytest.raises(ValidationError, match="must be set explicitly"):
        Settings(mode="production", encryption_key="k")
    ok = Settings(mode="production", encryption_key="k", warehouse_url="postgresql://a/b",
                  serving_url="postgresql://a/c")
    assert ok.mode == "production"


def test_chunk_rows_has_a_floor() -> None:
    with pytest.raises(ValidationError):
        Settings(ingest_chunk_rows=10)
