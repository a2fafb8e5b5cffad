"""Journey analytics: per-node counts, drop-off and timing; conversion to the goal per version and per A/B
arm with a significance test; funnels over any nodes with breakdowns (issue 14 item 6).

Conversion is the share of enrolments whose goal event came within the attribution window
(``goal.within_days`` after entry). Arms are compared with a two-sided two-proportion z-test
(pooled variance) against the holdout when the split has one, else against the first arm; with more
than two groups a chi-square test of independence over all of them is reported too. Results below
30 enrolments per group are flagged ``small``: the normal approximation is weak there.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from statistics import median
from typing import Any

from scipy import stats

from shouhu.journeys.definition import parse
from shouhu.storage import journeys as store
from shouhu.storage.journeys import parse_stamp

BREAKDOWNS = {"channel": "channel", "segment": "life_stage", "agent": "primary_agent_id", "arm": "arm",
              "version": "version"}


def node_stats(engine: Any, key: str) -> list[dict[str, Any]]:
    """One row per (version, node), in the definition's node order: entered, done, waiting/pending,
    dropped (removed while there), outcomes and the median time spent at the node."""
    groups: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for r in store.step_rows(engine, key):
        groups[(int(r["version"]), str(r["node_id"]))].append(r)
    order: dict[int, list[str]] = {}
    for version in {v for v, _ in groups}:
        row = store.version_row(engine, key, version)
        order[version] = list(parse(row["source"], key).nodes) if row else []  # YAML order (the JSON is sorted)

    def place(item: tuple[tuple[int, str], Any]) -> tuple[int, int, str]:
        (version, node), _ = item
        names = order.get(version, [])
        return version, names.index(node) if node in names else len(names), node

    out = []
    for (version, node), rows in sorted(groups.items(), key=place):
        status = Counter(r["status"] for r in rows)
        spent = [(parse_stamp(r["finished_at"]) - parse_stamp(r["created_at"])).total_seconds()
                 for r in rows if r["status"] == "done" and r["finished_at"]]
        out.append({"version": version, "node": node, "entered": len(rows), "done": status["done"],
                    "in_progress": status["pending"] + status["waiting"] + status["running"],
                    "dropped": status["cancelled"],
                    "outcomes": dict(Counter(r["outcome"] for r in rows if r["outcome"])),
                    "median_seconds": median(spent) if spent else None})
    return out


def two_proportion(x1: int, n1: int, x2: int, n2: int) -> dict[str, float | None]:
    """Two-sided z-test that two conversion rates differ; lift = rate1 - rate2."""
    if n1 == 0 or n2 == 0:
        return {"z": None, "p_value": None, "lift": None}
    p1, p2, pooled = x1 / n1, x2 / n2, (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return {"z": 0.0, "p_value": 1.0, "lift": p1 - p2}
    z = (p1 - p2) / se
    return {"z": z, "p_value": float(2 * stats.norm.sf(abs(z))), "lift": p1 - p2}


def conversion(engine: Any, key: str, alpha: float = 0.05) -> dict[str, Any]:
    """Conversion per version and per arm (within each version), each arm tested against the holdout."""
    rows = store.enrollment_rows(engine, key)
    by_version: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_version[int(r["version"])].append(r)
    versions = []
    for version, group in sorted(by_version.items()):
        arms: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in group:
            counts = arms[r["arm"] or "all"]
            counts[0] += r["goal_at"] is not None
            counts[1] += 1
        base = "holdout" if "holdout" in arms else (sorted(a for a in arms if a != "all") or ["all"])[0]
        arm_rows = []
        for arm, (x, n) in sorted(arms.items()):
            test = two_proportion(x, n, *arms[base]) if arm != base else {"z": None, "p_value": None, "lift": None}
            p = test["p_value"]
            arm_rows.append({"arm": arm, "enrolled": n, "converted": x, "rate": x / n if n else 0.0,
                             "versus": None if arm == base else base, **test,
                             "significant": p is not None and p < alpha, "small": n < 30})
        chi2 = None
        if len(arms) > 2:
            table = [[x, n - x] for x, n in arms.values()]
            if all(sum(col) > 0 for col in zip(*table, strict=True)):
                res = stats.chi2_contingency(table)
                chi2 = {"statistic": float(res.statistic), "p_value": float(res.pvalue), "dof": int(res.dof)}
        total_x = sum(x for x, _ in arms.values())
        versions.append({"version": version, "enrolled": len(group), "converted": total_x,
                         "rate": total_x / len(group) if group else 0.0, "arms": arm_rows, "chi2": chi2})
    return {"journey": key, "alpha": alpha, "versions": versions}


def funnel(engine: Any, key: str, nodes: list[str], by: str | None = None) -> dict[str, Any]:
    """Enrolments reaching each of ``nodes`` in order (and the goal, as the last step), optionally broken
    down by channel, segment (life stage), agent, arm or version."""
    if by is not None and by not in BREAKDOWNS:
        from shouhu.errors import InvalidInput

        raise InvalidInput(f"by: {by!r} is not one of {', '.join(BREAKDOWNS)}", field="by")
    reached: dict[int, set[str]] = defaultdict(set)
    for r in store.step_rows(engine, key):
        reached[int(r["enrollment_id"])].add(str(r["node_id"]))
    enrolments = store.enrollment_rows(engine, key)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in enrolments:
        label = "all" if by is None else str(e.get(BREAKDOWNS[by]) if e.get(BREAKDOWNS[by]) is not None else "-")
        groups[label].append(e)
    out = {}
    for label, group in sorted(groups.items()):
        steps: list[dict[str, Any]] = [{"step": "entered", "count": len(group)}]
        alive = list(group)
        for node in nodes:
            alive = [e for e in alive if node in reached.get(int(e["id"]), set())]
            steps.append({"step": node, "count": len(alive)})
        steps.append({"step": "goal", "count": sum(e["goal_at"] is not None for e in alive)})
        for prev, cur in itertools.pairwise(steps):
            cur["share_of_previous"] = cur["count"] / prev["count"] if prev["count"] else 0.0
        out[label] = steps
    return {"journey": key, "nodes": nodes, "by": by, "groups": out}
