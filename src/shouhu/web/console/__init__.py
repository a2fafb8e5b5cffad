"""The staff console: server-rendered pages under /console (Jinja2 + HTMX + ECharts, all vendored)."""

from __future__ import annotations

from fastapi import FastAPI


def register(app: FastAPI) -> None:
    from shouhu.web.console import pages

    app.include_router(pages.router, prefix="/console", include_in_schema=False)
