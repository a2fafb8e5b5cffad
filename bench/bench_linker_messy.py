"""The linker on a messy Chinese person file (tests/identity/messy.py), versus simple deterministic rules.

    python bench/bench_linker_messy.py --people 5000

The file is made by its own generator (not the synthetic book's): homophone given names, legacy
15-digit IDs, one mistyped ID digit, changed phones, rewritten addresses, day/month swaps and
planted namesakes. Prints JSON: pairwise precision/recall/F1 and B-cubed F1 for ``shouhu identity
link`` (through ``link_person_table``) and for the baseline, and the linker's seconds.

Baseline: one cluster per connected group of records sharing a GB 11643-valid ID (15-digit ones
converted), or the same phone and name pinyin, or the same name pinyin and birth date.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def baseline(frame: pd.DataFrame) -> list[str]:
    from stdnum.cn import ric

    from shouhu.identity.features import name_features
    from shouhu.identity.person_file import id18, mobile

    parent = list(range(len(frame)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    birth = pd.to_datetime(frame["birth_date"], errors="coerce", format="mixed").dt.strftime("%Y-%m-%d")
    pinyin = frame["name"].map(lambda n: name_features(n)[1])
    ids = frame["id_number"].map(id18).map(lambda s: s if s and ric.is_valid(s) else None)
    phones = frame["phone"].map(mobile)
    for keys in (ids, phones + "|" + pinyin, pinyin + "|" + birth):
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            if isinstance(k, str):
                a, b = find(i), find(first.setdefault(k, i))
                parent[max(a, b)] = min(a, b)
    return [str(find(i)) for i in range(len(frame))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    from tests.identity.messy import messy_persons

    from shouhu.identity.evaluation import cluster_metrics
    from shouhu.identity.person_file import link_person_table

    frame = messy_persons(args.people, args.seed)
    keep = ("pairwise_precision", "pairwise_recall", "pairwise_f1", "bcubed_f1", "true_pairs")
    report: dict[str, Any] = {"people": args.people, "records": len(frame)}
    base = cluster_metrics(baseline(frame), frame["person"].tolist())
    report["baseline_rules"] = {k: round(float(base[k]), 4) for k in keep}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        outcome = link_person_table(frame, Path(tmp), truth_column="person")
        report["linker_seconds"] = round(time.perf_counter() - t0, 1)
    assert outcome.metrics is not None
    report["linker"] = {k: round(float(outcome.metrics[k]), 4) for k in keep}
    report["linker_blocked_by_guard"] = outcome.result.blocked_by_guard
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
