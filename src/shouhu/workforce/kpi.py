"""KPI scorecards per agent, team and branch: the measures, their bands and their sources.

A measure is a ratio of two counts (or a mean) that storage.workforce reads for a set of rows; this
module turns counts into values and bands. A measure whose source table does not exist yet, or
whose denominator is 0, is **no data** (``value`` None, band ``no_data``) — never 0, which would
read as "as bad as it gets".

Bands: for a measure where higher is better, ``healthy`` when value ≥ healthy, ``warning`` when
value ≥ warning, else ``danger``; where lower is better (free-look cancellations) the comparisons
flip. Defaults are in ``kpi_bands.toml`` beside this module; pass your own file to override.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shouhu.errors import ConfigError, UnknownName

LEVELS = ("branch", "team", "agent")
CHILD = {"branch": "team", "team": "agent"}
BANDS_FILE = Path(__file__).with_name("kpi_bands.toml")
BAND_LABELS = {"healthy": ("健康", "Healthy"), "warning": ("预警", "Warning"), "danger": ("危险", "Danger"),
               "no_data": ("无数据", "No data")}


@dataclass(frozen=True)
class Measure:
    name: str
    label: tuple[str, str]
    healthy: float
    warning: float
    higher_is_better: bool = True

    def band(self, value: float | None) -> str:
        if value is None:
            return "no_data"
        if self.higher_is_better:
            return "healthy" if value >= self.healthy else "warning" if value >= self.warning else "danger"
        return "healthy" if value <= self.healthy else "warning" if value <= self.warning else "danger"


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise UnknownName("scorecard level", level, LEVELS)
    return level


def load_measures(path: Path | None = None) -> dict[str, Measure]:
    """The measures and their thresholds, in the order the file lists them."""
    path = path or BANDS_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read KPI bands from {path}: {e}") from e
    return {name: _measure(name, body, f"{path.name}: {name}") for name, body in raw.get("measure", {}).items()}


def _measure(name: str, body: Mapping[str, Any], where: str) -> Measure:
    try:
        healthy, warning = float(body["healthy"]), float(body["warning"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"{where}: needs numbers 'healthy' and 'warning'") from None
    higher = bool(body.get("higher_is_better", True))
    if (healthy < warning) if higher else (healthy > warning):
        raise ConfigError(f"{where}: 'healthy' must be {'≥' if higher else '≤'} 'warning' "
                          f"(higher_is_better = {str(higher).lower()})")
    return Measure(name, (str(body.get("label_zh", name)), str(body.get("label_en", name))), healthy, warning, higher)


@dataclass(frozen=True)
class Count:
    """What storage read for one measure of one row: numerator over denominator, or why there is none."""

    numerator: float = 0.0
    denominator: float = 0.0
    missing: str | None = None  # e.g. "table service_case not built yet"


def score(measure: Measure, count: Count) -> dict[str, Any]:
    if count.missing is not None:
        value, note = None, count.missing
    elif count.denominator <= 0:
        value, note = None, "nothing to measure in this range"
    else:
        value, note = count.numerator / count.denominator, ""
    return {"measure": measure.name, "value": None if value is None else round(value, 4),
            "numerator": count.numerator, "denominator": count.denominator, "band": measure.band(value),
            "note": note}


def scorecard(measures: Mapping[str, Measure], counts: Mapping[str, Count]) -> list[dict[str, Any]]:
    """One row's measures, in the measures' order; a measure storage did not read is no data."""
    return [score(m, counts.get(name, Count(missing="not measured"))) for name, m in measures.items()]
