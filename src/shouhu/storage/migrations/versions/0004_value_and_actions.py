"""Customer value with tiers, and next best actions (the agents' task lists come from these).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_value",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("tier", sa.String(16), nullable=False, index=True),
        sa.Column("tier_zh", sa.Text, nullable=False),
        sa.Column("tier_en", sa.Text, nullable=False),
        sa.Column("policies", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "next_best_action",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("rank", sa.Integer, primary_key=True),
        sa.Column("action", sa.String(32), nullable=False, index=True),
        sa.Column("product_type", sa.String(32)),
        sa.Column("expected_value", sa.Float, nullable=False),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("outcome_value", sa.Float, nullable=False),
        sa.Column("reason_zh", sa.Text, nullable=False),
        sa.Column("reason_en", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("next_best_action")
    op.drop_table("customer_value")
