"""Published customer marts, identity stewardship decisions and the refresh run log.

Sensitive fields are stored encrypted (`*_enc`, AES-GCM), with a masked copy for display
(`*_masked`) and a blind index (`*_bidx`) where search by exact value is needed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def customer_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("name_masked", sa.Text),
        sa.Column("name_enc", sa.Text),
        sa.Column("gender", sa.Text),
        sa.Column("birth_date", sa.Date),
        sa.Column("id_number_masked", sa.Text),
        sa.Column("id_number_enc", sa.Text),
        sa.Column("id_number_bidx", sa.String(64), index=True),
        sa.Column("phone_masked", sa.Text),
        sa.Column("phone_enc", sa.Text),
        sa.Column("phone_bidx", sa.String(64), index=True),
        sa.Column("email_enc", sa.Text),
        sa.Column("province", sa.Text),
        sa.Column("city", sa.Text),
        sa.Column("address_enc", sa.Text),
        sa.Column("occupation", sa.Text),
        sa.Column("occupation_class", sa.BigInteger),
        sa.Column("annual_income_enc", sa.Text),
        sa.Column("marital_status", sa.Text),
        sa.Column("record_count", sa.BigInteger),
        sa.Column("channels", sa.Text),
        sa.Column("first_seen", sa.DateTime),
    ]


def customer_360_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("household_id", sa.String(64)),
        sa.Column("household_role", sa.Text),
        sa.Column("household_size", sa.BigInteger),
        sa.Column("gender", sa.Text),
        sa.Column("age", sa.BigInteger),
        sa.Column("life_stage", sa.Text),
        sa.Column("marital_status", sa.Text),
        sa.Column("children_count", sa.BigInteger),
        sa.Column("youngest_child_age", sa.BigInteger),
        sa.Column("province", sa.Text),
        sa.Column("city", sa.Text),
        sa.Column("annual_income_enc", sa.Text),
        sa.Column("policies_total", sa.BigInteger),
        sa.Column("policies_in_force", sa.BigInteger),
        sa.Column("policies_lapsed", sa.BigInteger),
        sa.Column("annualised_premium", sa.Float),
        sa.Column("sa_life", sa.Float),
        sa.Column("sa_critical_illness", sa.Float),
        sa.Column("sa_medical", sa.Float),
        sa.Column("sa_accident", sa.Float),
        sa.Column("sa_pension", sa.Float),
        sa.Column("sa_education", sa.Float),
        sa.Column("on_time_ratio", sa.Float),
        sa.Column("max_days_overdue", sa.BigInteger),
        sa.Column("next_premium_due", sa.Date),
        sa.Column("claims_count", sa.BigInteger),
        sa.Column("claims_paid_enc", sa.Text),
        sa.Column("channels", sa.Text),
        sa.Column("channel_count", sa.BigInteger),
        sa.Column("primary_agent_id", sa.String(64)),
        sa.Column("touchpoints_30d", sa.BigInteger),
        sa.Column("touchpoints_90d", sa.BigInteger),
        sa.Column("touchpoints_365d", sa.BigInteger),
        sa.Column("last_contact_at", sa.DateTime),
        sa.Column("days_since_last_contact", sa.BigInteger),
        sa.Column("tenure_years", sa.Float),
        sa.Column("first_policy_date", sa.Date),
        sa.Column("has_wearable", sa.Boolean),
        sa.Column("avg_daily_steps_30d", sa.Float),
        sa.Column("marketing_consent", sa.Boolean),
        sa.Column("lifecycle_stage", sa.Text),
    ]
def upgrade() -> None:
    op.create_table("customer", *customer_columns())
    op.create_table("customer_360", *customer_360_columns())
    op.create_index("ix_customer_360_lifecycle_stage", "customer_360", ["lifecycle_stage"])
    op.create_table(  # one JSON document per customer: {field: {value, unique_id, source, channel, rule}}
        "customer_provenance",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("provenance", sa.Text, nullable=False),
    )
    op.create_table(
        "household_member",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("household_id", sa.String(64), nullable=False, index=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("evidence", sa.String(32), nullable=False),
    )
    op.create_table(
        "customer_tag",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("tag", sa.String(64), primary_key=True),
        sa.Column("label_zh", sa.Text, nullable=False),
        sa.Column("label_en", sa.Text, nullable=False),
    )
    op.create_index("ix_customer_tag_tag", "customer_tag", ["tag"])
    op.create_table(
        "identity_record",
        sa.Column("unique_id", sa.String(160), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(96), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("decided_by", sa.String(16), nullable=False),
    )
    op.create_table(
        "identity_review",
        sa.Column("unique_id_l", sa.String(160), primary_key=True),
        sa.Column("unique_id_r", sa.String(160), primary_key=True),
        sa.Column("customer_id_l", sa.String(64)),
        sa.Column("customer_id_r", sa.String(64)),
        sa.Column("match_probability", sa.Float, nullable=False),
        sa.Column("match_weight", sa.Float, nullable=False),
        sa.Column("explanation", sa.Text),
    )
    op.create_table(
        "identity_decision",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("unique_id_l", sa.String(160), nullable=False),
        sa.Column("unique_id_r", sa.String(160)),
        sa.Column("partners", sa.Text),  # split: JSON list of the records it is split from
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("reverted_at", sa.DateTime),
        sa.Column("reverted_by", sa.String(128)),
        sa.Column("revert_reason", sa.Text),
    )
    op.create_table(
        "refresh_run",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("steps", sa.Text),
        sa.Column("error", sa.Text),
    )


def downgrade() -> None:
    for table in ("refresh_run", "identity_decision", "identity_review", "identity_record", "customer_tag",
                  "household_member", "customer_provenance", "customer_360", "customer"):
        op.drop_table(table)
