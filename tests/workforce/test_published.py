"""The refresh publishes every policy's producer of record; pods work on the real test book."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, select

from shouhu.storage import serving
from shouhu.storage import workforce as store
from shouhu.storage.tables import customer_scope
from shouhu.storage.warehouse import Warehouse
from shouhu.workforce import service
from tests.conftest import Published


def test_policy_producer_is_the_seller_of_the_source(published: Published, tmp_path: Path) -> None:
    copy = tmp_path / "serving.sqlite"
    shutil.copy(published.sqlite_path, copy)
    engine = serving.engine_for(f"sqlite:///{copy}")
    with Warehouse(published.warehouse_url, read_only=True) as wh:
        sellers = {r["policy_no"]: r["agent_id"] for r in
                   wh.table("src_policy").select("policy_no", "agent_id").to_pyarrow().to_pylist()}
    with engine.connect() as conn:
        rows = conn.execute(select(store.policy_producer.c.policy_no, store.policy_producer.c.producer_of_record,
                                   store.policy_producer.c.customer_id)).all()
    assert len(rows) > 100 and all(r.customer_id for r in rows[:100])
    assert all(sellers[r.policy_no] == r.producer_of_record for r in rows)
    # on the real book: the busiest agent leaves, every customer of theirs lands in the same branch
    service.sync(engine)
    with engine.connect() as conn:
        agent, branch = conn.execute(select(customer_scope.c.agent_id, customer_scope.c.branch_id).join(
            store.pod_member, store.pod_member.c.staff_id == customer_scope.c.agent_id)
            .group_by(customer_scope.c.agent_id, customer_scope.c.branch_id)
            .order_by(func.count().desc(), customer_scope.c.agent_id).limit(1)).one()
    result = service.leave(engine, agent, reason="test")
    assert result["customers_moved"] + len(result["stranded"]) > 0
    with engine.connect() as conn:
        members = {m["staff_id"]: m for m in store.members(conn, "agent")}
        assert not conn.execute(select(customer_scope).where(customer_scope.c.agent_id == agent)).first() \
            or result["stranded"]
    for move in result["moves"]:
        assert members[move["to_staff"]]["branch_id"] == branch and members[move["to_staff"]]["active"]
    assert all(m["load"] <= m["capacity"] for m in members.values() if m["staff_id"] in
               {mv["to_staff"] for mv in result["moves"]})
    engine.dispose()
