"""Scoring predicted clusters against a known truth, without enumerating record pairs.

Pairwise figures come from the contingency table of (predicted cluster, true person): with
n_ij records shared by predicted cluster i and true cluster j, a_i = Σ_j n_ij, b_j = Σ_i n_ij,
true positives = Σ C(n_ij, 2), predicted pairs = Σ C(a_i, 2), true pairs = Σ C(b_j, 2).
B-cubed averages, over records, the share of a record's predicted cluster that is truly its
person (precision) and the share of its person found in its cluster (recall).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from shouhu.errors import InvalidInput


def _c2(x: pd.Series) -> int:
    return int((x * (x - 1) // 2).sum())


def _ratio(a: float, b: float) -> float:
    return a / b if b else 1.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def cluster_metrics(predicted: Sequence[Any], truth: Sequence[Any]) -> dict[str, float | int]:
    """Pairwise and B-cubed precision/recall/F1 and exact-cluster share, for aligned label lists."""
    if len(predicted) != len(truth):
        raise InvalidInput("predicted and true labels must be the same length")
    df = pd.DataFrame({"p": list(predicted), "t": list(truth)})
    n = len(df)
    cont = df.groupby(["p", "t"]).size().rename("n_ij").reset_index()
    a = df.groupby("p").size().rename("a")
    b = df.groupby("t").size().rename("b")
    cont = cont.join(a, on="p").join(b, on="t")
    tp, pred_pairs, true_pairs = _c2(cont["n_ij"]), _c2(a), _c2(b)
    precision, recall = _ratio(tp, pred_pairs), _ratio(tp, true_pairs)
    b3_p = float((cont["n_ij"] ** 2 / cont["a"]).sum() / n) if n else 1.0
    b3_r = float((cont["n_ij"] ** 2 / cont["b"]).sum() / n) if n else 1.0
    exact = int(((cont["n_ij"] == cont["a"]) & (cont["n_ij"] == cont["b"])).sum())
    return {
        "records": n, "true_clusters": len(b), "predicted_clusters": len(a),
        "true_pairs": true_pairs, "predicted_pairs": pred_pairs, "true_positive_pairs": tp,
        "pairwise_precision": precision, "pairwise_recall": recall, "pairwise_f1": _f1(precision, recall),
        "bcubed_precision": b3_p, "bcubed_recall": b3_r, "bcubed_f1": _f1(b3_p, b3_r),
        "exact_cluster_share": _ratio(exact, len(b)),
    }


def evaluate(wh: Any, ground_truth_path: Path | str) -> dict[str, Any]:
    """Score ``identity_cluster`` against a book's ``ground_truth.parquet`` (records both know)."""
    truth = pd.read_parquet(ground_truth_path, columns=["source", "record_id", "person_id"])
    clusters = wh.table("identity_cluster").select("source", "record_id", "customer_id").to_pandas()
    merged = clusters.merge(truth, on=["source", "record_id"], how="inner")
    result: dict[str, Any] = dict(cluster_metrics(merged["customer_id"].tolist(), merged["person_id"].tolist()))
    result["unmatched_records"] = int(len(clusters) - len(merged))
    return result
