"""Observability: structured logs without personal data, Prometheus metrics, request tracing.

* :mod:`.logs`: a JSON log formatter and a filter that masks ID numbers, mobile numbers, bank cards and
  e-mail addresses in every record (message, arguments and extras), whoever logged it.
* :mod:`.tracing`: the request's trace id (W3C ``traceparent`` or ``X-Request-ID`` in, both out), kept in
  a context variable so that every log line of the request carries it.
* :mod:`.metrics`: one Prometheus registry per application: request counts and latencies by route
  template (never by URL, which may hold ids), refresh-run history as gauges.

The web layer wires them (:mod:`shouhu.web.telemetry`); the CLI chooses the log format.
"""

from shouhu.observability.logs import JsonFormatter, RedactPersonalData, configure, redact
from shouhu.observability.metrics import Metrics
from shouhu.observability.tracing import current_trace_id, parse_traceparent

__all__ = ["JsonFormatter", "Metrics", "RedactPersonalData", "configure", "current_trace_id", "parse_traceparent",
           "redact"]
