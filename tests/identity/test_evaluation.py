from __future__ import annotations

import pytest

from shouhu.identity.evaluation import cluster_metrics


def test_metric_maths_on_a_hand_made_example() -> None:
    # truth: {1,2,3} {4,5}; predicted: {1,2} {3,4,5}
    m = cluster_metrics(["p", "p", "q", "q", "q"], ["A", "A", "A", "B", "B"])
    # true pairs 3+1=4; predicted pairs 1+3=4; true positives: (1,2) and (4,5) = 2
    assert (m["true_pairs"], m["predicted_pairs"], m["true_positive_pairs"]) == (4, 4, 2)
    assert m["pairwise_precision"] == pytest.approx(0.5) and m["pairwise_recall"] == pytest.approx(0.5)
    assert m["pairwise_f1"] == pytest.approx(0.5)
    # B-cubed precision: records 1,2 -> 2/2; 3 -> 1/3; 4,5 -> 2/3  => (1+1+1/3+2/3+2/3)/5
    assert m["bcubed_precision"] == pytest.approx((2 + 1 / 3 + 4 / 3) / 5)
    # recall: 1,2 -> 2/3; 3 -> 1/3; 4,5 -> 2/2
    assert m["bcubed_recall"] == pytest.approx((4 / 3 + 1 / 3 + 2) / 5)
    assert m["exact_cluster_share"] == 0.0


def test_perfect_clustering_scores_one() -> None:
    m = cluster_metrics(["x", "x", "y"], ["A", "A", "B"])
    assert m["pairwise_f1"] == m["bcubed_f1"] == m["exact_cluster_share"] == 1.0
