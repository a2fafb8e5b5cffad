"""The REST API under /api/v1. Each module of this package is one resource with a ``router``;
every module found here is mounted (add a file, nothing else). All routes depend on web.auth."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI


def register(app: FastAPI) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "router"):
            app.include_router(module.router, prefix="/api/v1")
