"""Partial customer search without clear-text indexes: keyed blind-index tokens.

At publish time every customer gets a few tokens, each an HMAC (keyed from the serving encryption
key, separated by kind) of a normalised piece of its name, phone or city:

========== ============================================ ======
kind       what is hashed                               weight
========== ============================================ ======
name       the whole name (simplified, no spaces)       100
surname    the surname (compound surnames as one: 欧阳)  60
prefix     other leading characters (欧, 张三 of 张三丰)    50
given      the given name (娜娜 of 欧阳娜娜)                40
pinyin     toneless full pinyin (zhangsan)              45
initials   pinyin initials (zs)                         35
spinyin    surname pinyin (zhang)                       25
iprefix    leading initials, 2+ letters (zs of 张三丰)    20
phone4     the last four digits of the mobile phone     30
city       the city without 市 (上海)                    (filter)
========== ============================================ ======

A query is cut into runs of Chinese characters, Latin letters and digits; each run must match one of
its candidate tokens (an AND over runs) and results rank by the sum of the best weight per run. The
token table holds customer ids, kinds and hashes only: without the key nobody can tell which name
or number a token stands for (frequencies remain visible, as with any blind index).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from shouhu.identity.features import COMPOUND_SURNAMES, SURNAME_READINGS, simplify, split_name
from shouhu.privacy.crypto import FieldCipher

WEIGHTS = {"name": 100, "surname": 60, "prefix": 50, "pinyin": 45, "given": 40, "initials": 35, "phone4": 30,
           "spinyin": 25, "iprefix": 20, "city": 0}
MAX_TERMS = 4
_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[A-Za-z]+|\d+")
_CITY_SUFFIX = ("市", "地区")


@dataclass(frozen=True)
class SearchTokens:
    """Keyed hashes for the search-token table; the key derives from the oldest encryption key, as
    blind indexes do, so rotating in a new key keeps the tokens."""

    key: bytes

    @classmethod
    def of(cls, cipher: FieldCipher) -> SearchTokens:
        return cls(hmac.new(cipher.keys[-1], b"shouhu-search-token", hashlib.sha256).digest())

    def token(self, kind: str, value: str) -> str:
        return hmac.new(self.key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:32]


def normalise_city(city: str | None) -> str | None:
    """上海市 → 上海, 上海 → 上海, 廣州 → 广州; None for empty."""
    if city is None:
        return None
    text = simplify(city.strip())
    for suffix in _CITY_SUFFIX:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            text = text[: -len(suffix)]
            break
    return text or None


@cache
def _readings(text: str) -> tuple[str, ...]:
    from pypinyin import Style, lazy_pinyin

    return tuple(p.lower() for p in lazy_pinyin(text, style=Style.NORMAL, errors="ignore") if p.isalpha())


def _surname_readings(surname: str) -> list[str]:
    """Each reading of a surname as one string of syllables: the surname reading (单 shan) and the
    everyday one (dan), since staff type either."""
    out = []
    special = SURNAME_READINGS.get(surname)
    if special:
        out.append(special.split())
    out.append(list(_readings(surname)))
    seen: list[str] = []
    for syllables in out:
        joined = " ".join(syllables)
        if joined and joined not in seen:
            seen.append(joined)
    return seen


def name_pieces(name: str | None) -> list[tuple[str, str]]:
    """(kind, normalised value) pieces of a name (see the module table)."""
    if name is None or not name.strip():
        return []
    if name.isascii():  # a romanised name: its words and their initials
        words = re.findall(r"[a-z]+", name.lower())
        if not words:
            return []
        pieces = [("pinyin", "".join(words)), ("initials", "".join(w[0] for w in words))]
        pieces += [("spinyin", w) for w in words]
        return pieces
    simple = "".join(re.findall(_RUNS, simplify(name)))
    if not simple:
        return []
    surname, given = split_name(simple)
    pieces = [("name", simple), ("surname", surname)]
    pieces += [("prefix", simple[:n]) for n in range(1, len(simple)) if simple[:n] != surname]
    if given:
        pieces.append(("given", given))
    given_py = list(_readings(given)) if given else []
    for reading in _surname_readings(surname):
        syllables = reading.split() + given_py
        initials = "".join(s[0] for s in syllables)
        pieces += [("pinyin", "".join(syllables)), ("initials", initials), ("spinyin", "".join(reading.split()))]
        pieces += [("iprefix", initials[:n]) for n in range(2, len(initials))]
    return list(dict.fromkeys(pieces))


def phone_pieces(phone: str | None) -> list[tuple[str, str]]:
    digits = re.sub(r"\D", "", phone or "")
    return [("phone4", digits[-4:])] if len(digits) >= 7 else []


def customer_pieces(name: str | None, phone: str | None, city: str | None) -> list[tuple[str, str]]:
    pieces = name_pieces(name) + phone_pieces(phone)
    town = normalise_city(city)
    if town:
        pieces.append(("city", town))
    return pieces


def token_rows(records: Iterable[dict[str, object]], tokens: SearchTokens) -> Iterator[dict[str, str]]:
    """Rows of the search-token table for records with customer_id, name, phone and city (clear)."""
    for r in records:
        cid = str(r["customer_id"])
        for kind, value in customer_pieces(_str(r.get("name")), _str(r.get("phone")), _str(r.get("city"))):
            yield {"customer_id": cid, "kind": kind, "token": tokens.token(kind, value)}


def _str(value: object) -> str | None:
    return None if value is None else str(value)


class QueryError(ValueError):
    """A search text that cannot be searched; the message says why (shown to the user)."""


def query_terms(q: str) -> list[dict[str, int]]:
    """The runs of a free-text query, each as {(kind, value) token input: weight} candidates.

    Chinese runs match a whole name, a surname, leading characters or a given name; Latin letters
    match pinyin, initials or a surname's pinyin; four digits match the end of a phone number."""
    terms: list[dict[str, int]] = []
    for run in _RUNS.findall(q):
        if run.isdigit():
            if len(run) != 4:
                raise QueryError(f"q: {len(run)} digits; give the last 4 digits of a phone or all 11")
            terms.append({f"phone4\x1f{run}": WEIGHTS["phone4"]})
        elif run.isascii():
            low = run.lower()
            cands = {f"pinyin\x1f{low}": WEIGHTS["pinyin"], f"initials\x1f{low}": WEIGHTS["initials"],
                     f"spinyin\x1f{low}": WEIGHTS["spinyin"]}
            if len(low) >= 2:
                cands[f"iprefix\x1f{low}"] = WEIGHTS["iprefix"]
            terms.append(cands)
        else:
            simple = simplify(run)
            terms.append({f"{kind}\x1f{simple}": WEIGHTS[kind] for kind in ("name", "surname", "prefix", "given")})
    if not terms:
        raise QueryError("q: nothing to search for (give a name, pinyin, or the last 4 digits of a phone)")
    if len(terms) > MAX_TERMS:
        raise QueryError(f"q: at most {MAX_TERMS} words")
    return terms


def hashed_terms(q: str, tokens: SearchTokens) -> list[dict[str, int]]:
    """:func:`query_terms` with each candidate replaced by its token."""
    return [{tokens.token(*key.split("\x1f", 1)): w for key, w in term.items()} for term in query_terms(q)]


def city_token(city: str, tokens: SearchTokens) -> str | None:
    town = normalise_city(city)
    return None if town is None else tokens.token("city", town)


__all__ = ["COMPOUND_SURNAMES", "WEIGHTS", "QueryError", "SearchTokens", "city_token", "customer_pieces",
           "hashed_terms", "name_pieces", "normalise_city", "query_terms", "token_rows"]
