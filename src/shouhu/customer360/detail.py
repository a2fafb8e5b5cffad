"""What the customer 360 page lists row by row, and who looks after each customer.

* :func:`scope_expr` — per customer: primary agent, the agent's team and branch, and the branch's
  service team (row-level permissions are decided on these columns; see access.policy).
* :func:`policy_rows` — per customer and policy: product, role (holder/insured), status, premium,
  sum assured, seller.
* :func:`timeline_rows` — the customer's latest touchpoints, newest first.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from shouhu.customer360.inputs import Tables, on_or_before, owned, table
from shouhu.customer360.policies import customer_policies
from shouhu.reference.regions import regions
from shouhu.storage.exprs import one_per

TIMELINE_LENGTH = 20
SERVICE_TEAM_SUFFIX = "-SVC"  # access.policy.service_team_id: the branch's service team


def _city_branches() -> ir.Table:
    cities = regions().cities
    return ibis.memtable({"_city": [c.name for c in cities], "_city_branch": [f"BR{c.code}" for c in cities]})


def scope_expr(tables: Tables) -> ir.Table:
    """customer_id, agent_id, team_id, branch_id, service_team_id.

    The branch is the primary agent's; a customer without an agent on our staff (internet sales, an
    outside broker) belongs to the branch of the city they live in (``BR`` + city code).
    """
    c360 = table(tables, "customer_360").select("customer_id", "city", agent_id="primary_agent_id")
    if "src_staff" in tables:
        staff = one_per(table(tables, "src_staff").select("staff_id", "team_id", "branch_id"), "staff_id")
    else:
        staff = ibis.memtable({"staff_id": [], "team_id": [], "branch_id": []},
                              schema={"staff_id": "string", "team_id": "string", "branch_id": "string"})
    joined = c360.left_join(staff, c360.agent_id == staff.staff_id)
    cities = _city_branches()
    joined = joined.left_join(cities, joined.city == cities._city)
    branch = joined.branch_id.coalesce(joined._city_branch)
    return joined.select(
        "customer_id", "agent_id", "team_id", branch_id=branch,
        service_team_id=ibis.ifelse(branch.isnull(), ibis.null("string"), branch.concat(SERVICE_TEAM_SUFFIX)))


def staff_expr(tables: Tables) -> ir.Table:
    cols = ("staff_id", "name", "role", "channel", "team_id", "team_name", "branch_id", "branch_name",
            "qualification_grade")
    return one_per(table(tables, "src_staff").select(*cols), "staff_id")


def policy_rows(tables: Tables, as_of: date) -> ir.Table:
    cp = customer_policies(tables, as_of)
    if "src_product" in tables:
        product = one_per(table(tables, "src_product").select("product_code", "product_name", "product_type"),
                          "product_code").rename(_code="product_code")
        cp = cp.left_join(product, cp.product_code == product._code).drop("_code")
    else:
        cp = cp.mutate(product_name=ibis.null("string"), product_type=ibis.null("string"))
    return cp.select("customer_id", "policy_no", "product_code", "product_name", "product_type", "is_holder",
                     "is_insured", "status", "issue_date", "annual_premium", "payment_frequency", "agent_id")


def timeline_rows(tables: Tables, as_of: date, length: int = TIMELINE_LENGTH) -> ir.Table:
    if "src_touchpoint" not in tables:
        return ibis.memtable({"customer_id": [], "occurred_at": [], "channel": [], "event_type": [],
                              "staff_id": []}, schema={"customer_id": "string", "occurred_at": "timestamp",
                                                       "channel": "string", "event_type": "string",
                                                       "staff_id": "string"})
    tp = owned(table(tables, "src_touchpoint"), tables)
    tp = tp.filter(on_or_before(tp.occurred_at.date(), as_of))
    ranked = tp.mutate(_n=ibis.row_number().over(group_by="customer_id",
                                                 order_by=[tp.occurred_at.desc(), tp.event_id]))
    return ranked.filter(ranked._n < length).select("customer_id", "occurred_at", "channel", "event_type",
                                                    "staff_id")
