"""Table objects for the serving tables the web layer reads and writes (mirroring migration 0006),
and :func:`reflected` for the wide published marts, whose columns follow the model."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Boolean, Column, Engine, Float, Integer, MetaData, String, Table, Text

metadata = MetaData()

app_user = Table(
    "app_user", metadata,
    Column("user_id", String(64), primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("staff_id", String(64)),
    Column("branch_id", String(64)),
    Column("team_id", String(64)),
    Column("can_reveal", Boolean, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
)
api_token = Table(
    "api_token", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("revoked_at", String(40)),
)
web_session = Table(
    "web_session", metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
)
login_attempt = Table(
    "login_attempt", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(160), nullable=False),
    Column("client", String(64), nullable=False),
    Column("at", Float, nullable=False),
    Column("success", Boolean, nullable=False),
)
otp_code = Table(
    "otp_code", metadata,
    Column("phone_bidx", String(64), primary_key=True),
    Column("code_hash", String(64), nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False),
)
audit_log = Table(
    "audit_log", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("action", String(48), nullable=False),
    Column("target_kind", String(32), nullable=False),
    Column("target_id", String(160), nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("client", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
staff = Table(
    "staff", metadata,
    Column("staff_id", String(64), primary_key=True),
    Column("name", Text),
    Column("role", String(32)),
    Column("channel", String(32)),
    Column("team_id", String(64)),
    Column("team_name", Text),
    Column("branch_id", String(64)),
    Column("branch_name", Text),
    Column("qualification_grade", String(8)),
)
customer_scope = Table(
    "customer_scope", metadata,
    Column("customer_id", String(64), primary_key=True),
    Column("agent_id", String(64)),
    Column("branch_id", String(64)),
    Column("team_id", String(64)),
    Column("service_team_id", String(64)),
)
customer_detail = Table(
    "customer_detail", metadata,
    Column("customer_id", String(64), primary_key=True),
    Column("policies", Text, nullable=False),
    Column("timeline", Text, nullable=False),
)
assessment = Table(
    "assessment", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(64), nullable=False),
    Column("questionnaire", String(64), nullable=False),
    Column("version", String(16), nullable=False),
    Column("answers", Text, nullable=False),
    Column("score", Integer),
    Column("level", String(8)),
    Column("taken_at", String(40), nullable=False),
    Column("taken_by", String(64), nullable=False),
)
external_policy = Table(
    "external_policy", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(64), nullable=False),
    Column("record", Text, nullable=False),
    Column("added_at", String(40), nullable=False),
    Column("added_by", String(64), nullable=False),
)


@lru_cache(maxsize=64)
def reflected(engine: Engine, name: str) -> Table:
    """A published mart's table object, read from the database once per engine."""
    return Table(name, MetaData(), autoload_with=engine)
