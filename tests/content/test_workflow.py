"""The review workflow on the serving database (SQLite and PostgreSQL): import, submit, approve, publish, retire."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from shouhu.compliance import erasure
from shouhu.content import review
from shouhu.content.model import ContentError, InvalidTransition
from shouhu.content.rules import ComplianceRefused
from shouhu.storage import content as store
from tests.content.factories import SHIPPED, md

AUTHOR, REVIEWER = "cli:author", "cli:reviewer"


def _write(folder: Path, item_id: str, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{item_id}.md"
    path.write_text(md(f"id: {item_id}\nkind: article\ntitle: 测试文章\ntags:\n  gaps: [life]", body), "utf-8")
    return folder


def _live(db: Engine, item_id: str) -> None:
    review.submit(db, item_id, AUTHOR)
    review.approve(db, item_id, REVIEWER, "ok")
    review.publish(db, item_id, REVIEWER)


def test_importing_the_samples_twice_creates_one_version_each(db: Engine) -> None:
    first = review.import_directory(db, SHIPPED, AUTHOR)
    again = review.import_directory(db, SHIPPED, AUTHOR)
    assert len(first["created"]) == first["files"] >= 15 and not first["unchanged"]
    assert not again["created"] and len(again["unchanged"]) == first["files"]
    assert {r["status"] for r in store.versions(db)} == {"draft"}


def test_a_messy_directory_stores_nothing(db: Engine, tmp_path: Path) -> None:
    _write(tmp_path, "fine-one", "正文。")
    (tmp_path / "broken.md").write_text("没有头部", encoding="utf-8")
    with pytest.raises(ContentError, match=r"broken\.md"):
        review.import_directory(db, tmp_path, AUTHOR)
    assert store.versions(db) == []


def test_the_full_path_to_published_with_four_eyes_and_a_trail(db: Engine, tmp_path: Path) -> None:
    review.import_directory(db, _write(tmp_path, "trail", "正文第一版。"), AUTHOR)
    review.submit(db, "trail", AUTHOR)
    with pytest.raises(ContentError, match="another person"):
        review.approve(db, "trail", AUTHOR)
    review.approve(db, "trail", REVIEWER, "内容准确")
    with pytest.raises(InvalidTransition):
        review.retire(db, "trail", REVIEWER, "too early")  # approved, not published
    review.publish(db, "trail", REVIEWER)
    steps = [(e["from_status"], e["to_status"]) for e in store.review_events(db, "trail")]
    assert steps == [(None, "draft"), ("draft", "in_review"), ("in_review", "approved"), ("approved", "published")]
    assert store.version(db, "trail")["reviewed_by"] == REVIEWER  # type: ignore[index]


def test_a_forbidden_claim_cannot_be_submitted(db: Engine, tmp_path: Path) -> None:
    review.import_directory(db, _write(tmp_path, "bad-claim", "这款年金保本,还比银行存款划算。"), AUTHOR)
    with pytest.raises(ComplianceRefused) as e:
        review.submit(db, "bad-claim", AUTHOR)
    assert {f.rule for f in e.value.findings} == {"guaranteed_principal", "bank_deposit_comparison"}
    assert store.version(db, "bad-claim")["status"] == "draft"  # type: ignore[index]
    queue = {r["item_id"]: r for r in review.queue(db)}
    assert len(queue["bad-claim"]["findings"]) == 2


def test_a_rejection_needs_a_note_and_sends_the_item_back(db: Engine, tmp_path: Path) -> None:
    review.import_directory(db, _write(tmp_path, "rejected", "正文。"), AUTHOR)
    review.submit(db, "rejected", AUTHOR)
    with pytest.raises(ContentError, match="note"):
        review.reject(db, "rejected", REVIEWER, " ")
    review.reject(db, "rejected", REVIEWER, "标题不准确")
    assert store.version(db, "rejected")["status"] == "draft"  # type: ignore[index]


def test_a_new_version_replaces_the_published_one_when_it_is_published(db: Engine, tmp_path: Path) -> None:
    review.import_directory(db, _write(tmp_path, "versioned", "第一版正文。"), AUTHOR)
    _live(db, "versioned")
    review.import_directory(db, _write(tmp_path, "versioned", "第二版正文,更新了数据。"), AUTHOR)
    rows = store.versions(db, "versioned")
    assert [(r["version"], r["status"]) for r in rows] == [(1, "published"), (2, "draft")]
    _live(db, "versioned")
    rows = store.versions(db, "versioned")
    assert [(r["version"], r["status"]) for r in rows] == [(1, "retired"), (2, "published")]
    review.retire(db, "versioned", REVIEWER, "政策已变")
    assert store.versions(db, "versioned", "published") == []


def test_a_status_change_raced_by_another_reviewer_fails(db: Engine, tmp_path: Path) -> None:
    review.import_directory(db, _write(tmp_path, "raced", "正文。"), AUTHOR)
    assert store.move(db, "raced", 1, "draft", "in_review", AUTHOR)
    assert not store.move(db, "raced", 1, "draft", "in_review", "cli:other")


def test_the_new_tables_with_customer_data_are_classified_for_erasure(db: Engine) -> None:
    # (the whole-schema check is tests/compliance/test_dsr.py; other packages' tables are theirs to classify)
    assert [t for t in erasure.unclassified(db) if t.startswith("content_")] == []
    assert {erasure.SERVING[t] for t in ("content_engagement", "content_share", "content_need_signal")} == {"profile"}
