"""Ranking quality of the content recommender: nDCG@k on a labelled set of customers and queries.

A labelled set (TOML, ``[[case]]``) gives each case a ``profile`` (the fields of :class:`Profile`), a
``query`` or both, and graded relevance ``relevant = { item-id = grade }`` (grades 0-3). Gains are
``2^grade - 1`` and discounts ``log2(rank + 1)``; nDCG@k divides by the ideal ordering's DCG@k.
:data:`BASELINES` are the rankers the recommender is compared with.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shouhu.content.recommend import Candidate, Profile, recommend, text_scores, valid

Ranker = Callable[[Sequence[Candidate], Profile | None, str], list[str]]


@dataclass(frozen=True)
class Case:
    name: str
    profile: Profile | None
    query: str
    relevant: dict[str, int]


def dcg(grades: Sequence[int]) -> float:
    return float(sum((2.0 ** g - 1.0) / math.log2(i + 2) for i, g in enumerate(grades)))


def ndcg_at_k(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 5) -> float:
    ideal = dcg(sorted(relevant.values(), reverse=True)[:k])
    return 0.0 if ideal == 0 else dcg([relevant.get(i, 0) for i in ranking[:k]]) / ideal


def _profile(raw: dict[str, Any] | None, name: str) -> Profile | None:
    if raw is None:
        return None
    return Profile(name, raw.get("age"), raw.get("life_stage", ""), int(raw.get("children_count", 0)),
                   raw.get("youngest_child_age"), raw.get("needs", {}), raw.get("gaps", {}), raw.get("cover", {}))


def load_cases(path: Path) -> list[Case]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Case(c["name"], _profile(c.get("profile"), c["name"]), c.get("query", ""),
                 {str(k): int(v) for k, v in c["relevant"].items()}) for c in data["case"]]


def full_ranker(encoder_name: str = "") -> Ranker:
    def rank(cands: Sequence[Candidate], profile: Profile | None, query: str) -> list[str]:
        return [r.item_id for r in recommend(cands, profile, query=query, k=len(cands), encoder_name=encoder_name)]
    return rank


def library_order(cands: Sequence[Candidate], profile: Profile | None, query: str) -> list[str]:
    """The naive baseline: valid items in library (id) order, the same for everyone."""
    from datetime import date

    return sorted(c.item.item_id for c in cands if valid(c, date.today()))


def text_only(encoder_name: str = "") -> Ranker:
    """Fused BM25 + dense relevance to the query (or the profile's words), no re-ranking."""
    from datetime import date

    from shouhu.content.recommend import profile_query

    def rank(cands: Sequence[Candidate], profile: Profile | None, query: str) -> list[str]:
        items = [c.item for c in cands if valid(c, date.today())]
        q = query or (profile_query(profile) if profile else "")
        scores = text_scores(items, q, encoder_name)
        return sorted(scores, key=lambda i: (-scores[i], i))
    return rank


def evaluate(cases: Sequence[Case], cands: Sequence[Candidate], ranker: Ranker, k: int = 5) -> dict[str, float]:
    """nDCG@k per case and their mean (key ``mean``)."""
    out = {c.name: ndcg_at_k(ranker(cands, c.profile, c.query), c.relevant, k) for c in cases}
    out["mean"] = sum(out.values()) / len(cases)
    return out


BASELINES: dict[str, Callable[[str], Ranker]] = {
    "library_order": lambda enc: library_order, "text_only": text_only, "full": full_ranker}
