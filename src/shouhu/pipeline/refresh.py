"""``shouhu refresh``: identity → golden records → households → customer 360 → tags → publish.

Every step runs in the warehouse; only the last one writes to the serving database, in one
transaction, so a run that fails at any step leaves the previously published marts intact.
Each run is logged in ``refresh_run`` with per-step timings and, when it fails, the error.
Stewards' decisions are read at the start and applied as clustering constraints.

``engine="spark"`` runs the same steps on a local PySpark session (the extra ``shouhu[spark]``):
the ``src_*`` tables are copied from the configured warehouse into Spark, every step up to
``tags`` runs there, the marts they wrote are copied back (so the configured warehouse holds the
same tables whichever engine ran), and ``publish`` reads them from the configured warehouse.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from shouhu.errors import ShouhuError, UnknownName
from shouhu.settings import Settings
from shouhu.storage import runs
from shouhu.storage.serving import engine_for, upgrade
from shouhu.storage.warehouse import Warehouse

STEPS = ("activities", "identity", "golden", "households", "customer_360", "gaps", "tags", "value", "actions",
         "publish")
# Steps that read or write the configured warehouse even on Spark (serving writes in, marts out).
HOME_STEPS = ("activities", "publish")
ENGINES = ("auto", "spark")  # auto: the configured warehouse
# Extra steps of a Spark run, around the pipeline proper.
SPARK_STEPS = (STEPS[0], "copy_to_spark", *STEPS[1:-1], "copy_back", STEPS[-1])
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


def _step_functions(settings: Settings, as_of: date,
                    serving_engine: Any) -> dict[str, Callable[[Warehouse], Any]]:
    from shouhu.advice.batch import build_customer_gaps
    from shouhu.compliance.erasure import reapply as reapply_erasures
    from shouhu.customer360 import build_customer_360
    from shouhu.identity.golden import build_golden_records
    from shouhu.identity.households import build_households
    from shouhu.identity.resolve import resolve_identities
    from shouhu.identity.stewardship import constraints
    from shouhu.operations import cases, renewal
    from shouhu.operations.activities import export_to_warehouse, materialise
    from shouhu.pipeline.publish import publish_marts
    from shouhu.privacy.crypto import cipher_from_settings
    from shouhu.scoring.nba import build_next_best_actions
    from shouhu.scoring.value import build_customer_value
    from shouhu.segments.tags import apply_tags, load_tag_library

    decided = constraints(settings.serving)

    def publish_and_materialise(wh: Warehouse) -> Any:
        """Publish the marts, then turn the new next best actions into tasks (after the commit: a task
        list never points at actions that were rolled back)."""
        written = publish_marts(wh, settings.serving, cipher_from_settings(settings), as_of=as_of)
        return written | {f"task_{k}": v for k, v in materialise(serving_engine, as_of).items()}

    def identity(wh: Warehouse) -> Any:
        if wh.supports_splink:
            return resolve_identities(wh, must_link=decided.must_link, cannot_link=decided.cannot_link).to_dict()
        # Splink runs on DuckDB and Spark, not PostgreSQL (no Jaro-Winkler there): link in a scratch
        # DuckDB next to the data directory and bring the two identity marts back.
        with tempfile.TemporaryDirectory(prefix="shouhu-identity-") as tmp, \
                Warehouse(f"duckdb:///{Path(tmp) / 'identity.duckdb'}") as scratch:
            wh.copy_tables_to(scratch, ["src_party"], Path(tmp))
            result = resolve_identities(scratch, must_link=decided.must_link, cannot_link=decided.cannot_link)
            scratch.copy_tables_to(wh, ["identity_pair", "identity_cluster"], Path(tmp))
        return result.to_dict() | {"linked_in": "scratch duckdb"}

    return {
        "identity": identity,
        "golden": lambda wh: {"customers": build_golden_records(wh)},
        "households": lambda wh: {"households": build_households(wh, as_of)},
        "customer_360": lambda wh: {"rows": build_customer_360(wh, as_of)},
        "gaps": lambda wh: {"rows": build_customer_gaps(wh, as_of)},
        # value uses lapse_score and actions use crosssell_score when those models have been run
        "value": lambda wh: build_customer_value(wh, as_of),
        "actions": lambda wh: build_next_best_actions(wh, as_of),
        "tags": lambda wh: {"tags": apply_tags(wh, load_tag_library(settings.data_dir))},
        "publish": lambda wh: publish_and_materialise(wh),
        # staff tasks, activities, service cases and collection outcomes written since the last run, for
        # the steps that follow (never lost: publish replaces only the marts it names, not these tables)
        # and, first, the rows of erased people that a channel sent again are removed (compliance.erasure)
        "activities": lambda wh: reapply_erasures(serving_engine, wh) | export_to_warehouse(serving_engine, wh)
        | cases.export_to_warehouse(serving_engine, wh) | renewal.export_to_warehouse(serving_engine, wh),
    }


def steps_for(engine: str = "auto") -> tuple[str, ...]:
    """The steps a run on ``engine`` reports, in order."""
    return SPARK_STEPS if engine == "spark" else STEPS


def refresh(settings: Settings, *, as_of: date | None = None, progress: Progress | None = None,
            engine: str = "auto") -> RefreshResult:
    """Run the whole pipeline and publish the marts.

    ``engine``: ``"auto"`` runs on the configured warehouse; ``"spark"`` on local PySpark (see the
    module docstring; needs ``shouhu[spark]`` and Java 17).
    """
    if engine not in ENGINES:
        raise UnknownName("refresh engine", engine, ENGINES)
    if engine == "spark":
        from shouhu.storage.spark import require_spark

        require_spark("refresh --engine spark")
    as_of = as_of or date.today()
    upgrade(settings.serving)
    result = RefreshResult(run_id=uuid.uuid4().hex[:16], as_of=as_of)
    logged_engine = "spark" if engine == "spark" else settings.warehouse.split(":", 1)[0]
    runs.start_run(settings.serving, result.run_id, logged_engine, as_of)
    current = "setup"
    serving_engine = engine_for(settings.serving)
    try:
        functions = _step_functions(settings, as_of, serving_engine)
        with _warehouses(settings, engine) as (home, work):
            for current in steps_for(engine):
                if progress:
                    progress(current, "start")
                started = time.perf_counter()
                if current == "copy_to_spark":
                    detail: Any = _copy_sources(home, work)
                elif current == "copy_back":
                    detail = _copy_marts(work, home)
                else:  # publish reads the configured warehouse, the others the working one
                    detail = functions[current](home if current in HOME_STEPS else work)
                result.steps.append({"step": current, "seconds": round(time.perf_counter() - started, 3),
                                     "detail": detail})
                if progress:
                    progress(current, "done")
    except Exception as e:
        runs.finish_run(settings.serving, result.run_id, "failed", result.steps, f"{current}: {e}")
        raise RefreshFailed(f"refresh failed at step {current!r}: {e}; the published marts are unchanged",
                            step=current, run_id=result.run_id) from e
    finally:  # a pooled connection left open would keep PostgreSQL from copying or dropping the database
        serving_engine.dispose()
    runs.finish_run(settings.serving, result.run_id, "succeeded", result.steps)
    return result



@contextmanager
def _warehouses(settings: Settings, engine: str) -> Iterator[tuple[Warehouse, Warehouse]]:
    """(the configured warehouse, the warehouse the steps run on): the same one unless on Spark."""
    with Warehouse(settings.warehouse) as home:
        if engine != "spark":
            yield home, home
            return
        with Warehouse.spark(app_name="shouhu-refresh") as work:
            yield home, work


def _copy_sources(home: Warehouse, work: Warehouse) -> dict[str, int]:
    """Copy every ``src_*`` table of the configured warehouse into Spark (through parquet files)."""
    names = [t for t in home.list_tables() if t.startswith("src_")]
    with tempfile.TemporaryDirectory(prefix="shouhu-copy-") as tmp:
        home.copy_tables_to(work, names, Path(tmp))
    return {"tables": len(names)}


def _copy_marts(work: Warehouse, home: Warehouse) -> dict[str, int]:
    """Copy every table the steps wrote on Spark back into the configured warehouse."""
    names = [t for t in work.list_tables() if not t.startswith(("src_", "__splink"))]
    with tempfile.TemporaryDirectory(prefix="shouhu-copy-") as tmp:
        work.copy_tables_to(home, names, Path(tmp))
    return {"tables": len(names)}
