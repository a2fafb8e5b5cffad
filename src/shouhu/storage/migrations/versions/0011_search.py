"""Search helpers: blind-index tokens for partial name/phone/pinyin search within scope (issue 13).

``customer_search_token`` holds keyed hashes (identity.search) of name pieces, pinyin, the last four
phone digits and the city of each customer, written at publish time with the other marts. No clear
value is stored: a token is an HMAC under a key derived from the serving encryption key.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_search_token",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # name | surname | prefix | given | pinyin | ...
        sa.Column("token", sa.String(32), nullable=False),  # HMAC-SHA256 of kind + normalised value, 128 bits
    )
    op.create_index("ix_customer_search_token_token", "customer_search_token", ["token", "customer_id"])
    op.create_index("ix_customer_search_token_customer", "customer_search_token", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_customer_search_token_customer", "customer_search_token")
    op.drop_index("ix_customer_search_token_token", "customer_search_token")
    op.drop_table("customer_search_token")
