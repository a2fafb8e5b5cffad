import numpy as np
import stdnum.cn.ric as ric

from shouhu.reference.regions import regions
from shouhu.synth.ids import CHECK_CHARS, check_chars


def _id(code: int, year: int) -> str:
    body = int(f"{code}{year}0101123")
    return f"{body}{CHECK_CHARS[int(check_chars(np.array([body]))[0])]}"


def test_every_district_code_is_a_valid_id_region_within_its_years():
    reg = regions()
    for code, start, end in zip(reg.district_code, reg.valid_from, reg.valid_to, strict=True):
        year = max(int(start), 1950) if end == 9999 else int(end)
        assert ric.is_valid(_id(int(code), min(year, 2025))), code


def test_cities_span_all_mainland_provinces():
    reg = regions()
    assert len({c.province for c in reg.cities}) == 31
    assert abs(reg.city_weight.sum() - 1) < 1e-9
    assert set(np.unique(reg.district_city)) == set(range(len(reg.cities)))
