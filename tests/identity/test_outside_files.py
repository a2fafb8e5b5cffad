"""Person files written by others: no ID number, no phone, separate family/given names, foreign IDs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from shouhu.cli.identity import identity_app
from shouhu.errors import MappingError
from shouhu.identity.person_file import full_name, load_link_mapping

# FEBRL-style: given_name, surname, date_of_birth, address, soc_sec_id; duplicates carry typos.
FEBRL = """rec_id,given_name,surname,date_of_birth,address,soc_sec_id,person
rec-1-org,michaela,neumann,19151111,8 stanley street miami,5304218,p1
rec-1-dup-0,michaela,neuman,19151111,8 stanley st miami,5304218,p1
rec-2-org,courtney,painter,19210619,12 pinkerton circuit bega flats,4066625,p2
rec-2-dup-0,courtny,painter,19210619,12 pinkerton circuit bega,4066625,p2
rec-3-org,charles,green,19470730,38 salkauskas crescent kela,4365168,p3
rec-4-org,vanessa,parr,19050510,905 macquoid place broadbridge manor,9239102,p4
rec-4-dup-0,vanessa,parr,19050510,905 macquoid pl broadbridge,9239102,p4
rec-5-org,mikayla,malloney,19850818,37 randwick road avalind,7207688,p5
rec-6-org,blake,howie,19750427,1 cutlack street belmont park,5180548,p6
rec-6-dup-0,blake,howie,19750472,1 cutlack st belmont park,5180548,p6
"""


def _link(tmp: Path, mapping: str, csv: str = FEBRL) -> tuple[dict[str, str], dict[str, object]]:
    (tmp / "people.csv").write_text(csv, encoding="utf-8")
    (tmp / "map.toml").write_text(mapping, encoding="utf-8")
    res = CliRunner().invoke(identity_app, ["link", str(tmp / "people.csv"), "--mapping", str(tmp / "map.toml"),
                                            "--truth-column", "person", "--out", str(tmp / "out"), "--json"])
    assert res.exit_code == 0, res.output
    clusters = pd.read_csv(tmp / "out" / "clusters.csv", dtype=str)
    return dict(zip(clusters["record_id"], clusters["cluster_id"], strict=True)), json.loads(res.output)


def test_a_file_without_id_or_phone_links_instead_of_crashing(tmp_path: Path) -> None:
    # Only a name, a birth date and an address: no rule can hold and the prior has nothing to count.
    clusters, payload = _link(tmp_path, 'record_id = "rec_id"\nname = "given_name"\nbirth_date = "date_of_birth"\n'
                                        'address = "address"\n')
    assert len(clusters) == 10
    assert payload["result"]["records"] == 10  # type: ignore[index]
    assert payload["metrics"]["pairwise_precision"] == 1.0  # type: ignore[index]


def test_family_and_given_columns_with_a_foreign_id(tmp_path: Path) -> None:
    clusters, payload = _link(tmp_path, 'record_id = "rec_id"\ngiven_name = "given_name"\nfamily_name = "surname"\n'
                                        'birth_date = "date_of_birth"\naddress = "address"\nother_id = "soc_sec_id"\n')
    assert clusters["rec-1-org"] == clusters["rec-1-dup-0"]  # surname typo, same social-security number
    assert clusters["rec-6-org"] == clusters["rec-6-dup-0"]  # day/month typo, same number and name
    assert len({clusters[r] for r in ("rec-1-org", "rec-2-org", "rec-3-org", "rec-4-org", "rec-5-org")}) == 5
    assert payload["metrics"]["pairwise_f1"] == 1.0  # type: ignore[index]
    pairs = pd.read_csv(tmp_path / "out" / "pairs.csv", dtype=str)
    assert set(pairs.loc[pairs["decision"] == "link", "reason"]) <= {"rule:other_id_birth_date", "rule:other_id_name"}


def test_chinese_family_and_given_columns_and_passports(tmp_path: Path) -> None:
    csv = ("id,姓,名,出生日期,护照号,person\n"
           "1,欧阳,娜娜,1990-03-04,E12345678,a\n2,歐陽,娜娜,1990-03-04,e12345678,a\n"
           "3,李,雷,1985-07-07,E87654321,b\n4,李,蕾,1985-07-08,G11111111,c\n")
    clusters, payload = _link(tmp_path, 'record_id = "id"\nfamily_name = "姓"\ngiven_name = "名"\n'
                                        'birth_date = "出生日期"\nother_id = "护照号"\n', csv)
    assert clusters["1"] == clusters["2"]
    assert len({clusters["1"], clusters["3"], clusters["4"]}) == 3
    assert payload["metrics"]["pairwise_f1"] == 1.0  # type: ignore[index]


def test_full_name_orders_romanised_names_given_first() -> None:
    got = full_name(pd.Series(["neumann", "张", None, "O'Brien"], dtype="string"),
                    pd.Series(["michaela", "伟", "娜", None], dtype="string"))
    assert got.tolist() == ["michaela neumann", "张伟", "娜", "O'Brien"]


def test_a_mapping_needs_some_name_column(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text('record_id = "id"\nbirth_date = "dob"\n', encoding="utf-8")
    with pytest.raises(MappingError, match="family_name"):
        load_link_mapping(tmp_path / "m.toml")
    (tmp_path / "m.toml").write_text('record_id = "id"\nsurname = "s"\n', encoding="utf-8")
    with pytest.raises(MappingError, match=r"unknown field.*surname"):
        load_link_mapping(tmp_path / "m.toml")
