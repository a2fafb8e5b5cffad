"""Helpers shared by every CLI module: consoles, the --json option, error handling."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from shouhu.errors import ShouhuError

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

out = Console()
if not out.is_terminal:  # piped or in CI: do not squeeze tables into 80 columns
    out = Console(width=160)
err = Console(stderr=True)

# Exit codes: 2 = wrong name or configuration (fix the command), 1 = anything else.
USAGE_CODES = ("unknown_name", "config_error", "mapping_error", "invalid_rule")


def fail(e: ShouhuError) -> None:
    err.print(f"error [{e.code}]: {e.message}", style="red", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(code=2 if e.code in USAGE_CODES else 1)


def guarded(fn: Callable[[], T]) -> T:
    """Run ``fn``; a ShouhuError becomes a clear message and a non-zero exit, never a traceback."""
    try:
        return fn()
    except ShouhuError as e:
        fail(e)
        raise  # unreachable: fail always raises


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")


def with_serving(fn: Callable[[Any], T]) -> T:
    """Run ``fn(engine)`` on the configured serving database (migrated first); errors as :func:`guarded`."""
    from shouhu.settings import get_settings
    from shouhu.storage import serving

    settings = get_settings()
    guarded(lambda: serving.upgrade(settings.serving))
    engine = serving.engine_for(settings.serving)
    try:
        return guarded(lambda: fn(engine))
    finally:
        engine.dispose()
