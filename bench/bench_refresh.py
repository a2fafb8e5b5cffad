"""Refresh benchmark: time per pipeline step and peak memory on a loaded book (DuckDB + SQLite).

    python bench/bench_refresh.py --customers 1000000
    python bench/bench_refresh.py --book data/bench-book-1000000 --workdir data/bench-refresh-1m

The book is generated (if missing) and ingested into <workdir>/warehouse.duckdb once; later runs
reuse it and only time the refresh.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import date
from pathlib import Path

from shouhu.ingest import ingest_file, plan_book
from shouhu.pipeline.refresh import refresh
from shouhu.settings import Settings
from shouhu.storage.warehouse import Warehouse
from shouhu.synth import SynthConfig, generate_book


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--book", type=Path)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    book = args.book or Path("data") / f"bench-book-{args.customers}"
    workdir = (args.workdir or Path("data") / f"bench-refresh-{args.customers}").resolve()
    if not (book / "manifest.json").exists():
        generate_book(book, SynthConfig(customers=args.customers))
    workdir.mkdir(parents=True, exist_ok=True)
    warehouse = workdir / "warehouse.duckdb"
    if not warehouse.exists():
        started = time.perf_counter()
        with Warehouse(f"duckdb:///{warehouse}") as wh:
            for item in plan_book(book):
                ingest_file(wh, item.path, item.mapping, item.extract)
        print(f"ingested {book} in {time.perf_counter() - started:.1f}s")
    (workdir / "serving.sqlite").unlink(missing_ok=True)
    settings = Settings(data_dir=workdir, warehouse_url=f"duckdb:///{warehouse}",
                        serving_url=f"sqlite:///{workdir / 'serving.sqlite'}")
    started = time.perf_counter()

    def report(step: str, state: str) -> None:
        if state == "done":
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  {step} done at {time.perf_counter() - started:7.1f}s, peak RSS so far {peak:,.0f} MB", flush=True)

    result = refresh(settings, as_of=date(2026, 10, 31), progress=report)
    total = time.perf_counter() - started
    for step in result.steps:
        print(f"{step['step']:>14}  {step['seconds']:8.1f}s  {str(step['detail'])[:110]}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"TOTAL refresh {total:.1f}s; peak RSS {peak_mb:,.0f} MB; book {book}")


if __name__ == "__main__":
    main()
