"""The staff console: server-rendered pages under /console (Jinja2 + HTMX + ECharts, all vendored).
Every module of this package with a ``router`` is mounted (add a file, nothing else)."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI


def register(app: FastAPI) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "router"):
            app.include_router(module.router, prefix="/console", include_in_schema=False)
