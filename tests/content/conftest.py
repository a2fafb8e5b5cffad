"""Content fixtures: an empty migrated serving database, and a copy of the published test book."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import Published


@pytest.fixture
def db(serving_url: str) -> Iterator[Engine]:
    from shouhu.storage import serving

    serving.upgrade(serving_url)
    engine = serving.engine_for(serving_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def book_db(request: pytest.FixtureRequest, published: Published, tmp_path: Path) -> Iterator[Engine]:
    """The published 800-customer book (with its 360, gaps and policies) in a database of the test's own."""
    from shouhu.storage import serving

    cleanup: Any = None
    if request.param == "sqlite":
        copy = tmp_path / "serving.sqlite"
        shutil.copy(published.sqlite_path, copy)
        url = f"sqlite:///{copy}"
    else:
        import psycopg

        server, template = request.getfixturevalue("pg_server"), request.getfixturevalue("pg_template")
        name = f"shouhu_content_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = f"{server.rsplit('/', 1)[0]}/{name}"

        def cleanup() -> None:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    serving.upgrade(url)
    engine = serving.engine_for(url)
    yield engine
    engine.dispose()
    if cleanup:
        cleanup()
