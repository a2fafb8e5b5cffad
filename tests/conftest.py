"""Shared fixtures. Backends are parametrised: every contract test runs on each backend present.

PostgreSQL tests need SHOUHU_TEST_POSTGRES_URL (a server where we may create databases). They skip
with a reason when it is unset or unreachable, except when SHOUHU_REQUIRE_SERVICES=1 (CI), where
they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from shouhu.privacy.crypto import FieldCipher
from shouhu.settings import Settings
from shouhu.synth import SynthConfig, generate_book

PG_URL = os.environ.get("SHOUHU_TEST_POSTGRES_URL")
REQUIRE = os.environ.get("SHOUHU_REQUIRE_SERVICES") == "1"


def _pg_unavailable_reason() -> str | None:
    if not PG_URL:
        return "SHOUHU_TEST_POSTGRES_URL is not set"
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except Exception as e:  # any connection failure means: no server here
        return f"PostgreSQL at {PG_URL} is unreachable: {e}"


@pytest.fixture(scope="session")
def pg_server() -> str:
    reason = _pg_unavailable_reason()
    if reason:
        if REQUIRE:
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        pytest.skip(reason)
    assert PG_URL is not None
    return PG_URL


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import psycopg

    name = f"shouhu_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = pg_server.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def serving_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'serving.sqlite'}"
    return str(request.getfixturevalue("pg_database"))


BookFactory = Callable[..., Path]


@pytest.fixture(scope="session")
def make_book(tmp_path_factory: pytest.TempPathFactory) -> BookFactory:
    """``make_book(customers=1500, seed=7)`` -> folder of a generated book (cached per config)."""
    built: dict[SynthConfig, Path] = {}

    def factory(**kw: Any) -> Path:
        cfg = SynthConfig(**{"customers": 1500, **kw})
        if cfg not in built:
            out = tmp_path_factory.mktemp("book")
            generate_book(out, cfg)
            built[cfg] = out
        return built[cfg]

    return factory


LoadedBookFactory = Callable[..., tuple[Path, str]]


@pytest.fixture(scope="session")
def _loaded_book_cache(tmp_path_factory: pytest.TempPathFactory, make_book: BookFactory) -> dict[Any, Path]:
    return {}


@pytest.fixture
def loaded_book(make_book: BookFactory, _loaded_book_cache: dict[Any, Path], tmp_path: Path,
                tmp_path_factory: pytest.TempPathFactory) -> LoadedBookFactory:
    """``loaded_book(customers=800, seed=3)`` -> (book folder, URL of a DuckDB warehouse holding it).

    The book is generated and ingested once per config for the session; each call gets its own
    copy of the warehouse file, so a test may change it freely.
    """
    import shutil

    from shouhu.ingest import ingest_file, plan_book
    from shouhu.storage.warehouse import Warehouse

    def factory(**kw: Any) -> tuple[Path, str]:
        key = tuple(sorted(kw.items()))
        book = make_book(**kw)
        if key not in _loaded_book_cache:
            target = tmp_path_factory.mktemp("loaded") / "warehouse.duckdb"
            with Warehouse(f"duckdb:///{target}") as wh:
                for item in plan_book(book):
                    ingest_file(wh, item.path, item.mapping, item.extract)
            _loaded_book_cache[key] = target
        copy = tmp_path / f"warehouse-{len(list(tmp_path.glob('warehouse-*')))}.duckdb"
        shutil.copy(_loaded_book_cache[key], copy)
        return book, f"duckdb:///{copy}"

    return factory


# --- a small book refreshed once per session: the web and browser tests serve it -------------------

KEY = FieldCipher.new_key_text()  # the test books' encryption key


@dataclass
class Published:
    book: Path
    warehouse_url: str
    sqlite_path: Path
    pg_template: str | None = None


def _refresh(book: Path, warehouse: str, serving: str, data_dir: Path) -> None:
    import json

    from shouhu.pipeline.refresh import refresh

    as_of = date.fromisoformat(json.loads((book / "manifest.json").read_text(encoding="utf-8"))["as_of"])
    refresh(Settings(data_dir=data_dir, warehouse_url=warehouse, serving_url=serving, encryption_key=KEY),
            as_of=as_of)


@pytest.fixture(scope="session")
def published(make_book: BookFactory, tmp_path_factory: pytest.TempPathFactory) -> Published:
    from shouhu.ingest import ingest_file, plan_book
    from shouhu.storage.warehouse import Warehouse

    book = make_book(customers=800, seed=5)
    root = tmp_path_factory.mktemp("web")
    warehouse = f"duckdb:///{root / 'warehouse.duckdb'}"
    with Warehouse(warehouse) as wh:
        for item in plan_book(book):
            ingest_file(wh, item.path, item.mapping, item.extract)
    sqlite_path = root / "serving.sqlite"
    _refresh(book, warehouse, f"sqlite:///{sqlite_path}", root / "data")
    return Published(book, warehouse, sqlite_path)


@pytest.fixture(scope="session")
def pg_template(published: Published, pg_server: str) -> Iterator[str]:
    """A PostgreSQL database holding the published book; cloned per test."""
    import psycopg

    name = f"shouhu_webtpl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{pg_server.rsplit('/', 1)[0]}/{name}"
    _refresh(published.book, published.warehouse_url, url, published.sqlite_path.parent / "data-pg")
    yield name
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
