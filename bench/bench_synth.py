"""Benchmark the synthetic book generator.

    python bench/bench_synth.py --customers 1000000 [--out /tmp/shouhu-bench] [--seed 42]

Prints customers/s, rows written per extract, total rows/s, wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from shouhu.synth import SynthConfig, generate_book


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temp dir, removed)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="shouhu-bench-"))
    t0 = time.perf_counter()
    summary = generate_book(out, SynthConfig(customers=args.customers, seed=args.seed))
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mb = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
    print(f"customers           {summary.customers:>14,}")
    print(f"households          {summary.households:>14,}")
    print(f"party records       {summary.party_records:>14,}")
    print(f"policies            {summary.policies:>14,}")
    print(f"{'extract':<36}{'rows':>14}{'bad rows':>10}")
    for e in summary.extracts:
        print(f"  {e.path:<34}{e.rows:>14,}{e.bad_rows:>10,}")
    print(f"total rows          {summary.total_rows:>14,}")
    print(f"stage end times (s) {', '.join(f'{k} {v:.1f}' for k, v in summary.timings)}")
    print(f"wall time           {wall:>14.1f} s")
    print(f"customers/s         {summary.customers / wall:>14,.0f}")
    print(f"rows/s              {summary.total_rows / wall:>14,.0f}")
    print(f"output size         {size_mb:>14,.0f} MiB")
    print(f"peak RSS            {peak_mb:>14,.0f} MiB")
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
