"""Compliance (issue 15): per-subject data keys (crypto-shredding), data-subject requests and their trail,
legal holds, erased subjects (so a later load does not bring them back), restrictions of processing, and
the retention runs.

Times are UTC ISO strings as in migration 0013. Rules: ``shouhu.compliance``; SQL: ``shouhu.storage.dsr``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TS = 24


def upgrade() -> None:
    op.create_table(  # one data key per customer, wrapped by the master key; destroyed = crypto-shredded
        "subject_key",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("wrapped_key", sa.Text),  # NULL once destroyed
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("destroyed_at", sa.String(TS)),
        sa.Column("destroyed_reason", sa.Text),
    )
    op.create_table(
        "dsr_request",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),  # h5 | console | api | cli
        sa.Column("status", sa.String(16), nullable=False),   # open | done | rejected
        sa.Column("received_at", sa.String(TS), nullable=False),
        sa.Column("due_at", sa.String(TS), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),          # JSON: what was asked (e.g. corrections)
        sa.Column("received_by", sa.String(64)),
        sa.Column("completed_at", sa.String(TS)),
        sa.Column("completed_by", sa.String(64)),
        sa.Column("outcome", sa.Text),                          # JSON: what was done, per store
        sa.Column("proof_hash", sa.String(64)),                 # SHA-256 of the canonical outcome
    )
    op.create_index("ix_dsr_request_status_due", "dsr_request", ["status", "due_at"])
    op.create_table(
        "dsr_event",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Integer, nullable=False, index=True),
        sa.Column("at", sa.String(TS), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_table(
        "legal_hold",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("data_class", sa.String(32), nullable=False),  # a class of compliance.retention, or "all"
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("placed_by", sa.String(64), nullable=False),
        sa.Column("placed_at", sa.String(TS), nullable=False),
        sa.Column("released_by", sa.String(64)),
        sa.Column("released_at", sa.String(TS)),
    )
    op.create_table(  # erased people: the warehouse rows of these records are removed again after each load
        "erased_subject",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("records", sa.Text, nullable=False),    # JSON [[source, record_id], ...]
        sa.Column("erased_at", sa.String(TS), nullable=False),
        sa.Column("request_id", sa.Integer),
    )
    op.create_table(  # processing restricted (kept under legal retention): no marketing, export or profiling
        "processing_restriction",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("since", sa.String(TS), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("until", sa.String(10)),                # ISO date the retention ends, when known
        sa.Column("request_id", sa.Integer),
    )
    op.create_table(
        "retention_run",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(TS), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),    # JSON per data class: due, deleted, held
    )


def downgrade() -> None:
    for name in ("retention_run", "processing_restriction", "erased_subject", "legal_hold", "dsr_event",
                 "dsr_request", "subject_key"):
        op.drop_table(name)
