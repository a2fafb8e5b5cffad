"""Masking and shaping as properties: for any phone, ID number or name, only the allowed characters
survive; shaped records never carry ciphertext, blind indexes or a decryptable value for a field
the principal may not see in clear; blind-index search tolerates the ways people type numbers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from shouhu.access.policy import SENSITIVE_FIELDS, FieldView, Principal, field_view
from shouhu.access.roles import Role
from shouhu.model.masking import mask, mask_id_number, mask_name, mask_phone
from shouhu.pipeline.publish import protect
from shouhu.privacy.crypto import DecryptionError, FieldCipher
from shouhu.web.customers import classify_query, normalise_phone
from shouhu.web.shaping import shape
from tests.conftest import KEY
from tests.web.conftest import Web

CIPHER = FieldCipher.from_text(KEY)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

phones = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
id_numbers = st.from_regex(r"[1-6][0-9]{16}[0-9X]", fullmatch=True)
# Names as they occur: CJK (one to four characters, compound surnames included) or Latin letters.
names = st.one_of(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=6),
                  st.from_regex(r"[A-Za-z][A-Za-z .'-]{0,20}[A-Za-z]", fullmatch=True))


def _kept(value: str, masked: str) -> list[int]:
    """Positions whose character survived the mask."""
    return [i for i, (a, b) in enumerate(zip(value, masked, strict=True)) if a == b and b != "*"]


@FAST
@given(phones)
def test_phone_mask_keeps_three_and_four(phone: str) -> None:
    masked = mask_phone(phone)
    assert masked == phone[:3] + "****" + phone[-4:]
    assert set(_kept(phone, masked)) <= {0, 1, 2, 7, 8, 9, 10}
    assert masked != phone and mask("phone", phone) == masked


@FAST
@given(st.text(alphabet="0123456789", min_size=2, max_size=20))
def test_phone_mask_of_any_length_shows_at_most_three_and_four(value: str) -> None:
    masked = mask_phone(value)
    n = len(value)
    assert len(masked) == n and masked != value
    allowed = set(range(3)) | set(range(n - 4, n)) if n >= 8 else set()
    assert set(_kept(value, masked)) <= allowed


@FAST
@given(id_numbers)
def test_id_mask_keeps_three_and_four(id_number: str) -> None:
    masked = mask_id_number(id_number)
    assert masked == id_number[:3] + "*" * 11 + id_number[-4:]
    assert masked != id_number and mask("id_number", id_number.lower()).upper() == masked.upper()


@FAST
@given(st.text(alphabet="0123456789Xx", min_size=2, max_size=20))
def test_id_mask_of_any_length_shows_at_most_three_and_four(value: str) -> None:
    masked = mask_id_number(value)
    n = len(value)
    assert len(masked) == n and masked != value
    allowed = set(range(3)) | set(range(n - 4, n)) if n >= 14 else set()
    assert set(_kept(value, masked)) <= allowed


@FAST
@given(names)
def test_name_mask_keeps_the_first_character_only(name: str) -> None:
    masked = mask_name(name)
    assert len(masked) == len(name)
    assert set(masked[1:]) <= {"*"}
    if len(name) >= 2:
        assert masked[0] == name[0] and masked != name
    else:
        assert masked == "*"


# --- shaping ------------------------------------------------------------------------------------

def _principal(role: Role, reveal: bool) -> Principal:
    return Principal(user_id=f"p-{role.value}", role=role, staff_id="S1", branch_id="B1", team_id="B1-SVC",
                     can_reveal=reveal, customer_id="CU000001" if role is Role.CUSTOMER else None)


principals = st.builds(_principal, st.sampled_from(list(Role)), st.booleans())
people = st.fixed_dictionaries({
    "name": names, "phone": phones, "id_number": id_numbers,
    "email": st.from_regex(r"[a-z]{3,8}@example\.(com|cn)", fullmatch=True),
    "address": st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=4, max_size=12),
    "annual_income": st.integers(10_000, 5_000_000).map(str),
    "claims_paid": st.integers(0, 900_000).map(str),
})


def _decryptable(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        CIPHER.decrypt(value)
    except (DecryptionError, ValueError):
        return False
    return True


@FAST
@given(principals, people)
def test_shape_never_leaks_what_the_view_does_not_allow(principal: Principal, person: dict[str, str]) -> None:
    row = protect([{"customer_id": "CU000001", "gender": "F", **person}], list(SENSITIVE_FIELDS), CIPHER)[0]
    stored = {v for k, v in row.items() if k.endswith(("_enc", "_bidx"))}
    out = shape(principal, row, CIPHER)
    assert not [k for k in out if k.endswith(("_enc", "_bidx", "_masked"))]
    for key, value in out.items():
        if isinstance(value, str):
            assert value not in stored, key
            assert not _decryptable(value), key
    for field in SENSITIVE_FIELDS:
        view = field_view(principal, field)
        if view is FieldView.CLEAR:
            assert out[field] == person[field]
            continue
        if view is FieldView.HIDDEN:
            assert field not in out
            continue
        assert out[field] != person[field], (principal.role, field)
        assert (field in out["revealable"]) == (view is FieldView.MASKED)
        if field in ("name", "phone", "id_number"):
            assert out[field] == mask(field, person[field])


@FAST
@given(principals, people)
def test_shape_of_household_members_and_search_rows(principal: Principal, person: dict[str, str]) -> None:
    """Rows with only some sensitive columns (search results, household members) obey the same rule."""
    full = protect([{"customer_id": "CU000002", **person}], ["name", "phone", "id_number"], CIPHER)[0]
    partial = {k: v for k, v in full.items() if not k.startswith("id_number")}
    out = shape(principal, partial, CIPHER)
    assert "id_number" not in out
    for field in ("name", "phone"):
        if field_view(principal, field) is not FieldView.CLEAR:
            assert out.get(field) != person[field]


# --- blind-index search --------------------------------------------------------------------------

@FAST
@given(phones, st.sampled_from(["{p}", "+86{p}", "+86 {a} {b} {c}", "86-{a}-{b}-{c}", "{a} {b} {c}", "({a}) {b}-{c}",
                                " {p} ", "+86-{p}"]))
def test_phone_written_any_usual_way_gives_the_same_blind_index(phone: str, form: str) -> None:
    typed = form.format(p=phone, a=phone[:3], b=phone[3:7], c=phone[7:])
    assert classify_query(typed) == {"phone": phone}
    assert CIPHER.blind_index(normalise_phone(typed)) == CIPHER.blind_index(phone)


@FAST
@given(st.from_regex(r"[1-6][0-9]{16}", fullmatch=True).map(lambda v: v + "X"))
def test_id_number_with_lowercase_x_gives_the_same_blind_index(id_number: str) -> None:
    typed = id_number.lower()
    guess = classify_query(typed)
    assert guess == {"id_number": id_number}
    assert CIPHER.blind_index(typed) == CIPHER.blind_index(id_number)


def _clear(web: Web, field: str, where: Any = None) -> tuple[str, str]:
    from shouhu.storage.tables import reflected

    cust = reflected(web.engine, "customer")
    query = select(cust.c.customer_id, cust.c[f"{field}_enc"]).where(cust.c[f"{field}_enc"].isnot(None))
    with web.engine.connect() as conn:
        for cid, enc in conn.execute(query.order_by(cust.c.customer_id)):
            value = CIPHER.decrypt(enc)
            assert value is not None
            if where is None or where(value):
                return str(cid), value
    pytest.skip(f"no customer with a {field} like that in the book")


def _found(web: Web, q: str) -> list[str]:
    r = web.client.get("/api/v1/customers", params={"q": q}, headers=web.auth("admin"))
    assert r.status_code == 200, r.text
    return [row["customer_id"] for row in r.json()["items"]]


def test_search_finds_a_customer_by_phone_typed_with_spaces_and_country_code(web: Web) -> None:
    cid, phone = _clear(web, "phone", lambda p: re.fullmatch(r"1\d{10}", p) is not None)
    for typed in (phone, f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}", f"{phone[:3]} {phone[3:7]} {phone[7:]}",
                  f"+86{phone}", f"86-{phone[:3]}-{phone[3:7]}-{phone[7:]}"):
        assert cid in _found(web, typed), typed
    r = web.client.get("/api/v1/customers", params={"phone": f"+86 {phone}"}, headers=web.auth("admin"))
    assert cid in [row["customer_id"] for row in r.json()["items"]]


def test_search_finds_a_customer_by_id_number_with_a_lowercase_x(web: Web) -> None:
    cid, id_number = _clear(web, "id_number", lambda v: v.endswith("X") and len(v) == 18)
    assert cid in _found(web, id_number)
    assert cid in _found(web, id_number.lower())
    assert cid in _found(web, f" {id_number.lower()} ")
    r = web.client.get("/api/v1/customers", params={"id_number": id_number.lower()}, headers=web.auth("admin"))
    assert cid in [row["customer_id"] for row in r.json()["items"]]
    body = r.text
    assert id_number not in body and id_number.lower() not in body
