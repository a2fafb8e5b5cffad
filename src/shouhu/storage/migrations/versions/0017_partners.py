"""Partners and embedded insurance (issue 18): the partner registry and its API keys, quotes, bound
policies with the partner's order number, changes (preview then confirm), claims (notices and automatic
claims on trigger events), idempotency keys, hosted sales links, the partner request log (conformance),
conformance reports, and signed webhooks (endpoints, events, deliveries and their attempts).

Money is in fen (integer cents) so that sums are exact on every backend. Times are UTC ISO strings
(``YYYY-MM-DDTHH:MM:SSZ``), as in 0013. API key secrets are stored as SHA-256 only; webhook signing
secrets, which must be usable to sign, are stored sealed with the field cipher; applicants' personal
details are sealed with the cipher too. Rules: ``shouhu.partners``; SQL: ``shouhu.storage.partners`` and
``shouhu.storage.webhooks``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TS = 24
ID = 64


def _registry() -> None:
    op.create_table(
        "partner",
        sa.Column("partner_id", sa.String(ID), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("licence", sa.String(16), nullable=False),       # intermediary | scene
        sa.Column("licence_no", sa.String(64)),                    # 经营保险代理/经纪业务许可证 number
        sa.Column("mode", sa.String(12), nullable=False),          # sandbox | production
        sa.Column("products", sa.Text, nullable=False),            # JSON list of product codes
        sa.Column("scenes", sa.Text, nullable=False),              # JSON list of scene codes
        sa.Column("frame_origins", sa.Text, nullable=False),       # JSON list: origins that may embed hosted pages
        sa.Column("rate_per_minute", sa.Integer, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),        # active | suspended
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("updated_at", sa.String(TS), nullable=False),
        sa.Column("live_report_id", sa.String(ID)),                # the conformance report that allowed go-live
    )
    op.create_table(
        "partner_key",
        sa.Column("key_id", sa.String(ID), primary_key=True),
        sa.Column("partner_id", sa.String(ID), nullable=False, index=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),              # JSON list
        sa.Column("mode", sa.String(12), nullable=False),          # sandbox | production
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("expires_at", sa.String(TS)),                    # set on rotation: the old key's overlap ends
        sa.Column("revoked_at", sa.String(TS)),
        sa.Column("last_used_at", sa.String(TS)),
    )


def _business() -> None:
    op.create_table(
        "partner_quote",
        sa.Column("quote_id", sa.String(ID), primary_key=True),
        sa.Column("partner_id", sa.String(ID), nullable=False, index=True),
        sa.Column("mode", sa.String(12), nullable=False),
        sa.Column("product_code", sa.String(ID), nullable=False),
        sa.Column("scene", sa.String(ID), nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),              # JSON, minimised (ages, scene facts; no names)
        sa.Column("premium_fen", sa.BigInteger, nullable=False),
        sa.Column("sum_assured_fen", sa.BigInteger, nullable=False),
        sa.Column("pricing", sa.Text, nullable=False),             # JSON: how the premium was reached
        sa.Column("disclosures", sa.Text, nullable=False),         # JSON [{code, version, sha256}]
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("valid_until", sa.String(TS), nullable=False),
    )
    op.create_table(
        "partner_policy",
        sa.Column("policy_no", sa.String(ID), primary_key=True),
        sa.Column("partner_id", sa.String(ID), nullable=False),
        sa.Column("mode", sa.String(12), nullable=False),
        sa.Column("partner_order_no", sa.String(ID), nullable=False),
        sa.Column("quote_id", sa.String(ID), nullable=False, unique=True),
        sa.Column("product_code", sa.String(ID), nullable=False),
        sa.Column("scene", sa.String(ID), nullable=False),
        sa.Column("scene_key", sa.String(128), index=True),        # what a trigger names: order no, flight+date
        sa.Column("customer_ref", sa.String(ID), nullable=False),  # the partner's id of its user
        sa.Column("applicant", sa.Text, nullable=False),           # sealed JSON: name, id number, phone
        sa.Column("trace_session_id", sa.String(ID), nullable=False),
        sa.Column("acknowledgements", sa.Text, nullable=False),    # JSON [{code, version, sha256, at}]
        sa.Column("premium_fen", sa.BigInteger, nullable=False),
        sa.Column("sum_assured_fen", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),        # in_force | cancelled
        sa.Column("cover_start", sa.String(10), nullable=False),
        sa.Column("cover_end", sa.String(10), nullable=False),
        sa.Column("bound_at", sa.String(TS), nullable=False),
        sa.Column("via", sa.String(12), nullable=False),           # api | hosted
        sa.Column("cancelled_at", sa.String(TS)),
        sa.Column("refund_fen", sa.BigInteger),
        sa.UniqueConstraint("partner_id", "partner_order_no", name="uq_partner_policy_order"),
    )
    op.create_table(
        "partner_change",
        sa.Column("change_id", sa.String(ID), primary_key=True),
        sa.Column("policy_no", sa.String(ID), nullable=False, index=True),
        sa.Column("partner_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),          # cancel | modify
        sa.Column("request", sa.Text, nullable=False),             # JSON
        sa.Column("preview", sa.Text, nullable=False),             # JSON: refund, new premium, effective date
        sa.Column("status", sa.String(16), nullable=False),        # previewed | confirmed | superseded
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("expires_at", sa.String(TS), nullable=False),
        sa.Column("confirmed_at", sa.String(TS)),
    )
    op.create_table(
        "partner_claim",
        sa.Column("claim_id", sa.String(ID), primary_key=True),
        sa.Column("policy_no", sa.String(ID), nullable=False, index=True),
        sa.Column("partner_id", sa.String(ID), nullable=False),
        sa.Column("source", sa.String(12), nullable=False),        # notice | automatic
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.String(TS), nullable=False),
        sa.Column("details", sa.Text, nullable=False),             # JSON codes and numbers
        sa.Column("amount_fen", sa.BigInteger),                    # automatic claims: the payout
        sa.Column("status", sa.String(16), nullable=False),        # noticed | approved | rejected
        sa.Column("reason", sa.Text),
        sa.Column("trigger_id", sa.String(128)),                   # partner's trigger event id (one claim each)
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.UniqueConstraint("policy_no", "trigger_id", name="uq_partner_claim_trigger"),
    )
    op.create_table(
        "partner_idempotency",
        sa.Column("partner_id", sa.String(ID), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("mode", sa.String(12), nullable=False),
        sa.Column("route", sa.String(128), nullable=False),        # METHOD path
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),         # in_flight | done
        sa.Column("status_code", sa.Integer),
        sa.Column("response", sa.Text),
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("expires_at", sa.String(TS), nullable=False, index=True),
    )
    op.create_table(
        "hosted_link",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("partner_id", sa.String(ID), nullable=False, index=True),
        sa.Column("mode", sa.String(12), nullable=False),
        sa.Column("product_code", sa.String(ID), nullable=False),
        sa.Column("scene", sa.String(ID), nullable=False),
        sa.Column("customer_ref", sa.String(ID), nullable=False),
        sa.Column("partner_order_no", sa.String(ID), nullable=False),
        sa.Column("scene_facts", sa.Text, nullable=False),         # JSON the partner passed (order value ...)
        sa.Column("return_url", sa.Text),
        sa.Column("trace_session_id", sa.String(ID)),
        sa.Column("quote_id", sa.String(ID)),
        sa.Column("policy_no", sa.String(ID)),
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("expires_at", sa.String(TS), nullable=False),
    )
    op.create_table(
        "partner_request",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("partner_id", sa.String(ID), nullable=False),
        sa.Column("mode", sa.String(12), nullable=False),
        sa.Column("at", sa.String(TS), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("route", sa.String(128), nullable=False),        # the route template, never ids or values
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("error", sa.String(64)),
        sa.Column("idempotency_key", sa.Boolean, nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Index("ix_partner_request_partner_at", "partner_id", "at"),
    )
    op.create_table(
        "partner_conformance",
        sa.Column("report_id", sa.String(ID), primary_key=True),
        sa.Column("partner_id", sa.String(ID), nullable=False, index=True),
        sa.Column("at", sa.String(TS), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("report", sa.Text, nullable=False),              # JSON: every check with its evidence
    )


def _webhooks() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("endpoint_id", sa.String(ID), primary_key=True),
        sa.Column("partner_id", sa.String(ID), nullable=False, index=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),              # sealed with the field cipher
        sa.Column("events", sa.Text, nullable=False),              # JSON list of event types; ["*"] for all
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("failures_in_row", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("updated_at", sa.String(TS), nullable=False),
    )
    op.create_table(
        "webhook_event",
        sa.Column("event_id", sa.String(ID), primary_key=True),
        sa.Column("partner_id", sa.String(ID), nullable=False, index=True),
        sa.Column("mode", sa.String(12), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),             # JSON body sent (no personal data in clear)
        sa.Column("created_at", sa.String(TS), nullable=False),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("delivery_id", sa.String(ID), primary_key=True),
        sa.Column("event_id", sa.String(ID), nullable=False, index=True),
        sa.Column("endpoint_id", sa.String(ID), nullable=False, index=True),
        sa.Column("state", sa.String(12), nullable=False),         # pending | delivered | dead | cancelled
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", sa.String(TS), nullable=False, index=True),
        sa.Column("locked_by", sa.String(ID)),
        sa.Column("locked_until", sa.String(TS)),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("delivered_at", sa.String(TS)),
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("replay_of", sa.String(ID)),                     # a replay's original delivery
    )
    op.create_table(
        "webhook_attempt",
        sa.Column("delivery_id", sa.String(ID), primary_key=True),
        sa.Column("n", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(TS), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )


def upgrade() -> None:
    _registry()
    _business()
    _webhooks()


def downgrade() -> None:
    for name in ("webhook_attempt", "webhook_delivery", "webhook_event", "webhook_endpoint", "partner_conformance",
                 "partner_request", "hosted_link", "partner_idempotency", "partner_claim", "partner_change",
                 "partner_policy", "partner_quote", "partner_key", "partner"):
        op.drop_table(name)
