from __future__ import annotations

import pytest

from shouhu.errors import EncodingError, InvalidInput, ShouhuError, StorageError, UnknownName


def test_errors_are_one_family_and_their_builtin() -> None:
    assert issubclass(InvalidInput, ValueError) and issubclass(InvalidInput, ShouhuError)
    assert issubclass(StorageError, RuntimeError)
    assert issubclass(EncodingError, InvalidInput)
    with pytest.raises(ValueError):
        raise EncodingError("bad bytes", file="x.csv")


def test_unknown_name_lists_the_valid_choices() -> None:
    e = UnknownName("source", "bnak", ["bank", "agent_crm"])
    assert str(e) == "unknown source 'bnak'; valid choices: agent_crm, bank"
    assert isinstance(e, KeyError)
    assert e.to_dict()["code"] == "unknown_name"


def test_errors_carry_data_and_stable_codes() -> None:
    e = InvalidInput("no", file="a.csv", row=3)
    assert e.data == {"file": "a.csv", "row": 3}
    assert e.to_dict() == {"code": "invalid_input", "message": "no", "file": "a.csv", "row": "3"}
