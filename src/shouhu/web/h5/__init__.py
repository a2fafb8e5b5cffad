"""The customer H5 pages under /h5: sign in with phone + one-time code, robo-advisor, wallet, report.
Every module of this package with a ``router`` is mounted (add a file, nothing else)."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI


def register(app: FastAPI) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "router"):
            app.include_router(module.router, prefix="/h5", include_in_schema=False)
