"""Journeys and attribution on a 1M-customer book; our exact Markov versus ChannelAttribution in one run.

    python bench/bench_channels.py --customers 1000000 --workdir data/bench-channels-1m

Generates the book (unless ``--book`` names one), ingests only its touchpoint and policy extracts into a
DuckDB warehouse, and takes ``identity_cluster`` from the book's ground truth (this bench measures
journeys and attribution, not matching). Then, timing each step and sampling peak RSS above the step's
starting point: journeys + aggregation in DuckDB, every attribution model, Markov orders 1-3, and
ChannelAttribution's ``markov_model`` (orders 1 and 2) on the same aggregated paths, with the L1 gap
between the two attributions as a share of all conversions. Prints JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq


class PeakRss:
    """Peak resident memory above the starting point while the block runs (sampled every 20 ms)."""

    def __init__(self) -> None:
        self.peak_mb = 0.0

    @staticmethod
    def rss_mb() -> float:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def __enter__(self) -> PeakRss:
        self.start, self.peak, self.running = self.rss_mb(), self.rss_mb(), True
        self.t0 = time.perf_counter()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def _watch(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.rss_mb())
            time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.running = False
        self.thread.join()
        self.peak_mb = max(self.peak, self.rss_mb()) - self.start


def load(book: Path, url: str) -> dict[str, Any]:
    from shouhu.ingest import ingest_file, plan_book
    from shouhu.storage.warehouse import Warehouse

    t0 = time.perf_counter()
    with Warehouse(url) as wh:
        for item in plan_book(book):
            if item.extract.entity.name in ("touchpoint", "policy"):
                ingest_file(wh, item.path, item.mapping, item.extract)
        truth = pq.read_table(book / "ground_truth.parquet")
        cluster = truth.select(["source", "record_id"]).append_column("customer_id", truth.column("person_id"))
        cluster = cluster.append_column("unique_id", pc.binary_join_element_wise(
            truth.column("source"), truth.column("record_id"), ":"))
        wh.write_table("identity_cluster", cluster)
        rows = {t: wh.query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("src_touchpoint", "src_policy",
                                                                          "identity_cluster")}
    return {"seconds": round(time.perf_counter() - t0, 1), "rows": rows}


def reference(paths: Any, order: int) -> Any:
    import ChannelAttribution as ca

    with contextlib.redirect_stdout(io.StringIO()):
        res = ca.markov_model(paths.to_pandas(), "path", "conversions", var_value="value", var_null="nulls",
                              order=order, verbose=False, flg_pro=False, seed=1)
    return res["result"] if isinstance(res, dict) else res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--book", type=Path, default=None)
    ap.add_argument("--workdir", type=Path, default=Path("data/bench-channels"))
    ap.add_argument("--lookback", type=int, default=90)
    ap.add_argument("--keep-repeats", action="store_true", help="Do not merge consecutive touches of a channel.")
    ap.add_argument("--reuse", action="store_true", help="Reuse the workdir's loaded warehouse.")
    args = ap.parse_args()
    from shouhu.channels import journeys as jn
    from shouhu.channels.models import DEFAULT_MODELS, get_model
    from shouhu.channels.paths import from_arrow
    from shouhu.storage.warehouse import Warehouse

    args.workdir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"customers": args.customers}
    book = args.book or args.workdir / "book"
    url = f"duckdb:///{args.workdir / 'warehouse.duckdb'}"
    if args.reuse:
        report["load"] = "reused"
    elif args.book is None:
        from shouhu.synth import SynthConfig, generate_book

        t0 = time.perf_counter()
        generate_book(book, SynthConfig(customers=args.customers, seed=42))
        report["generate_seconds"] = round(time.perf_counter() - t0, 1)
    if not args.reuse:
        report["load"] = load(book, url)
    steps: dict[str, Any] = {}
    with Warehouse(url) as wh:
        tables = jn.warehouse_tables(wh)
        cfg = jn.JourneyConfig(end=jn.default_end(tables), lookback_days=args.lookback,
                               collapse_repeats=not args.keep_repeats)
        report["journeys"] = {"lookback_days": args.lookback, "collapse_repeats": not args.keep_repeats}
        with PeakRss() as m:
            agg = jn.aggregate(jn.journeys(tables, cfg)).to_pyarrow()
            paths = from_arrow(agg)
        steps["journeys_and_aggregation"] = {"seconds": round(m.seconds, 2), "peak_mb": round(m.peak_mb)}
    report["paths"] = {"distinct": len(paths), **{k: round(v) for k, v in paths.totals().items()},
                       "channels": list(paths.channels), "max_length": int(paths.lengths.max())}
    ours: dict[str, Any] = {}
    for name in DEFAULT_MODELS:
        orders = (1, 2, 3) if name == "markov" else (None,)
        for k in orders:
            model = get_model(name, order=k) if k else get_model(name)
            with PeakRss() as m:
                result = model.attribute(paths)
            label = f"markov_{k}" if k else name
            ours[label] = result
            steps[label] = {"seconds": round(m.seconds, 3), "peak_mb": round(m.peak_mb)}
    total = float(paths.conversions.sum())
    with contextlib.redirect_stdout(io.StringIO()):  # import (and its banner) outside the timed step
        import ChannelAttribution  # noqa: F401
    for k in (1, 2):
        with PeakRss() as m:
            ref = reference(paths, k)
        theirs = dict(zip(ref.channel_name, ref.total_conversions, strict=True))
        mine = dict(zip(ours[f"markov_{k}"].channels, ours[f"markov_{k}"].credit["conversions"], strict=True))
        gap = sum(abs(mine[c] - theirs.get(c, 0.0)) for c in mine) / total
        steps[f"channelattribution_markov_{k}"] = {"seconds": round(m.seconds, 3), "peak_mb": round(m.peak_mb),
                                                   "l1_gap_share_of_conversions": round(gap, 5)}
    report["steps"] = steps
    report["markov_1_conversions"] = {c: round(float(v), 1) for c, v in
                                      zip(paths.channels, ours["markov_1"].credit["conversions"], strict=True)}
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
