"""Per-customer premium persistency (13- and 25-month populations, so the dashboard can sum any row
scope to its own ratio) and the lapse model's per-policy scores with reasons (when the model has run).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(  # one row per (policyholder, N): the policies measured at month N and their premiums
        "customer_persistency",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("month", sa.Integer, primary_key=True),
        sa.Column("policies", sa.BigInteger, nullable=False),
        sa.Column("persisted", sa.BigInteger, nullable=False),
        sa.Column("premium_due", sa.Float, nullable=False),
        sa.Column("premium_received", sa.Float, nullable=False),
    )
    op.create_table(  # scoring.lapse.SCORE_TABLE, published when the lapse model has scored the book
        "lapse_score",
        sa.Column("policy_no", sa.String(96), primary_key=True),
        sa.Column("customer_id", sa.String(64), index=True),
        sa.Column("snapshot_date", sa.Date),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("decile", sa.BigInteger),
        sa.Column("reasons", sa.Text),  # JSON list of plain-language reasons (riskiest share only)
        sa.Column("model", sa.String(96)),
    )
    op.create_index("ix_next_best_action_expected_value", "next_best_action", ["expected_value"])


def downgrade() -> None:
    op.drop_index("ix_next_best_action_expected_value", "next_best_action")
    op.drop_table("lapse_score")
    op.drop_table("customer_persistency")
