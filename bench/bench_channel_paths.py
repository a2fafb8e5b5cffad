"""Parsing aggregated paths: ``from_arrow`` on N distinct paths (default 130,000), and the Markov solve after it.

    python bench/bench_channel_paths.py --paths 130000

Paths are random walks over 9 channels (1-12 touches, with spaces around some separators), written
the way an analyst's file has them (``"search > agent > bank"``). Prints JSON: parse seconds (best of
3), Markov order-1 solve seconds, distinct paths and touches.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pyarrow as pa

CHANNELS = ("search", "agent", "bank", "broker", "app", "wechat", "call_center", "internet", "event")


def make_paths(n: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    seen: dict[str, None] = {}
    while len(seen) < n:
        for length in rng.integers(1, 13, size=n):
            walk = rng.choice(len(CHANNELS), size=int(length))
            sep = " > " if rng.random() < 0.5 else ">"
            seen.setdefault(sep.join(CHANNELS[c] for c in walk), None)
            if len(seen) == n:
                break
    paths = list(seen)
    conv = rng.poisson(0.3, size=n).astype(float)
    return pa.table({"path": paths, "conversions": conv, "nulls": rng.poisson(2.0, size=n).astype(float),
                     "value": conv * 5000.0})


def best_of(k: int, fn: object) -> float:
    times = []
    for _ in range(k):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=130_000)
    args = ap.parse_args()
    from shouhu.channels.models import get_model
    from shouhu.channels.paths import from_arrow

    table = make_paths(args.paths)
    parse = best_of(3, lambda: from_arrow(table))
    parsed = from_arrow(table)
    t0 = time.perf_counter()
    get_model("markov", order=1).attribute(parsed)
    solve = time.perf_counter() - t0
    print(json.dumps({"distinct_paths": len(parsed), "touches": len(parsed.touches),
                      "parse_seconds": round(parse, 3), "markov_1_seconds": round(solve, 3)}, indent=2))


if __name__ == "__main__":
    main()
