"""The sales traceability ledger (销售可回溯, issue 15 item 3; 银保监办发〔2020〕26号).

* ``sales_page_version`` — every version of a sales page (投保须知, 条款, 免责条款说明, 健康告知, 风险提示, ...):
  its content and the SHA-256 of that content. Append-only.
* ``trace_session`` — one online sale: who (customer id), what (product, application), when, and once closed
  its head hash, contract dates and the date until which it is kept. The header is bound into the first
  link of the session's hash chain, so a change to it is detected; the retention columns may change (a
  contract ends early) and are not part of the evidence.
* ``trace_event`` — the customer's operations, minimised (codes, never free text; anything personal sealed
  with the customer's own key), hash-chained per session. Append-only.
* ``trace_seal`` — Merkle roots over closed sessions' head hashes, themselves hash-chained. Append-only.

Append-only tables refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) with triggers, as in 0010; the
hash chains and Merkle roots detect a change made by someone who dropped the triggers first
(``shouhu trace verify``). Rules: ``shouhu.compliance.traceability``; SQL: ``shouhu.storage.traceability``.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TS = 40
APPEND_ONLY = ("sales_page_version", "trace_event", "trace_seal")


def _tables() -> None:
    op.create_table(
        "sales_page_version",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(32), nullable=False),       # notice terms exclusions health_notice risk ...
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),          # UTF-8, LF line ends
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("published_at", sa.String(TS), nullable=False),
        sa.Column("published_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "trace_session",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("product_code", sa.String(64), nullable=False),
        sa.Column("application_no", sa.String(64), index=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("started_at", sa.String(TS), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("genesis", sa.String(64), nullable=False),    # SHA-256 of the header: prev_hash of event 1
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("closed_at", sa.String(TS)),
        sa.Column("outcome", sa.String(32)),
        sa.Column("policy_no", sa.String(96)),
        sa.Column("cover_start", sa.String(10)),
        sa.Column("cover_end", sa.String(10)),
        sa.Column("term_class", sa.String(8)),                  # short (<= 1 year) | long | none (no contract)
        sa.Column("contract_end", sa.String(10)),
        sa.Column("retain_until", sa.String(10), index=True),   # NULL: contract still running (end unknown)
        sa.Column("seal_seq", sa.Integer, index=True),
    )
    op.create_table(
        "trace_event",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(TS), nullable=False),          # when it happened (the page's clock)
        sa.Column("recorded_at", sa.String(TS), nullable=False),
        sa.Column("type", sa.String(24), nullable=False),
        sa.Column("page_code", sa.String(64)),
        sa.Column("page_version", sa.Integer),
        sa.Column("page_hash", sa.String(64)),
        sa.Column("data", sa.Text, nullable=False),              # canonical JSON of codes, flags and numbers
        sa.Column("sealed", sa.Text),                            # personal parts, sealed with the customer's key
        sa.Column("client_event_id", sa.String(64)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("session_id", "client_event_id", name="uq_trace_event_client_id"),
    )
    op.create_table(
        "trace_seal",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(TS), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("leaves", sa.Text, nullable=False),            # JSON [[session_id, head_hash], ...] in tree order
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":  # shouhu_append_only() was made by 0010
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
    _tables()
    _append_only()


def downgrade() -> None:
    for name in ("trace_seal", "trace_event", "trace_session", "sales_page_version"):
        op.drop_table(name)  # dropping a table drops its triggers; the function belongs to 0010
