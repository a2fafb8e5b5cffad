"""Server-rendered pages: one Jinja2 environment, the language, the principal and the CSRF token in
every template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import TypeAdapter

from shouhu.access.policy import allowed, can_reveal
from shouhu.access.roles import LABELS, Action
from shouhu.web import display
from shouhu.web.i18n import label, pick_lang, translator

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


_ANY: TypeAdapter[Any] = TypeAdapter(Any)


def _iso(value: Any) -> Any:
    iso = getattr(value, "isoformat", None)
    return iso() if iso is not None else str(value)


def json_response(data: Any, status_code: int = 200) -> Response:
    """A JSON answer written by the standard library: the same bytes as FastAPI's serializer for our
    records (dates ISO, Decimals as strings) at a quarter of its cost on a 360 page (its keys are
    SQLAlchemy ``quoted_name`` strings, which pydantic serializes slowly). Declare the route's
    ``response_model`` for the OpenAPI document. NaN or infinity (not JSON) become null, as there."""
    try:
        body = json.dumps(data, ensure_ascii=False, default=_iso, allow_nan=False, separators=(",", ":"))
    except ValueError:
        return Response(_ANY.dump_json(data), status_code=status_code, media_type="application/json")
    return Response(body.encode("utf-8"), status_code=status_code, media_type="application/json")


def _json_zh(value: Any) -> Markup:
    """JSON with Chinese kept readable, safe inside <script> and attributes (not HTML-escaped by
    autoescape, which would turn quotes into &#34; and break the script)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return Markup(text)


TEMPLATES.env.filters["tojson_zh"] = _json_zh
TEMPLATES.env.filters["money"] = lambda v: "" if v is None else f"{float(v):,.0f}"
TEMPLATES.env.filters.update(display.FILTERS)  # localtime / localminutes: Beijing time, not UTC ISO
TEMPLATES.env.finalize = display.finalize  # a missing value prints nothing, never "None"


def lang_of(request: Request) -> str:
    return pick_lang(request.query_params.get("lang"), request.cookies.get("lang"))


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    principal = getattr(request.state, "principal", None)
    base = {"request": request, "lang": lang, "t": translator(lang), "label": lambda pair: label(pair, lang),
            "principal": principal, "csrf": getattr(request.state, "csrf", ""), "Action": Action,
            "csp_nonce": getattr(request.state, "csp_nonce", ""),
            "can": (lambda action: principal is not None and allowed(principal, action)),
            "can_reveal": principal is not None and can_reveal(principal),
            "role_label": (label(LABELS[principal.role], lang) if principal else "")} | display.lang_filters(lang)
    response = TEMPLATES.TemplateResponse(request, template, base | context, status_code=status_code)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie("lang", lang, samesite="lax", max_age=365 * 86400)
    return response


_ERROR_KEYS = {403: ("forbidden", "err_forbidden_hint"), 404: ("not_found", "err_not_found_hint"),
               405: ("not_found", "err_not_found_hint"), 429: ("too_many_attempts", "err_throttled_hint")}


def error_page(request: Request, status_code: int, detail: str) -> HTMLResponse:
    """A refusal as a page in the visitor's language: the H5's own layout under /h5, the console's
    elsewhere. Chinese pages explain in Chinese; the English detail is kept for English pages."""
    key, hint = _ERROR_KEYS.get(status_code, ("not_found", "err_not_found_hint"))
    message = translator(lang_of(request))(hint) if lang_of(request) == "zh" else detail
    if request.url.path.startswith("/h5"):
        return page(request, "h5/error.html", status_code=status_code, key=key, message=message,
                    here="/h5/", roles={}, coverages={})
    return page(request, "error.html", status_code=status_code, key=key, message=message)
