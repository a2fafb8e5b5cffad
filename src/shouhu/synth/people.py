"""The true population: households, people and their attributes, before any channel sees them.

Everything is an array indexed by person (people of one household are contiguous). Channel
records later copy from here and add the variations that make the same person look different.
Dates are int day numbers since 1970-01-01 so that arithmetic stays in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shouhu.reference import names, occupations
from shouhu.reference.mortality import MAX_AGE, qx_matrix
from shouhu.reference.regions import TIER_INCOME, regions
from shouhu.synth import ids
from shouhu.synth.text import cat, num, pick, random_digits, random_letters

IntArray = npt.NDArray[np.int64]
HEAD, SPOUSE, CHILD, PARENT = 0, 1, 2, 3
MARITAL = ("single", "married", "divorced", "widowed")
# Household templates: member roles, sampling weight, head age range.
TEMPLATES: tuple[tuple[tuple[int, ...], float, tuple[int, int]], ...] = (
    ((HEAD,), 0.18, (22, 80)),
    ((HEAD, SPOUSE), 0.20, (25, 78)),
    ((HEAD, SPOUSE, CHILD), 0.27, (27, 55)),
    ((HEAD, SPOUSE, CHILD, CHILD), 0.15, (30, 55)),
    ((HEAD, SPOUSE, CHILD, PARENT), 0.10, (30, 52)),
    ((HEAD, CHILD), 0.05, (28, 55)),
    ((HEAD, SPOUSE, PARENT), 0.05, (28, 50)),
)
# relation of member b to member a, by roles [a][b] (a child's child-sibling is a sibling, etc.)
RELATION = (
    ("self", "spouse", "child", "parent"),
    ("spouse", "self", "child", "other"),
    ("parent", "parent", "sibling", "other"),
    ("child", "other", "other", "self"),
)
EPOCH = np.datetime64("1970-01-01", "D")


def day_number(d: date) -> int:
    return int((np.datetime64(d, "D") - EPOCH).astype(np.int64))


def years_between(start: IntArray, end: IntArray) -> IntArray:
    """Completed years (周岁) from day ``start`` to day ``end``: how insurers state age."""
    ys, ms, ds = split_date(start)
    ye, me, de = split_date(end)
    return ye - ys - ((me * 100 + de) < (ms * 100 + ds)).astype(np.int64)


def split_date(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month, day of day numbers, vectorised."""
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    return (
        y.astype(np.int64) + 1970,
        (m - y.astype("datetime64[M]")).astype(np.int64) + 1,
        (d - m.astype("datetime64[D]")).astype(np.int64) + 1,
    )


@dataclass
class People:
    household: IntArray
    hh_start: IntArray  # per person: index of the household's first member
    hh_size: IntArray
    role: IntArray
    sex: IntArray  # 0 = M, 1 = F
    birth: IntArray
    death: IntArray  # day number; NEVER when alive at as_of
    city: IntArray
    district: IntArray  # region row of the ID number's region code
    id18: Any
    id15: Any  # null for people born 2000 or later (no 15-digit number possible)
    name: Any
    name_traditional: Any
    name_typo: Any
    phone: Any
    old_phone: Any  # null when the person never changed numbers
    email: Any
    address: Any
    occupation: IntArray
    income: npt.NDArray[np.float64]
    marital: IntArray

    def __len__(self) -> int:
        return len(self.household)


NEVER = np.iinfo(np.int64).max // 4


def _households(rng: np.random.Generator, n: int) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Household id, template, position within household and role for exactly ``n`` people."""
    weights = np.array([t[1] for t in TEMPLATES])
    sizes = np.array([len(t[0]) for t in TEMPLATES])
    tmpl = rng.choice(len(TEMPLATES), size=n // 2 + 2, p=weights / weights.sum())
    ends = np.cumsum(sizes[tmpl])
    k = int(np.searchsorted(ends, n)) + 1
    tmpl = tmpl[:k]
    household = np.repeat(np.arange(k), sizes[tmpl])[:n]
    start = np.concatenate([[0], np.cumsum(sizes[tmpl])[:-1]])
    pos = np.arange(n) - start[household]
    roles = np.full((len(TEMPLATES), 4), -1)
    for i, (r, _, _) in enumerate(TEMPLATES):
        roles[i, : len(r)] = r
    return household, tmpl[household], pos, roles[tmpl[household], pos]


def _ages(
    rng: np.random.Generator, household: IntArray, tmpl: IntArray, role: IntArray, head_male: npt.NDArray[np.bool_]
) -> IntArray:
    """Ages that make families plausible: spouses close, children 23-36 years younger."""
    lo = np.array([t[2][0] for t in TEMPLATES])[tmpl]
    hi = np.array([t[2][1] for t in TEMPLATES])[tmpl]
    head_age_h = np.zeros(household.max() + 1, dtype=np.int64)
    first = np.flatnonzero(role == HEAD)
    head_age_h[household[first]] = rng.triangular(
        lo[first], lo[first] + (hi[first] - lo[first]) * 0.35, hi[first] + 1
    ).astype(np.int64)
    head_age = head_age_h[household]
    shift = np.where(head_male[household], -2.0, 2.0)
    spouse = np.clip(np.round(head_age + rng.normal(shift, 3.0)), 20, 95)
    gap = rng.uniform(23, np.minimum(37, head_age + 1))
    child = np.maximum(0, head_age - gap).astype(np.int64)
    parent = np.minimum(98, head_age + rng.integers(24, 35, len(role)))
    ages = np.select([role == HEAD, role == SPOUSE, role == CHILD], [head_age, spouse, child], parent)
    return np.asarray(ages, dtype=np.int64)


def _deaths(rng: np.random.Generator, birth: IntArray, sex: IntArray, start: int, end: int) -> IntArray:
    """Death day within [start, end] driven by CL1/CL2 qx (x0.85: insured lives are selected)."""
    q = qx_matrix("nonpension1") * 0.85
    death = np.full(len(birth), NEVER, dtype=np.int64)
    t = start
    while t < end:
        alive = (death == NEVER) & (birth < t)
        age = np.clip((t - birth) // 365, 0, MAX_AGE)
        dies = alive & (rng.random(len(birth)) < q[sex, age])
        death[dies] = t + rng.integers(0, 365, int(dies.sum()))
        t += 365
    death[death > end] = NEVER
    return death


def _occupation(rng: np.random.Generator, age: IntArray) -> IntArray:
    occ = occupations.OCCUPATIONS
    w = np.array([o.weight for o in occ])
    lo = np.array([o.min_age for o in occ])
    hi = np.array([o.max_age for o in occ])
    out = rng.choice(len(occ), size=len(age), p=w / w.sum())
    for _ in range(6):  # redraw where the age does not fit the occupation
        bad = (age < lo[out]) | (age > hi[out])
        out[bad] = rng.choice(len(occ), size=int(bad.sum()), p=w / w.sum())
    out[age >= 60] = np.where(rng.random(int((age >= 60).sum())) < 0.75, occupations.RETIRED, out[age >= 60])
    out[(age >= 6) & (age < 22)] = occupations.STUDENT
    out[age < 6] = occupations.PRESCHOOL
    return out


def _names(rng: np.random.Generator, sex: IntArray) -> tuple[Any, Any, Any]:
    """Simplified, traditional and homophone-typo forms of each person's name.

    30% of given names have one character. The typo form swaps the last given character for a
    same-sound one (伟 -> 玮), the traditional form converts every character (张伟 -> 張偉).
    """
    n = len(sex)
    sur = names.SURNAMES
    sw = np.array([w for _, w in sur])
    s_idx = rng.choice(len(sur), size=n, p=sw / sw.sum())
    surname = pick([s for s, _ in sur], s_idx)
    surname_trad = pick([names.traditional(s) for s, _ in sur], s_idx)
    male = pa.array(sex == 0)
    slots = []
    for _ in range(2):
        i_m = rng.integers(0, len(names.MALE_CHARS), n)
        i_f = rng.integers(0, len(names.FEMALE_CHARS), n)
        forms = []
        for conv in (str, names.traditional, names.homophone):
            m = pick([conv(c) for c in names.MALE_CHARS], i_m)
            f = pick([conv(c) for c in names.FEMALE_CHARS], i_f)
            forms.append(pc.if_else(male, m, f))
        slots.append(forms)
    one = pa.array(rng.random(n) < 0.3)
    second = [pc.if_else(one, "", form) for form in slots[1]]
    simplified = cat(surname, slots[0][0], second[0])
    traditional = cat(surname_trad, slots[0][1], second[1])
    typo = cat(surname, pc.if_else(one, slots[0][2], slots[0][0]), second[2])
    return simplified, traditional, typo


def _email(rng: np.random.Generator, n: int, phone: Any) -> Any:
    domains = ("qq.com", "163.com", "126.com", "139.com", "sina.com", "foxmail.com", "gmail.com", "outlook.com")
    d = rng.choice(len(domains), size=n, p=[0.42, 0.2, 0.08, 0.08, 0.05, 0.07, 0.06, 0.04])
    qq = num(rng.integers(10_000, 3_999_999_999, n))
    letters = cat(random_letters(rng, n, 6, "abcdefghijklmnopqrstuvwxyz"), random_digits(rng, n, 3))
    local = pc.if_else(pa.array(np.isin(d, [0, 5])), qq, letters)
    local = pc.if_else(pa.array(d == 3), phone, local)
    return cat(local, "@", pick(domains, d))


def generate_people(rng: np.random.Generator, n: int, as_of: date, years: int) -> People:
    """Draw ``n`` people in households, with IDs, names, contacts, income and deaths."""
    reg = regions()
    household, tmpl, _, role = _households(rng, n)
    hh_first = np.flatnonzero(np.r_[True, household[1:] != household[:-1]])
    sizes = np.diff(np.r_[hh_first, n])
    hh_start, hh_size = hh_first[household], sizes[household]
    head_male = rng.random(household[-1] + 1) < 0.6
    sex = np.where(role == HEAD, ~head_male[household], rng.random(n) < 0.5).astype(np.int64)
    sex = np.where(role == SPOUSE, head_male[household].astype(np.int64), sex)
    age = _ages(rng, household, tmpl, role, head_male)
    end = day_number(as_of)
    birth = end - age * 365 - rng.integers(1, 364, n) - age // 4
    city_h = rng.choice(len(reg.cities), size=household[-1] + 1, p=reg.city_weight)
    city = city_h[household]
    district = ids.id_districts(rng, city, split_date(birth)[0])
    seq = ids.unique_sequences(rng, reg.district_code[district], birth, sex)
    id18, id15 = ids.resident_ids(reg.district_code[district], birth, seq)
    name, name_trad, name_typo = _names(rng, sex)
    phone, old_phone = ids.mobiles(rng, n), ids.mobiles(rng, n)
    old_phone = pc.if_else(pa.array(rng.random(n) < 0.35), old_phone, pa.scalar(None, pa.string()))
    occupation = _occupation(rng, age)
    tier = np.array([c.tier for c in reg.cities])[city]
    base = np.vectorize(TIER_INCOME.__getitem__, otypes=[float])(tier)
    factor = np.array([o.income_factor for o in occupations.OCCUPATIONS])[occupation]
    income = np.round(base * factor * rng.lognormal(0.0, 0.45, n), -3)
    marital = np.where(role == SPOUSE, 1, np.where(role == CHILD, 0, 1))
    single = (role == HEAD) & (hh_size == 1)
    marital = np.where(single, np.select([age < 32, age > 70], [0, 3], 2), marital)
    marital = np.where((role == HEAD) & (tmpl == 5), rng.choice([2, 3], size=n, p=[0.8, 0.2]), marital)
    marital = np.where((role == HEAD) & np.isin(tmpl, [1, 2, 3, 4, 6]), 1, marital)
    dist_res = (
        reg.district_city.searchsorted(city)
        + rng.integers(0, 1_000_000, n) % np.bincount(reg.district_city, minlength=len(reg.cities))[city]
    )
    city_names = pick([c.name for c in reg.cities], city)
    address = cat(
        city_names,
        pick(reg.district_name, dist_res),
        pick(names.ROADS, rng.integers(0, len(names.ROADS), n)),
        num(rng.integers(1, 999, n)),
        "号",
        pick(names.ESTATES, rng.integers(0, len(names.ESTATES), n)),
        num(rng.integers(1, 30, n)),
        "栋",
        num(rng.integers(1, 6, n)),
        "单元",
        num(rng.integers(1, 33, n)),
        num(rng.integers(1, 5, n), 2),
        "室",
    )
    return People(
        household=household,
        hh_start=hh_start,
        hh_size=hh_size,
        role=role,
        sex=sex,
        birth=birth,
        death=_deaths(rng, birth, sex, end - years * 365, end),
        city=city,
        district=district,
        id18=id18,
        id15=id15,
        name=name,
        name_traditional=name_trad,
        name_typo=name_typo,
        phone=phone,
        old_phone=old_phone,
        email=_email(rng, n, phone),
        address=address,
        occupation=occupation,
        income=income,
        marital=marital.astype(np.int64),
    )
