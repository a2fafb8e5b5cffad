"""Text a partner sends that cannot be stored: a NUL character (PostgreSQL text and JSON refuse it) or an
unpaired surrogate (``"\\ud800"`` in JSON: not UTF-8). The partner API checks path and query parameters and
the JSON body with :func:`check_storable` before anything is looked up or stored, so such input is a 422
naming the field, never a server error."""

from __future__ import annotations

from typing import Any

from shouhu.errors import InvalidInput


def _bad_text(value: str) -> bool:
    return "\x00" in value or (not value.isprintable() and any(0xD800 <= ord(c) <= 0xDFFF for c in value))


def check_storable(value: Any, where: str = "") -> None:
    """Raise InvalidInput naming the first field (``facts.x``, ``events[2].at``) that holds such text."""
    if isinstance(value, str):
        if _bad_text(value):
            raise InvalidInput(f"{where or 'body'}: holds a NUL character or an unpaired surrogate",
                               field=where or "body")
    elif isinstance(value, dict):
        for k, v in value.items():
            name = f"{where}.{k}" if where else str(k)
            check_storable(k, where)
            check_storable(v, name)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_storable(v, f"{where}[{i}]")
