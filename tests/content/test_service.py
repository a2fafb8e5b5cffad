"""Content against the published test book (SQLite and PostgreSQL): profile from the serving 360, explained
recommendations, disease gaps from the customer's own cover, the comparison, engagement, signals and shares."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from shouhu.content import engagement, review, service
from shouhu.content.model import ContentError
from shouhu.privacy.crypto import FieldCipher
from shouhu.storage import content as store
from shouhu.storage.tables import reflected, task
from tests.conftest import KEY
from tests.content.factories import SHIPPED


def _publish_all(db: Engine) -> None:
    for row in review.import_directory(db, SHIPPED, "cli:author")["created"]:
        review.submit(db, row["item_id"], "cli:author")
        review.approve(db, row["item_id"], "cli:reviewer", "ok")
        review.publish(db, row["item_id"], "cli:reviewer")


def _customer(db: Engine, where: str) -> dict[str, Any]:
    with db.connect() as conn:
        row = conn.execute(text(f"SELECT * FROM customer_360 WHERE {where} ORDER BY customer_id LIMIT 1")).first()
    assert row is not None, where
    return dict(row._mapping)


@pytest.fixture
def live(book_db: Engine) -> Engine:
    _publish_all(book_db)
    return book_db


def test_the_profile_comes_from_the_serving_360_and_gaps(live: Engine) -> None:
    c = _customer(live, "children_count > 0 AND youngest_child_age < 12 AND annual_income_enc IS NOT NULL")
    p = service.profile(live, c["customer_id"])
    assert (p.age, p.life_stage, p.children_count, p.youngest_child_age) == (
        c["age"], c["life_stage"], c["children_count"], c["youngest_child_age"])
    assert p.cover["critical_illness"] == (c["sa_critical_illness"] or 0.0)
    assert set(p.gaps) == {"life", "critical_illness", "medical", "accident", "pension", "education"}


def test_recommendations_are_published_customer_items_with_reasons(live: Engine) -> None:
    c = _customer(live, "children_count > 0 AND youngest_child_age < 12 AND annual_income_enc IS NOT NULL")
    recs = service.recommend_for(live, c["customer_id"], encoder_name="char_tfidf")
    assert len(recs) == 5 and "agent-education-talk" not in {r.item_id for r in recs}
    assert all(r.explain("zh").startswith("因为") and r.explain("en").startswith("because") for r in recs[:1])
    with pytest.raises(ContentError, match="customer_id"):
        service.recommend_for(live, "NO-SUCH-CUSTOMER")


def test_disease_gaps_use_the_customers_own_cover(live: Engine) -> None:
    c = _customer(live, "sa_critical_illness > 0 AND annual_income_enc IS NOT NULL AND age BETWEEN 25 AND 55")
    cipher = FieldCipher.from_text(KEY)
    result = service.disease_gaps(live, c["customer_id"], cipher=cipher)
    cancer = next(d for d in result["diseases"] if d["disease"] == "malignant_tumour")
    assert result["income_known"] and cancer["low"]["ci_pays"] == c["sa_critical_illness"]
    assert cancer["low"]["lost_income"] == round(float(cipher.decrypt(c["annual_income_enc"]) or 0) * 3)
    unknown = service.disease_gaps(live, c["customer_id"])
    assert not unknown["income_known"] and unknown["diseases"][0]["low"]["lost_income"] == 0
    assert "您的保单预计赔付" in cancer["zh"]


def test_the_comparison_shows_the_shelf_beside_the_customers_policies(live: Engine) -> None:
    c = _customer(live, "policies_in_force > 0 AND age BETWEEN 18 AND 50")
    result = service.compare_for(live, c["customer_id"])
    sources = {r["source"] for r in result["rows"]}
    assert sources == {"shelf", "wallet"} and "佣金" in result["neutrality_zh"]


def test_reading_creates_need_signals_and_never_touches_the_declared_360(live: Engine) -> None:
    c = _customer(live, "annual_income_enc IS NOT NULL")
    cid = c["customer_id"]
    before = _customer(live, f"customer_id = '{cid}'")
    engagement.record_view(live, cid, "pension-planning")
    engagement.record_read(live, cid, "pension-planning", 0.9)
    engagement.record_read(live, cid, "savings-cash-value", 0.8)
    result = engagement.record_quiz(live, cid, "quiz-basics", [0, 0, 1, 1, 1])
    assert (result.score, result.total, result.wrong_gaps) == (4, 5, ("critical_illness",))
    found = engagement.refresh_signals(live, cid)
    assert found["pension"] == pytest.approx(0.1 + 0.3 + 0.3)
    assert found["critical_illness"] == pytest.approx(0.1 + 0.2)
    assert {s["need"] for s in store.signals_of(live, cid)} == set(found)
    assert _customer(live, f"customer_id = '{cid}'") == before
    p = service.profile(live, cid)
    assert "pension-planning" in p.read and p.signals["pension"] == found["pension"]
    with pytest.raises(ContentError, match="read_depth"):
        engagement.record_read(live, cid, "pension-planning", 1.5)


def test_opening_a_shared_item_creates_one_follow_up_task_for_the_agent(live: Engine) -> None:
    c = _customer(live, "primary_agent_id IS NOT NULL")
    share_id, token = engagement.share(live, "education-fund-planning", c["customer_id"],
                                       staff_id=c["primary_agent_id"], shared_by="agent-user")
    engagement.open_share(live, token)
    engagement.open_share(live, token)
    with live.connect() as conn:
        tasks = conn.execute(select(task).where(task.c.source_key == f"content-share:{share_id}")).all()
        views = conn.execute(select(store.engagement.c.id).where(store.engagement.c.share_id == share_id)).all()
        stored = conn.execute(select(store.share.c.token_hash)).scalars().all()
    assert len(tasks) == 1 and len(views) == 2
    assert tasks[0].owner_staff_id == c["primary_agent_id"] and tasks[0].source == "content"
    assert "孩子的教育金" in tasks[0].title
    assert token not in stored
    with pytest.raises(ContentError, match="token"):
        engagement.open_share(live, "not-a-token")


def test_signals_and_engagement_are_erased_with_the_customer(live: Engine) -> None:
    from shouhu.compliance import erasure

    others = erasure.unclassified(live)
    if others:  # erasure refuses to run while any table is unclassified; these are other packages' to classify
        pytest.skip(f"erasure refuses: unclassified tables of other packages: {', '.join(others)}")
    c = _customer(live, "annual_income_enc IS NOT NULL")
    engagement.record_view(live, c["customer_id"], "ci-basics")
    engagement.refresh_signals(live, c["customer_id"])
    erasure.erase(live, c["customer_id"])
    assert store.engagement_of(live, c["customer_id"]) == []
    assert store.signals_of(live, c["customer_id"]) == []
    assert reflected(live, "customer_360") is not None
