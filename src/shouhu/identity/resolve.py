"""Identity resolution: ``src_party`` → ``identity_pair`` and ``identity_cluster``.

Steps: prepare features → train the Splink model and score candidate pairs → flag deterministic
rules → cluster under the guard rails (different ID numbers never merge; stewards' must-link and
cannot-link decisions are honoured) → write both marts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import pyarrow as pa
from stdnum.cn import ric

from shouhu.errors import InvalidInput
from shouhu.identity import features, model, rules
from shouhu.identity.clustering import GUARD_CANNOT, Clustering, constrained_clusters, ordered_edges, pair_key
from shouhu.model.marts import IDENTITY_CLUSTER, IDENTITY_PAIR

SCORED_TABLE = "identity_scored"
OUTCOME_TABLE = "identity_pair_outcome"
PAIR_FLOOR = 0.01  # pairs scored below this (and matching no rule) are not kept in identity_pair


@dataclass
class IdentityResult:
    records: int
    candidate_pairs: int
    pairs: int  # rows written to identity_pair
    links: int
    reviews: int
    blocked_by_guard: int
    clusters: int
    multi_record_clusters: int
    decided_by: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _check_thresholds(link_threshold: float, review_band: tuple[float, float]) -> None:
    lo, hi = review_band
    if not (0.0 <= lo <= hi <= link_threshold <= 1.0):
        raise InvalidInput(f"need 0 <= review_band[0] <= review_band[1] <= link_threshold <= 1; got "
                           f"review_band={review_band}, link_threshold={link_threshold}")


def resolve_identities(
    wh: Any,
    *,
    must_link: Sequence[tuple[str, str]] = (),
    cannot_link: Sequence[tuple[str, str]] = (),
    link_threshold: float = 0.95,
    review_band: tuple[float, float] = (0.5, 0.95),
    seed: int = model.SEED,
) -> IdentityResult:
    """Resolve the party records in ``wh`` into customers; writes ``identity_pair`` and ``identity_cluster``.

    Pairs: ``link`` when a deterministic rule holds or the model's probability reaches
    ``link_threshold``; ``review`` when it falls in ``review_band``; ``no_link`` otherwise or when a
    guard rail refused the merge. Record ids in ``must_link``/``cannot_link`` are unique_ids.
    """
    _check_thresholds(link_threshold, review_band)
    clock = _Clock()
    n = features.prepare_features(wh)
    clock.lap("features")
    trained = model.train(wh.splink_api(), features.FEATURES_TABLE, n, seed=seed)
    clock.lap("train")
    predictions = model.predict(trained)
    candidates = int(wh.query(f"SELECT COUNT(*) FROM {predictions}")[0][0])
    clock.lap("predict")
    scored = _scored_expr(wh.table(predictions), trained.levels, link_threshold)
    wh.materialize(SCORED_TABLE, scored)
    model.drop_splink_tables(trained)
    clustering = _cluster(wh, must_link, cannot_link, link_threshold)
    clock.lap("cluster")
    _write_pairs(wh, clustering, must_link, cannot_link, link_threshold, review_band)
    _write_clusters(wh, clustering)
    clock.lap("write")
    return _summary(wh, n, candidates, clustering, clock.laps)


class _Clock:
    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.t, 3)
        self.t = now


def _scored_expr(pred: Any, levels: Any, link_threshold: float) -> Any:
    rule = rules.rule_expr(pred)
    keep = rule.notnull() | (pred["match_probability"] >= min(PAIR_FLOOR, link_threshold))
    return pred.mutate(rule=rule).filter(keep).select(
        unique_id_l="unique_id_l", unique_id_r="unique_id_r",
        match_weight=pred["match_weight"].cast("float64"),
        match_probability=pred["match_probability"].cast("float64"),
        rule="rule", explanation=rules.explanation_expr(pred, levels),
        id_number_l="id_number_l", id_number_r="id_number_r",
    )


def passes_gb11643(number: str | None) -> bool:
    """True for an 18-character resident ID whose check character and birth date are right (GB 11643).

    Only such IDs may stop a merge: a number with one mistyped digit fails its check character and
    is more likely the same person's ID than another person's. The region is not checked: codes are
    retired and reissued, and stdnum's list does not know every one in use.
    """
    if number is None or len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        ric.get_birth_date(number)
    except ValueError:
        return False
    return bool(ric.calc_check_digit(number) == number[17])


def _cluster(wh: Any, must_link: Sequence[tuple[str, str]], cannot_link: Sequence[tuple[str, str]],
             link_threshold: float) -> Clustering:
    s = wh.table(SCORED_TABLE)
    links = s.filter(s["rule"].notnull() | (s["match_probability"] >= link_threshold))
    edges = links.select("unique_id_l", "unique_id_r", "match_probability", "rule").to_pyarrow()
    cols = [edges.column(c).to_pylist() for c in ("unique_id_l", "unique_id_r", "match_probability", "rule")]
    rule_edges = [(a, b, p) for a, b, p, r in zip(*cols, strict=True) if r is not None]
    model_edges = [(a, b, p) for a, b, p, r in zip(*cols, strict=True) if r is None]
    f = wh.table(features.FEATURES_TABLE)
    ids = f.select("unique_id", "id_number").order_by("unique_id").to_pyarrow()
    uids = ids.column("unique_id").to_pylist()
    id_numbers = {u: i for u, i in zip(uids, ids.column("id_number").to_pylist(), strict=True) if passes_gb11643(i)}
    order = ordered_edges(must_link, rule_edges, model_edges)
    return constrained_clusters(uids, id_numbers, order, [pair_key(a, b) for a, b in cannot_link])


def _outcomes(clustering: Clustering, must_link: Sequence[tuple[str, str]],
              cannot_link: Sequence[tuple[str, str]]) -> pa.Table:
    """Per-pair overrides: manual decisions and edges a guard rail refused."""
    rows: dict[tuple[str, str], tuple[str, str]] = {}
    for a, b in must_link:
        rows[pair_key(a, b)] = ("link", "manual:must_link")
    for a, b in cannot_link:
        rows[pair_key(a, b)] = ("no_link", GUARD_CANNOT)
    for key, reason in clustering.blocked.items():
        rows[key] = ("no_link", reason)
    keys = list(rows)
    return pa.table({
        "o_l": pa.array([k[0] for k in keys], pa.string()), "o_r": pa.array([k[1] for k in keys], pa.string()),
        "o_decision": pa.array([rows[k][0] for k in keys], pa.string()),
        "o_reason": pa.array([rows[k][1] for k in keys], pa.string()),
    })


def _write_pairs(wh: Any, clustering: Clustering, must_link: Sequence[tuple[str, str]],
                 cannot_link: Sequence[tuple[str, str]], link_threshold: float,
                 review_band: tuple[float, float]) -> None:
    wh.write_table(OUTCOME_TABLE, _outcomes(clustering, must_link, cannot_link))
    s, o = wh.table(SCORED_TABLE), wh.table(OUTCOME_TABLE)
    p = s["match_probability"]
    base_decision = ibis.cases(
        (s["rule"].notnull() | (p >= link_threshold), "link"),
        ((p >= review_band[0]) & (p < review_band[1]), "review"),
        else_="no_link")
    base_reason = s["rule"].fill_null("model")
    j = s.left_join(o, (s["unique_id_l"] == o["o_l"]) & (s["unique_id_r"] == o["o_r"]))
    scored = j.select(
        unique_id_l=s["unique_id_l"], unique_id_r=s["unique_id_r"], match_weight=s["match_weight"],
        match_probability=p, decision=o["o_decision"].fill_null(base_decision),
        reason=o["o_reason"].fill_null(base_reason), explanation=s["explanation"])
    # Manual decisions on pairs the model never scored still belong in the audit of decisions.
    unscored = o.anti_join(s, (o["o_l"] == s["unique_id_l"]) & (o["o_r"] == s["unique_id_r"]))
    manual = unscored.filter(o["o_reason"].startswith("manual:")).select(
        unique_id_l=o["o_l"], unique_id_r=o["o_r"],
        match_weight=ibis.literal(0.0, "float64"),
        match_probability=ibis.ifelse(o["o_decision"] == "link", 1.0, 0.0).cast("float64"),
        decision=o["o_decision"], reason=o["o_reason"],
        explanation=ibis.literal('{"manual": "') + o["o_reason"].replace("manual:", "") + '"}')
    wh.materialize(IDENTITY_PAIR.table, scored.union(manual).select(*IDENTITY_PAIR.field_names))
    wh.drop_table(OUTCOME_TABLE)


def _write_clusters(wh: Any, clustering: Clustering) -> None:
    uids = sorted(clustering.cluster_of)
    source, record = zip(*(u.split(":", 1) for u in uids), strict=True) if uids else ((), ())
    cids = [clustering.cluster_of[u] for u in uids]
    table = pa.table({
        "unique_id": pa.array(uids, pa.string()), "source": pa.array(source, pa.string()),
        "record_id": pa.array(record, pa.string()), "customer_id": pa.array(cids, pa.string()),
        "decided_by": pa.array([clustering.decided_by[c] for c in cids], pa.string()),
    })
    wh.write_table(IDENTITY_CLUSTER.table, table.select(IDENTITY_CLUSTER.field_names))


def _summary(wh: Any, n: int, candidates: int, clustering: Clustering, laps: dict[str, float]) -> IdentityResult:
    counts = dict(wh.query(f"SELECT decision, COUNT(*) FROM {IDENTITY_PAIR.table} GROUP BY decision"))
    sizes: dict[str, int] = {}
    for cid in clustering.cluster_of.values():
        sizes[cid] = sizes.get(cid, 0) + 1
    by: dict[str, int] = {}
    for kind in clustering.decided_by.values():
        by[kind] = by.get(kind, 0) + 1
    return IdentityResult(
        records=n, candidate_pairs=candidates, pairs=int(sum(counts.values())),
        links=int(counts.get("link", 0)), reviews=int(counts.get("review", 0)),
        blocked_by_guard=len(clustering.blocked), clusters=len(sizes),
        multi_record_clusters=sum(1 for v in sizes.values() if v > 1), decided_by=dict(sorted(by.items())),
        seconds=laps)
