"""Settings from ``SHOUHU_*`` environment variables (nested with ``__``).

Leaf module: imports nothing of the project but ``errors``-free pydantic. Services take a
``Settings`` argument; only the edges call :func:`get_settings`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration. Defaults need no server: DuckDB + SQLite under ``data_dir``."""

    model_config = SettingsConfigDict(env_prefix="SHOUHU_", env_nested_delimiter="__", extra="ignore")

    mode: Literal["demo", "development", "production"] = "development"
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "data")
    warehouse_url: str | None = Field(
        default=None,
        description="duckdb:///path/file.duckdb or postgresql://user@host:port/db; default: DuckDB in data_dir",
    )
    serving_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file in data_dir",
    )
    encryption_key: str | None = Field(
        default=None, description="base64 key for personal data at rest; required in production"
    )
    ingest_chunk_rows: int = Field(default=100_000, ge=1_000)
    log_format: Literal["text", "json"] = Field(default="text", description="json: one JSON object per log line")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = Field(
        default=None, description="default: INFO for `shouhu serve` and workers, WARNING for other commands")
    metrics_token: str | None = Field(
        default=None, description="Bearer token for GET /metrics; unset: loopback clients only")

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.mode != "production":
            return self
        problems = []
        if not self.encryption_key:
            problems.append("SHOUHU_ENCRYPTION_KEY is not set")
        if self.warehouse_url is None or self.serving_url is None:
            problems.append("SHOUHU_WAREHOUSE_URL and SHOUHU_SERVING_URL must be set explicitly")
        if problems:
            raise ValueError("unsafe production settings: " + "; ".join(problems))
        return self

    @property
    def warehouse(self) -> str:
        return self.warehouse_url or f"duckdb:///{self.data_dir / 'warehouse.duckdb'}"

    @property
    def serving(self) -> str:
        return self.serving_url or f"sqlite:///{self.data_dir / 'serving.sqlite'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
