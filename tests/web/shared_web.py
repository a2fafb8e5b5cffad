"""One application per backend for a whole test module (the ``web`` fixture builds one per test).

The permission matrix and the security tests send thousands of requests that change little, so
they share one serving database and one app per backend; tests that change state clean up after
themselves (or use the per-test ``web`` fixture).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shouhu.settings import Settings
from tests.conftest import KEY, Published
from tests.web.conftest import SENT, Web, _accounts

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def serving_copy(request: pytest.FixtureRequest, backend: str, published: Published, folder: Path) -> Iterator[str]:
    """A private copy of the published serving database: its URL."""
    if backend == "sqlite":
        copy = folder / "serving.sqlite"
        shutil.copy(published.sqlite_path, copy)
        yield f"sqlite:///{copy}"
        return
    import psycopg

    server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    name = f"shouhu_webm_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settings_for(url: str, published: Published, folder: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=folder / "data", warehouse_url=published.warehouse_url, serving_url=url,
                    encryption_key=KEY, **overrides)


def make_app(settings: Settings) -> FastAPI:
    from shouhu.web.app import create_app

    return create_app(settings, otp_sender=lambda phone, code: SENT.append((phone, code)))


@contextmanager
def module_web(request: pytest.FixtureRequest, published: Published, folder: Path) -> Iterator[Web]:
    """A :class:`Web` over a private copy of the book, for a module (``request.param`` = backend)."""
    with serving_copy(request, str(request.param), published, folder) as url:
        settings = settings_for(url, published, folder)
        app = make_app(settings)
        engine = app.state.shouhu.engine
        users, scope, own, foreign = _accounts(engine)
        with TestClient(app, base_url="http://127.0.0.1") as client:
            yield Web(client, settings, engine, users, scope, own, foreign)
        engine.dispose()
