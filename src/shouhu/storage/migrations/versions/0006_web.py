"""The web layer: accounts, sessions, tokens, OTP codes, the hash-chained audit log, staff and
customer scopes for row-level permissions, customer detail documents for the 360 page,
questionnaire assessments and customers' own external policies (wallet), and a blind index on names.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("name_bidx", sa.String(64)))
        batch.create_index("ix_customer_name_bidx", ["name_bidx"])
    op.create_table(
        "app_user",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("staff_id", sa.String(64)),
        sa.Column("branch_id", sa.String(64)),
        sa.Column("team_id", sa.String(64)),
        sa.Column("can_reveal", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "api_token",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40)),
    )
    op.create_table(
        "web_session",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("subject_kind", sa.String(16), nullable=False),  # staff | customer
        sa.Column("subject_id", sa.String(64), nullable=False, index=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(160), nullable=False, index=True),  # user id or phone blind index
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", sa.Float, nullable=False, index=True),  # unix seconds
        sa.Column("success", sa.Boolean, nullable=False),
    )
    op.create_table(
        "otp_code",
        sa.Column("phone_bidx", sa.String(64), primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False, index=True),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(48), nullable=False, index=True),
        sa.Column("target_kind", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(160), nullable=False, index=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),  # JSON; never a clear ID number or phone
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "staff",
        sa.Column("staff_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("role", sa.String(32)),
        sa.Column("channel", sa.String(32)),
        sa.Column("team_id", sa.String(64)),
        sa.Column("team_name", sa.Text),
        sa.Column("branch_id", sa.String(64), index=True),
        sa.Column("branch_name", sa.Text),
        sa.Column("qualification_grade", sa.String(8)),
    )
    op.create_table(
        "customer_scope",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("agent_id", sa.String(64), index=True),
        sa.Column("branch_id", sa.String(64), index=True),
        sa.Column("team_id", sa.String(64)),
        sa.Column("service_team_id", sa.String(64), index=True),
    )
    op.create_table(
        "customer_detail",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("policies", sa.Text, nullable=False),  # JSON list
        sa.Column("timeline", sa.Text, nullable=False),  # JSON list, newest first
    )
    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("questionnaire", sa.String(64), nullable=False),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("answers", sa.Text, nullable=False),
        sa.Column("score", sa.Integer),
        sa.Column("level", sa.String(8)),
        sa.Column("taken_at", sa.String(40), nullable=False),
        sa.Column("taken_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "external_policy",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("record", sa.Text, nullable=False),  # JSON of the validated wallet row
        sa.Column("added_at", sa.String(40), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for name in ("external_policy", "assessment", "customer_detail", "customer_scope", "staff", "audit_log",
                 "otp_code", "login_attempt", "web_session", "api_token", "app_user"):
        op.drop_table(name)
    with op.batch_alter_table("customer") as batch:
        batch.drop_index("ix_customer_name_bidx")
        batch.drop_column("name_bidx")
