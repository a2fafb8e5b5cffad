"""generate_book: draw the population, the channels' records, the policies and their histories,
then write every source's extracts, the manifest, the ground truth and the list of bad rows.

Each stage draws from its own child of one SeedSequence, so a change in one stage's draws does
not reshuffle the others, and the same config always gives the same bytes.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from shouhu.reference.products import SHELF, indicative_rate
from shouhu.reference.regions import regions
from shouhu.synth import activity, lifecycle, marketing
from shouhu.synth.config import CHANNELS, SOURCES, BookSummary, ExtractInfo, SynthConfig
from shouhu.synth.layouts import ALL, Layout
from shouhu.synth.people import RELATION, People, day_number, generate_people
from shouhu.synth.policies import CODES, FREQUENCIES, Policies, draw_policies
from shouhu.synth.records import ChannelRecords, build_records, legacy_probability, membership
from shouhu.synth.render import Defect, canonical_table, inject_defects, render
from shouhu.synth.staff import StaffTable, agent_force, bank_sellers
from shouhu.synth.text import cat, num
from shouhu.synth.writers import write_extract

IntArray = npt.NDArray[np.int64]
SOURCE_OF = dict(zip(CHANNELS, SOURCES, strict=True))


def generate_book(out_dir: Path, config: SynthConfig = SynthConfig()) -> BookSummary:  # noqa: B008
    """Write a complete synthetic book of business under ``out_dir`` and summarise it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = iter(np.random.SeedSequence(config.seed).spawn(16))

    def rng() -> np.random.Generator:
        return np.random.default_rng(next(seeds))

    clock: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    end, start = day_number(config.as_of), day_number(config.as_of) - config.years * 365
    people = generate_people(rng(), config.customers, config.as_of, config.years)
    clock.append(("people", time.perf_counter() - t0))
    member, primary_h, wear = _membership(rng(), people, config, end)
    legacy = legacy_probability(people, member, config.legacy_id_share)
    r = rng()
    records = {
        ch: build_records(r, people, member, ch, primary_h, config, legacy if i < 3 else 0.0)
        for i, ch in enumerate(CHANNELS)
    }
    staff = _assign_staff(rng(), people, records, config)
    # marketing has its own seed child (the 17th), so the 16 stages above and below draw as before
    mrng = np.random.default_rng(np.random.SeedSequence(config.seed).spawn(17)[16])
    spend = activity.marketing_spend(mrng, end, config.marketing_weeks, config.customers / 100_000)
    first_monday, by_week = marketing.weekly_spend(spend, config.marketing_weeks)

    def timing(ch: str, issue: IntArray, lb: IntArray, ub: IntArray) -> IntArray:
        return marketing.retime(mrng, ch, issue, lb, ub, first_monday, by_week)

    policies = draw_policies(rng(), people, records, start, end, timing if config.planted_returns else None)
    _qualify_sellers(staff, records, policies)
    _created_dates(rng(), people, records, policies, start, end)
    life = lifecycle.simulate(rng(), people, policies, config, end)
    clock.append(("simulate", time.perf_counter() - t0))
    tables = _tables(rng(), people, records, staff, policies, life, config, wear, end, spend)
    clock.append(("tables", time.perf_counter() - t0))
    summary = _write_all(rng(), out_dir, tables, records, people, config)
    clock.append(("write", time.perf_counter() - t0))
    return BookSummary(
        str(out_dir),
        len(people),
        int(people.household[-1]) + 1,
        sum(map(len, records.values())),
        len(policies),
        summary,
        tuple(clock),
    )


def _membership(
    rng: np.random.Generator, people: People, cfg: SynthConfig, end: int
) -> tuple[npt.NDArray[np.bool_], IntArray, IntArray]:
    """Channel presence and primary channels, with wearable users (adults 18-70) forced into the app."""
    member, primary_h = membership(rng, people, cfg, end)
    age = (end - people.birth) // 365
    candidates = np.flatnonzero((age >= 18) & (age <= 70) & (people.death > end))
    k = min(len(candidates), round(cfg.wearable_share * len(people)))
    wear = np.sort(rng.choice(candidates, size=k, replace=False))
    member[wear, CHANNELS.index("direct")] = True
    return member, primary_h, wear


# lowest seller qualification index (Q1, Q2, Q3) allowed to sell each product risk grade P1..P5,
# as advice/suitability.py checks it (Q1 -> P2, Q2 -> P3, Q3 -> P5)
_GRADE_NEEDS = {"P1": 0, "P2": 0, "P3": 1, "P4": 2, "P5": 2}


def _qualify_sellers(staff: dict[str, StaffTable], records: dict[str, ChannelRecords], pol: Policies) -> None:
    """Raise each seller's qualification grade to what they sold (issue 12 item 11): only Q2 and up sell
    P3 (participating, universal), only Q3 sells investment-linked (P4/P5)."""
    needs = np.array([_GRADE_NEEDS[p.risk_grade.value] for p in SHELF])
    for ch, table in staff.items():
        sold = pol.channel == CHANNELS.index(ch)
        ids = np.asarray(records[ch].fields["agent_id"].to_numpy(zero_copy_only=False))[pol.holder_rec[sold]]
        row_of = {sid: i for i, sid in enumerate(table.fields["staff_id"].to_pylist())}
        grade = np.array([int(g[1]) - 1 for g in table.fields["qualification_grade"].to_pylist()])
        rows = np.array([row_of.get(sid, -1) for sid in ids], dtype=np.int64)
        known = rows >= 0
        np.maximum.at(grade, rows[known], needs[pol.product[sold]][known])
        table.fields["qualification_grade"] = pa.array([f"Q{g + 1}" for g in grade], pa.string())


def _assign_staff(
    rng: np.random.Generator, people: People, records: dict[str, ChannelRecords], cfg: SynthConfig
) -> dict[str, StaffTable]:
    """Agents serve a household as a whole; bank sellers and broker producers serve individuals."""
    n_cities = len(regions().cities)
    out = {}
    for ch, build in (("agent", agent_force), ("bancassurance", bank_sellers)):
        recs = records[ch]
        per_city = np.bincount(people.city[recs.person], minlength=n_cities)
        table = build(rng, per_city, cfg.as_of)
        hh_pick = table.assign(rng, people.city[people.hh_start[recs.person]])
        if ch == "agent":  # one agent per household: the one drawn for its first record
            hh = people.household[recs.person]
            _, first, inverse = np.unique(hh, return_index=True, return_inverse=True)
            hh_pick = hh_pick[first][inverse]
        recs.fields["agent_id"] = table.fields["staff_id"].take(pa.array(hh_pick))
        out[ch] = table
    brk = records["broker"]
    producers = max(1, len(brk) // 80)
    recs_ids = rng.integers(0, producers, len(brk))
    brk.fields["agent_id"] = cat("P", num(recs_ids * 3 + 10_007, 5))
    return out


def _created_dates(
    rng: np.random.Generator, people: People, records: dict[str, ChannelRecords], pol: Policies, start: int, end: int
) -> None:
    """Record creation: before the first policy it appears on, never before birth or after as_of."""
    for c, ch in enumerate(CHANNELS):
        recs = records[ch]
        k = len(recs)
        created = start - 365 + (rng.random(k) * (end - start + 364)).astype(np.int64)
        sel = pol.channel == c
        for col in (pol.holder_rec[sel], pol.insured_rec[sel]):
            first = np.full(k, np.iinfo(np.int64).max // 4)
            np.minimum.at(first, col, pol.issue[sel])
            created = np.minimum(created, first - rng.integers(0, 30, k))
        recs.created = np.clip(np.maximum(created, people.birth[recs.person]), None, end - 1)


def _secs(rng: np.random.Generator, days: IntArray) -> IntArray:
    return days * 86_400 + rng.integers(9 * 3600, 18 * 3600, len(days))


def _tables(
    rng: np.random.Generator,
    people: People,
    records: dict[str, ChannelRecords],
    staff: dict[str, StaffTable],
    pol: Policies,
    life: lifecycle.Lifecycle,
    cfg: SynthConfig,
    wear: IntArray,
    end: int,
    spend: dict[str, Any],
) -> dict[str, pa.Table]:
    """Canonical table of every extract, keyed by layout path."""
    from shouhu.synth import tables as tb

    out: dict[str, pa.Table] = {}
    out["core/products.csv"] = canonical_table("product", tb.products(SHELF, indicative_rate))
    out["agent_crm/staff.csv"] = canonical_table("staff", staff["agent"].fields)
    out["bancassurance/sellers.csv"] = canonical_table(
        "staff", {k: v for k, v in staff["bancassurance"].fields.items() if k != "role"}
    )
    for ch, recs in records.items():
        fields = dict(recs.fields, record_id=recs.record_id, created_at=_secs(rng, recs.created))
        lay = next(x for x in ALL if x.source == SOURCE_OF[ch] and x.entity == "party")
        out[lay.path] = canonical_table("party", {c.field: fields[c.field] for c in lay.columns})
    out["agent_crm/family.csv"] = canonical_table("relationship", tb.family(people, records["agent"], RELATION))
    for c, ch in enumerate(CHANNELS[:4]):
        lay = next(x for x in ALL if x.source == SOURCE_OF[ch] and x.entity == "policy")
        data = tb.policies(pol, life, records, c, CODES, FREQUENCIES)
        out[lay.path] = canonical_table("policy", {col.field: data[col.field] for col in lay.columns})
    out.update(tb.core(rng, people, pol, life, records))
    out.update(tb.engagement(rng, records, wear, cfg, end, spend))
    return out


def _write_all(
    rng: np.random.Generator,
    out_dir: Path,
    tables: dict[str, pa.Table],
    records: dict[str, ChannelRecords],
    people: People,
    cfg: SynthConfig,
) -> tuple[ExtractInfo, ...]:
    infos, bad_rows, truth = [], [], []
    for lay in ALL:
        table = tables[lay.path]
        if lay.sort:
            table = table.sort_by([(s, "ascending") for s in lay.sort])
        cols = render(lay, table)
        defects = inject_defects(rng, lay, cols, cfg.bad_row_share, cfg.as_of)
        write_extract(lay, cols, out_dir / lay.path)
        offset = 1 if lay.format in ("jsonl", "parquet") else 2
        bad_rows += [(lay.path, d.row + offset, d.field, d.kind) for d in defects]
        infos.append(
            ExtractInfo(
                lay.path,
                lay.source,
                lay.entity,
                lay.format,
                lay.encoding if lay.format == "csv" else None,
                table.num_rows,
                len(defects),
            )
        )
        if lay.entity == "party":
            truth.append(_truth(lay, table, records, people, defects))
    _write_meta(out_dir, infos, bad_rows, truth, cfg)
    return tuple(infos)


def _truth(
    lay: Layout, table: pa.Table, records: dict[str, ChannelRecords], people: People, defects: list[Defect]
) -> pa.Table:
    ch = CHANNELS[SOURCES.index(lay.source)]
    recs = records[ch]
    pos = pc.index_in(table.column("record_id"), value_set=recs.record_id).to_numpy(zero_copy_only=False)
    person = recs.person[pos]
    bad = np.zeros(table.num_rows, dtype=bool)
    bad[[d.row for d in defects]] = True
    return pa.table(
        {
            "source": pa.array([lay.source] * table.num_rows, pa.string()),
            "record_id": table.column("record_id"),
            "person_id": cat("P", num(person, 8)),
            "household_id": cat("H", num(people.household[person], 8)),
            "is_bad": pa.array(bad),
        }
    )


def _write_meta(
    out_dir: Path,
    infos: list[ExtractInfo],
    bad_rows: list[tuple[str, int, str, str]],
    truth: list[pa.Table],
    cfg: SynthConfig,
) -> None:
    gt = pa.concat_tables(truth).sort_by([("source", "ascending"), ("record_id", "ascending")])
    pq.write_table(gt, out_dir / "ground_truth.parquet", compression="zstd")
    spec = (("path", pa.string()), ("row_number", pa.int64()), ("field", pa.string()), ("kind", pa.string()))
    bad = pa.table({k: pa.array([b[i] for b in bad_rows], t) for i, (k, t) in enumerate(spec)})
    pcsv.write_csv(bad, out_dir / "bad_rows.csv", pcsv.WriteOptions(quoting_style="needed"))
    manifest: dict[str, Any] = {
        "format": "shouhu-book/1",
        "seed": cfg.seed,
        "customers": cfg.customers,
        "as_of": cfg.as_of.isoformat(),
        "extracts": [{k: v for k, v in asdict(i).items()} for i in infos],
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
