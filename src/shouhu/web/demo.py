"""Demo accounts, created only when the server runs in demo mode (``shouhu demo`` / SHOUHU_MODE=demo).

Their user names start with ``demo-``; web.auth refuses them whenever the mode is not demo, so a
demo database promoted to production cannot be entered with the published demo password.
The agent account is the agent with the most customers; the branch, service and health accounts
are in that agent's branch, so each role has something to see.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from shouhu.access.policy import service_team_id
from shouhu.access.roles import Role
from shouhu.privacy.passwords import hash_password
from shouhu.storage import accounts
from shouhu.storage.tables import customer_scope, staff

DEMO_PASSWORD = "shouhu-demo"


def _busiest_agent(engine: Engine) -> tuple[str | None, str | None]:
    with engine.connect() as conn:
        row = conn.execute(select(customer_scope.c.agent_id, customer_scope.c.branch_id, func.count())
                           .join(staff, staff.c.staff_id == customer_scope.c.agent_id)
                           .where(customer_scope.c.agent_id.isnot(None))
                           .group_by(customer_scope.c.agent_id, customer_scope.c.branch_id)
                           .order_by(func.count().desc(), customer_scope.c.agent_id).limit(1)).first()
    return (None, None) if row is None else (row[0], row[1])


def seed_demo_accounts(engine: Engine) -> list[dict[str, str]]:
    """Create the demo accounts that do not exist yet; returns every demo account (user, role, scope)."""
    agent_id, branch_id = _busiest_agent(engine)
    team = service_team_id(branch_id)
    wanted = [
        ("demo-admin", "演示管理员", Role.ADMIN, {}, True),
        ("demo-head", "总公司演示经理", Role.HEAD_OFFICE, {}, True),
        ("demo-branch", "机构演示经理", Role.BRANCH_MANAGER, {"branch_id": branch_id}, True),
        ("demo-agent", "演示代理人", Role.AGENT, {"staff_id": agent_id, "branch_id": branch_id}, True),
        ("demo-service", "演示服务专员", Role.SERVICE, {"team_id": team, "branch_id": branch_id}, True),
        ("demo-health", "演示健康管理师", Role.HEALTH_MANAGER, {"team_id": team, "branch_id": branch_id}, False),
        ("demo-analyst", "演示分析师", Role.ANALYST, {}, False),
        ("demo-compliance", "演示合规人员", Role.COMPLIANCE, {}, False),
    ]
    password_hash = hash_password(DEMO_PASSWORD)
    out = []
    for user_id, name, role, scope, reveal in wanted:
        if accounts.get_user(engine, user_id) is None:
            accounts.create_user(engine, user_id=user_id, display_name=name, role=role.value,
                                 password_hash=password_hash, can_reveal=reveal, **scope)
        out.append({"user_id": user_id, "role": role.value, "scope": ", ".join(f"{k}={v}" for k, v in scope.items())})
    return out
