"""Suitability checks, append-only, for compliance (every product check and every block, with inputs).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suitability_check",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("checked_at", sa.String(40), nullable=False),
        sa.Column("check_name", sa.String(32), nullable=False, index=True),
        sa.Column("subject", sa.String(160), nullable=False, index=True),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("reason_zh", sa.Text, nullable=False),
        sa.Column("reason_en", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("suitability_check")
