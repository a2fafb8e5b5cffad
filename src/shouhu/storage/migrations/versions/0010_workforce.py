"""Service pods, KPI scorecards and incentive ledgers.

* ``pod_member`` — who can serve (agents, service staff, health managers), their capacity and
  whether they are still active. Written by ``shouhu workforce`` and the console, never by a refresh.
* ``pod_assignment`` — per customer and pod role, the staff member who serves the customer, how
  (auto, manual, orphan) and why. Never published over: a refresh re-applies it to customer_scope.
* ``policy_producer`` — published by the refresh: per policy, its holder and producer of record (出单人).
* ``policy_service`` — per policy, the producer of service (服务人) when it differs from the record's.
* ``pod_move`` and ``incentive_ledger`` — append-only: triggers refuse UPDATE and DELETE on SQLite
  and PostgreSQL; the ledger is also hash-chained, so a change made with the triggers dropped is
  detected by ``shouhu workforce ledger verify``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

APPEND_ONLY = ("pod_move", "incentive_ledger")


def _members() -> None:
    op.create_table(
        "pod_member",
        sa.Column("staff_id", sa.String(64), primary_key=True),
        sa.Column("pod_role", sa.String(16), nullable=False),  # agent | service | health_manager
        sa.Column("name", sa.Text),
        sa.Column("branch_id", sa.String(64), index=True),
        sa.Column("team_id", sa.String(64)),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("left_at", sa.String(40)),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "pod_assignment",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("pod_role", sa.String(16), primary_key=True),
        sa.Column("staff_id", sa.String(64), nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False),  # auto | manual | orphan
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("assigned_at", sa.String(40), nullable=False),
    )


def _policies() -> None:
    op.create_table(
        "policy_producer",
        sa.Column("policy_no", sa.String(96), primary_key=True),
        sa.Column("customer_id", sa.String(64), index=True),
        sa.Column("producer_of_record", sa.String(64), index=True),
        sa.Column("channel", sa.String(32)),
        sa.Column("product_type", sa.String(32)),
        sa.Column("issue_date", sa.Date),
        sa.Column("status", sa.String(16)),
        sa.Column("status_date", sa.Date),
        sa.Column("annual_premium", sa.Float),
        sa.Column("payment_frequency", sa.String(16)),
    )
    op.create_table(
        "policy_service",
        sa.Column("policy_no", sa.String(96), primary_key=True),
        sa.Column("customer_id", sa.String(64), index=True),
        sa.Column("producer_of_service", sa.String(64), nullable=False, index=True),
        sa.Column("since", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )


def _logs() -> None:
    op.create_table(
        "pod_move",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # assign | orphan | manual
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("policy_no", sa.String(96)),
        sa.Column("pod_role", sa.String(16), nullable=False),
        sa.Column("from_staff", sa.String(64)),
        sa.Column("to_staff", sa.String(64), nullable=False, index=True),
        sa.Column("branch_id", sa.String(64), index=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "incentive_ledger",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False, index=True),
        sa.Column("branch_id", sa.String(64), index=True),
        sa.Column("plan_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),  # first_year renewal persistency_bonus clawback reversal
        sa.Column("policy_no", sa.String(96)),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),  # money in fen (1/100 CNY): exact sums
        sa.Column("reverses_seq", sa.Integer),
        sa.Column("memo", sa.Text, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION shouhu_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$")
        for name in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
                       "FOR EACH ROW EXECUTE FUNCTION shouhu_append_only()")
            op.execute(f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION shouhu_append_only()")
        return
    for name in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {name}_no_{verb.lower()} BEFORE {verb} ON {name} BEGIN "
                       f"SELECT RAISE(ABORT, '{name} is append-only: {verb} refused'); END")


def upgrade() -> None:
    _members()
    _policies()
    _logs()
    _append_only()


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in ("incentive_ledger", "pod_move", "policy_service", "policy_producer", "pod_assignment",
                 "pod_member"):
        op.drop_table(name)  # dropping a table drops its triggers
    if postgres:
        op.execute("DROP FUNCTION shouhu_append_only()")
