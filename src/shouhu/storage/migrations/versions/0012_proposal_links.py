"""Proposal links (建议书): a plan snapshot shared with the customer as an H5 link.

The link's random token is never stored: only its SHA-256 (``token_hash``). The snapshot is the plan
as shown to the customer (masked name, coverage gaps and the recommended products; no ID number, no
phone, no customer or household id). A link expires (``expires_at``, default 7 days after creation)
and can be revoked (``revoked_at``); ``opened`` counts the views. Written by staff in the serving
database, never by a refresh. Also an index of tasks by owning account, for the workbench.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proposal_link",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # SHA-256 hex of the token
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("snapshot", sa.Text, nullable=False),  # JSON: the plan as the customer sees it
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40)),
        sa.Column("revoked_by", sa.String(64)),
        sa.Column("opened", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_opened_at", sa.String(40)),
    )
    # the workbench's "tasks given to me" (web.workbench): by account, as ix_task_owner is by staff id
    op.create_index("ix_task_owner_user", "task", ["owner_user_id", "status", "due_date"])


def downgrade() -> None:
    op.drop_index("ix_task_owner_user", "task")
    op.drop_table("proposal_link")
