"""Policies in force (published mart, operations.renewal.in_force_expr): one row per live policy with its
holder and issue date, so that the journey trigger detection finds policy anniversaries.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_in_force",
        sa.Column("policy_no", sa.String(96), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("product_code", sa.String(64)),
        sa.Column("issue_date", sa.Date, nullable=False),
        sa.Column("annual_premium", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("policy_in_force")
