"""Activities: tasks, notes, calls and visits against customers and households.

Written by staff in the serving database (never by a refresh: publishing replaces only the marts it
names) and copied to the warehouse by the refresh's ``activities`` step.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("household_id", sa.String(64)),
        sa.Column("owner_staff_id", sa.String(64)),
        sa.Column("owner_user_id", sa.String(64)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),  # nba | journey | manual | case
        sa.Column("source_key", sa.String(160)),  # nba:<customer>:<action>:<product type>, for idempotence
        sa.Column("action", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False),  # open | snoozed | done | cancelled
        sa.Column("priority", sa.Integer, nullable=False),  # 1 high, 2 normal, 3 low
        sa.Column("due_date", sa.String(10), nullable=False),  # ISO date
        sa.Column("snoozed_until", sa.String(10)),
        sa.Column("reason", sa.Text),
        sa.Column("expected_value", sa.Float),
        sa.Column("outcome", sa.String(32)),
        sa.Column("outcome_note", sa.Text),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("closed_at", sa.String(40)),
        sa.Column("closed_by", sa.String(64)),
    )
    op.create_index("ix_task_customer_status", "task", ["customer_id", "status", "due_date"])
    op.create_index("ix_task_source_key", "task", ["source_key"])
    op.create_index("ix_task_owner", "task", ["owner_staff_id", "status", "due_date"])
    op.create_table(
        "activity",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("household_id", sa.String(64), index=True),
        sa.Column("kind", sa.String(16), nullable=False),  # note | call | visit
        sa.Column("occurred_at", sa.String(40), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),  # ID and phone numbers masked on write
        sa.Column("outcome", sa.String(32)),
        sa.Column("task_id", sa.Integer),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("activity")
    op.drop_index("ix_task_owner", "task")
    op.drop_index("ix_task_source_key", "task")
    op.drop_index("ix_task_customer_status", "task")
    op.drop_table("task")
