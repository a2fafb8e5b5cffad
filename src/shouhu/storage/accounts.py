"""Accounts, console sessions, API tokens, login attempts and one-time codes in the serving database.

Secrets are never stored: sessions, tokens and codes are kept as SHA-256 hashes of random values,
passwords as Argon2id hashes (privacy.passwords). Functions take the process's shared engine.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from shouhu.errors import InvalidInput, UnknownName
from shouhu.storage.tables import api_token, app_user, login_attempt, otp_code, web_session


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# --- users -------------------------------------------------------------------------------------

USER_FIELDS = ("user_id", "display_name", "role", "staff_id", "branch_id", "team_id", "can_reveal", "active")


def create_user(engine: Engine, *, user_id: str, display_name: str, role: str, password_hash: str,
                staff_id: str | None = None, branch_id: str | None = None, team_id: str | None = None,
                can_reveal: bool = False) -> None:
    now = _iso(_now())
    with engine.begin() as conn:
        if conn.execute(select(app_user.c.user_id).where(app_user.c.user_id == user_id)).first():
            raise InvalidInput(f"user {user_id!r} exists already")
        conn.execute(insert(app_user).values(
            user_id=user_id, display_name=display_name, role=role, password_hash=password_hash, staff_id=staff_id,
            branch_id=branch_id, team_id=team_id, can_reveal=can_reveal, active=True, created_at=now,
            updated_at=now))


def get_user(engine: Engine, user_id: str, *, with_hash: bool = False) -> dict[str, Any] | None:
    cols = [app_user.c[f] for f in USER_FIELDS] + ([app_user.c.password_hash] if with_hash else [])
    with engine.connect() as conn:
        row = conn.execute(select(*cols).where(app_user.c.user_id == user_id)).first()
    return None if row is None else dict(row._mapping)


def list_users(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(*[app_user.c[f] for f in USER_FIELDS]).order_by(app_user.c.user_id))
        return [dict(r._mapping) for r in rows]


def update_user(engine: Engine, user_id: str, **values: Any) -> dict[str, Any]:
    """Change a user's role, scope, reveal grant, active flag or password hash; returns the old values."""
    allowed = {"display_name", "role", "staff_id", "branch_id", "team_id", "can_reveal", "active", "password_hash"}
    unknown = set(values) - allowed
    if unknown:
        raise InvalidInput(f"cannot change {sorted(unknown)} of a user")
    with engine.begin() as conn:
        row = conn.execute(select(*[app_user.c[f] for f in USER_FIELDS]).where(app_user.c.user_id == user_id)).first()
        if row is None:
            raise UnknownName("user", user_id, [])
        conn.execute(update(app_user).where(app_user.c.user_id == user_id).values(**values,
                                                                                   updated_at=_iso(_now())))
        if values.get("active") is False or "password_hash" in values:
            conn.execute(delete(web_session).where((web_session.c.subject_kind == "staff")
                                                   & (web_session.c.subject_id == user_id)))
    return {k: row._mapping[k] for k in values if k in row._mapping}


def count_users(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(app_user)).scalar_one())


# --- sessions ----------------------------------------------------------------------------------

def create_session(engine: Engine, subject_kind: str, subject_id: str, hours: float = 8) -> tuple[str, str]:
    """A new session; returns (session token for the cookie, CSRF token for forms)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = _now()
    with engine.begin() as conn:
        conn.execute(insert(web_session).values(
            session_hash=digest(token), subject_kind=subject_kind, subject_id=subject_id, csrf_token=csrf,
            created_at=_iso(now), expires_at=_iso(now + timedelta(hours=hours))))
    return token, csrf


def get_session(engine: Engine, token: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(web_session).where(web_session.c.session_hash == digest(token))).first()
    if row is None or row.expires_at < _iso(_now()):
        return None
    return dict(row._mapping)


def end_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(web_session).where(web_session.c.session_hash == digest(token)))


# --- API tokens --------------------------------------------------------------------------------

TOKEN_PREFIX = "shk_"


def create_token(engine: Engine, user_id: str, name: str, days: int = 90) -> str:
    """A bearer token for the API (shown once; only its hash is kept)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = _now()
    with engine.begin() as conn:
        conn.execute(insert(api_token).values(token_hash=digest(token), user_id=user_id, name=name,
                                              created_at=_iso(now), expires_at=_iso(now + timedelta(days=days))))
    return token


def token_user(engine: Engine, token: str) -> str | None:
    with engine.connect() as conn:
        row = conn.execute(select(api_token.c.user_id, api_token.c.expires_at, api_token.c.revoked_at)
                           .where(api_token.c.token_hash == digest(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at < _iso(_now()):
        return None
    return str(row.user_id)


def revoke_tokens(engine: Engine, user_id: str) -> int:
    with engine.begin() as conn:
        result = conn.execute(update(api_token).where((api_token.c.user_id == user_id)
                                                      & api_token.c.revoked_at.is_(None))
                              .values(revoked_at=_iso(_now())))
    return int(result.rowcount or 0)


# --- login throttling --------------------------------------------------------------------------

def record_attempt(engine: Engine, subject: str, client: str, success: bool) -> None:
    with engine.begin() as conn:
        conn.execute(insert(login_attempt).values(subject=subject, client=client, at=time.time(), success=success))
        if success:  # a success clears the subject's failures
            conn.execute(delete(login_attempt).where((login_attempt.c.subject == subject)
                                                     & login_attempt.c.success.is_(False)))


def recent_failures(engine: Engine, *, subject: str | None = None, client: str | None = None,
                    window_s: float = 900) -> int:
    since = time.time() - window_s
    query = select(func.count()).select_from(login_attempt).where(login_attempt.c.success.is_(False),
                                                                  login_attempt.c.at >= since)
    if subject is not None:
        query = query.where(login_attempt.c.subject == subject)
    if client is not None:
        query = query.where(login_attempt.c.client == client)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


# --- one-time codes (H5 sign-in) ---------------------------------------------------------------

def store_code(engine: Engine, phone_bidx: str, code: str, ttl_s: float = 300) -> None:
    with engine.begin() as conn:
        conn.execute(delete(otp_code).where(otp_code.c.phone_bidx == phone_bidx))
        conn.execute(insert(otp_code).values(phone_bidx=phone_bidx, code_hash=digest(phone_bidx + code),
                                             expires_at=time.time() + ttl_s, attempts=0))


def check_code(engine: Engine, phone_bidx: str, code: str, max_attempts: int = 5) -> bool:
    """True once for the right code within its lifetime; wrong guesses count, and the code dies after
    ``max_attempts`` of them."""
    with engine.begin() as conn:
        row = conn.execute(select(otp_code).where(otp_code.c.phone_bidx == phone_bidx)).first()
        if row is None or row.expires_at < time.time() or row.attempts >= max_attempts:
            return False
        if secrets.compare_digest(row.code_hash, digest(phone_bidx + code)):
            conn.execute(delete(otp_code).where(otp_code.c.phone_bidx == phone_bidx))
            return True
        conn.execute(update(otp_code).where(otp_code.c.phone_bidx == phone_bidx)
                     .values(attempts=otp_code.c.attempts + 1))
        return False
