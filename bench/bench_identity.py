"""Identity-resolution benchmark: a generated book, ingested into a fresh DuckDB, resolved and scored.

    python bench/bench_identity.py --customers 10000
    python bench/bench_identity.py --book data/bench-book-1000000   # reuses a generated book

Prints records, candidate pairs, comparisons per second, seconds per phase, peak RSS and the
pairwise and cluster (B-cubed) F1 against the book's ground truth. The warehouse is always a new
temporary DuckDB file, never one another benchmark is writing.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from shouhu.identity import evaluate, resolve_identities
from shouhu.ingest import ingest_file, plan_book
from shouhu.storage.warehouse import Warehouse
from shouhu.synth import SynthConfig, generate_book


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--book", type=Path, help="an existing book folder (skips generation)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary warehouse")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="shouhu-bench-identity-"))
    book = args.book or tmp / "book"
    if args.book is None:
        t0 = time.perf_counter()
        generate_book(book, SynthConfig(customers=args.customers, seed=args.seed))
        print(f"generate   {time.perf_counter() - t0:8.1f}s  {args.customers:,} customers → {book}")
    url = f"duckdb:///{tmp / 'warehouse.duckdb'}"
    with Warehouse(url) as wh:
        t0 = time.perf_counter()
        for item in plan_book(book):
            if item.extract.entity.name == "party":
                ingest_file(wh, item.path, item.mapping, item.extract)
        print(f"ingest     {time.perf_counter() - t0:8.1f}s  (party extracts only)")
        t0 = time.perf_counter()
        result = resolve_identities(wh)
        total = time.perf_counter() - t0
        metrics = evaluate(wh, book / "ground_truth.parquet")
    for phase, seconds in result.seconds.items():
        print(f"{phase:<10} {seconds:8.1f}s")
    print(f"resolve    {total:8.1f}s  total")
    print(f"records {result.records:,}; candidate pairs (comparisons) {result.candidate_pairs:,}; "
          f"{result.candidate_pairs / max(result.seconds.get('predict', 0.0), 1e-9):,.0f} comparisons/s in predict; "
          f"links {result.links:,}; reviews {result.reviews:,}; guard blocks {result.blocked_by_guard:,}; "
          f"clusters {result.clusters:,}")
    print(f"pairwise P {metrics['pairwise_precision']:.4f} R {metrics['pairwise_recall']:.4f} "
          f"F1 {metrics['pairwise_f1']:.4f}; B-cubed F1 {metrics['bcubed_f1']:.4f}; "
          f"persons resolved exactly {metrics['exact_cluster_share']:.4f}")
    print(f"peak RSS {_peak_mb():,.0f} MB")
    print(json.dumps({"result": result.to_dict(), "metrics": metrics}, default=str))
    if args.keep:
        print(f"warehouse kept: {url}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
