"""Health engagement and membership (issue 16): wearable daily aggregates, points ledger, status, rewards, value tiers.

Only daily aggregates of wearable data are kept (steps, active minutes, resting heart rate), one row per
customer, local date and source family (``apple``, ``huawei``, ``xiaomi``, ``garmin``, ``csv``, ``json:<vendor>``);
the points run reads the largest value of each day across sources, so two devices never count twice.
Bad rows of an import are quarantined with the file, row, field and reason. The points ledger is
append-only: earning and carry-over rows are lots; redemption, expiry and reset rows name the lot they
draw on (``lot_key``). Days are ISO dates (``YYYY-MM-DD``, China time), times UTC ISO strings as in 0013.
Rules: ``shouhu.health``; SQL: ``shouhu.storage.health``.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TS = 24
ID = 64
DAY = 10


def _wearables() -> None:
    op.create_table(
        "health_member",
        sa.Column("customer_id", sa.String(ID), primary_key=True),
        sa.Column("product_code", sa.String(ID), nullable=False),    # the product whose reward table applies
        sa.Column("enrolled_on", sa.String(DAY), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),          # active | left
        sa.Column("updated_at", sa.String(TS), nullable=False),
    )
    op.create_table(
        "health_daily",
        sa.Column("customer_id", sa.String(ID), primary_key=True),
        sa.Column("day", sa.String(DAY), primary_key=True),
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("steps", sa.Integer),
        sa.Column("active_minutes", sa.Integer),
        sa.Column("resting_hr", sa.Integer),
        sa.Column("import_id", sa.String(ID), nullable=False),
        sa.Column("updated_at", sa.String(TS), nullable=False),
        sa.Index("ix_health_daily_day", "day"),
    )
    op.create_table(
        "health_import",
        sa.Column("import_id", sa.String(ID), primary_key=True),
        sa.Column("customer_id", sa.String(ID), nullable=False, index=True),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("format", sa.String(12), nullable=False),          # apple | csv | json
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows_read", sa.Integer, nullable=False),
        sa.Column("days_stored", sa.Integer, nullable=False),
        sa.Column("rows_quarantined", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.String(TS), nullable=False),
        sa.UniqueConstraint("customer_id", "sha256", name="uq_health_import_file"),
    )
    op.create_table(
        "health_quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("import_id", sa.String(ID), nullable=False, index=True),
        sa.Column("customer_id", sa.String(ID), nullable=False, index=True),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("row_no", sa.Integer, nullable=False),             # CSV line, JSON item or XML record number
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("value", sa.String(64)),                           # the offending cell, cut to 64 characters
    )
    op.create_table(
        "health_event",
        sa.Column("customer_id", sa.String(ID), primary_key=True),
        sa.Column("kind", sa.String(24), primary_key=True),          # health_check | quiz | annual_review
        sa.Column("ref", sa.String(ID), primary_key=True),           # the check, quiz or review id: once each
        sa.Column("day", sa.String(DAY), nullable=False, index=True),
        sa.Column("recorded_at", sa.String(TS), nullable=False),
        sa.Column("actor", sa.String(ID), nullable=False),
        sa.Column("awarded_on", sa.String(DAY)),                     # the points run that awarded it
    )


def _points() -> None:
    op.create_table(
        "points_ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entry_key", sa.String(160), nullable=False, unique=True),  # makes every run idempotent
        sa.Column("customer_id", sa.String(ID), nullable=False, index=True),
        sa.Column("kind", sa.String(12), nullable=False),            # earn | carry | redeem | expire | reset
        sa.Column("category", sa.String(24), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),             # positive for lots, negative for draws
        sa.Column("day", sa.String(DAY), nullable=False),
        sa.Column("programme_year", sa.Integer, nullable=False),
        sa.Column("expires_on", sa.String(DAY)),                     # lots only
        sa.Column("lot_key", sa.String(160)),                        # draws only: the lot drawn on
        sa.Column("note", sa.Text),
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Index("ix_points_ledger_lot", "lot_key"),
        sa.Index("ix_points_ledger_expiry", "expires_on"),
    )
    op.create_table(
        "health_redemption",
        sa.Column("redemption_id", sa.String(ID), primary_key=True),
        sa.Column("customer_id", sa.String(ID), nullable=False, index=True),
        sa.Column("product_code", sa.String(ID), nullable=False),
        sa.Column("voucher_code", sa.String(ID), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("request_key", sa.String(128), unique=True),
        sa.Column("redeemed_at", sa.String(TS), nullable=False),
    )
    op.create_table(  # status points per programme year and category, kept by the points run (a cache of the ledger)
        "points_year_total",
        sa.Column("customer_id", sa.String(ID), primary_key=True),
        sa.Column("programme_year", sa.Integer, primary_key=True),
        sa.Column("category", sa.String(24), primary_key=True),
        sa.Column("points", sa.Integer, nullable=False),
    )
    op.create_table(
        "health_run",
        sa.Column("day", sa.String(DAY), primary_key=True),
        sa.Column("members", sa.Integer, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.String(TS), nullable=False),
    )


def _membership() -> None:
    op.create_table(
        "membership_tier",
        sa.Column("customer_id", sa.String(ID), primary_key=True),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("since", sa.String(TS), nullable=False),
    )
    op.create_table(
        "membership_change",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(ID), nullable=False, index=True),
        sa.Column("from_tier", sa.String(16)),                       # null: the first tier given
        sa.Column("to_tier", sa.String(16), nullable=False),
        sa.Column("changed_at", sa.String(TS), nullable=False),
        sa.Column("reason_zh", sa.Text, nullable=False),             # shown to the customer
        sa.Column("reason_en", sa.Text, nullable=False),
    )


def upgrade() -> None:
    _wearables()
    _points()
    _membership()


def downgrade() -> None:
    for name in ("membership_change", "membership_tier", "health_run", "points_year_total", "health_redemption",
                 "points_ledger", "health_event", "health_quarantine", "health_import", "health_daily",
                 "health_member"):
        op.drop_table(name)
