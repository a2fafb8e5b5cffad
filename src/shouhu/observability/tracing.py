"""Request tracing: one trace id per request, carried in a context variable.

An incoming W3C ``traceparent`` (``00-<32 hex trace id>-<16 hex parent id>-<flags>``) is continued: its trace
id is kept and this server's span gets a fresh id. Without one, an ``X-Request-ID`` of up to 64 safe
characters is used as the trace id, else a new random one is drawn. The response carries both headers so
that a caller (or a proxy's log) can find the request's lines in ours.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

_TRACE: ContextVar[str | None] = ContextVar("shouhu_trace_id", default=None)
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def current_trace_id() -> str | None:
    return _TRACE.get()


def parse_traceparent(value: str | None) -> str | None:
    """The trace id of a valid ``traceparent`` header, else None (all-zero ids are invalid per the spec)."""
    m = _TRACEPARENT.match((value or "").strip().lower())
    if not m or set(m.group(1)) == {"0"} or set(m.group(2)) == {"0"}:
        return None
    return m.group(1)


def start(traceparent: str | None, request_id: str | None) -> tuple[str, str]:
    """Begin a request's trace: (trace id, this span's id); sets the context variable."""
    trace = parse_traceparent(traceparent)
    if trace is None and request_id and _REQUEST_ID.match(request_id):
        trace = request_id
    trace = trace or secrets.token_hex(16)
    _TRACE.set(trace)
    return trace, secrets.token_hex(8)


def traceparent_for(trace_id: str, span_id: str) -> str:
    """The ``traceparent`` to answer with; a request id that is not 32 hex digits is hashed into one."""
    if not re.fullmatch(r"[0-9a-f]{32}", trace_id):
        import hashlib

        trace_id = hashlib.sha256(trace_id.encode()).hexdigest()[:32]
    return f"00-{trace_id}-{span_id}-01"
