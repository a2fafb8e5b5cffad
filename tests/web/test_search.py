"""Partial customer search through keyed search tokens (issue 13 item 11), on SQLite and PostgreSQL.

Hand-made customers (homophones, 2- and 3-character names, compound surnames, a traditional
spelling, a city with and without 市) are added to a copy of the published book with the same
functions publishing uses; the published book's own tokens are checked for clear values.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, func, insert, select

from shouhu.identity.search import SearchTokens, name_pieces, normalise_city, query_terms, token_rows
from shouhu.pipeline.publish import protect
from shouhu.privacy.crypto import FieldCipher
from shouhu.storage.tables import customer_scope, customer_search_token, reflected
from tests.conftest import KEY
from tests.web.conftest import Web

PEOPLE = [  # id, name, phone, city
    ("CUS0001", "张三", "13800001234", "上海市"),
    ("CUS0002", "章三", "13911112222", "上海"),       # homophone of 张三
    ("CUS0003", "张三丰", "+86 137-0000-5678", "北京市"),
    ("CUS0004", "欧阳娜娜", "13600009999", "广州市"),    # compound surname
    ("CUS0005", "欧文", "13500001234", "深圳"),        # 欧 as a single surname; same phone tail as 张三
    ("CUS0006", "王芳", "13400003333", "上海市"),
    ("CUS0007", "單雄信", "13300004444", "杭州市"),      # traditional spelling; 单 read shan as a surname
    ("CUS0008", "王小明", None, None),
]


def _cipher() -> FieldCipher:
    return FieldCipher.from_text(KEY)


def add_people(web: Web, agent_id: str | None, people: list[tuple[str, str, str | None, str | None]] = PEOPLE
               ) -> None:
    """Insert hand-made customers (protected as publishing does) with their tokens and scope."""
    cipher = _cipher()
    cust = reflected(web.engine, "customer")
    rows: list[dict[str, Any]] = []
    for cid, name, phone, city in people:
        base = {"customer_id": cid, "name": name, "phone": phone, "id_number": None, "email": None,
                "address": None, "annual_income": None, "city": city, "record_count": 1, "channels": "agent_crm"}
        rows.append({k: v for k, v in protect([base], ["name", "phone", "id_number", "email", "address",
                                                        "annual_income"], cipher)[0].items() if k in cust.c})
    tokens = list(token_rows([{"customer_id": c, "name": n, "phone": p, "city": t} for c, n, p, t in people],
                             SearchTokens.of(cipher)))
    with web.engine.begin() as conn:
        conn.execute(insert(cust), rows)
        conn.execute(insert(customer_scope), [{"customer_id": p[0], "agent_id": agent_id,
                                               "branch_id": web.scope["agent"]["branch_id"]} for p in people])
        conn.execute(insert(customer_search_token), tokens)


def found(web: Web, q: str, role: str = "admin", everyone: bool = False, **params: Any) -> list[str]:
    """Customer ids found by ``q`` in rank order: the hand-made ones only, unless ``everyone``."""
    r = web.client.get("/api/v1/customers", params={"q": q, "limit": 200, **params}, headers=web.auth(role))
    assert r.status_code == 200, r.text
    return [i["customer_id"] for i in r.json()["items"] if everyone or i["customer_id"].startswith("CUS")]


def test_partial_search_ranked_masked_and_scoped(web: Web) -> None:
    add_people(web, web.scope["agent"]["staff_id"])
    # surname alone: exact-surname customers first; 张三丰 too, not the homophone 章三
    assert found(web, "张") == ["CUS0001", "CUS0003"]
    assert found(web, "王") == ["CUS0006", "CUS0008"]
    # a whole name ranks above a longer name it starts
    assert found(web, "张三") == ["CUS0001", "CUS0003"]
    # compound surname: 欧阳 finds only 欧阳娜娜; 欧 finds the 欧 surname first, then 欧阳 by prefix
    assert found(web, "欧阳") == ["CUS0004"]
    assert found(web, "欧") == ["CUS0005", "CUS0004"]
    assert found(web, "娜娜") == ["CUS0004"]
    # pinyin initials and full pinyin find homophones; exact initials before longer names
    assert found(web, "zs") == ["CUS0001", "CUS0002", "CUS0003"]
    assert found(web, "ZhangSan") == ["CUS0001", "CUS0002"]
    assert found(web, "oynn") == ["CUS0004"]
    # traditional spelling and a surname read differently
    assert found(web, "单") == ["CUS0007"] and found(web, "sxx") == ["CUS0007"] and found(web, "dxx") == ["CUS0007"]
    # last 4 of the phone (with +86 and dashes in the source), combined with a name
    assert found(web, "1234") == ["CUS0001", "CUS0005"]
    assert found(web, "5678") == ["CUS0003"]
    assert found(web, "张 1234") == ["CUS0001"] and found(web, "欧1234") == ["CUS0005"]
    # city with or without 市, alone or with a name
    assert set(found(web, "", city="上海")) >= {"CUS0001", "CUS0002", "CUS0006"}
    assert found(web, "王", city="上海市") == ["CUS0006"]
    assert found(web, "张", city="北京") == ["CUS0003"]
    # masked, never clear, no literal None
    r = web.client.get("/api/v1/customers", params={"q": "zs"}, headers=web.auth("admin"))
    items = [i for i in r.json()["items"] if i["customer_id"].startswith("CUS")]
    assert [i["name"] for i in items] == ["张*", "章*", "张**"] and items[0]["phone"] == "138****1234"
    assert "张三" not in r.text and "13800001234" not in r.text and all(i["score"] > 0 for i in items)
    # paging keeps the ranking: pages of 3 add up to the whole list, best first
    whole = web.client.get("/api/v1/customers", params={"q": "zs", "limit": 200}, headers=web.auth("admin")).json()
    paged: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        body = web.client.get("/api/v1/customers", params={"q": "zs", "limit": 3, "offset": offset},
                              headers=web.auth("admin")).json()
        paged += body["items"]
        offset = body["next_offset"]
    assert [i["customer_id"] for i in paged] == [i["customer_id"] for i in whole["items"]] and len(paged) > 3
    assert [i["score"] for i in paged] == sorted((i["score"] for i in paged), reverse=True)
    # bad input is a clear 400 naming the field
    bad = web.client.get("/api/v1/customers", params={"q": "123"}, headers=web.auth("admin"))
    assert bad.status_code == 400 and "q:" in bad.text


def test_partial_search_stays_in_scope(web: Web) -> None:
    add_people(web, web.scope["agent"]["staff_id"], PEOPLE[:3])
    add_people(web, None, [("CUS0099", "张三", "13800001234", "上海市")])  # same name, not the agent's
    assert found(web, "张三", role="agent") == ["CUS0001", "CUS0003"]
    assert found(web, "1234", role="agent") == ["CUS0001"]
    assert "CUS0099" in found(web, "张三", role="admin")
    assert "CUS0099" in found(web, "张三", role="branch_manager")  # same branch


def test_console_partial_search(web: Web) -> None:
    add_people(web, web.scope["agent"]["staff_id"])
    web.login("agent")
    page = web.client.get("/console/customers", params={"q": "zs"})
    assert page.status_code == 200 and "CUS0001" in page.text and "CUS0003" in page.text
    assert "None" not in re.sub(r"<script.*?</script>", "", page.text, flags=re.S)
    assert "13800001234" not in page.text and "张三" not in page.text
    bad = web.client.get("/console/customers", params={"q": "12"})
    assert bad.status_code == 200 and 'id="search-error"' in bad.text and "手机号后4位" in bad.text


def test_published_tokens_hold_no_clear_values(web: Web) -> None:
    cipher = _cipher()
    cust = reflected(web.engine, "customer")
    with web.engine.connect() as conn:
        people = conn.execute(select(cust.c.customer_id, cust.c.name_enc, cust.c.phone_enc, cust.c.city)).all()
        tokens = conn.execute(select(customer_search_token)).all()
        per_customer = conn.execute(select(func.count(func.distinct(customer_search_token.c.customer_id)))).scalar()
    assert len(people) > 100 and per_customer == len(people)  # every customer has tokens
    clear: set[str] = set()
    for _, name_enc, phone_enc, city in people:
        name, phone = cipher.decrypt(name_enc), cipher.decrypt(phone_enc)
        clear |= {v for _, v in name_pieces(name)} | ({phone, phone[-4:]} if phone else set())
        clear |= {city, normalise_city(city)} if city else set()
    clear.discard(None)  # type: ignore[arg-type]
    assert all(re.fullmatch(r"[0-9a-f]{32}", t.token) for t in tokens)
    cells = {str(v) for t in tokens for v in (t.token, t.kind)}
    assert not cells & clear
    assert {t.kind for t in tokens} <= {"name", "surname", "prefix", "given", "pinyin", "initials", "spinyin",
                                         "iprefix", "phone4", "city"}
    # a published customer is found by its surname and by its phone tail
    cid, name_enc, phone_enc, _ = next(p for p in people if p.name_enc and p.phone_enc)
    surname = next(v for k, v in name_pieces(cipher.decrypt(name_enc)) if k == "surname")
    assert cid in found(web, f"{surname} {str(cipher.decrypt(phone_enc))[-4:]}", everyone=True)
    with web.engine.begin() as conn:  # without tokens (published before 0016) a name is not found
        conn.execute(delete(customer_search_token))
    assert cid not in found(web, surname, everyone=True)


def test_query_terms() -> None:
    assert len(query_terms("王 1234")) == 2 and len(query_terms("欧阳娜娜")) == 1
    for bad in ("12", "!!", "a b c d e"):
        try:
            query_terms(bad)
        except ValueError as e:
            assert str(e).startswith("q:")
        else:
            raise AssertionError(bad)
    assert normalise_city("上海市") == "上海" == normalise_city(" 上海 ") and normalise_city("沙市") == "沙市"
    assert ("surname", "欧阳") in name_pieces("欧阳娜娜") and ("surname", "欧") not in name_pieces("欧阳娜娜")
    assert ("initials", "zs") in name_pieces("張三") and name_pieces("  ") == []
