"""``shouhu refresh``: identity → golden records → households → customer 360 → tags → publish.

Every step runs in the warehouse; only the last one writes to the serving database, in one
transaction, so a run that fails at any step leaves the previously published marts intact.
Each run is logged in ``refresh_run`` with per-step timings and, when it fails, the error.
Stewards' decisions are read at the start and applied as clustering constraints.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shouhu.errors import ShouhuError
from shouhu.settings import Settings
from shouhu.storage import runs
from shouhu.storage.serving import upgrade
from shouhu.storage.warehouse import Warehouse

STEPS = ("identity", "golden", "households", "customer_360", "tags", "publish")
Progress = Callable[[str, str], None]  # (step, "start" | "done")


class RefreshFailed(ShouhuError, RuntimeError):
    code = "refresh_failed"


@dataclass
class RefreshResult:
    run_id: str
    as_of: date
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return round(sum(float(s["seconds"]) for s in self.steps), 3)

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "as_of": self.as_of.isoformat(), "seconds": self.seconds, "steps": self.steps}


def _step_functions(settings: Settings, as_of: date) -> dict[str, Callable[[Warehouse], Any]]:
    from shouhu.customer360 import build_customer_360
    from shouhu.identity.golden import build_golden_records
    from shouhu.identity.households import build_households
    from shouhu.identity.resolve import resolve_identities
    from shouhu.identity.stewardship import constraints
    from shouhu.pipeline.publish import publish_marts
    from shouhu.privacy.crypto import cipher_from_settings
    from shouhu.segments.tags import apply_tags, load_tag_library

    decided = constraints(settings.serving)

    def identity(wh: Warehouse) -> Any:
        return resolve_identities(wh, must_link=decided.must_link, cannot_link=decided.cannot_link).to_dict()

    return {
        "identity": identity,
        "golden": lambda wh: {"customers": build_golden_records(wh)},
        "households": lambda wh: {"households": build_households(wh, as_of)},
        "customer_360": lambda wh: {"rows": build_customer_360(wh, as_of)},
        "tags": lambda wh: {"tags": apply_tags(wh, load_tag_library(settings.data_dir))},
        "publish": lambda wh: publish_marts(wh, settings.serving, cipher_from_settings(settings)),
    }


def refresh(settings: Settings, *, as_of: date | None = None, progress: Progress | None = None) -> RefreshResult:
    """Run the whole pipeline on the configured warehouse and publish the marts."""
    as_of = as_of or date.today()
    upgrade(settings.serving)
    result = RefreshResult(run_id=uuid.uuid4().hex[:16], as_of=as_of)
    engine = settings.warehouse.split(":", 1)[0]
    runs.start_run(settings.serving, result.run_id, engine, as_of)
    current = "setup"
    try:
        functions = _step_functions(settings, as_of)
        with Warehouse(settings.warehouse) as wh:
            for current in STEPS:
                if progress:
                    progress(current, "start")
                started = time.perf_counter()
                detail = functions[current](wh)
                result.steps.append({"step": current, "seconds": round(time.perf_counter() - started, 3),
                                     "detail": detail})
                if progress:
                    progress(current, "done")
    except Exception as e:
        runs.finish_run(settings.serving, result.run_id, "failed", result.steps, f"{current}: {e}")
        raise RefreshFailed(f"refresh failed at step {current!r}: {e}; the published marts are unchanged",
                            step=current, run_id=result.run_id) from e
    runs.finish_run(settings.serving, result.run_id, "succeeded", result.steps)
    return result
