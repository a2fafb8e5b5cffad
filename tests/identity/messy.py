"""A messy Chinese person file, made independently of the synthetic book's generator.

Its own name lists, ID and typo model and ground truth: people with 1-4 records each, written
the way different offices write them: homophone given names (张伟/张玮), traditional characters,
legacy 15-digit IDs, one mistyped ID digit (the check character then fails), changed or missing
phones, rewritten addresses (city prefix, full-width digits, 栋/室 vs 1-203) or a new address after
a move, and day/month swapped birth dates. Namesakes (same name, same city, near birth dates) are
planted on purpose, so precision is tested as well as recall.

    from tests.identity.messy import messy_persons
    frame = messy_persons(people=2000, seed=5)   # columns: record_id, name, birth_date, gender,
                                                 # id_number, phone, city, address, person
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pandas as pd

SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
            "何", "林", "高", "罗", "欧阳", "诸葛", "司马")
TRADITIONAL = {"张": "張", "陈": "陳", "刘": "劉", "黄": "黃", "赵": "趙", "吴": "吳", "孙": "孫", "马": "馬",
               "罗": "羅", "杨": "楊", "欧阳": "歐陽", "伟": "偉", "华": "華", "军": "軍", "红": "紅", "强": "強",
               "涛": "濤", "鸿": "鴻", "丽": "麗", "静": "靜", "艳": "艷", "敏": "敏", "鸣": "鳴"}
# Given-name characters grouped by toneless pinyin: a clerk typing by sound picks any of a group.
HOMOPHONES = (("伟", "玮", "炜", "巍"), ("娜", "纳"), ("静", "晶", "婧", "菁"), ("丽", "莉", "俐"),
              ("敏", "珉"), ("华", "桦"), ("军", "君", "俊"), ("明", "铭", "鸣"), ("燕", "艳", "妍"),
              ("磊", "蕾", "雷"), ("红", "宏", "虹", "鸿"), ("平", "萍", "苹"), ("强", "蔷"), ("涛", "韬"),
              ("斌", "彬", "滨"), ("欣", "新", "鑫", "馨"), ("玉", "宇", "雨", "钰"), ("晨", "辰", "宸"),
              ("浩", "昊", "皓"), ("芳",), ("秀",), ("英",), ("建",), ("国",), ("文",), ("志",))
CITIES = (("110101", "北京市", ("东城区", "西城区", "朝阳区")), ("310104", "上海市", ("徐汇区", "黄浦区", "静安区")),
          ("440106", "广州市", ("天河区", "越秀区")), ("330106", "杭州市", ("西湖区", "拱墅区")),
          ("510107", "成都市", ("武侯区", "锦江区")), ("420106", "武汉市", ("武昌区", "洪山区")))
ROADS = ("中山路", "人民路", "解放路", "建设路", "和平街", "长江路", "文化路", "青年路")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_FULL = str.maketrans("0123456789", "０１２３４５６７８９")


def check_char(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _id(region: str, birth: date, seq: int, female: bool) -> str:
    body = f"{region}{birth:%Y%m%d}{seq:02d}{(seq * 2 + (0 if female else 1)) % 10}"
    return body + check_char(body)


def _given(rng: random.Random) -> tuple[tuple[str, ...], ...]:
    return tuple(rng.choice(HOMOPHONES) for _ in range(rng.choice((1, 2, 2, 2))))


class _Maker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.phones: set[str] = set()
        self.seqs: set[str] = set()

    def phone(self) -> str:
        while True:
            p = "1" + self.rng.choice("3578") + "".join(self.rng.choice("0123456789") for _ in range(9))
            if p not in self.phones:
                self.phones.add(p)
                return p

    def person(self, like: dict[str, object] | None = None) -> dict[str, object]:
        r = self.rng
        if like is None:
            region, city, districts = r.choice(CITIES)
            surname, given = r.choice(SURNAMES), _given(r)
            birth = date(1950, 1, 1) + timedelta(days=r.randrange(365 * 55))
        else:  # a namesake: same name and city, another person born within a few years
            region, city, districts = like["region"], like["city"], like["districts"]  # type: ignore[assignment]
            surname, given = like["surname"], like["given"]  # type: ignore[assignment]
            birth = like["birth"] + timedelta(days=r.randrange(-900, 900))  # type: ignore[operator]
        female = r.random() < 0.5
        while True:
            number = _id(region, birth, r.randrange(100), female)
            if number not in self.seqs:
                self.seqs.add(number)
                break
        return {"region": region, "city": city, "districts": districts, "surname": surname, "given": given,
                "birth": birth, "female": female, "id": number, "phone": self.phone(),
                "address": (r.choice(districts), r.choice(ROADS), r.randrange(1, 400), r.randrange(1, 30),
                            r.randrange(101, 2800))}


def _name(p: dict[str, object], rng: random.Random, noisy: bool) -> str:
    given = p["given"]
    chars = [g[0] for g in given]  # type: ignore[attr-defined]
    if noisy and rng.random() < 0.35:  # one homophone typed in place of the right character
        i = rng.randrange(len(chars))
        chars[i] = rng.choice(given[i])  # type: ignore[index]
    name = str(p["surname"]) + "".join(chars)
    if noisy and rng.random() < 0.15:
        name = "".join(TRADITIONAL.get(c, c) for c in (str(p["surname"]), *chars))
    return name


def _id_text(p: dict[str, object], rng: random.Random, noisy: bool) -> str | None:
    number = str(p["id"])
    roll = rng.random() if noisy else 1.0
    if roll < 0.10:
        return None
    if roll < 0.22:
        return number[:6] + number[8:17]  # the legacy 15-digit form
    if roll < 0.32:  # one mistyped digit among the first 17: the check character no longer fits
        i = rng.randrange(17)
        return number[:i] + rng.choice([d for d in "0123456789" if d != number[i]]) + number[i + 1:]
    return number


def _address(p: dict[str, object], rng: random.Random, noisy: bool, moved: bool) -> str | None:
    district, road, no, building, room = p["address"]  # type: ignore[misc]
    if moved:
        district, road, no = rng.choice(p["districts"]), rng.choice(ROADS), rng.randrange(1, 400)  # type: ignore[arg-type]
    style = rng.randrange(4) if noisy else 0
    if noisy and rng.random() < 0.08:
        return None
    if style == 0:
        return f"{district}{road}{no}号{building}栋{room}室"
    if style == 1:
        return f"{p['city']}{district}{road}{no}号{building}-{room}"
    if style == 2:
        return f"{district}{road}{no}号{building}栋{room}室".translate(_FULL)
    return f"{road}{no}号{building}幢{room}"


def _birth(p: dict[str, object], rng: random.Random, noisy: bool) -> str:
    b: date = p["birth"]  # type: ignore[assignment]
    if noisy and b.day <= 12 and b.day != b.month and rng.random() < 0.12:
        return f"{b.year}-{b.day:02d}-{b.month:02d}"  # day and month swapped
    return b.isoformat() if rng.random() < 0.7 else f"{b.year}/{b.month}/{b.day}"


def _record(p: dict[str, object], rng: random.Random, first: bool) -> dict[str, object]:
    noisy = not first
    phone = str(p["phone"])
    if noisy and rng.random() < 0.25:
        phone = ""  # no phone given
    elif noisy and rng.random() < 0.2:
        phone = "CHANGED"
    return {"name": _name(p, rng, noisy), "birth_date": _birth(p, rng, noisy),
            "gender": "女" if p["female"] else "男", "id_number": _id_text(p, rng, noisy), "phone": phone,
            "city": p["city"] if rng.random() < 0.9 else None,
            "address": _address(p, rng, noisy, moved=noisy and rng.random() < 0.15)}


def messy_persons(people: int = 2000, seed: int = 5, namesake_share: float = 0.15) -> pd.DataFrame:
    """``people`` persons (a share of them namesakes of another), 1-4 records each, shuffled."""
    m = _Maker(seed)
    persons: list[dict[str, object]] = []
    for _ in range(people):
        like = m.rng.choice(persons) if persons and m.rng.random() < namesake_share else None
        persons.append(m.person(like))
    rows: list[dict[str, object]] = []
    for k, p in enumerate(persons):
        for j in range(m.rng.choice((1, 1, 2, 2, 3, 4))):
            rec = _record(p, m.rng, first=j == 0)
            if rec["phone"] == "CHANGED":
                rec["phone"] = m.phone()
            rows.append({**rec, "person": f"P{k:06d}"})
    m.rng.shuffle(rows)
    frame = pd.DataFrame(rows)
    frame.insert(0, "record_id", [f"R{i:07d}" for i in range(len(frame))])
    return frame
