"""The probabilistic model (Splink, Fellegi-Sunter): comparisons, blocking, training and scoring.

Training is unsupervised and deterministic: u by random sampling with a fixed seed, m by
expectation maximisation over two blocking passes that between them estimate every comparison.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.internals.exceptions import SplinkException

from shouhu.identity.features import ID_TYPO_KEYS

logger = logging.getLogger(__name__)

SEED = 42
# EM drives unseen levels to m = 0 (or u = 0), which would make one differing email an infinite
# penalty. Floors keep every weight finite, so evidence always adds up.
M_FLOOR = 0.002
U_FLOOR = 1e-7
EM_MAX_PAIRS = 5e6


def comparisons() -> list[Any]:
    """Name, birth date, gender, ID number, phone, email, city and address, most specific level first."""
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_pinyin"),
            cll.ExactMatchLevel("name_simplified").configure(label_for_charts="exact (simplified)"),
            cll.ExactMatchLevel("name_pinyin", term_frequency_adjustments=True).configure(
                label_for_charts="same pinyin"),
            cll.JaroWinklerLevel("name_pinyin", 0.92).configure(label_for_charts="pinyin jaro-winkler >= 0.92"),
            cll.And(cll.ExactMatchLevel("surname_pinyin"), cll.JaroWinklerLevel("given_pinyin", 0.8)).configure(
                label_for_charts="same surname, given name jaro-winkler >= 0.8"),
            cll.ElseLevel(),
        ],
    )
    birth = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date").configure(label_for_charts="exact"),
            cll.DamerauLevenshteinLevel("birth_date", 1).configure(label_for_charts="one digit apart"),
            cll.ElseLevel(),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("address"),
            cll.ExactMatchLevel("address").configure(label_for_charts="exact"),
            cll.JaroWinklerLevel("address", 0.9).configure(label_for_charts="jaro-winkler >= 0.9"),
            cll.ElseLevel(),
        ],
    )
    id_number = cl.CustomComparison(
        output_column_name="id_number",
        comparison_levels=[
            cll.NullLevel("id_number"),
            cll.ExactMatchLevel("id_number").configure(label_for_charts="exact"),
            # One mistyped digit: as likely a clerk's slip as another person (the check character tells).
            # Equal on one of the typo keys is that, found by equality (edit distance on every sampled
            # pair tripled the training time).
            cll.Or(*(cll.ExactMatchLevel(key) for key in ID_TYPO_KEYS)).configure(
                label_for_charts="one stretch apart (a typo)"),
            cll.ElseLevel(),
        ],
    )
    return [
        name, birth,
        cl.ExactMatch("gender"),
        id_number,
        cl.ExactMatch("other_id"),
        cl.ExactMatch("phone"),
        cl.ExactMatch("email"),
        cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        address,
    ]


def prediction_blocking_rules() -> list[Any]:
    """Candidate pairs: every pair sharing one of these keys is scored (each a small block on 2 cores)."""
    return [
        block_on("id_number"),
        # Each key leaves out a different stretch of the ID, so one mistyped digit always spares one of them
        # (see features.ID_TYPO_KEYS); each also keeps the birth date or region, so blocks stay small.
        *(block_on(key) for key in ID_TYPO_KEYS),
        block_on("other_id"),
        block_on("phone"),
        block_on("email"),
        block_on("birth_date", "surname_pinyin"),
        block_on("name_pinyin", "city"),
    ]


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=prediction_blocking_rules(),
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        max_iterations=20,
    )


@dataclass
class TrainedModel:
    linker: Any
    model: dict[str, Any]  # Splink's model JSON: comparisons, levels, m and u
    levels: dict[str, dict[int, str]] = field(default_factory=dict)  # comparison -> gamma -> label
    skipped_steps: list[str] = field(default_factory=list)  # training steps the data could not support


def level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Comparison name -> {comparison vector value: level label}, numbered as Splink numbers them."""
    out: dict[str, dict[int, str]] = {}
    for comp in model["comparisons"]:
        levels = comp["comparison_levels"]
        counter = sum(1 for lv in levels if not lv.get("is_null_level")) - 1
        labels: dict[int, str] = {}
        for lv in levels:
            if lv.get("is_null_level"):
                labels[-1] = "null"
            else:
                labels[counter] = str(lv.get("label_for_charts") or counter)
                counter -= 1
        out[comp["output_column_name"]] = labels
    return out


def train(db_api: Any, features_table: str, records: int, *, seed: int = SEED) -> TrainedModel:
    """Fit the model on ``features_table`` (already in the database behind ``db_api``)."""
    logging.getLogger("splink").setLevel(logging.ERROR)  # "level not observed" is expected on small books
    df = db_api.register(features_table)
    linker = Linker(df, settings(), log_level=None)
    training = linker.training
    skipped: list[str] = []
    # A small file may give a step nothing to learn from; Splink's defaults then stand for it.
    _attempt(skipped, "prior", lambda: training.estimate_probability_two_random_records_match(
        [block_on("id_number"), block_on("phone", "birth_date")], recall=0.7))
    if not _usable_prior(linker):  # a file without IDs or phones: estimate from name and birth date instead
        _attempt(skipped, "prior:name_birth_date", lambda: training.estimate_probability_two_random_records_match(
            [block_on("other_id"), block_on("name_pinyin", "birth_date")], recall=0.7))
    max_pairs = min(2e7, max(2e6, records * 10.0))
    # When every pair fits in the sample there is nothing to sample: count them in one pass. Same u,
    # and on Spark one job per comparison instead of eleven (each costs a fixed ~0.4 s there).
    chunks = 1 if records * (records - 1) / 2 <= max_pairs else 10
    _attempt(skipped, "u", lambda: training.estimate_u_using_random_sampling(
        max_pairs=max_pairs, seed=seed, num_chunks=chunks))
    # Two EM passes: each estimates m for the comparisons its blocking key does not touch.
    for label, rule in (("em:name_pinyin+city", block_on("name_pinyin", "city")),
                        ("em:birth_date", block_on("birth_date"))):
        _attempt(skipped, label, partial(training.estimate_parameters_using_expectation_maximisation,
                                         rule, estimate_without_term_frequencies=True, max_pairs=EM_MAX_PAIRS))
    if "em:name_pinyin+city" in skipped:  # no city column: the birth date's m is learnt on same name instead
        _attempt(skipped, "em:name_pinyin", partial(
            training.estimate_parameters_using_expectation_maximisation, block_on("name_pinyin"),
            estimate_without_term_frequencies=True, max_pairs=EM_MAX_PAIRS))
    model = clamp_prior(floor_parameters(linker.misc.save_model_to_json()), records)
    final = Linker(db_api.register(features_table), model, log_level=None)
    return TrainedModel(final, model, level_labels(model), skipped)


def _prior(linker: Any) -> float:
    return float(linker.misc.save_model_to_json()["probability_two_random_records_match"])


def _usable_prior(linker: Any) -> bool:
    return 0.0 < _prior(linker) < 1.0


def clamp_prior(model: dict[str, Any], records: int) -> dict[str, Any]:
    """The model with its prior inside [1 / pairs, 0.5]: zero (no pair met any rule) has no match weight.

    The floor assumes at least one true pair among all the file's pairs.
    """
    pairs = max(records * (records - 1) / 2, 1.0)
    p = float(model.get("probability_two_random_records_match") or 0.0)
    model["probability_two_random_records_match"] = min(max(p, 1.0 / pairs), 0.5)
    return model


def _attempt(skipped: list[str], label: str, step: Callable[[], Any]) -> None:
    try:
        step()
    except (SplinkException, ValueError, ZeroDivisionError) as e:
        logger.info("identity model: training step %s skipped: %s", label, e)
        skipped.append(label)


def floor_parameters(model: dict[str, Any]) -> dict[str, Any]:
    """The model with every m and u raised to a small floor (see :data:`M_FLOOR`)."""
    for comp in model["comparisons"]:
        for lv in comp["comparison_levels"]:
            if lv.get("is_null_level"):
                continue
            lv["m_probability"] = max(float(lv.get("m_probability") or 0.0), M_FLOOR)
            lv["u_probability"] = max(float(lv.get("u_probability") or 0.0), U_FLOOR)
    return model


def predict(trained: TrainedModel) -> str:
    """Score every candidate pair; returns the physical name of Splink's predictions table."""
    result = trained.linker.inference.predict()
    return str(result.physical_name)


def drop_splink_tables(trained: TrainedModel) -> None:
    trained.linker.table_management.delete_tables_created_by_splink_from_db()
