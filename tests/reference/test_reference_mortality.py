import numpy as np
import pytest

from shouhu.reference.mortality import MAX_AGE, TABLES, qx, qx_matrix, qx_vector


def test_every_table_has_106_ages_ending_in_certain_death():
    for table in TABLES:
        for sex in ("M", "F"):
            q = qx_vector(sex, table)
            assert q.shape == (MAX_AGE + 1,)
            assert q[-1] == 1.0
            assert np.all((q > 0) & (q <= 1))


def test_known_values_from_the_packaged_csv():
    assert qx(0, "M") == pytest.approx(0.000867)
    assert qx(0, "F", "pension") == pytest.approx(0.000453)


def test_women_die_less_than_men_at_working_ages():
    m, f = qx_matrix()
    assert np.all(f[20:80] < m[20:80])


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="tables"):
        qx_vector("M", "nope")
    with pytest.raises(ValueError):
        qx(-1, "M")
