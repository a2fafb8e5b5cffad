"""Attribution models on hand-computed paths; Markov against exact hand-solved chains; Shapley."""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np
import pytest

from shouhu.channels.models import REGISTRY, Shapley, get_model, shapley_values, subset_sums
from shouhu.channels.paths import from_rows
from shouhu.errors import InvalidInput, UnknownName

# one long path worth 10, one single-touch path with two conversions worth 40
PATHS = from_rows(["a>b>c>a", "b", "c"], [1, 2, 0], [0, 1, 3], amounts={"value": [10.0, 40.0, 0.0]})


def credit(name: str, paths=PATHS, column: str = "conversions", **kw) -> dict[str, float]:
    got = get_model(name, **kw).attribute(paths)
    return {ch: pytest.approx(v) for ch, v in zip(got.channels, got.credit[column], strict=True)}


@pytest.mark.parametrize(("model", "expected"), [
    ("first_touch", {"a": 1, "b": 2, "c": 0}),
    ("last_touch", {"a": 1, "b": 2, "c": 0}),
    ("linear", {"a": 0.5, "b": 2.25, "c": 0.25}),
    ("position_based", {"a": 0.8, "b": 2.1, "c": 0.1}),
    # half-life of one touch: weights 1/8, 1/4, 1/2, 1 from first to last, normalised by 15/8
    ("time_decay", {"a": (1 / 8 + 1) / (15 / 8), "b": 2 + (1 / 4) / (15 / 8), "c": (1 / 2) / (15 / 8)}),
])
def test_heuristics_on_hand_computed_paths(model: str, expected: dict[str, float]) -> None:
    assert credit(model) == expected


def test_heuristics_credit_value_the_same_way() -> None:
    assert credit("linear", column="value") == {"a": 5.0, "b": 42.5, "c": 2.5}


def test_position_based_two_touches_and_custom_shares() -> None:
    two = from_rows(["a>b"], [1], [0])
    assert credit("position_based", two) == {"a": 0.5, "b": 0.5}
    assert credit("position_based", PATHS, first=0.3, last=0.5) == {"a": 0.8, "b": 2.1, "c": 0.1}


def test_every_model_credits_exactly_the_observed_totals() -> None:
    rng = np.random.default_rng(1)
    paths = from_rows([">".join(rng.choice(list("abcd"), rng.integers(1, 6))) for _ in range(60)],
                      rng.integers(0, 5, 60), rng.integers(0, 9, 60), amounts={"value": rng.uniform(0, 1e4, 60)})
    for name in REGISTRY:
        got = get_model(name).attribute(paths)
        assert got.credit["conversions"].sum() == pytest.approx(paths.conversions.sum()), name
        assert got.credit["value"].sum() == pytest.approx(paths.amounts["value"].sum()), name


def test_markov_matches_a_hand_solved_chain() -> None:
    # start→a ½, start→b ½; a→b ½, a→null ½; b→conversion ⅔, b→null ⅓.
    # P(conv) = ½·½·⅔ + ½·⅔ = ½; without a: ⅓ (RE ⅓); without b: 0 (RE 1). Two conversions split 1:3.
    paths = from_rows(["a>b", "a", "b"], [1, 0, 1], [0, 1, 1])
    got = get_model("markov").attribute(paths)
    assert got.details["conversion_probability"] == pytest.approx(0.5)
    assert got.details["removal_effects"]["conversions"] == {"a": pytest.approx(1 / 3), "b": pytest.approx(1.0)}
    assert credit("markov", paths) == {"a": 0.5, "b": 1.5}


def test_higher_order_markov_remembers_where_the_journey_came_from() -> None:
    # a>c always converts, b>c never. Order 1 pools both through c; order 2 keeps (a,c) and (b,c) apart.
    paths = from_rows(["a>c", "b>c"], [1, 0], [0, 1])
    assert credit("markov", paths) == {"a": 0.25, "b": 0.25, "c": 0.5}
    second = get_model("markov", order=2).attribute(paths)
    assert second.details["removal_effects"]["conversions"] == {"a": 1.0, "b": 0.0, "c": 1.0}
    assert dict(zip(second.channels, second.credit["conversions"], strict=True)) == {"a": 0.5, "b": 0.0, "c": 0.5}


def test_markov_order_three_uses_sliding_windows() -> None:
    from shouhu.channels.markov import state_sequences

    paths = from_rows(["a>b>c>d", "a>b"], [1, 0], [0, 1])
    states, _, offsets = state_sequences(paths, 3)
    names = {tuple(paths.channels[c] for c in s) for s in states}
    assert names == {("a", "b", "c"), ("b", "c", "d"), ("a", "b")}
    assert list(np.diff(offsets)) == [2, 1]


def test_markov_value_uses_value_per_conversion_of_the_last_state() -> None:
    # a converts worth 100 each, b worth 10; removal of a or b removes exactly its own conversions
    paths = from_rows(["a", "b"], [1, 1], [1, 1], amounts={"value": [100.0, 10.0]})
    got = get_model("markov").attribute(paths)
    assert got.credit["value"] == pytest.approx([100.0, 10.0])
    assert got.credit["conversions"] == pytest.approx([1.0, 1.0])


def test_shapley_known_answer_and_equal_split_identity() -> None:
    # {a,b}: 3 conversions, {c}: 2, {a,c}: 1 -> a 1.5 + 0.5, b 1.5, c 2 + 0.5
    paths = from_rows(["a>b>a", "c", "a>c", "b"], [3, 2, 1, 0], [1, 0, 2, 5])
    assert credit("shapley", paths) == {"a": 2.0, "b": 1.5, "c": 2.5}


def test_shapley_formula_against_brute_force_over_permutations() -> None:
    rng = np.random.default_rng(3)
    n = 4
    v = subset_sums(rng.uniform(0, 5, 1 << n), n)
    v[0] = 0.0
    brute = np.zeros(n)
    for perm in itertools.permutations(range(n)):
        mask = 0
        for i in perm:
            brute[i] += v[mask | (1 << i)] - v[mask]
            mask |= 1 << i
    assert shapley_values(v, n) == pytest.approx(brute / factorial(n))


def test_shapley_on_conversion_rates() -> None:
    # v(a) = ½, v(b) = 0, v(ab) = 3/6 = ½ -> φa = ½, φb = 0; scaled to the 3 conversions
    paths = from_rows(["a", "b", "a>b"], [1, 0, 2], [1, 2, 0])
    assert credit("shapley", paths, characteristic="rate") == {"a": 3.0, "b": 0.0}


def test_unknown_model_and_bad_parameters_are_clear() -> None:
    with pytest.raises(UnknownName, match="valid choices: first_touch"):
        get_model("last_click")
    with pytest.raises(InvalidInput):
        get_model("markov", order=0)
    with pytest.raises(InvalidInput):
        get_model("linear", order=2)
    with pytest.raises(UnknownName):
        Shapley("clicks")


def test_paths_validate_and_merge_duplicates() -> None:
    paths = from_rows(["a>b", "a > b", "", "b"], [1, 2, 5, 0], [0, 0, 0, 1])
    assert paths.path_strings() == ["a>b", "b"]
    assert list(paths.conversions) == [3.0, 0.0]
    assert paths.unattributed == {"conversions": 5.0}
    with pytest.raises(InvalidInput):
        from_rows(["a"], [-1], [0])
