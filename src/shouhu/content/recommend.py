"""Personalised, explained content recommendations, offline.

1. Candidates: only items that are *valid* now (:func:`valid`): published, not retired, not past their
   ``valid_until``, for the audience asked, and still clean under today's compliance rules.
2. Text relevance: BM25 over jieba tokens and a dense encoder (:mod:`shouhu.content.search`), fused by
   reciprocal rank fusion and spread min-max over 0..1 (best item 1). Without a query the customer's own
   profile becomes the query (their largest gaps and their life stage in words).
3. Re-ranking by the customer (weights below, documented in docs/content.md):
   ``score = text + s × [W_GAP × (gap / need of the item's best-matching gap tag)
   + W_STAGE (life stage tagged and matching) − W_STAGE (tagged, not matching)
   + W_SIGNAL × strength of a need signal from their reading − W_READ (already read)]``, with
   s = 1 without a query and ``ASKED_SCALE`` (0.2) with one: what the person asks for now comes first.
4. Each recommendation carries its reasons in zh-CN and English ("because you have a 2-year-old and no
   education fund"), strongest first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shouhu.advice.model import money
from shouhu.content import rules
from shouhu.content.model import GAP_CODES, LIFE_STAGES, Audience, Item, Status
from shouhu.content.search import Index, build_index, rrf
from shouhu.model.vocab import CoverageType

W_TEXT, W_GAP, W_STAGE, W_SIGNAL, W_READ = 1.0, 0.6, 0.3, 0.2, 0.5
# With a query the person said what they want now: their profile only breaks near-ties.
ASKED_SCALE = 0.2
GAP_WORDS: dict[str, str] = {
    "education": "教育金 孩子 上学 费用", "critical_illness": "重疾险 重大疾病 治疗费用 收入损失",
    "medical": "百万医疗险 住院 医疗费用 报销", "life": "定期寿险 家庭责任 身故 房贷",
    "accident": "意外险 意外伤害", "pension": "养老金 退休 养老年金",
}
STAGE_WORDS: dict[str, str] = {
    "young_single": "年轻人 第一份保险 单身", "young_family": "家庭 孩子 宝宝 父母",
    "established_family": "家庭 孩子 教育 房贷", "pre_retirement": "退休 养老 父母",
    "retired": "老年人 退休 养老 健康",
}
_INDEXES: OrderedDict[tuple[Any, ...], Index] = OrderedDict()


@dataclass(frozen=True)
class Candidate:
    item: Item
    status: str
    version: int = 1


@dataclass(frozen=True)
class Profile:
    """What re-ranking knows of the customer (from the serving 360, their gaps and their reading)."""

    customer_id: str
    age: int | None = None
    life_stage: str = ""
    children_count: int = 0
    youngest_child_age: int | None = None
    needs: Mapping[str, float] = field(default_factory=dict)
    gaps: Mapping[str, float] = field(default_factory=dict)
    cover: Mapping[str, float] = field(default_factory=dict)  # in-force sum assured by coverage type
    read: frozenset[str] = frozenset()
    signals: Mapping[str, float] = field(default_factory=dict)  # need -> strength 0..1

    def gap_share(self, code: str) -> float:
        gap, need = float(self.gaps.get(code) or 0.0), float(self.needs.get(code) or 0.0)
        return 0.0 if gap <= 0 or need <= 0 else min(1.0, gap / need)


@dataclass(frozen=True)
class Reason:
    weight: float
    zh: str
    en: str


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    title: str
    kind: str
    score: float
    reasons: tuple[Reason, ...]
    components: dict[str, float]

    def explain(self, lang: str = "zh") -> str:
        parts = [r.zh if lang.startswith("zh") else r.en for r in self.reasons if r.weight > 0][:2]
        if not parts:
            return "热门科普内容" if lang.startswith("zh") else "popular guide"
        return ("因为" + ",".join(parts)) if lang.startswith("zh") else ("because " + " and ".join(parts))

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "title": self.title, "kind": self.kind, "score": round(self.score, 4),
                "explanation_zh": self.explain("zh"), "explanation_en": self.explain("en"),
                "components": {k: round(v, 4) for k, v in self.components.items()}}


def valid(c: Candidate, today: date, audience: str = Audience.CUSTOMER.value) -> bool:
    """Recommendable now: published (so not retired), in date, for this audience, clean under today's rules."""
    if c.status != Status.PUBLISHED.value or c.item.audience != audience:
        return False
    if c.item.valid_until and c.item.valid_until < today.isoformat():
        return False
    return not rules.blocking(rules.check(c.item), confirmed_warnings=True)


def profile_query(p: Profile) -> str:
    """The customer's situation in words: their largest gaps (by share of the need), then their life stage."""
    gaps = sorted((c for c in GAP_CODES if p.gap_share(c) > 0), key=lambda c: -p.gap_share(c))[:3]
    words = [GAP_WORDS[c] for c in gaps] + [STAGE_WORDS.get(p.life_stage, "")]
    return " ".join(w for w in words if w)


def _index(items: Sequence[Item], encoder_name: str) -> Index:
    key = (encoder_name, *((i.item_id, i.content_hash) for i in items))
    if key not in _INDEXES:
        _INDEXES[key] = build_index([i.item_id for i in items], [i.text for i in items], encoder_name)
        while len(_INDEXES) > 4:
            _INDEXES.popitem(last=False)
    _INDEXES.move_to_end(key)
    return _INDEXES[key]


def text_scores(items: Sequence[Item], query: str, encoder_name: str = "") -> dict[str, float]:
    """Fused BM25 + dense relevance, min-max scaled to 0..1 (all 0 without a query)."""
    if not query.strip() or not items:
        return {i.item_id: 0.0 for i in items}
    index = _index(items, encoder_name)
    fused = rrf([index.bm25_ranking(query), index.dense_ranking(query)])
    # RRF scores of neighbouring ranks differ by little (1/61 vs 1/62): spread them over 0..1 (min-max),
    # or any profile boost would outweigh the query.
    values = [fused.get(i.item_id, 0.0) for i in items]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return {i.item_id: (fused.get(i.item_id, 0.0) - low) / span for i in items}


def _gap_reason(item: Item, p: Profile) -> Reason | None:
    best = max(item.tagged("gaps"), key=p.gap_share, default="")
    share = p.gap_share(best) if best else 0.0
    if share <= 0:
        return None
    weight, gap, label = W_GAP * share, money(float(p.gaps[best])), CoverageType(best)
    if best == "education" and p.children_count and p.youngest_child_age is not None:
        if not p.cover.get("education"):
            return Reason(weight, f"您有一个{p.youngest_child_age}岁的孩子,还没有教育金保障",
                          f"you have a {p.youngest_child_age}-year-old and no education fund")
        return Reason(weight, f"孩子的教育金还差约{gap}元", f"your child's education fund is about {gap} CNY short")
    if not p.cover.get(best):
        return Reason(weight, f"您还没有{label.zh}保障(缺口约{gap}元)",
                      f"you have no {label.en.lower()} cover yet (gap about {gap} CNY)")
    return Reason(weight, f"您的{label.zh}保障还差约{gap}元", f"your {label.en.lower()} cover is about {gap} CNY short")


def _stage_reason(item: Item, p: Profile) -> Reason | None:
    stages = item.tagged("life_stages")
    if not stages or not p.life_stage:
        return None
    zh, en = LIFE_STAGES.get(p.life_stage, (p.life_stage, p.life_stage))
    if p.life_stage in stages:
        return Reason(W_STAGE, f"适合{zh}阶段", f"it suits your life stage ({en})")
    return Reason(-W_STAGE, f"不太适合{zh}阶段", f"it is meant for another life stage than yours ({en})")


def _signal_reason(item: Item, p: Profile) -> Reason | None:
    hits = [(p.signals.get(g, 0.0), g) for g in item.tagged("gaps") if p.signals.get(g, 0.0) > 0]
    if not hits:
        return None
    strength, code = max(hits)
    label = CoverageType(code)
    return Reason(W_SIGNAL * strength, f"您最近在关注{label.zh}", f"you have been reading about {label.en.lower()}")


def reasons(item: Item, p: Profile | None) -> list[Reason]:
    """Why the item suits (or does not suit) the customer, strongest first; the query's share is apart."""
    if p is None:
        return []
    out = [r for r in (_gap_reason(item, p), _stage_reason(item, p), _signal_reason(item, p)) if r]
    if item.item_id in p.read:
        out.append(Reason(-W_READ, "您已读过", "you have read it already"))
    return sorted(out, key=lambda r: -r.weight)


def _recommendation(it: Item, profile: Profile | None, text: float, asked: str) -> Recommendation:
    scale = ASKED_SCALE if asked else 1.0
    why = [Reason(r.weight * scale, r.zh, r.en) for r in reasons(it, profile)]
    score = W_TEXT * text + sum(r.weight for r in why)
    shown = ([Reason(W_TEXT * text, f"与“{asked}”相关", f"it matches “{asked}”")] if asked and text > 0 else [])
    components = {"text": W_TEXT * text} | {r.en: r.weight for r in why}
    return Recommendation(it.item_id, it.title, it.kind, score, tuple(sorted(shown + why, key=lambda r: -r.weight)),
                          components)


def recommend(candidates: Iterable[Candidate], profile: Profile | None = None, *, query: str = "",
              today: date | None = None, k: int = 5, audience: str = Audience.CUSTOMER.value,
              encoder_name: str = "") -> list[Recommendation]:
    """The top ``k`` valid items for the customer (and query), each with its reasons."""
    day = today or date.today()
    items = [c.item for c in candidates if valid(c, day, audience)]
    asked = query.strip()
    text_query = asked or (profile_query(profile) if profile is not None else "")
    text = text_scores(items, text_query, encoder_name)
    recs = [_recommendation(it, profile, text[it.item_id], asked) for it in items]
    return sorted(recs, key=lambda r: (-r.score, r.item_id))[:k]
