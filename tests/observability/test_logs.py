"""Structured logs never carry personal data in clear, whoever logs it; JSON lines carry the trace id."""

from __future__ import annotations

import io
import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shouhu.observability import JsonFormatter, RedactPersonalData, configure, redact
from shouhu.observability.tracing import start

ID_NUMBER, PHONE = "110101199003074514", "13912345678"


def test_redact_masks_id_numbers_phones_cards_and_mail_but_not_order_numbers() -> None:
    text = f"id={ID_NUMBER} tel {PHONE}, +86 {PHONE} card 6222020200112233445 a.b@example.cn TB20261207001 15900"
    out = redact(text)
    for clear in (ID_NUMBER, PHONE, "6222020200112233445", "a.b@example.cn"):
        assert clear not in out
    assert "110***********4514" in out and "139****5678" in out and "a***@example.cn" in out
    assert "TB20261207001" in out and "15900" in out  # not personal data: kept


@given(st.text(alphabet="0123456789 ,;:-=x", max_size=60))
def test_redact_never_lengthens_or_leaves_a_valid_id_number(noise: str) -> None:
    out = redact(noise + ID_NUMBER + noise)
    assert ID_NUMBER not in out


def _logged(record_args: tuple[object, ...], fmt: str = "json", **extra: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter("%(message)s %(who)s"))
    handler.addFilter(RedactPersonalData())
    log = logging.getLogger("tests.observability")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning(*record_args, extra=extra)  # type: ignore[arg-type]
    finally:
        log.removeHandler(handler)
        log.propagate = True
    return stream.getvalue()


def test_arguments_and_extras_are_redacted_and_the_line_is_json() -> None:
    line = _logged(("sent code to %s for %s", PHONE, ID_NUMBER), who={"phone": PHONE, "ids": [ID_NUMBER]})
    assert PHONE not in line and ID_NUMBER not in line
    doc = json.loads(line)
    assert doc["level"] == "warning" and doc["logger"] == "tests.observability"
    assert doc["message"] == "sent code to 139****5678 for 110***********4514"
    assert doc["who"] == {"phone": "139****5678", "ids": ["110***********4514"]}


def test_exception_text_is_redacted() -> None:
    stream = io.StringIO()
    handler = configure("INFO", "json", stream=stream)
    try:
        try:
            raise ValueError(f"bad phone {PHONE}")
        except ValueError:
            logging.getLogger("tests.observability.exc").exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    assert PHONE not in stream.getvalue()
    assert "139****5678" in json.loads(stream.getvalue().splitlines()[-1])["exception"]


def test_json_lines_carry_the_trace_id_of_the_request() -> None:
    trace, _ = start("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None)
    doc = json.loads(_logged(("hello",)))
    assert doc["trace_id"] == trace == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize("header, kept", [
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", True),
    ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", False),  # all-zero trace id is invalid
    ("garbage", False), (None, False)])
def test_traceparent_is_continued_only_when_valid(header: str | None, kept: bool) -> None:
    trace, span = start(header, None)
    assert (trace == "4bf92f3577b34da6a3ce929d0e0e4736") is kept
    assert len(trace) == 32 and len(span) == 16


def test_a_safe_request_id_becomes_the_trace_id_and_an_unsafe_one_is_replaced() -> None:
    assert start(None, "req-42.a")[0] == "req-42.a"
    assert start(None, "bad id\nwith newline")[0] != "bad id\nwith newline"
