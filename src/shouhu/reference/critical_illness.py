"""Critical-illness incidence by age and sex, for pricing critical illness (重疾险).

The industry table is the China Life Insurance Industry Critical Illness Experience Incidence Table
(2020) / 《中国人身保险业重大疾病经验发生率表（2020）》, published by the China Association of
Actuaries with the regulator in 2020: CI1 (male) and CI2 (female) for the 28 defined diseases of the
2020 CI definitions standard, CI3/CI4 for 6 diseases. The table itself is NOT in
../shared/reference or this package. What follows is a documented approximation of the shape of
CI1/CI2 (28 diseases), built for the synthetic insurer:

* anchor incidence rates per 1,000 at ages 0, 5, ..., 90 (:data:`ANCHORS`), interpolated
  log-linearly between anchors and held flat from 90 to 105;
* the shape follows what the published table shows: a childhood level, a minimum around age 10,
  a steep (roughly exponential) rise from the twenties; women above men from the twenties to the
  late forties (breast and thyroid cancers), men above women from about 50 on.

The anchor values are this project's approximation, not the published rates: replace them with the
table itself (a CSV beside ``cl_2010_2013.csv``) before any real pricing.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

from shouhu.reference.mortality import MAX_AGE, Sex

AGES = tuple(range(0, 95, 5))
# incidence per 1,000 a year at AGES (approximation of the CI1/CI2 28-disease shape, see docstring)
ANCHORS: dict[Sex, tuple[float, ...]] = {
    "M": (0.60, 0.30, 0.25, 0.30, 0.45, 0.70, 1.10, 1.70, 2.70, 4.20, 6.50, 9.50, 13.5, 18.5, 25.0, 33.0, 42.0,
          52.0, 60.0),
    "F": (0.50, 0.25, 0.22, 0.30, 0.55, 0.90, 1.50, 2.30, 3.30, 4.40, 5.50, 6.80, 8.50, 11.0, 15.0, 20.0, 27.0,
          35.0, 42.0),
}


@cache
def _vector(sex: Sex) -> npt.NDArray[np.float64]:
    if sex not in ANCHORS:
        raise ValueError(f"sex must be M or F, got {sex!r}")
    ages = np.arange(MAX_AGE + 1)
    logs = np.interp(ages, AGES, np.log(np.array(ANCHORS[sex]) / 1000.0))
    out = np.exp(logs)
    out.flags.writeable = False
    return out


def incidence_vector(sex: Sex) -> npt.NDArray[np.float64]:
    """One-year critical-illness incidence at ages 0..105 (index = age); read-only."""
    return _vector(sex)


def incidence(age: int, sex: Sex) -> float:
    if age < 0:
        raise ValueError(f"age must be >= 0, got {age}")
    return float(_vector(sex)[min(age, MAX_AGE)])
