"""Ecosystem services (issue 18): providers and their contract terms, the service catalogue, entitlements
by value tier, service orders with SLA clocks and their history, entitlement uses (one row per used unit,
so that two concurrent orders can never take the same last unit), provider settlements, ecosystem users
who are not customers yet, and their funnel steps.

Money is in fen (integer cents) so that sums are exact on every backend. Times are UTC ISO strings
(``YYYY-MM-DDTHH:MM:SSZ``), as in 0013 and 0017. No names or phone numbers: orders and funnel rows name a
``customer_id`` or an ``eco_user_id`` only. Rules: ``shouhu.partners.ecosystem``; SQL:
``shouhu.storage.ecosystem``.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TS = 24
ID = 64


def _catalogue() -> None:
    op.create_table(
        "eco_provider",
        sa.Column("provider_id", sa.String(ID), primary_key=True),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),          # JSON list of service categories
        sa.Column("contact", sa.Text, nullable=False),             # the company's service desk, never a person
        sa.Column("settlement_cycle", sa.String(12), nullable=False),  # monthly
        sa.Column("payment_days", sa.Integer, nullable=False),     # pay within N days of a confirmed settlement
        sa.Column("breach_deduction_pct", sa.Integer, nullable=False),  # off the price of an order that breached
        sa.Column("contract_start", sa.String(10), nullable=False),
        sa.Column("contract_end", sa.String(10)),
        sa.Column("status", sa.String(12), nullable=False),        # active | suspended
        sa.Column("updated_at", sa.String(TS), nullable=False),
    )
    op.create_table(
        "eco_service",
        sa.Column("service_code", sa.String(ID), primary_key=True),
        sa.Column("category", sa.String(24), nullable=False, index=True),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("provider_id", sa.String(ID), nullable=False, index=True),
        sa.Column("unit_price_fen", sa.BigInteger, nullable=False),   # paid to the provider per completed order
        sa.Column("retail_price_fen", sa.BigInteger),                 # charged when paid for; null: not for sale
        sa.Column("sla_hours", sa.Integer),                           # clock hours (services run 24/7) ...
        sa.Column("sla_working_days", sa.Integer),                    # ... or working days; exactly one is set
        sa.Column("status", sa.String(12), nullable=False),           # active | paused
        sa.Column("updated_at", sa.String(TS), nullable=False),
    )
    op.create_table(
        "eco_entitlement",
        sa.Column("tier", sa.String(16), primary_key=True),
        sa.Column("service_code", sa.String(ID), primary_key=True),
        sa.Column("quantity", sa.Integer),                            # per programme year; null: unlimited
    )


def _orders() -> None:
    op.create_table(
        "eco_order",
        sa.Column("order_id", sa.String(ID), primary_key=True),
        sa.Column("customer_id", sa.String(ID), index=True),
        sa.Column("eco_user_id", sa.String(ID), index=True),
        sa.Column("service_code", sa.String(ID), nullable=False),
        sa.Column("category", sa.String(24), nullable=False),
        sa.Column("provider_id", sa.String(ID), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),             # the tier when ordered
        sa.Column("programme_year", sa.Integer, nullable=False),
        sa.Column("basis", sa.String(12), nullable=False),            # entitlement | paid
        sa.Column("price_fen", sa.BigInteger, nullable=False),        # the provider's price, frozen at order time
        sa.Column("charge_fen", sa.BigInteger, nullable=False),       # charged to the customer (0 if entitled)
        sa.Column("deduction_pct", sa.Integer, nullable=False),       # the contract's breach deduction, frozen
        sa.Column("status", sa.String(16), nullable=False),  # requested | accepted | scheduled | completed | cancelled
        sa.Column("request_key", sa.String(128), unique=True),        # the caller's idempotency key
        sa.Column("requested_at", sa.String(TS), nullable=False),
        sa.Column("due_at", sa.String(TS)),                           # null: the calendar lacks the year
        sa.Column("sla_note", sa.Text),
        sa.Column("accepted_at", sa.String(TS)),
        sa.Column("scheduled_at", sa.String(TS)),
        sa.Column("scheduled_for", sa.String(TS)),                    # the appointment
        sa.Column("completed_at", sa.String(TS)),
        sa.Column("cancelled_at", sa.String(TS)),
        sa.Column("cancel_reason", sa.Text),
        sa.Column("breached", sa.Boolean, nullable=False),
        sa.Column("breached_at", sa.String(TS)),
        sa.Column("settlement_id", sa.String(ID), index=True),
        sa.Column("settled_fen", sa.BigInteger),
        sa.Index("ix_eco_order_provider_done", "provider_id", "status", "completed_at"),
        sa.Index("ix_eco_order_due", "breached", "due_at"),
    )
    op.create_table(
        "eco_order_event",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(ID), nullable=False, index=True),
        sa.Column("at", sa.String(TS), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),             # status | breach | settled
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16)),
        sa.Column("actor", sa.String(ID), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_table(
        "eco_entitlement_use",
        sa.Column("holder", sa.String(80), primary_key=True),         # c:<customer_id> | e:<eco_user_id>
        sa.Column("service_code", sa.String(ID), primary_key=True),
        sa.Column("programme_year", sa.Integer, primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True, autoincrement=False),  # 1 .. quantity
        sa.Column("order_id", sa.String(ID), nullable=False, unique=True),
    )
    op.create_table(
        "eco_settlement",
        sa.Column("settlement_id", sa.String(ID), primary_key=True),
        sa.Column("provider_id", sa.String(ID), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),            # YYYY-MM, China time
        sa.Column("seq", sa.Integer, nullable=False),                 # 2, 3 ...: late orders after confirmation
        sa.Column("orders", sa.Integer, nullable=False),
        sa.Column("gross_fen", sa.BigInteger, nullable=False),
        sa.Column("deduction_fen", sa.BigInteger, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),           # draft | confirmed
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("updated_at", sa.String(TS), nullable=False),
        sa.Column("confirmed_at", sa.String(TS)),
        sa.Column("confirmed_by", sa.String(ID)),
        sa.UniqueConstraint("provider_id", "period", "seq", name="uq_eco_settlement_period"),
    )


def _users() -> None:
    op.create_table(
        "eco_user",
        sa.Column("eco_user_id", sa.String(ID), primary_key=True),
        sa.Column("source", sa.String(ID), nullable=False),           # partner id or campaign code
        sa.Column("scene", sa.String(ID)),
        sa.Column("source_ref", sa.String(ID)),                       # the source's pseudonymous id of its user
        sa.Column("registered_at", sa.String(TS), nullable=False),
        sa.Column("customer_id", sa.String(ID), index=True),
        sa.Column("converted_at", sa.String(TS)),
        sa.UniqueConstraint("source", "source_ref", name="uq_eco_user_source_ref"),
    )
    op.create_table(
        "eco_funnel_event",
        sa.Column("eco_user_id", sa.String(ID), primary_key=True),
        sa.Column("step", sa.String(16), primary_key=True),           # registered | service_used | quoted | converted
        sa.Column("at", sa.String(TS), nullable=False),
        sa.Column("ref", sa.String(ID)),                              # order id, quote id or customer id
    )


def upgrade() -> None:
    _catalogue()
    _orders()
    _users()


def downgrade() -> None:
    for name in ("eco_funnel_event", "eco_user", "eco_settlement", "eco_entitlement_use", "eco_order_event",
                 "eco_order", "eco_entitlement", "eco_service", "eco_provider"):
        op.drop_table(name)
