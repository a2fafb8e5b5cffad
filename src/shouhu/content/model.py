"""The content domain's vocabulary and data: kinds, review statuses, tags and one library item.

Tags link an item to the rest of the platform by code: product types (:class:`ProductType`), protection
gaps (the needs a diagnosis measures, :data:`GAP_CODES`), life stages (the 360's life stage codes,
:data:`LIFE_STAGES`) and diseases (:mod:`shouhu.content.diseases`). Titles and bodies are zh-CN first;
an English title is optional.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shouhu.advice.model import NEED_TYPES
from shouhu.errors import InvalidInput
from shouhu.model.vocab import LabelledEnum, ProductType


class Kind(LabelledEnum):
    ARTICLE = ("article", "文章", "Article")
    COURSE = ("course", "课程", "Course")
    QUIZ = ("quiz", "测验", "Quiz")


class Status(LabelledEnum):
    """Compliance review status: draft → in_review → approved → published → retired."""

    DRAFT = ("draft", "草稿", "Draft")
    IN_REVIEW = ("in_review", "合规审核中", "In compliance review")
    APPROVED = ("approved", "审核通过", "Approved")
    PUBLISHED = ("published", "已发布", "Published")
    RETIRED = ("retired", "已下线", "Retired")


class Audience(LabelledEnum):
    CUSTOMER = ("customer", "客户", "Customers")
    AGENT = ("agent", "代理人/员工", "Agents and staff")


# status -> the statuses it may move to (a rejected review goes back to draft; retired is final)
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT.value: frozenset({Status.IN_REVIEW.value}),
    Status.IN_REVIEW.value: frozenset({Status.APPROVED.value, Status.DRAFT.value}),
    Status.APPROVED.value: frozenset({Status.PUBLISHED.value, Status.DRAFT.value}),
    Status.PUBLISHED.value: frozenset({Status.RETIRED.value}),
    Status.RETIRED.value: frozenset(),
}
GAP_CODES: tuple[str, ...] = tuple(c.value for c in NEED_TYPES)
# The 360's life stage codes (shouhu.customer360.lifecycle.LifeStage; a test keeps the two in step:
# importing that module here would pull Ibis into every content read).
LIFE_STAGES: dict[str, tuple[str, str]] = {
    "young_single": ("单身青年", "young single"),
    "young_family": ("年轻家庭", "young family"),
    "established_family": ("成熟家庭", "established family"),
    "pre_retirement": ("临退休", "pre-retirement"),
    "retired": ("退休", "retired"),
}
TAG_FIELDS = ("product_types", "diseases", "life_stages", "gaps")


def tag_vocabulary(disease_codes: list[str]) -> dict[str, list[str]]:
    """The valid codes of every tag field."""
    return {"product_types": ProductType.codes(), "diseases": sorted(disease_codes),
            "life_stages": list(LIFE_STAGES), "gaps": list(GAP_CODES)}


@dataclass(frozen=True)
class Question:
    text: str
    options: tuple[str, ...]
    answer: int  # index into options
    explain: str = ""
    gap: str = ""  # the protection gap a wrong answer hints at (a need signal), optional


@dataclass(frozen=True)
class Item:
    """One version of an article, course or quiz, as parsed from its Markdown file."""

    item_id: str
    kind: str
    title: str
    body: str
    content_hash: str
    tags: dict[str, tuple[str, ...]]
    title_en: str = ""
    summary: str = ""
    lang: str = "zh-CN"
    audience: str = Audience.CUSTOMER.value
    reading_minutes: int = 3
    valid_until: str = ""  # ISO date after which the item may no longer be recommended ("" = no end)
    lessons: tuple[str, ...] = ()  # a course's article ids, in order
    questions: tuple[Question, ...] = ()
    source_file: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def tagged(self, name: str) -> tuple[str, ...]:
        return self.tags.get(name, ())

    @property
    def text(self) -> str:
        """What search indexes: title, summary, body and quiz questions."""
        quiz = " ".join(q.text + " " + " ".join(q.options) for q in self.questions)
        return " ".join(p for p in (self.title, self.summary, self.body, quiz) if p)

    def meta(self) -> dict[str, Any]:
        """Everything but the body, as stored beside it (JSON)."""
        return {"kind": self.kind, "title": self.title, "title_en": self.title_en, "summary": self.summary,
                "lang": self.lang, "audience": self.audience, "reading_minutes": self.reading_minutes,
                "valid_until": self.valid_until, "lessons": list(self.lessons),
                "tags": {k: list(v) for k, v in self.tags.items()},
                "questions": [q.__dict__ for q in self.questions], "source_file": self.source_file}


def item_from_stored(item_id: str, body: str, content_hash: str, meta: dict[str, Any]) -> Item:
    """Rebuild an item from its stored row (the inverse of :meth:`Item.meta`)."""
    questions = tuple(Question(q["text"], tuple(q["options"]), int(q["answer"]), q.get("explain", ""),
                               q.get("gap", "")) for q in meta.get("questions", []))
    return Item(item_id, meta["kind"], meta["title"], body, content_hash,
                {k: tuple(v) for k, v in meta.get("tags", {}).items()}, meta.get("title_en", ""),
                meta.get("summary", ""), meta.get("lang", "zh-CN"), meta.get("audience", "customer"),
                int(meta.get("reading_minutes", 3)), meta.get("valid_until", ""), tuple(meta.get("lessons", [])),
                questions, meta.get("source_file", ""))


class ContentError(InvalidInput):
    code = "content_invalid"


class InvalidTransition(ContentError):
    """A review status change the workflow does not allow (the web layer answers 409)."""

    code = "invalid_transition"


def check_transition(item_id: str, current: str, target: str) -> None:
    if target not in Status.codes():
        raise ContentError(f"status: {target!r} is not one of {', '.join(Status.codes())}", field="status")
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final)"
        raise InvalidTransition(f"{item_id} is {current}: it cannot become {target} (allowed: {allowed})",
                                item_id=item_id, status=current)
