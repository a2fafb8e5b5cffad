"""Customer sign-in for the H5 pages: phone number + one-time code. Shared by the pages and the API.

* Requesting a code answers the same way whether or not the phone belongs to a customer (no
  enumeration): a code is stored either way, and sent (through ``state.otp_sender``) only when the
  phone's blind index matches exactly one customer.
* Sends are throttled per phone (``SENDS_PER_HOUR``) and per client address; verification failures
  per phone and per client (``AppState.login_fail_limit`` / ``client_fail_limit`` in the window),
  and a code dies after ``MAX_ATTEMPTS`` wrong guesses (storage.accounts.check_code).
* The phone is never logged or audited in clear (masked, or its blind index).
"""

from __future__ import annotations

import logging
import re
import secrets

from fastapi import HTTPException, Request, Response

from shouhu.access.policy import Principal, RowRule
from shouhu.access.roles import Role
from shouhu.model.masking import mask_phone
from shouhu.storage import accounts
from shouhu.storage import customers as store
from shouhu.web.auth import H5_COOKIE, check_throttle, client_of, record
from shouhu.web.customers import normalise_phone
from shouhu.web.state import AppState

log = logging.getLogger("shouhu.web")

MOBILE = re.compile(r"1[3-9]\d{9}")
CODE = re.compile(r"\d{6}")
CODE_TTL_S = 300.0
MAX_ATTEMPTS = 5
SENDS_PER_HOUR = 5          # codes per phone an hour
CLIENT_SENDS_PER_HOUR = 30  # codes (to any phone) per client address an hour
SEND_WINDOW_S = 3600.0
SESSION_HOURS = 2.0
SENT_MESSAGE = "if this phone number belongs to a customer, a code has been sent to it"


def phone_or_400(raw: str) -> str:
    phone = normalise_phone(raw or "")
    if not MOBILE.fullmatch(phone):
        raise HTTPException(400, "phone: enter an 11-digit mainland mobile number")
    return phone


def _customer(state: AppState, bidx: str) -> str | None:
    """The one customer whose phone this is (sign-in lookup: every customer, hence the full rule);
    None when nobody, or several customers, have it (a shared phone cannot prove who is signing in)."""
    rows = store.search(state.engine, RowRule(), phone_bidx=bidx, limit=2)
    return str(rows[0]["customer_id"]) if len(rows) == 1 else None


def request_code(state: AppState, request: Request, raw_phone: str) -> None:
    """Store a code and send it when the phone is a customer's. Same answer either way."""
    phone = phone_or_400(raw_phone)
    bidx = state.cipher.blind_index(phone) or ""
    # Sends are kept as login_attempt rows under their own subject and client keys, so that they
    # count against the send limits only (never against sign-in failures).
    subject, client = f"otp-send:{bidx}", f"send:{client_of(request)}"[:64]
    if accounts.recent_failures(state.engine, subject=subject, window_s=SEND_WINDOW_S) >= SENDS_PER_HOUR or \
            accounts.recent_failures(state.engine, client=client, window_s=SEND_WINDOW_S) >= CLIENT_SENDS_PER_HOUR:
        raise HTTPException(429, "too many codes requested; try again later", headers={"Retry-After": "3600"})
    accounts.record_attempt(state.engine, subject, client, False)
    code = f"{secrets.randbelow(1_000_000):06d}"
    accounts.store_code(state.engine, bidx, code, ttl_s=CODE_TTL_S)  # stored for unknown phones too
    if _customer(state, bidx) is None:
        return
    try:
        state.otp_sender(phone, code)
    except Exception:  # a failing SMS gateway must not tell the caller the phone is known
        log.exception("sending a one-time code to %s failed", mask_phone(phone))


def verify(state: AppState, request: Request, raw_phone: str, raw_code: str) -> tuple[Principal, str, str]:
    """Check the code; on success a customer session: (principal, session token, CSRF token).

    401 for a wrong, expired or used-up code; 429 when the phone or the client failed too often."""
    phone = phone_or_400(raw_phone)
    bidx = state.cipher.blind_index(phone) or ""
    client = client_of(request)
    subject = f"otp:{bidx}"
    check_throttle(state, subject, client)
    code = (raw_code or "").strip()
    ok = bool(CODE.fullmatch(code)) and accounts.check_code(state.engine, bidx, code, max_attempts=MAX_ATTEMPTS)
    customer_id = _customer(state, bidx) if ok else None
    if customer_id is None:
        accounts.record_attempt(state.engine, subject, client, False)
        record(state, None, "h5_login_failed", "phone", mask_phone(phone), request)
        raise HTTPException(401, "wrong or expired code")
    accounts.record_attempt(state.engine, subject, client, True)
    token, csrf = accounts.create_session(state.engine, "customer", customer_id, hours=SESSION_HOURS)
    principal = Principal(user_id=f"customer:{customer_id}", role=Role.CUSTOMER, customer_id=customer_id)
    record(state, principal, "h5_login", "customer", customer_id, request)
    return principal, token, csrf


def set_cookie(response: Response, state: AppState, token: str) -> None:
    """The H5 session cookie: HttpOnly, SameSite=Lax, Secure in production, sent to /h5 only."""
    response.set_cookie(H5_COOKIE, token, httponly=True, samesite="lax", secure=state.settings.mode == "production",
                        max_age=int(SESSION_HOURS * 3600), path="/h5")


def clear_cookie(response: Response) -> None:
    response.delete_cookie(H5_COOKIE, path="/h5")
