"""Customer journeys: definitions and versions, enrolments, durable steps, the event inbox, the message
log (frequency caps, idempotent sends), templates, the consent ledger, do-not-contact, inbox and tags.

Times are UTC ISO strings (``YYYY-MM-DDTHH:MM:SSZ``) so that they order the same on SQLite and
PostgreSQL. Rules: ``shouhu.journeys``; SQL: ``shouhu.storage.journeys``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = 24  # "2026-12-06T09:00:00Z"


def upgrade() -> None:
    op.create_table(
        "journey",
        sa.Column("journey_key", sa.String(64), primary_key=True),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # active | paused | archived
        sa.Column("current_version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("updated_at", sa.String(TS), nullable=False),
    )
    op.create_table(
        "journey_version",
        sa.Column("journey_key", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("definition", sa.Text, nullable=False),  # JSON, the validated graph
        sa.Column("source", sa.Text, nullable=False),  # the YAML as published
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("published_at", sa.String(TS), nullable=False),
        sa.Column("published_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "journey_enrollment",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("journey_key", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("household_id", sa.String(64)),
        sa.Column("instance_key", sa.String(128), nullable=False),  # "" or the policy number (parallel instances)
        sa.Column("status", sa.String(16), nullable=False),  # active | completed | exited
        sa.Column("arm", sa.String(32)),
        sa.Column("node_id", sa.String(64)),
        sa.Column("trigger_event_id", sa.Integer),
        sa.Column("entered_at", sa.String(TS), nullable=False),
        sa.Column("finished_at", sa.String(TS)),
        sa.Column("exit_reason", sa.String(64)),
        sa.Column("goal_at", sa.String(TS)),
    )
    op.create_index("ix_enrollment_customer", "journey_enrollment", ["customer_id", "journey_key", "status"])
    op.create_index("ix_enrollment_journey", "journey_enrollment", ["journey_key", "version", "status"])
    op.create_table(
        "journey_step",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("enrollment_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # pending | waiting | running | done | cancelled
        sa.Column("due_at", sa.String(TS), nullable=False),
        sa.Column("wait_event", sa.String(64)),  # waiting for this event (until due_at, then the timeout branch)
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("locked_by", sa.String(128)),
        sa.Column("locked_until", sa.String(TS)),
        sa.Column("outcome", sa.String(32)),
        sa.Column("detail", sa.Text),
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("started_at", sa.String(TS)),
        sa.Column("finished_at", sa.String(TS)),
        sa.UniqueConstraint("enrollment_id", "seq", name="uq_step_enrollment_seq"),
    )
    op.create_index("ix_step_due", "journey_step", ["status", "due_at"])
    op.create_index("ix_step_enrollment", "journey_step", ["enrollment_id", "status"])
    op.create_table(
        "journey_event",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_key", sa.String(200), nullable=False, unique=True),  # idempotent intake
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("policy_no", sa.String(64)),
        sa.Column("occurred_at", sa.String(TS), nullable=False),
        sa.Column("payload", sa.Text),
        sa.Column("received_at", sa.String(TS), nullable=False),
        sa.Column("processed_at", sa.String(TS)),
    )
    op.create_index("ix_event_pending", "journey_event", ["processed_at", "id"])
    op.create_index("ix_event_customer", "journey_event", ["customer_id", "event_type", "occurred_at"])
    op.create_table(
        "message_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("household_id", sa.String(64)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # marketing | service | transactional
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("template_code", sa.String(64)),
        sa.Column("template_version", sa.Integer),
        sa.Column("journey_key", sa.String(64)),
        sa.Column("journey_version", sa.Integer),
        sa.Column("enrollment_id", sa.Integer),
        sa.Column("step_id", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),  # sending | sent | failed | suppressed
        sa.Column("reason", sa.String(64)),
        sa.Column("provider_id", sa.String(128)),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("sent_at", sa.String(TS)),
    )
    op.create_index("ix_message_customer", "message_log", ["customer_id", "channel", "sent_at"])
    op.create_index("ix_message_household", "message_log", ["household_id", "channel", "sent_at"])
    op.create_table(
        "message_template",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("subject_zh", sa.Text, nullable=False),
        sa.Column("body_zh", sa.Text, nullable=False),
        sa.Column("subject_en", sa.Text, nullable=False),
        sa.Column("body_en", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # draft | pending | approved | rejected | retired
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("reviewed_by", sa.String(64)),
        sa.Column("reviewed_at", sa.String(TS)),
        sa.Column("review_note", sa.Text),
    )
    op.create_table(  # append-only: the current state is the latest row per (customer, purpose, channel)
        "consent_event",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),  # marketing | health_data | profiling | partner_sharing
        sa.Column("channel", sa.String(16), nullable=False),  # email | sms | wecom | phone | inbox | any
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),  # h5 | console | api | import | cli
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.String(TS), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_consent_customer", "consent_event", ["customer_id", "purpose", "channel", "id"])
    op.create_table(
        "contact_block",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("channel", sa.String(16), nullable=False),  # a channel or any
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("lifted_by", sa.String(64)),
        sa.Column("lifted_at", sa.String(TS)),
    )
    op.create_table(
        "contact_preference",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("time_zone", sa.String(64)),  # IANA, default Asia/Shanghai
        sa.Column("locale", sa.String(8)),  # zh-CN | en
        sa.Column("wecom_userid_enc", sa.Text),
        sa.Column("updated_at", sa.String(TS), nullable=False),
    )
    op.create_table(
        "inbox_message",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),  # message | content
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("link", sa.Text),
        sa.Column("idempotency_key", sa.String(128), unique=True),
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("read_at", sa.String(TS)),
    )
    op.create_table(  # tags set by journeys (the published customer_tag mart is replaced on each refresh)
        "journey_tag",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("tag", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("set_at", sa.String(TS), nullable=False),
    )


def downgrade() -> None:
    for name in ("journey_tag", "inbox_message", "contact_preference", "contact_block", "consent_event",
                 "message_template", "message_log", "journey_event", "journey_step", "journey_enrollment",
                 "journey_version", "journey"):
        op.drop_table(name)
