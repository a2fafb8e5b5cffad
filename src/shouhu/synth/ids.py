"""Resident ID numbers (GB 11643-1999) and mobile numbers, generated a million at a time.

An 18-digit number is region(6) + birth date YYYYMMDD + sequence(3, odd = male) + check char
(ISO 7064 MOD 11-2). The old 15-digit form is region(6) + YYMMDD + sequence(3) and converts to the
18-digit one by inserting "19" and appending the check char, so both forms of one person agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from shouhu.reference.regions import regions
from shouhu.synth.text import cat, num, pick

IntArray = npt.NDArray[np.int64]
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = "10X98765432"
# Mobile number prefixes in use (China Mobile, Unicom, Telecom, Broadnet) with rough weights.
MOBILE_PREFIXES: tuple[tuple[str, float], ...] = (
    ("130", 3),
    ("131", 3),
    ("132", 3),
    ("133", 3),
    ("134", 3),
    ("135", 5),
    ("136", 5),
    ("137", 5),
    ("138", 6),
    ("139", 6),
    ("147", 1),
    ("150", 4),
    ("151", 4),
    ("152", 3),
    ("153", 2),
    ("155", 2),
    ("156", 2),
    ("157", 2),
    ("158", 4),
    ("159", 4),
    ("166", 1),
    ("173", 1),
    ("176", 1),
    ("177", 1),
    ("178", 1),
    ("180", 2),
    ("181", 2),
    ("182", 3),
    ("183", 2),
    ("185", 2),
    ("186", 3),
    ("187", 3),
    ("188", 3),
    ("189", 3),
    ("191", 1),
    ("193", 1),
    ("195", 1),
    ("198", 1),
    ("199", 1),
)


def check_chars(body17: IntArray) -> IntArray:
    """Index into :data:`CHECK_CHARS` of the check char for 17-digit bodies given as int64."""
    total = np.zeros(len(body17), dtype=np.int64)
    rest = body17.copy()
    for w in WEIGHTS[::-1]:
        total += (rest % 10) * w
        rest //= 10
    return np.asarray(total % 11, dtype=np.int64)


def _ymd(birth: IntArray) -> IntArray:
    d = birth.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]")
    month = (m - d.astype("datetime64[Y]").astype("datetime64[M]")).astype(np.int64) + 1
    day = (d - m.astype("datetime64[D]")).astype(np.int64) + 1
    return np.asarray(y * 10_000 + month * 100 + day, dtype=np.int64)


def resident_ids(region_code: IntArray, birth: IntArray, seq: IntArray) -> tuple[Any, Any]:
    """18-digit numbers, and 15-digit forms (null for births from 2000, which never had one)."""
    ymd = _ymd(birth)
    body = region_code * 10**11 + ymd * 1000 + seq
    id18 = cat(num(body, 17), pick(list(CHECK_CHARS), check_chars(body)))
    import pyarrow as pa
    import pyarrow.compute as pc

    body15 = region_code * 10**9 + (ymd % 1_000_000) * 1000 + seq
    id15 = pc.if_else(pa.array(ymd < 20_000_000), num(body15, 15), pa.scalar(None, pa.string()))
    return id18, id15


def id_districts(rng: np.random.Generator, city: IntArray, birth_year: IntArray) -> IntArray:
    """A region row per person whose code was in use in the birth year (python-stdnum checks it).

    Mostly a district of the home city; 20% were born elsewhere (migration). When no code of the
    city existed in the birth year, a never-renamed code of the same province, else anywhere.
    """
    reg = regions()
    n = len(city)
    counts = np.bincount(reg.district_city, minlength=len(reg.cities))
    starts = np.searchsorted(reg.district_city, np.arange(len(reg.cities)))
    home = np.where(rng.random(n) < 0.8, city, rng.choice(len(reg.cities), size=n, p=reg.city_weight))
    out = starts[home] + rng.integers(0, 1 << 30, n) % counts[home]
    for _ in range(8):
        bad = ~reg.valid_in(out, birth_year)
        if not bad.any():
            return out
        out[bad] = starts[home[bad]] + rng.integers(0, 1 << 30, int(bad.sum())) % counts[home[bad]]
    bad = ~reg.valid_in(out, birth_year)
    pool = reg.always_valid
    province = reg.district_code // 10_000
    for i in np.flatnonzero(bad):
        same = pool[province[pool] == reg.district_code[out[i]] // 10_000]
        choices = same if len(same) else pool
        out[i] = choices[rng.integers(0, len(choices))]
    return out


def unique_sequences(rng: np.random.Generator, region_code: IntArray, birth: IntArray, sex: IntArray) -> IntArray:
    """3-digit sequence numbers (odd for men) such that no two people share an ID number."""
    n = len(sex)
    seq = 2 * rng.integers(0, 500, n) + (sex == 0)
    key = (region_code * 100_000 + birth) * 1000
    for _ in range(20):
        order = np.argsort(key + seq, kind="stable")
        k = (key + seq)[order]
        dup = np.zeros(n, dtype=bool)
        dup[order[1:][k[1:] == k[:-1]]] = True
        if not dup.any():
            return np.asarray(seq, dtype=np.int64)
        seq[dup] = 2 * rng.integers(0, 500, int(dup.sum())) + (sex[dup] == 0)
    raise RuntimeError("could not draw unique ID sequence numbers")


def mobiles(rng: np.random.Generator, n: int) -> Any:
    """Valid 11-digit mobile numbers (1[3-9]x prefix + 8 digits)."""
    w = np.array([p[1] for p in MOBILE_PREFIXES], dtype=float)
    prefix = rng.choice(len(MOBILE_PREFIXES), size=n, p=w / w.sum())
    return cat(pick([p[0] for p in MOBILE_PREFIXES], prefix), num(rng.integers(0, 10**8, n), 8))
