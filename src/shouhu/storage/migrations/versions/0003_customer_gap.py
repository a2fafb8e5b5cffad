"""Batch protection gaps per customer (needs and gaps by cover type), for the console and tags.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NEEDS = ("life", "critical_illness", "medical", "accident", "pension", "education")


def upgrade() -> None:
    op.create_table(
        "customer_gap",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        *(sa.Column(f"need_{n}", sa.Float) for n in NEEDS),
        *(sa.Column(f"gap_{n}", sa.Float) for n in NEEDS),
    )


def downgrade() -> None:
    op.drop_table("customer_gap")
