"""One table from shouhu's error family to HTTP status, for every API answer.

The most specific class listed wins (looked up along the exception's MRO). The client's mistakes are 4xx;
a backend that failed or a server that is misconfigured is 5xx, and then the answer carries a generic
message and the trace id (the detail, which can name tables and hosts, goes to the log only).
"""

from __future__ import annotations

from typing import Any

from shouhu.errors import ConfigError, InvalidInput, MissingExtra, ShouhuError, StorageError, UnknownName

HTTP_STATUS: dict[type[BaseException], int] = {
    UnknownName: 404,
    InvalidInput: 400,
    StorageError: 500,
    ConfigError: 500,
    MissingExtra: 501,
    ShouhuError: 400,
}


def status_for(exc: BaseException, table: dict[type[BaseException], int] | None = None) -> int:
    """The HTTP status of ``exc``: the first class of its MRO found in ``table`` (default ``HTTP_STATUS``)."""
    statuses = HTTP_STATUS if table is None else table
    for kind in type(exc).__mro__:
        if kind in statuses:
            return statuses[kind]
    return 500


def body_for(exc: ShouhuError, status: int, trace_id: str | None) -> dict[str, Any]:
    if status >= 500:
        return {"error": exc.code, "message": "the server could not do this; the operators have the details "
                                              "(服务端出错，运维人员可按跟踪号查询)", "trace_id": trace_id}
    return {"error": exc.code, "message": str(exc)}
