"""SQL for proposal links (migration 0012). The token is looked up by its hash only; staff reads go
through the row rule on the link's customer (``storage.customers.scope_condition``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, insert, select, update

from shouhu.access.policy import RowRule
from shouhu.storage.customers import scope_condition
from shouhu.storage.tables import proposal_link

LISTED = [c for c in proposal_link.c if c.name not in ("token_hash", "snapshot")]


def create(engine: Engine, values: dict[str, Any]) -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(proposal_link).values(**(values | {"opened": 0}))
                                .returning(proposal_link.c.id)).scalar_one())


def by_token_hash(engine: Engine, token_hash: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(proposal_link).where(proposal_link.c.token_hash == token_hash)).first()
    return None if row is None else dict(row._mapping)


def count_open(engine: Engine, link_id: int, at: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(proposal_link).where(proposal_link.c.id == link_id)
                     .values(opened=proposal_link.c.opened + 1, last_opened_at=at))


def get(engine: Engine, rule: RowRule, link_id: int) -> dict[str, Any] | None:
    """A link (without its token hash and snapshot), or None when absent or its customer is outside the rule."""
    query = select(*LISTED).where(proposal_link.c.id == link_id,
                                  scope_condition(rule, proposal_link.c.customer_id, proposal_link.c.customer_id))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)


def list_for(engine: Engine, rule: RowRule, customer_id: str) -> list[dict[str, Any]]:
    query = (select(*LISTED).where(proposal_link.c.customer_id == customer_id,
                                   scope_condition(rule, proposal_link.c.customer_id, customer_id))
             .order_by(proposal_link.c.id.desc()))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def revoke(engine: Engine, link_id: int, actor: str, at: str) -> bool:
    """Revoke a link not revoked yet (False when it already was)."""
    with engine.begin() as conn:
        done = conn.execute(update(proposal_link).where(proposal_link.c.id == link_id,
                                                        proposal_link.c.revoked_at.is_(None))
                            .values(revoked_at=at, revoked_by=actor))
        return bool(done.rowcount)
