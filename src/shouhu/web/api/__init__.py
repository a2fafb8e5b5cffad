"""The REST API under /api/v1. Each module is one resource; all routes depend on web.auth.require."""

from __future__ import annotations

from fastapi import FastAPI


def register(app: FastAPI) -> None:
    from shouhu.web.api import auth, customers

    for module in (auth, customers):
        app.include_router(module.router, prefix="/api/v1")
