import itertools

import numpy as np
import pytest

from shouhu.errors import InvalidInput
from shouhu.scoring.retention import fit_sbg, parse_counts, simulate_cohort, survival

PAPER = [1000, 869, 743, 653, 593, 551, 517, 491]  # Fader & Hardie (2007), "regular" customers


def test_recovers_the_papers_regular_customers():
    fit = fit_sbg(PAPER)
    assert round(fit.alpha, 2) == pytest.approx(0.67)  # paper: 0.668
    assert round(fit.beta, 2) == pytest.approx(3.81)  # paper: 3.806
    assert fit.log_likelihood == pytest.approx(-1611.16, abs=0.01)


@pytest.mark.parametrize(("alpha", "beta"), [(0.7, 3.8), (1.5, 8.0)])
def test_recovers_known_parameters_from_simulated_cohorts(alpha, beta):
    rng = np.random.default_rng(11)
    counts = simulate_cohort(alpha, beta, 50_000, 10, rng)
    fit = fit_sbg(counts)
    assert fit.alpha == pytest.approx(alpha, rel=0.15)
    assert fit.beta == pytest.approx(beta, rel=0.15)
    assert fit.survival(10)[10] == pytest.approx(counts[10] / counts[0], abs=0.01)


def test_bootstrap_interval_covers_the_estimate_and_projection_extends():
    fit = fit_sbg(PAPER, bootstrap=30, seed=1)
    assert fit.alpha_ci is not None and fit.alpha_ci[0] < fit.alpha < fit.alpha_ci[1]
    rows = fit.table(horizon=12)
    assert len(rows) == 13 and rows[8]["projected"] and rows[8]["actual"] is None
    assert all(a["survival"] >= b["survival"] for a, b in itertools.pairwise(rows))


def test_survival_starts_at_one_and_retention_rises():
    s = survival(0.668, 3.806, 5)
    assert s[0] == 1.0
    r = s[1:] / s[:-1]
    assert np.all(np.diff(r) > 0)


@pytest.mark.parametrize("text", ["1000,900", "1000,x,3", "100,120,90", ""])
def test_bad_counts_are_refused(text):
    with pytest.raises(InvalidInput):
        parse_counts(text)
