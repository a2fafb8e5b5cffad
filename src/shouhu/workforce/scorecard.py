"""KPI scorecards for a principal: which rows it may see (access.policy), their counts (storage),
their values and bands (workforce.kpi), and the drill-down link to the level below."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from shouhu.access.policy import Principal, scorecard_filters
from shouhu.errors import InvalidInput, ShouhuError
from shouhu.storage import scorecards
from shouhu.workforce import kpi

Engine = Any  # a SQLAlchemy engine; only storage imports SQLAlchemy


class NotAllowed(ShouhuError, PermissionError):
    code = "not_allowed"


def date_range(start: date | None, end: date | None, today: date | None = None) -> tuple[date, date]:
    """Default: the last 365 days up to today."""
    end = end or today or date.today()
    start = start or end - timedelta(days=365)
    if start > end:
        raise InvalidInput("the range starts after it ends", field="start", start=str(start), end=str(end))
    return start, end


def scorecards_for(engine: Engine, principal: Principal, level: str, *, parent: str | None = None,
                   start: date | None = None, end: date | None = None, bands: Path | None = None) -> dict[str, Any]:
    """Rows of ``level`` (within ``parent``: a branch for teams, a team for agents) the principal may see."""
    kpi.check_level(level)
    filters = scorecard_filters(principal, level)
    if filters is None:
        raise NotAllowed(f"a {principal.role.value} cannot see {level} scorecards", level=level)
    if parent:
        filters = filters | {scorecards.COLUMN[_parent_level(level)]: parent}
    start, end = date_range(start, end)
    measures = kpi.load_measures(bands)
    counts = scorecards.counts(engine, level, filters, start, end)
    rows = [{"id": key, "level": level, "child": kpi.CHILD.get(level), "measures": kpi.scorecard(
        measures, {m: kpi.Count(c.numerator, c.denominator, c.missing) for m, c in row.items()})}
        for key, row in counts.items()]
    return {"level": level, "parent": parent, "start": start.isoformat(), "end": end.isoformat(),
            "measures": [{"name": m.name, "label": list(m.label), "healthy": m.healthy, "warning": m.warning,
                          "higher_is_better": m.higher_is_better} for m in measures.values()], "rows": rows}


def _parent_level(level: str) -> str:
    if level == "branch":
        raise InvalidInput("branches have no parent level", field="parent")
    return "branch" if level == "team" else "team"
