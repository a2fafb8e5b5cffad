"""Structured logs that never carry personal data in clear.

:class:`RedactPersonalData` is a logging *filter* installed on the root handlers by :func:`configure`: it
rewrites each record's message (after %-formatting) so that a mainland ID number, a mobile number, a bank
card (any run of 15 or more digits) or an e-mail address is masked the way the console masks them
(``110***********1234``, ``139****5678``). Code should not log such values at all; the filter is the net
under that rule, for third-party libraries and for mistakes. :class:`JsonFormatter` writes one JSON
object per line with the time (UTC), level, logger, message, trace id and any ``extra={...}`` fields (redacted too).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from shouhu.model.masking import mask_id_number, mask_phone
from shouhu.observability.tracing import current_trace_id

# Not preceded or followed by another digit, so that longer numbers (order numbers, amounts in fen) keep
# their shape; an ID number may end in X.
_ID_NUMBER = re.compile(r"(?<![0-9])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
                        r"[0-9]{3}[0-9Xx](?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9]{9}(?![0-9])")
# Bank cards, accounts and anything else that is a long run of digits (an ID number glued to other digits).
_LONG_DIGITS = re.compile(r"(?<![0-9])[0-9]{15,}[Xx]?(?![0-9])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def _mask_email(m: re.Match[str]) -> str:
    local, _, domain = m.group(0).partition("@")
    return f"{local[:1]}***@{domain}"


def redact(text: str) -> str:
    """``text`` with ID numbers, mobile numbers, card numbers and e-mail addresses masked."""
    if not any(ch.isdigit() for ch in text) and "@" not in text:
        return text
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _MOBILE.sub(lambda m: mask_phone(m.group(0)), text)
    text = _LONG_DIGITS.sub(lambda m: mask_id_number(m.group(0)), text)
    return _EMAIL.sub(_mask_email, text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


class RedactPersonalData(logging.Filter):
    """Masks personal data in the record in place (message, exception text and extras); never drops it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, _redact_value(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: at, level, logger, message, trace_id, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        trace = getattr(record, "trace_id", None) or current_trace_id()
        if trace:
            doc["trace_id"] = trace
        doc |= {k: v for k, v in vars(record).items() if k not in _STANDARD and k != "trace_id"}
        if record.exc_info or record.exc_text:
            doc["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(doc, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        trace = current_trace_id()
        return f"{line} trace={trace}" if trace else line


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (test runners and CLI runners swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def configure(level: str = "INFO", fmt: Literal["text", "json"] = "text", stream: Any = None) -> logging.Handler:
    """Install one handler on the root logger (replacing earlier ones of ours) with the redaction filter."""
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         _TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactPersonalData())
    handler.set_name("shouhu")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "shouhu"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
