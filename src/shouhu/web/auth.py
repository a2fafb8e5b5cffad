"""Who is calling: bearer tokens (API), session cookies with CSRF (console and H5), login throttling.

Every route depends on :func:`require` (staff actions) or :func:`require_customer_session` (H5), which
resolve the principal and ask access.policy whether the action is allowed. Unsafe methods on a
cookie session must carry the session's CSRF token (header ``X-CSRF-Token`` or form field
``csrf_token``); bearer-token calls need none (no ambient credential to forge).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from fastapi import Depends, HTTPException, Request

from shouhu.access.policy import Principal, allowed
from shouhu.access.roles import Action, Role
from shouhu.privacy.passwords import DUMMY_HASH, verify_password
from shouhu.storage import accounts, audit
from shouhu.web.state import AppState

SESSION_COOKIE = "shouhu_session"
H5_COOKIE = "shouhu_h5"
DEMO_PREFIX = "demo-"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class NotSignedIn(HTTPException):
    def __init__(self, area: str) -> None:
        super().__init__(401, "sign in first", headers={"WWW-Authenticate": "Bearer"})
        self.area = area  # api | console | h5: where to send the browser


class Throttled(HTTPException):
    def __init__(self) -> None:
        super().__init__(429, "too many failed attempts; try again later", headers={"Retry-After": "900"})


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.shouhu
    return state


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def principal_from_user(user: dict[str, Any]) -> Principal:
    return Principal(user_id=user["user_id"], role=Role(user["role"]), display_name=user["display_name"],
                     staff_id=user["staff_id"], branch_id=user["branch_id"], team_id=user["team_id"],
                     can_reveal=bool(user["can_reveal"]))


def _usable(state: AppState, user: dict[str, Any] | None) -> bool:
    """Active, and a demo account only while the server runs in demo mode."""
    if user is None or not user["active"]:
        return False
    return state.demo or not str(user["user_id"]).startswith(DEMO_PREFIX)


def _area(request: Request) -> str:
    path = request.url.path
    return "console" if path.startswith("/console") else "h5" if path.startswith("/h5") else "api"


def resolve(request: Request) -> Principal | None:
    """The caller's principal, or None. Caches on the request."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    state = app_state(request)
    principal: Principal | None = None
    request.state.auth_kind = None
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
        principal = state.tokens.get(token)
        if principal is None:
            user_id = accounts.token_user(state.engine, token)
            user = accounts.get_user(state.engine, user_id) if user_id else None
            if _usable(state, user):
                assert user is not None
                principal = principal_from_user(user)
                state.tokens.put(token, principal)
        request.state.auth_kind = "token" if principal else None
    else:
        cookie = SESSION_COOKIE if _area(request) != "h5" else H5_COOKIE
        cookie_token = request.cookies.get(cookie)
        session = accounts.get_session(state.engine, cookie_token) if cookie_token else None
        if session is not None:
            if session["subject_kind"] == "staff":
                user = accounts.get_user(state.engine, session["subject_id"])
                if _usable(state, user):
                    assert user is not None
                    principal = principal_from_user(user)
            elif session["subject_kind"] == "customer":
                principal = Principal(user_id=f"customer:{session['subject_id']}", role=Role.CUSTOMER,
                                      customer_id=session["subject_id"])
            if principal is not None:
                request.state.auth_kind = "session"
                request.state.csrf = session["csrf_token"]
    request.state.principal = principal
    return principal


async def _check_csrf(request: Request) -> None:
    if request.method not in UNSAFE or request.state.auth_kind != "session":
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, request.state.csrf):
        raise HTTPException(403, "missing or wrong CSRF token")


def require(action: Action) -> Callable[..., Any]:
    """A dependency: the signed-in staff principal allowed to take ``action`` (401 / 403 otherwise)."""

    async def dependency(request: Request) -> Principal:
        principal = resolve(request)
        if principal is None or principal.role is Role.CUSTOMER:
            raise NotSignedIn(_area(request))
        await _check_csrf(request)
        if not allowed(principal, action):
            raise HTTPException(403, f"your role may not {action.value}")
        return principal

    return dependency


async def require_customer_session(request: Request) -> Principal:
    principal = resolve(request)
    if principal is None or principal.role is not Role.CUSTOMER:
        raise NotSignedIn("h5")
    await _check_csrf(request)
    return principal


def signed_in(request: Request) -> Principal:
    """Any signed-in staff principal (pages every role may open, such as the home page)."""
    principal = resolve(request)
    if principal is None or principal.role is Role.CUSTOMER:
        raise NotSignedIn(_area(request))
    return principal


SignedIn = Depends(signed_in)


def record(state: AppState, principal: Principal | None, action: str, target_kind: str, target_id: str,
           request: Request | None = None, reason: str = "", **detail: Any) -> None:
    """Write an audit entry for ``principal`` (or an anonymous caller)."""
    audit.append(state.engine, actor=principal.user_id if principal else "anonymous",
                 actor_role=principal.role.value if principal else "none", action=action,
                 target_kind=target_kind, target_id=target_id, reason=reason, detail=detail,
                 client=client_of(request) if request else "")


def check_throttle(state: AppState, subject: str, client: str) -> None:
    if accounts.recent_failures(state.engine, subject=subject, window_s=state.fail_window_s) \
            >= state.login_fail_limit:
        raise Throttled()
    if accounts.recent_failures(state.engine, client=client, window_s=state.fail_window_s) \
            >= state.client_fail_limit:
        raise Throttled()


def login_staff(state: AppState, request: Request, user_id: str, password: str) -> Principal:
    """Check the password (throttled; constant work for unknown users); audit success and failure."""
    client = client_of(request)
    check_throttle(state, user_id, client)
    user = accounts.get_user(state.engine, user_id, with_hash=True)
    ok = verify_password(user["password_hash"] if user else DUMMY_HASH, password) and _usable(state, user)
    accounts.record_attempt(state.engine, user_id, client, ok)
    if not ok:
        audit.append(state.engine, actor=user_id[:64], actor_role="none", action="login_failed",
                     target_kind="user", target_id=user_id[:160], client=client)
        raise HTTPException(401, "wrong user name or password")
    assert user is not None
    principal = principal_from_user(user)
    record(state, principal, "login", "user", user_id, request)
    return principal
