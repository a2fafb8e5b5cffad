"""Table objects for the serving tables the web layer reads and writes (mirroring migration 0006),
and :func:`reflected` for the wide published marts, whose columns follow the model."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Boolean, Column, Date, Engine, Float, Integer, MetaData, String, Table, Text

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


service_case = Table(  # migration 0009: service cases (operations.cases)
    "service_case", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(64), nullable=False),
    Column("household_id", String(64)),
    Column("policy_no", String(96)),
    Column("case_type", String(32), nullable=False),
    Column("status", String(24), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("subject", Text, nullable=False),
    Column("detail", Text),
    Column("claim_type", String(32)),
    Column("checklist", Text),
    Column("payload_enc", Text),
    Column("payload_masked", Text),
    Column("channel", String(16), nullable=False),
    Column("owner_user_id", String(64)),
    Column("owner_staff_id", String(64)),
    Column("branch_id", String(64)),
    Column("opened_at", String(40), nullable=False),
    Column("response_due_at", String(40)),
    Column("first_response_at", String(40)),
    Column("resolution_due_at", String(40)),
    Column("clock_since", String(40)),
    Column("consumed_s", Float, nullable=False),
    Column("sla_note", Text),
    Column("resolved_at", String(40)),
    Column("closed_at", String(40)),
    Column("reopened", Integer, nullable=False),
    Column("escalated", Integer, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", String(40), nullable=False),
)
case_event = Table(  # migration 0009: a case's history, SLA breaches and escalations
    "case_event", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("from_status", String(24)),
    Column("to_status", String(24)),
    Column("note", Text),
    Column("detail", Text),
    Column("at", String(40), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("dedupe_key", String(96), unique=True),
)
collection_outcome = Table(  # migration 0009: renewal collection outcomes
    "collection_outcome", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("policy_no", String(96), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("agent_id", String(64)),
    Column("due_date", String(10)),
    Column("outcome", String(16), nullable=False),
    Column("promised_date", String(10)),
    Column("annual_premium", Float),
    Column("note", Text),
    Column("recorded_at", String(40), nullable=False),
    Column("recorded_by", String(64), nullable=False),
)
premium_due = Table(  # migration 0009: published mart (operations.renewal.premium_due_expr)
    "premium_due", metadata,
    Column("policy_no", String(96), primary_key=True),
    Column("due_date", Date, primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("agent_id", String(64)),
    Column("state", String(16), nullable=False),
    Column("amount_due", Float),
    Column("annual_premium", Float),
    Column("lapse_date", Date),
)

policy_in_force = Table(  # migration 0014: published mart (operations.renewal.in_force_expr)
    "policy_in_force", metadata,
    Column("policy_no", String(96), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("agent_id", String(64)),
    Column("product_code", String(64)),
    Column("issue_date", Date, nullable=False),
    Column("annual_premium", Float),
)



task = Table(  # migration 0008: staff tasks (operations.activities)
    "task", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(64), nullable=False),
    Column("household_id", String(64)),
    Column("owner_staff_id", String(64)),
    Column("owner_user_id", String(64)),
    Column("title", Text, nullable=False),
    Column("source", String(16), nullable=False),
    Column("source_key", String(160)),
    Column("action", String(32)),
    Column("status", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("due_date", String(10), nullable=False),
    Column("snoozed_until", String(10)),
    Column("reason", Text),
    Column("expected_value", Float),
    Column("outcome", String(32)),
    Column("outcome_note", Text),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("closed_at", String(40)),
    Column("closed_by", String(64)),
)
activity = Table(  # migration 0008: notes, calls and visits
    "activity", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(64), nullable=False),
    Column("household_id", String(64)),
    Column("kind", String(16), nullable=False),
    Column("occurred_at", String(40), nullable=False),
    Column("summary", Text, nullable=False),
    Column("outcome", String(32)),
    Column("task_id", Integer),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
)

customer_search_token = Table(  # migration 0011: keyed search tokens (identity.search), no clear values
    "customer_search_token", metadata,
    Column("customer_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("token", String(32), nullable=False),
)

proposal_link = Table(  # migration 0012: plan snapshots shared as H5 links (token stored as a hash only)
    "proposal_link", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("customer_id", String(64), nullable=False),
    Column("snapshot", Text, nullable=False),
    Column("method", String(32), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("revoked_at", String(40)),
    Column("revoked_by", String(64)),
    Column("opened", Integer, nullable=False),
    Column("last_opened_at", String(40)),
)


@lru_cache(maxsize=64)
def reflected(engine: Engine, name: str) -> Table:
    """A published mart's table object, read from the database once per engine."""
    return Table(name, MetaData(), autoload_with=engine)
