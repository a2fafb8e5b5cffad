"""Ingestion benchmark: rows per second loading a whole synthetic book into DuckDB (or --warehouse URL).

    python bench/bench_ingest.py --customers 1000000            # generates the book first
    python bench/bench_ingest.py --book data/bench-book-1000000  # reuses a generated book

Prints one line per extract and a total; figures are wall-clock on this machine.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from shouhu.ingest import ingest_file, plan_book
from shouhu.storage.warehouse import Warehouse
from shouhu.synth import SynthConfig, generate_book


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--book", type=Path, help="an existing book folder (skips generation)")
    parser.add_argument("--warehouse", help="warehouse URL (default: a fresh DuckDB file in a temp folder)")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    args = parser.parse_args()

    book = args.book or Path("data") / f"bench-book-{args.customers}"
    if args.book is None and not (book / "manifest.json").exists():
        started = time.perf_counter()
        generate_book(book, SynthConfig(customers=args.customers))
        print(f"generated {args.customers:,} customers in {time.perf_counter() - started:.1f}s → {book}")
    tmp = Path(tempfile.mkdtemp(prefix="shouhu-bench-"))
    url = args.warehouse or f"duckdb:///{tmp / 'warehouse.duckdb'}"
    total_rows = 0
    started = time.perf_counter()
    with Warehouse(url) as wh:
        for item in plan_book(book):
            t0 = time.perf_counter()
            r = ingest_file(wh, item.path, item.mapping, item.extract, chunk_rows=args.chunk_rows)
            dt = time.perf_counter() - t0
            total_rows += r.rows_in
            print(f"{item.mapping.source:>14}/{item.path.name:<28} {r.rows_in:>11,} rows  "
                  f"{r.rows_quarantined:>7,} quarantined  {dt:7.1f}s  {r.rows_in / dt:>10,.0f} rows/s")
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"TOTAL {total_rows:,} rows in {elapsed:.1f}s = {total_rows / elapsed:,.0f} rows/s; "
          f"peak RSS {peak_mb:,.0f} MB; warehouse {url}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
