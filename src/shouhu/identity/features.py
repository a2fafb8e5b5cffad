"""Feature preparation: the comparable form of each party record.

Names are converted once per distinct spelling (traditional → simplified with OpenCC, then
toneless pinyin with pypinyin), so 張偉, 张伟 and the homophone typo 张玮 all become ``zhang wei``.
The work is proportional to the number of distinct names, not records; everything else is an
Ibis expression the warehouse computes, so 1.5M records never pass through Python row by row.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import ibis
import pyarrow as pa

FEATURES_TABLE = "identity_features"
NAME_LOOKUP_TABLE = "identity_name_lookup"

# Compound surnames are split as one unit; the rest take their first character.
COMPOUND_SURNAMES = frozenset((
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
    "司徒", "夏侯", "轩辕", "令狐", "钟离", "独孤", "南宫", "西门", "百里", "呼延", "端木",
    "申屠", "太史", "闻人", "东郭", "公冶", "澹台", "濮阳", "万俟", "赫连", "拓跋",
))
# Surnames read differently from the character's everyday reading (单 is shan, not dan).
SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "区": "ou", "查": "zha", "朴": "piao", "覃": "qin",
    "盖": "ge", "乐": "yue", "翟": "zhai", "缪": "miao", "种": "chong", "繁": "po", "召": "shao", "员": "yun",
    "尉迟": "yu chi", "万俟": "mo qi", "长孙": "zhang sun", "重": "chong", "秘": "bi", "那": "na", "句": "gou",
}
# Blocking keys for IDs one mistyped digit apart: (start, length) stretches of the 18 characters. A typo
# at positions 0-5 or 17 spares key a, 6-11 key b, 10-13 key c, 14-17 key d.
ID_TYPO_KEYS: dict[str, tuple[tuple[int, int], ...]] = {
    "id_key_a": ((6, 11),), "id_key_b": ((0, 6), (12, 5)), "id_key_c": ((0, 10), (14, 3)), "id_key_d": ((0, 14),),
}
_FULL_WIDTH = "０１２３４５６７８９－"
_HALF_WIDTH = "0123456789-"
_ADDRESS_NOISE = r"[\s,，.。、()（）#＃·]+"


@cache
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def simplify(text: str) -> str:
    """Traditional → simplified Chinese, whitespace removed (張 偉 → 张伟)."""
    return str(_t2s().convert("".join(text.split())))


def _pinyin(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return [p.lower() for p in lazy_pinyin(text, style=Style.NORMAL, errors="default") if p.strip()]


def split_name(simplified: str) -> tuple[str, str]:
    """(surname, given name) of a simplified Chinese name; Latin names split at the last space."""
    if not simplified:
        return "", ""
    if simplified[:2] in COMPOUND_SURNAMES and len(simplified) > 2:
        return simplified[:2], simplified[2:]
    return simplified[:1], simplified[1:]


def name_features(name: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """(simplified name, full pinyin, surname pinyin, given-name pinyin), lower case without tones."""
    if name is None or not name.strip():
        return None, None, None, None
    if name.isascii():  # a romanised or foreign name: compare it as written, surname last
        words = name.lower().replace(",", " ").split()
        return " ".join(words), " ".join(words), words[-1], " ".join(words[:-1]) or None
    simple = simplify(name)
    surname, given = split_name(simple)
    sur_py = SURNAME_READINGS.get(surname) or " ".join(_pinyin(surname))
    given_py = " ".join(_pinyin(given))
    full = " ".join(p for p in (sur_py, given_py) if p)
    return simple, full, sur_py or None, given_py or None


def name_lookup(names: Iterable[str | None]) -> pa.Table:
    """One row per distinct name: the features of :func:`name_features`."""
    distinct = sorted({n for n in names if n is not None})
    cols: list[list[str | None]] = [[], [], [], []]
    for n in distinct:
        for col, value in zip(cols, name_features(n), strict=True):
            col.append(value)
    return pa.table({
        "name": pa.array(distinct, pa.string()),
        "name_simplified": pa.array(cols[0], pa.string()),
        "name_pinyin": pa.array(cols[1], pa.string()),
        "surname_pinyin": pa.array(cols[2], pa.string()),
        "given_pinyin": pa.array(cols[3], pa.string()),
    })


def _id_key(id_number: Any, spans: tuple[tuple[int, int], ...]) -> Any:
    out = id_number.substr(*spans[0])
    for start, length in spans[1:]:
        out = out + id_number.substr(start, length)
    return out


def _blank_to_null(col: Any) -> Any:
    s = col.strip()
    return ibis.ifelse(s == "", ibis.null("string"), s)


def normalise_address(address: Any, province: Any, city: Any) -> Any:
    """Ibis: address without spaces and punctuation, full-width digits folded, leading province/city dropped.

    Channels write 上海市上海市黄浦区…, 上海市黄浦区… or 黄浦区…; the city is compared on its own.
    """
    a = address.translate(_FULL_WIDTH, _HALF_WIDTH).re_replace(_ADDRESS_NOISE, "")
    for prefix in (province, city, city):  # twice: 上海市上海市…
        p = prefix.fill_null("")
        a = ibis.ifelse((p != "") & a.startswith(p), a.substr(p.length()), a)
    return _blank_to_null(a)


def features_expr(party: Any, lookup: Any) -> Any:
    """Ibis: the feature table Splink compares, from ``src_party`` and the name look-up."""
    p = party
    uid = p["_source"].cast("string") + ":" + p["record_id"].cast("string")
    resident = p["id_type"].isnull() | (p["id_type"] == "resident_id")
    id_number = p["id_number"].upper().strip()
    valid_id = resident & id_number.re_search(r"^[0-9]{17}[0-9X]$")
    other_id = ibis.ifelse(resident | id_number.isnull() | (id_number == ""), ibis.null("string"),
                           p["id_type"].cast("string") + ":" + id_number.re_replace(r"[\s-]", ""))
    joined = p.left_join(lookup, p["name"] == lookup["name"])
    return joined.select(
        unique_id=uid,
        source=p["_source"].cast("string"),
        record_id=p["record_id"].cast("string"),
        name_simplified=lookup["name_simplified"],
        name_pinyin=lookup["name_pinyin"],
        surname_pinyin=lookup["surname_pinyin"],
        given_pinyin=lookup["given_pinyin"],
        birth_date=p["birth_date"].cast("string"),
        gender=_blank_to_null(p["gender"].cast("string").upper()),
        id_number=ibis.ifelse(valid_id, id_number, ibis.null("string")),
        other_id=other_id,
        **{key: ibis.ifelse(valid_id, _id_key(id_number, spans), ibis.null("string"))
           for key, spans in ID_TYPO_KEYS.items()},
        phone=_blank_to_null(p["phone"].cast("string").re_replace(r"\D", "")),
        email=_blank_to_null(p["email"].cast("string").lower()),
        city=_blank_to_null(p["city"].cast("string")),
        address=normalise_address(p["address"].cast("string"), p["province"].cast("string"),
                                  p["city"].cast("string")),
    )


def prepare_features(wh: Any, source_table: str = "src_party", out: str = FEATURES_TABLE) -> int:
    """Build ``out`` (one row per record of ``source_table``) in the warehouse; returns its row count."""
    party = wh.table(source_table)
    names = party.select("name").distinct().to_pyarrow().column("name").to_pylist()
    wh.write_table(NAME_LOOKUP_TABLE, name_lookup(names))
    wh.materialize(out, features_expr(party, wh.table(NAME_LOOKUP_TABLE)))
    return int(wh.query(f"SELECT COUNT(*) FROM {out}")[0][0])
