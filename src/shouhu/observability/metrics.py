"""Prometheus metrics of one application (its own registry, so that two apps in one process never mix).

Requests are labelled by method, *route template* (``/api/v1/customers/{customer_id}``, never the URL,
which holds ids) and status; unmatched paths share the label ``unmatched`` so that scanners cannot grow the
label set. Refresh-run history and anything else read from the database at scrape time is added with
:meth:`Metrics.add_source`: a function returning ``(name, help, labels, value)`` samples, called on each
scrape and never allowed to fail the scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; the 360 page answers in a few ms, a refresh-triggering POST in seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
Sample = tuple[str, str, dict[str, str], float]
Source = Callable[[], Iterable[Sample]]
log = logging.getLogger(__name__)


class _Sources(Collector):
    def __init__(self) -> None:
        self.sources: list[Source] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        for source in self.sources:
            try:
                samples = list(source())
            except Exception as e:  # a database hiccup must not take the whole scrape down
                log.warning("metrics source %s failed: %s", getattr(source, "__name__", source), type(e).__name__)
                continue
            for name, help_text, labels, value in samples:
                family = families.get(name)
                if family is None:
                    family = families[name] = GaugeMetricFamily(name, help_text, labels=sorted(labels))
                family.add_metric([labels[k] for k in sorted(labels)], value)
        yield from families.values()

    def describe(self) -> list[Any]:
        return []  # collected lazily: no describe-time database reads


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter("shouhu_http_requests", "HTTP requests answered, by route template and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("shouhu_http_request_duration_seconds", "Time to answer, by route template",
                                 ["method", "route"], buckets=BUCKETS, registry=self.registry)
        self._sources = _Sources()
        self.registry.register(self._sources)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def add_source(self, source: Source) -> None:
        self._sources.sources.append(source)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def refresh_run_samples(runs: list[dict[str, Any]]) -> Iterator[Sample]:
    """Gauges from the refresh-run history (newest first): the last run's status, age and step timings."""
    if not runs:
        return
    last = runs[0]
    started = last["started_at"]
    yield ("shouhu_refresh_last_started_timestamp_seconds", "Start of the latest refresh run (Unix time)",
           {"status": str(last["status"])}, started.timestamp() if hasattr(started, "timestamp") else 0.0)
    for step in last["steps"]:
        yield ("shouhu_refresh_last_step_seconds", "Seconds each step of the latest refresh run took",
               {"step": str(step["step"])}, float(step["seconds"]))
    ok = next((r for r in runs if r["status"] == "succeeded"), None)
    if ok is not None:
        yield ("shouhu_refresh_last_success_seconds", "Total seconds of the latest successful refresh run", {},
               float(sum(float(s["seconds"]) for s in ok["steps"])))
