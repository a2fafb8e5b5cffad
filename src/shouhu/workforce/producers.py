"""Producer of record (出单人) per policy, published by every refresh as ``policy_producer``.

The producer of record is the policy's seller in the source data and never changes; the producer
of service (服务人) is the producer of record unless a reassignment (an agent left) wrote another in
``policy_service``, which no refresh touches.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from shouhu.scoring.customer_persistency import policy_holders
from shouhu.scoring.persistency import Tables
from shouhu.storage.exprs import one_per


def producer_expr(tables: Tables) -> ir.Table:
    """policy_no, customer_id (holder), producer_of_record, channel, product_type, issue_date, status,
    status_date, annual_premium, payment_frequency."""
    pol = one_per(tables["src_policy"].select("policy_no", "agent_id", "channel", "product_code", "issue_date",
                                              "status", "status_date", "annual_premium", "payment_frequency"),
                  "policy_no")
    holders = policy_holders(tables)
    j = pol.left_join(holders, pol.policy_no == holders._h_policy)
    if "src_product" in tables:
        product = one_per(tables["src_product"].select("product_code", "product_type"), "product_code") \
            .rename(_code="product_code")
        j = j.left_join(product, j.product_code == product._code)
        ptype = j.product_type
    else:
        ptype = ibis.null("string")
    return j.select("policy_no", "customer_id", "channel", "issue_date", "status", "status_date",
                    "annual_premium", "payment_frequency", producer_of_record=j.agent_id, product_type=ptype)
