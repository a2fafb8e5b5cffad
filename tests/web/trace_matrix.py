"""Sales traceability sessions for the permission matrix (tests/web/test_permission_matrix.py): a page
version, a sealed session (``matrix-sealed``, the default ``{session_id}``), an open one for the events
route and one for the close route, all of the agent's own customer (the H5 probes' customer)."""

from __future__ import annotations

from sqlalchemy import Engine

from shouhu.compliance import traceability as trace
from shouhu.privacy.crypto import FieldCipher

SESSION = "matrix-sealed"


def add_trace_sessions(engine: Engine, cipher: FieldCipher, customer_id: str) -> None:
    trace.publish_page(engine, "matrix_terms", "terms", "权限矩阵条款", "第一条 保险责任\n", "matrix")
    for sid in (SESSION, "matrix-open", "matrix-close"):
        trace.start_session(engine, customer_id=customer_id, product_code="matrix_ci", recorded_by="matrix",
                            session_id=sid)
    trace.record_events(engine, cipher, SESSION, [
        {"type": "page_view", "at": "2030-12-30T10:00:00+08:00", "page_code": "matrix_terms", "page_version": 1,
         "duration_ms": 30_000, "scrolled_to_end": True},
        {"type": "input", "at": "2030-12-30T10:01:00+08:00", "page_code": "matrix_terms", "page_version": 1,
         "field": "applicant", "personal": {"name": "权限矩阵"}}])
    trace.close_session(engine, SESSION, outcome="issued", policy_no="MATRIX1", cover_start="2031-01-01",
                        cover_end="2031-12-31")
    trace.seal(engine)
