from __future__ import annotations

from shouhu.identity.features import name_features, name_lookup, simplify, split_name
from shouhu.identity.person_file import id18, mobile


def test_traditional_and_simplified_names_are_equal_after_preparation() -> None:
    assert simplify("張偉") == "张伟"
    assert name_features("張偉") == name_features("张伟") == ("张伟", "zhang wei", "zhang", "wei")


def test_homophone_typo_has_the_same_pinyin() -> None:
    assert name_features("张玮")[1] == name_features("张伟")[1] == "zhang wei"
    assert name_features("张玮")[0] != name_features("张伟")[0]


def test_compound_and_polyphonic_surnames() -> None:
    assert split_name("欧阳娜娜") == ("欧阳", "娜娜")
    assert name_features("单田芳")[2] == "shan"
    assert name_features("曾国藩")[1] == "zeng guo fan"


def test_blank_and_latin_names() -> None:
    assert name_features("  ") == (None, None, None, None)
    assert name_features("John Smith")[1] == "john smith"


def test_name_lookup_has_one_row_per_distinct_name() -> None:
    table = name_lookup(["张伟", "張偉", None, "张伟"])
    assert table.num_rows == 2 and set(table.column("name_pinyin").to_pylist()) == {"zhang wei"}


def test_fifteen_digit_id_converts_to_the_eighteen_digit_form() -> None:
    assert id18("110105491231002") == "11010519491231002X"
    assert id18("11010519491231002x") == "11010519491231002X"
    assert id18("12345") is None


def test_mobile_normalisation() -> None:
    assert mobile("+86 138-1234-5678") == "13812345678"
    assert mobile("021-12345678") is None
