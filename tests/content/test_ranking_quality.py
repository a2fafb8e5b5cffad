"""Ranking quality on a labelled set of customers and queries (tests/content/fixtures/ranking_labels.toml).

The recommender must reach nDCG@5 >= 0.85 with either dense encoder; the naive baseline (the same
library order for everyone) must stay below 0.5, and the full ranker must beat text relevance alone.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from shouhu.content import evaluation
from shouhu.content.evaluation import ndcg_at_k
from tests.content.factories import FIXTURES, published

THRESHOLD = 0.85
NAIVE_CEILING = 0.5
CASES = evaluation.load_cases(FIXTURES / "ranking_labels.toml")


def _encoders() -> list[str]:
    from shouhu.content.search import default_encoder

    return ["char_tfidf"] + (["e5"] if default_encoder() == "e5" else [])


def test_ndcg_is_computed_as_documented() -> None:
    assert ndcg_at_k(["a", "b"], {"a": 3, "b": 1}) == pytest.approx(1.0)
    worse = ndcg_at_k(["b", "a"], {"a": 3, "b": 1})
    assert worse == pytest.approx((1 + 7 / 1.5849625) / (7 + 1 / 1.5849625))
    assert ndcg_at_k(["x"], {"a": 2}) == 0.0


def test_the_labelled_set_covers_profiles_queries_and_both() -> None:
    assert len(CASES) >= 12
    assert any(c.profile and not c.query for c in CASES)
    assert any(c.query and not c.profile for c in CASES)
    assert any(c.query and c.profile for c in CASES)
    ids = {c.item.item_id for c in published()}
    assert all(set(c.relevant) <= ids for c in CASES)


@pytest.mark.parametrize("encoder", _encoders())
def test_the_recommender_meets_the_threshold_and_the_naive_baseline_does_not(encoder: str) -> None:
    cands = published()
    full = evaluation.evaluate(CASES, cands, evaluation.full_ranker(encoder))["mean"]
    text = evaluation.evaluate(CASES, cands, evaluation.text_only(encoder))["mean"]
    naive = evaluation.evaluate(CASES, cands, evaluation.library_order)["mean"]
    print(f"nDCG@5 {encoder}: full {full:.3f}, text only {text:.3f}, library order {naive:.3f}")
    assert full >= THRESHOLD
    assert naive < NAIVE_CEILING
    assert full > text


def test_nothing_is_downloaded_at_run_time() -> None:
    """Tokeniser, BM25 and the default dense encoder run with every socket refused."""
    code = (
        "import socket\n"
        "def refuse(*a, **k):\n    raise OSError('network used')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
        "from tests.content.factories import published\n"
        "from shouhu.content.recommend import recommend\n"
        "from shouhu.content.search import default_encoder\n"
        "recs = recommend(published(), query='重疾险的等待期', encoder_name=default_encoder())\n"
        "print(default_encoder(), recs[0].item_id)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[1] == "ci-waiting-period"
