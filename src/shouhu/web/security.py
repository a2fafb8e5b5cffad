"""Security headers on every answer, and the vendored Swagger UI.

:class:`SecurityHeaders` (pure ASGI middleware) draws a fresh CSP nonce for each request
(``request.state.csp_nonce``; templates put it on their inline ``<script nonce=...>`` and on the
htmx config, so scripts that htmx swaps in run with the page's nonce) and adds to every response:

* ``Content-Security-Policy``: everything from this origin only; scripts from /static or carrying
  the nonce (no ``'unsafe-inline'``, no ``eval``); inline *styles* allowed (style attributes in the
  templates, ECharts tooltips, Swagger UI); ``frame-ancestors 'none'``, ``object-src 'none'``,
  ``base-uri 'none'``, ``form-action 'self'``;
* ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
  a ``Permissions-Policy`` that turns off camera, microphone and location;
* ``Cache-Control: no-store`` on everything but /static (API answers and console/H5 pages carry
  personal data); static assets keep their own caching;
* ``Strict-Transport-Security`` only when ``settings.mode == "production"`` (served over HTTPS).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_PREFIX = "/static/"
HSTS = "max-age=31536000; includeSubDomains"
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=()"


def csp(nonce: str) -> str:
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        static = str(scope.get("path", "")).startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}

                def add(name: str, value: str) -> None:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode("latin-1")))

                if b"content-security-policy" not in present:  # a page with its own policy names its framers
                    add("content-security-policy", csp(nonce))
                    add("x-frame-options", "DENY")
                add("x-content-type-options", "nosniff")
                add("referrer-policy", "no-referrer")
                add("permissions-policy", PERMISSIONS)
                if not static:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                if self.production:
                    add("strict-transport-security", HSTS)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def nonce_of(request: Request) -> str:
    return str(getattr(request.state, "csp_nonce", ""))


def swagger_page(request: Request, openapi_url: str, title: str) -> HTMLResponse:
    """Swagger UI from /static/swagger (vendored swagger-ui-dist: works offline and in mainland China),
    its one inline script carrying the request's CSP nonce."""
    html = get_swagger_ui_html(openapi_url=openapi_url, title=title,
                               swagger_js_url="/static/swagger/swagger-ui-bundle.js",
                               swagger_css_url="/static/swagger/swagger-ui.css",
                               swagger_favicon_url="/favicon.ico", oauth2_redirect_url=None)
    body = bytes(html.body).decode("utf-8")
    nonce = nonce_of(request)
    body = body.replace("<script>", f'<script nonce="{nonce}">').replace(
        '<script src="', f'<script nonce="{nonce}" src="')
    return HTMLResponse(body)




# -- CSRF on sign-in forms ----------------------------------------------------------------------
# Before sign-in there is no session to hold a CSRF token, so the sign-in forms (console and H5) use
# a double-submit cookie: the form page sets a random token in an HttpOnly SameSite=Strict cookie and
# in a hidden field; the POST must carry both, equal. A forged cross-site POST cannot read or send it.

def pre_token(request: Request, cookie: str) -> tuple[str, bool]:
    """The sign-in form token of this browser (from its cookie) and whether it is new (set the cookie)."""
    token = request.cookies.get(cookie)
    return (token, False) if token else (secrets.token_urlsafe(24), True)


def pre_token_ok(request: Request, cookie: str, sent: str | None) -> bool:
    token = request.cookies.get(cookie)
    return bool(token and sent and hmac.compare_digest(token, sent))
