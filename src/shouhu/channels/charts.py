"""Tables (CSV) and charts (PNG) for the channel reports. English chart titles, as in scoring/report.py,
so they render on machines without a CJK font."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from shouhu.privacy.csv_export import write_rows

if TYPE_CHECKING:
    from shouhu.channels.service import AttributionReport, PlanReport


def write_csv(rows: list[dict[str, Any]], path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:  # formulas neutralised (privacy.csv_export)
        write_rows(f, list(rows[0]) if rows else ["empty"], rows)
    return str(path)


def _save(fig: Any, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def write_attribution(report: AttributionReport, out: Path) -> list[str]:
    files = [write_csv(report.rows(), out / "attribution.csv"),
             write_csv(report.paths.to_arrow().to_pylist(), out / "paths.csv")]
    channels = list(report.paths.channels)
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(report.results), 1)
    for i, a in enumerate(report.results):
        share = a.share("conversions")
        ax.bar(np.arange(len(channels)) + i * width, [share[c] for c in channels], width, label=a.model)
    ax.set_xticks(np.arange(len(channels)) + 0.4 - width / 2, channels)
    ax.set(ylabel="share of conversions", title="Attribution by model")
    ax.legend(fontsize=7, ncol=2)
    files.append(_save(fig, out / "attribution.png"))
    return files


def write_roi(result: dict[str, Any], out: Path) -> list[str]:
    files = [write_csv(result["rows"], out / "roi.csv"), write_csv(result["by_channel"], out / "roi_by_channel.csv")]
    rows = [r for r in result["by_channel"] if r["spend"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    names = [r["channel"] for r in rows]
    left.bar(names, [r["premium_per_yuan"] or 0 for r in rows], color="#3b7dd8")
    left.set(title="First-year premium per yuan (sales view)")
    right.bar(names, [r["roi"] or 0 for r in rows], color="#4c9a6a")
    right.axhline(0, color="grey", linewidth=1)
    right.set(title="ROI on customer value (value view)")
    for ax in (left, right):
        ax.tick_params(axis="x", rotation=30)
    files.append(_save(fig, out / "roi.png"))
    return files


def write_plan(report: PlanReport, out: Path) -> list[str]:
    rows = report.plan.rows
    files = [write_csv(rows, out / "plan.csv"),
             write_csv([c.to_dict() for c in report.curves.values()], out / "response_curves.csv")]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["today"] for r in rows], 0.4, label="today")
    ax.bar(x + 0.2, [r["proposed"] for r in rows], 0.4, label="proposed")
    ax.set_xticks(x, [r["channel"] for r in rows])
    ax.set(ylabel=f"spend over {report.plan.weeks} weeks", title="Budget reallocation")
    ax.legend()
    files.append(_save(fig, out / "plan.png"))
    fig, ax = plt.subplots(figsize=(7, 4))
    for c in report.curves.values():
        grid = np.linspace(0, max(c.mean_spend * 3, 1.0), 60)
        ax.plot(grid, c.weekly(grid) - c.base, label=c.channel)
    ax.set(xlabel="weekly spend", ylabel=f"weekly {report.plan.outcome} from spend", title="Response curves")
    ax.legend(fontsize=8)
    files.append(_save(fig, out / "response_curves.png"))
    return files
