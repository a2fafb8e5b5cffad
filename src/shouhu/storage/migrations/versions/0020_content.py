"""Content operations (issue 17): content library, versions, engagement.

* ``content_item``: one row per version of an article, course or quiz (version = content hash; the
  same text imported twice is one row), its compliance review status and who moved it;
* ``content_review_event``: every status change with the rule findings seen at that moment;
* ``content_engagement``: views, read depth and quiz results of a customer (no names or phones);
* ``content_share``: content an agent shared with a customer (link token stored as a hash only); the
  first opening creates a follow-up task for the agent;
* ``content_need_signal``: need signals derived from reading (interest in a cover type), kept apart
  from declared data so that they never overwrite it.

Times are UTC ISO strings (``YYYY-MM-DDTHH:MM:SSZ``). Rules: ``shouhu.content``; SQL:
``shouhu.storage.content``.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TS = 24
ID = 64


def _library() -> None:
    op.create_table(
        "content_item",
        sa.Column("item_id", sa.String(ID), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("content_hash", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),          # article | course | quiz
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),      # customer | agent
        sa.Column("body", sa.Text, nullable=False),                # Markdown
        sa.Column("meta", sa.Text, nullable=False),                # JSON: tags, questions, lessons, ...
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("imported_at", sa.String(TS), nullable=False),
        sa.Column("imported_by", sa.String(ID), nullable=False),
        sa.Column("reviewed_by", sa.String(ID)),
        sa.Column("reviewed_at", sa.String(TS)),
        sa.Column("review_note", sa.Text),
        sa.Column("rules_version", sa.String(16)),                 # of the rules the last check used
        sa.Column("published_at", sa.String(TS)),
        sa.Column("retired_at", sa.String(TS)),
        sa.UniqueConstraint("item_id", "content_hash", name="uq_content_item_hash"),
    )
    op.create_table(
        "content_review_event",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(ID), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(ID), nullable=False),
        sa.Column("at", sa.String(TS), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("findings", sa.Text, nullable=False),            # JSON list of rule findings
    )


def _engagement() -> None:
    op.create_table(
        "content_engagement",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(ID), nullable=False, index=True),
        sa.Column("item_id", sa.String(ID), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),         # view | read | quiz
        sa.Column("read_depth", sa.Float),                         # 0..1, share of the text scrolled through
        sa.Column("quiz_score", sa.Integer),
        sa.Column("quiz_total", sa.Integer),
        sa.Column("answers", sa.Text),                             # JSON list of chosen option indexes
        sa.Column("share_id", sa.Integer),
        sa.Column("channel", sa.String(16), nullable=False),       # h5 | console | cli
        sa.Column("at", sa.String(TS), nullable=False),
    )
    op.create_table(
        "content_share",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("item_id", sa.String(ID), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.String(ID), nullable=False, index=True),
        sa.Column("staff_id", sa.String(ID)),                      # the agent the follow-up task goes to
        sa.Column("shared_by", sa.String(ID), nullable=False),
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("expires_at", sa.String(TS), nullable=False),
        sa.Column("opened_at", sa.String(TS)),
        sa.Column("task_id", sa.Integer),
    )
    op.create_table(
        "content_need_signal",
        sa.Column("customer_id", sa.String(ID), primary_key=True),
        sa.Column("need", sa.String(32), primary_key=True),        # a coverage type code
        sa.Column("strength", sa.Float, nullable=False),           # 0..1
        sa.Column("evidence", sa.Text, nullable=False),            # JSON: what was read or answered
        sa.Column("updated_at", sa.String(TS), nullable=False),
    )


def upgrade() -> None:
    _library()
    _engagement()


def downgrade() -> None:
    for name in ("content_need_signal", "content_share", "content_engagement", "content_review_event",
                 "content_item"):
        op.drop_table(name)
