"""Service cases with SLAs on a business calendar, and renewal collection.

``service_case`` and ``case_event`` (the case's history, SLA breaches and escalations; ``dedupe_key``
makes the breach sweep idempotent) and ``collection_outcome`` are written by staff and customers in
the serving database and copied to the warehouse by the refresh (never replaced by it).
``premium_due`` is a published mart: premiums due soon, unpaid in the grace period, and lapsed
policies still reinstatable, one row per policy and due date.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_case",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("household_id", sa.String(64)),
        sa.Column("policy_no", sa.String(96)),
        sa.Column("case_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),  # open | in_progress | waiting_customer | resolved | closed
        sa.Column("priority", sa.Integer, nullable=False),  # 1 high, 2 normal, 3 low
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("detail", sa.Text),  # ID and phone numbers masked on write
        sa.Column("claim_type", sa.String(32)),
        sa.Column("checklist", sa.Text),  # JSON: [{"code": ..., "received": bool}]
        sa.Column("payload_enc", sa.Text),  # encrypted JSON of the sensitive fields (new address, account)
        sa.Column("payload_masked", sa.Text),  # JSON of the same fields, masked
        sa.Column("channel", sa.String(16), nullable=False),  # console | h5
        sa.Column("owner_user_id", sa.String(64)),
        sa.Column("owner_staff_id", sa.String(64)),
        sa.Column("branch_id", sa.String(64)),
        sa.Column("opened_at", sa.String(40), nullable=False),
        sa.Column("response_due_at", sa.String(40)),
        sa.Column("first_response_at", sa.String(40)),
        sa.Column("resolution_due_at", sa.String(40)),
        sa.Column("clock_since", sa.String(40)),  # the resolution clock runs from here; null: paused or stopped
        sa.Column("consumed_s", sa.Float, nullable=False),  # working seconds used before clock_since
        sa.Column("sla_note", sa.Text),  # why a due time is missing (a date beyond the calendar)
        sa.Column("resolved_at", sa.String(40)),
        sa.Column("closed_at", sa.String(40)),
        sa.Column("reopened", sa.Integer, nullable=False),
        sa.Column("escalated", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_service_case_customer", "service_case", ["customer_id", "status"])
    op.create_index("ix_service_case_status_due", "service_case", ["status", "resolution_due_at"])
    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, nullable=False, index=True),
        sa.Column("kind", sa.String(24), nullable=False),  # created | status | comment | breach | escalation
        sa.Column("from_status", sa.String(24)),
        sa.Column("to_status", sa.String(24)),
        sa.Column("note", sa.Text),
        sa.Column("detail", sa.Text),  # JSON
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("dedupe_key", sa.String(96), unique=True),  # breach:<case>:<clock>:<round>, escalation:...
    )
    op.create_table(
        "collection_outcome",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("policy_no", sa.String(96), nullable=False, index=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("due_date", sa.String(10)),
        sa.Column("outcome", sa.String(16), nullable=False),  # paid | promised | refused | unreachable
        sa.Column("promised_date", sa.String(10)),
        sa.Column("annual_premium", sa.Float),
        sa.Column("note", sa.Text),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "premium_due",
        sa.Column("policy_no", sa.String(96), primary_key=True),
        sa.Column("due_date", sa.Date, primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False),  # upcoming | grace | lapsed
        sa.Column("amount_due", sa.Float),
        sa.Column("annual_premium", sa.Float),
        sa.Column("lapse_date", sa.Date),
    )


def downgrade() -> None:
    op.drop_table("premium_due")
    op.drop_table("collection_outcome")
    op.drop_table("case_event")
    op.drop_index("ix_service_case_status_due", "service_case")
    op.drop_index("ix_service_case_customer", "service_case")
    op.drop_table("service_case")
