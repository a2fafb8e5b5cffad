from __future__ import annotations

from pathlib import Path

import pytest

from shouhu.errors import UnknownName
from shouhu.model import ENTITIES, entity, vocab
from shouhu.model.docs import render_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_docs_data_model_is_generated_from_the_code() -> None:
    # Regenerate with `make docs` when this fails.
    assert (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8") == render_markdown()


def test_every_entity_has_a_key_of_its_own_fields_and_zh_en_labels() -> None:
    for ent in ENTITIES.values():
        assert set(ent.key) <= set(ent.field_names), ent.name
        assert ent.zh and ent.en
        for f in ent.fields:
            assert f.zh and f.en, f"{ent.name}.{f.name}"
        assert len(set(ent.field_names)) == len(ent.field_names)


def test_the_issue_s_entities_are_all_there() -> None:
    wanted = {"party", "relationship", "product", "policy", "policy_coverage", "policy_beneficiary",
              "policy_status_event", "premium_payment", "claim", "staff", "touchpoint", "wearable_daily",
              "consent", "marketing_spend"}
    assert wanted <= set(ENTITIES)


def test_unknown_entity_lists_choices() -> None:
    with pytest.raises(UnknownName, match="party"):
        entity("parti")


def test_enums_carry_labels() -> None:
    assert vocab.Channel.BANCASSURANCE.label("zh") == "银保"
    assert vocab.Channel.BANCASSURANCE.label("en") == "Bancassurance"
    assert vocab.PolicyStatus("lapsed").zh == "失效"
    assert vocab.PaymentFrequency.QUARTERLY.per_year == 4
    assert all(m.zh != m.value for m in vocab.ProductType)
    assert vocab.RiskGrade.codes() == ["P1", "P2", "P3", "P4", "P5"]
