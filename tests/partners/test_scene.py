"""Scene products priced by hand: return shipping (credibility blend), flight delay (bands and cancellation), trip
accident (minors' cap, occupation classes, old age) and one-year medical (age bands, social insurance); automatic
claims and refunds; bad facts and a messy products file name what is wrong. The arithmetic is in the comments."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shouhu.errors import ConfigError, InvalidInput
from shouhu.partners import scene
from shouhu.partners.scene import Price, SceneProduct, Uninsurable, automatic_claim, load_products, price, refund

PRODUCTS = load_products()
RS, TD, AC, HM = (PRODUCTS[c] for c in ("RS01", "TD01", "AC01", "HM01"))
ON = date(2026, 12, 7)


def rs_facts(**overrides: Any) -> dict[str, Any]:
    facts = {"seller_id": "S-889", "seller_orders_12m": 120, "seller_returns_12m": 30, "category": "apparel",
             "order_no": "TB20261207001", "order_value_fen": 15900, "delivered_on": "2026-12-09"}
    return facts | overrides


def td_facts(**overrides: Any) -> dict[str, Any]:
    facts = {"flight_no": "CA1234", "departure_date": "2027-07-15", "departure_hour": 19, "departure_airport": "PEK"}
    return facts | overrides


def ac_facts(**overrides: Any) -> dict[str, Any]:
    facts = {"insured_birth_date": "1991-05-20", "occupation_class": 1, "days": 7, "sum_assured_fen": 50_000_000,
             "start_date": "2027-03-01"}
    return facts | overrides


def hm_facts(**overrides: Any) -> dict[str, Any]:
    facts = {"insured_birth_date": "1994-06-01", "sum_assured_fen": 200_000_000, "has_social_insurance": True,
             "start_date": "2027-01-01"}
    return facts | overrides


def policy_of(priced: Price) -> dict[str, Any]:
    """What the partner API keeps of a bound policy: dates as ISO strings, the basis through JSON."""
    return {"scene_key": priced.scene_key, "cover_start": priced.cover_start.isoformat(),
            "cover_end": priced.cover_end.isoformat(), "sum_assured_fen": priced.sum_assured_fen,
            "premium_fen": priced.premium_fen, "basis": json.loads(json.dumps(priced.basis))}


def test_the_shipped_products_load() -> None:
    assert list(PRODUCTS) == ["RS01", "TD01", "AC01", "HM01"]
    assert RS.automatic_claims == ("return_shipped",) and TD.automatic_claims == ("flight_delayed", "flight_cancelled")
    assert AC.disclosures == ("ac01_notice", "ac01_terms", "ac01_exclusions") and HM.cover_days == 365


# --- RS01 return shipping -----------------------------------------------------------------------------------

def test_return_shipping_worked_example() -> None:
    # 120 orders, 30 returns: seller rate 0.25; Z = 120 / (120 + 500) = 0.193548; apparel base rate 0.30
    # blended = (30 + 500 * 0.30) / 620 = 180 / 620 = 0.290323; standard fee 1200 fen
    # loading (1 + 0.10) / (1 - 0.30) = 1.571429; 0.290323 * 1200 * 1.571429 = 547.47 fen -> 550 fen
    q = price(RS, rs_facts(), on=ON)
    assert (q.premium_fen, q.sum_assured_fen, q.scene_key) == (550, 1200, "TB20261207001")
    assert (q.cover_start, q.cover_end) == (date(2026, 12, 9), date(2027, 1, 7))  # 30 days from delivery
    steps = {s["step"]: s["value"] for s in q.basis["steps"]}
    assert steps["credibility"] == "0.193548" and steps["return_probability"] == "0.290323"
    assert steps["raw_premium_fen"] == "547.465438" and q.basis["insured_fee_fen"] == 1200
    json.dumps(q.basis)  # the quote stores it as JSON


def test_return_shipping_region_order_value_and_minimum() -> None:
    # 新疆: fee 2500 fen (the cap): 180 / 620 * 2500 * 11 / 7 = 1140.55 -> 1150 fen
    far = price(RS, rs_facts(shipping_region="新疆维吾尔自治区"), on=ON)
    assert (far.premium_fen, far.sum_assured_fen, far.facts_used["shipping_region"]) == (1150, 2500, "新疆")
    # 上海: 1000 fen: 180 / 620 * 1000 * 11 / 7 = 456.22 -> 460 fen
    assert price(RS, rs_facts(shipping_region="上海市"), on=ON).premium_fen == 460
    # an 8-yuan order: the payout cannot pass the order value: 180 / 620 * 800 * 11 / 7 = 364.98 -> 370 fen
    cheap = price(RS, rs_facts(order_value_fen=800), on=ON)
    assert (cheap.premium_fen, cheap.sum_assured_fen) == (370, 800)
    # a new food seller: 0.03 * 1200 * 11 / 7 = 56.57 -> 60 fen; on a 5-yuan order 23.57 -> 30 -> minimum 50
    new = rs_facts(seller_orders_12m=0, seller_returns_12m=0, category="food")
    assert price(RS, new, on=ON).premium_fen == 60
    assert price(RS, new | {"order_value_fen": 500}, on=ON).premium_fen == 50


def test_credibility_moves_towards_the_sellers_own_rate() -> None:
    # a careful apparel seller returning 5%: 100 orders: (5 + 150) / 600 = 0.258333 -> 487.14 -> 490 fen
    # 10,000 orders: (500 + 150) / 10500 = 0.061905 -> 116.73 -> 120 fen; 100,000: 0.051244 -> 96.63 -> 100 fen
    premiums = [price(RS, rs_facts(seller_orders_12m=n, seller_returns_12m=n // 20), on=ON).premium_fen
                for n in (100, 1_000, 10_000, 100_000)]
    assert premiums[0] == 490 and premiums[2:] == [120, 100]
    assert premiums == sorted(premiums, reverse=True)


@given(orders=st.integers(0, 20_000), a=st.floats(0, 1), b=st.floats(0, 1),
       category=st.sampled_from(["apparel", "shoes", "electronics", "beauty", "home", "food", "other"]))
def test_premium_is_monotone_in_the_sellers_return_rate(orders: int, a: float, b: float, category: str) -> None:
    low, high = sorted((int(orders * a), int(orders * b)))

    def quote(returns: int) -> int | None:
        try:
            return price(RS, rs_facts(seller_orders_12m=orders, seller_returns_12m=returns, category=category),
                         on=ON).premium_fen
        except Uninsurable:
            return None

    cheaper, dearer = quote(low), quote(high)
    if cheaper is None:
        assert dearer is None  # refused at the lower rate: refused at the higher one too
    elif dearer is not None:
        assert 50 <= cheaper <= dearer  # never below the minimum premium


def test_return_rate_above_the_ceiling_is_refused() -> None:
    # 900 returns in 1,000 orders: (900 + 150) / 1500 = 0.70 > 0.60
    with pytest.raises(Uninsurable) as e:
        price(RS, rs_facts(seller_orders_12m=1000, seller_returns_12m=900), on=ON)
    assert e.value.data["field"] == "seller_returns_12m" and e.value.code == "uninsurable"
    # 850 returns: (850 + 150) / 1500 = 0.6667 still refused; 700: 850 / 1500 = 0.5667 accepted
    price(RS, rs_facts(seller_orders_12m=1000, seller_returns_12m=700), on=ON)


def test_return_claim_is_automatic_within_the_cover() -> None:
    q = price(RS, rs_facts(shipping_region="西藏"), on=ON)
    policy = policy_of(q)
    paid = automatic_claim(RS, policy, {"type": "return_shipped", "order_no": "TB20261207001",
                                        "shipped_on": "2026-12-12"})
    assert paid is not None and (paid.amount_fen, paid.event_type) == (2500, "return_shipped")
    assert "25.00" in paid.reason_zh and "25.00" in paid.reason_en
    # the courier charged less than insured: the actual fee
    cheap = automatic_claim(RS, policy, {"type": "return_shipped", "order_no": "TB20261207001",
                                         "shipped_on": "2026-12-12", "shipping_fee_fen": 1800})
    assert cheap is not None and cheap.amount_fen == 1800
    for other in ({"order_no": "TB20261207002", "shipped_on": "2026-12-12"},  # another order
                  {"order_no": "TB20261207001", "shipped_on": "2027-01-08"},  # day 31: after the cover
                  {"order_no": "TB20261207001", "shipped_on": "2026-12-08"}):  # before delivery
        assert automatic_claim(RS, policy, {"type": "return_shipped"} | other) is None
    assert automatic_claim(RS, policy, {"type": "flight_delayed", "delay_minutes": 300}) is None
    with pytest.raises(InvalidInput) as e:
        automatic_claim(RS, policy, {"type": "return_shipped", "order_no": "TB20261207001"})
    assert e.value.data["field"] == "shipped_on"


# --- TD01 flight delay --------------------------------------------------------------------------------------

def test_flight_delay_worked_examples() -> None:
    # PEK is a hub; July 1.5 * 19:00 (evening) 1.4 = 2.1: P(>=120) 0.04 * 2.1 = 0.084, P(>=240) 0.012 * 2.1
    # = 0.0252, P(cancel) 0.015 * 2.1 = 0.0315; expected = (0.084 - 0.0252) * 20000 + 0.0252 * 40000
    # + 0.0315 * 20000 = 1176 + 1008 + 630 = 2814 fen; * 1.1 / 0.75 = 4127.2 -> 4130 fen
    q = price(TD, td_facts(flight_no="ca1234"), on=ON)
    assert (q.premium_fen, q.sum_assured_fen, q.scene_key) == (4130, 40000, "CA1234:2027-07-15")
    assert q.cover_start == q.cover_end == date(2027, 7, 15)
    steps = {s["step"]: s["value"] for s in q.basis["steps"]}
    assert steps["factor"] == "2.100000" and steps["expected_payout_fen"] == "2814.000000"
    # KWE is not a hub; April 1.0 * 10:00 (morning) 0.8: 0.024, 0.0064, 0.008
    # (0.024 - 0.0064) * 20000 + 0.0064 * 40000 + 0.008 * 20000 = 352 + 256 + 160 = 768; * 1.466667 = 1126.4 -> 1130
    quiet = td_facts(flight_no="MU5101", departure_date="2027-04-10", departure_hour=10, departure_airport="KWE")
    assert price(TD, quiet, on=ON).premium_fen == 1130


def test_flight_delay_bands_and_cancellation() -> None:
    policy = policy_of(price(TD, td_facts(), on=ON))
    flight = {"flight_no": "CA1234", "departure_date": "2027-07-15"}

    def delayed(minutes: int) -> int | None:
        paid = automatic_claim(TD, policy, {"type": "flight_delayed", "delay_minutes": minutes} | flight)
        return None if paid is None else paid.amount_fen

    assert [delayed(m) for m in (0, 119, 120, 239, 240, 600)] == [None, None, 20000, 20000, 40000, 40000]
    cancelled = automatic_claim(TD, policy, {"type": "flight_cancelled"} | flight)
    assert cancelled is not None and (cancelled.amount_fen, cancelled.event_type) == (20000, "flight_cancelled")
    # another flight, another day, an event the product does not claim on
    assert automatic_claim(TD, policy, {"type": "flight_delayed", "delay_minutes": 300, "flight_no": "CA1235",
                                        "departure_date": "2027-07-15"}) is None
    assert automatic_claim(TD, policy, {"type": "flight_cancelled", "flight_no": "CA1234",
                                        "departure_date": "2027-07-16"}) is None
    assert automatic_claim(TD, policy, {"type": "return_shipped", "order_no": "CA1234"}) is None
    with pytest.raises(InvalidInput) as e:
        automatic_claim(TD, policy, {"type": "flight_delayed"} | flight)
    assert e.value.data["field"] == "delay_minutes"
    with pytest.raises(InvalidInput) as e:
        automatic_claim(TD, policy, {"delay_minutes": 300} | flight)
    assert e.value.data["field"] == "type"


def test_flight_delay_cannot_be_bought_once_the_delay_may_be_known() -> None:
    day = td_facts(departure_date="2026-12-07", departure_hour=19)  # departing on the quote day at 19:00
    with pytest.raises(Uninsurable) as e:
        price(TD, day, on=ON)  # no time of purchase
    assert e.value.data["field"] == "booked_on"
    for late in ("2026-12-07T17:01:00+08:00", "2026-12-07T09:30:00Z", "2026-12-07"):  # 09:30Z is 17:30 in China
        with pytest.raises(Uninsurable):
            price(TD, day | {"booked_on": late}, on=ON)
    assert price(TD, day | {"booked_on": "2026-12-07T17:00:00+08:00"}, on=ON).facts_used["booked_on"] == \
        "2026-12-07T17:00:00+08:00"
    with pytest.raises(InvalidInput) as e2:
        price(TD, td_facts(departure_date="2026-12-06"), on=ON)
    assert e2.value.data["field"] == "departure_date"


# --- AC01 trip accident -------------------------------------------------------------------------------------

def test_accident_worked_examples() -> None:
    # class 1, 7 days, 500,000 yuan: 50,000,000 * 0.0020 / 1000 * 7 = 700 fen
    q = price(AC, ac_facts(), on=ON)
    assert (q.premium_fen, q.sum_assured_fen, q.scene_key) == (700, 50_000_000, None)
    assert (q.cover_start, q.cover_end) == (date(2027, 3, 1), date(2027, 3, 7))
    # class 3, 10 days, 1,000,000 yuan: 100,000,000 * 0.0035 / 1000 * 10 = 3500 fen
    assert price(AC, ac_facts(occupation_class=3, days=10, sum_assured_fen=100_000_000), on=ON).premium_fen == 3500
    # age 70, class 2, 5 days, 200,000 yuan: 20,000,000 * 0.0025 / 1000 * 5 = 250 * 1.5 = 375 -> 380; age 75: * 2 = 500
    old = ac_facts(occupation_class=2, days=5, sum_assured_fen=20_000_000)
    assert price(AC, old | {"insured_birth_date": "1956-06-01"}, on=ON).premium_fen == 380
    assert price(AC, old | {"insured_birth_date": "1951-06-01"}, on=ON).premium_fen == 500
    # 10,000 yuan for a day: 1,000,000 * 0.000002 = 2 fen -> the minimum 100 fen
    assert price(AC, ac_facts(days=1, sum_assured_fen=1_000_000), on=ON).premium_fen == 100


@pytest.mark.parametrize(("born", "age", "cap_yuan"), [
    ("2017-03-02", 9, 200_000),   # turns 10 the day after cover starts (2027-03-01)
    ("2017-03-01", 10, 500_000),
    ("2009-03-02", 17, 500_000),
    ("2009-03-01", 18, None),
])
def test_minors_death_cap_by_age_at_the_start(born: str, age: int, cap_yuan: int | None) -> None:
    facts = ac_facts(insured_birth_date=born)
    if cap_yuan is None:
        assert price(AC, facts | {"sum_assured_fen": 100_000_000}, on=ON).sum_assured_fen == 100_000_000
        return
    steps = {s["step"]: s["value"] for s in price(AC, facts | {"sum_assured_fen": cap_yuan * 100}, on=ON)
             .basis["steps"]}
    assert steps["age_at_start"] == age and steps["minor_death_cap_fen"] == cap_yuan * 100
    with pytest.raises(Uninsurable) as e:
        price(AC, facts | {"sum_assured_fen": (cap_yuan + 10_000) * 100}, on=ON)
    assert e.value.data == {"field": "sum_assured_fen", "rule": "minor_death_cap"}
    assert "保监发〔2015〕90号" in e.value.message and f"{cap_yuan:,}" in e.value.message


def test_minors_cap_counts_cover_held_elsewhere() -> None:
    # a child of 8 holding 150,000 yuan of death cover elsewhere: at most 50,000 more
    child = ac_facts(insured_birth_date="2018-06-01", other_death_cover_fen=15_000_000)
    assert price(AC, child | {"sum_assured_fen": 5_000_000}, on=ON).facts_used["other_death_cover_fen"] == 15_000_000
    with pytest.raises(Uninsurable):
        price(AC, child | {"sum_assured_fen": 6_000_000}, on=ON)


def test_accident_refusals() -> None:
    for occupation in (5, 6):
        with pytest.raises(Uninsurable) as e:
            price(AC, ac_facts(occupation_class=occupation), on=ON)
        assert e.value.data["field"] == "occupation_class"
    with pytest.raises(InvalidInput) as e2:
        price(AC, ac_facts(occupation_class=7), on=ON)
    assert not isinstance(e2.value, Uninsurable) and e2.value.data["field"] == "occupation_class"
    with pytest.raises(Uninsurable) as e:
        price(AC, ac_facts(insured_birth_date="1946-02-28"), on=ON)  # 81 on 2027-03-01
    assert e.value.data["field"] == "insured_birth_date"
    assert price(AC, ac_facts(insured_birth_date="1946-03-02"), on=ON).premium_fen == 1400  # 80: 700 * 2
    for name, value in (("days", 31), ("days", 0), ("sum_assured_fen", 100_100_000), ("sum_assured_fen", 999_900),
                        ("sum_assured_fen", 50_050_000), ("start_date", "2026-12-06")):
        with pytest.raises(InvalidInput) as e2:
            price(AC, ac_facts(**{name: value}), on=ON)
        assert e2.value.data["field"] == name


# --- HM01 one-year medical ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("born", "social", "sum_yuan", "premium"), [
    ("1994-06-01", True, 2_000_000, 30000),     # 32: band 30-34, 300 yuan with 社保
    ("1994-06-01", False, 2_000_000, 48000),    # * 1.6 without
    ("1994-06-01", False, 3_000_000, 50400),    # 30000 * 1.05 * 1.6
    ("1992-01-01", True, 2_000_000, 38000),     # 35 on 2027-01-01: band 35-39
    ("1992-01-02", True, 2_000_000, 30000),     # still 34
    ("2026-11-20", True, 2_000_000, 60000),     # 42 days old: band 0-4
    ("1964-07-01", True, 2_000_000, 180000),    # 62: band 60-64
    ("1964-07-01", False, 2_000_000, 288000),   # 180000 * 1.6
    ("1961-06-01", True, 2_000_000, 250000),    # 65: the last age of new business, band 65-69
])
def test_medical_age_bands_and_social_insurance(born: str, social: bool, sum_yuan: int, premium: int) -> None:
    q = price(HM, hm_facts(insured_birth_date=born, has_social_insurance=social, sum_assured_fen=sum_yuan * 100),
              on=ON)
    assert (q.premium_fen, q.sum_assured_fen) == (premium, sum_yuan * 100)
    assert (q.cover_start, q.cover_end) == (date(2027, 1, 1), date(2027, 12, 31))
    assert (q.basis["deductible_fen"], q.basis["waiting_days"], q.basis["illness_cover_from"]) == \
        (1_000_000, 30, "2027-01-31")


def test_medical_refusals() -> None:
    for born in ("1960-12-31", "2026-12-05"):  # 66; 27 days old at the start
        with pytest.raises(Uninsurable) as e:
            price(HM, hm_facts(insured_birth_date=born), on=ON)
        assert e.value.data["field"] == "insured_birth_date"
    for name, value in (("sum_assured_fen", 250_000_000), ("has_social_insurance", "yes"),
                        ("start_date", "2027-03-01")):  # more than 60 days ahead
        with pytest.raises(InvalidInput) as e2:
            price(HM, hm_facts(**{name: value}), on=ON)
        assert e2.value.data["field"] == name


# --- refunds ------------------------------------------------------------------------------------------------

def test_refunds() -> None:
    rs = policy_of(price(RS, rs_facts(), on=ON))  # 550 fen, delivered 2026-12-09
    assert (refund(RS, rs, date(2026, 12, 8), claimed=False).amount_fen, refund(RS, rs, date(2026, 12, 9),
            claimed=False).amount_fen) == (550, 0)
    td = policy_of(price(TD, td_facts(), on=ON))  # 4130 fen, departing 2027-07-15
    assert refund(TD, td, date(2027, 7, 14), claimed=False).rule == "before_start"
    assert refund(TD, td, date(2027, 7, 15), claimed=False).amount_fen == 0
    ac = policy_of(price(AC, ac_facts(occupation_class=3, days=10, sum_assured_fen=100_000_000), on=ON))
    # 3500 fen for 2027-03-01..03-10; cancelled on 03-04 (counted as used): 6 of 10 days unexpired -> 2100 fen
    assert refund(AC, ac, date(2027, 2, 20), claimed=False).amount_fen == 3500
    cut = refund(AC, ac, date(2027, 3, 4), claimed=False)
    assert (cut.amount_fen, cut.rule) == (2100, "pro_rata") and "6/10" in cut.reason_en and "6/10" in cut.reason_zh
    assert refund(AC, ac, date(2027, 3, 10), claimed=False).rule == "expired"
    hm = policy_of(price(HM, hm_facts(), on=ON))
    # 30000 fen for 2027-01-01..12-31 (365 days); cancelled 04-10: 265 days unexpired: 30000 * 265 / 365
    # = 21780.82 -> 21780 fen (refunds round down)
    assert refund(HM, hm, date(2027, 4, 10), claimed=False).amount_fen == 21780
    paid = refund(HM, hm, date(2027, 4, 10), claimed=True)
    assert (paid.amount_fen, paid.rule) == (0, "claim_paid") and paid.reason_zh


# --- bad facts ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("product", "facts", "field"), [
    (RS, rs_facts(seller_id=None), "seller_id"),
    (RS, rs_facts(seller_orders_12m="many"), "seller_orders_12m"),
    (RS, rs_facts(seller_orders_12m=True), "seller_orders_12m"),
    (RS, rs_facts(seller_returns_12m=121), "seller_returns_12m"),
    (RS, rs_facts(category="toys"), "category"),
    (RS, rs_facts(order_no="订单 1"), "order_no"),
    (RS, rs_facts(order_value_fen=0), "order_value_fen"),
    (RS, rs_facts(delivered_on="2026/12/09"), "delivered_on"),
    (RS, rs_facts(delivered_on="2026-12-06"), "delivered_on"),
    (RS, rs_facts(shipping_region="Mars"), "shipping_region"),
    (TD, td_facts(flight_no="CA-1234"), "flight_no"),
    (TD, td_facts(departure_hour=24), "departure_hour"),
    (TD, td_facts(departure_airport="PEKING"), "departure_airport"),
    (TD, td_facts(booked_on="tomorrow"), "booked_on"),
    (AC, ac_facts(insured_birth_date="110101199003071234"), "insured_birth_date"),
    (HM, hm_facts(sum_assured_fen="13800138000"), "sum_assured_fen"),
])
def test_bad_facts_name_the_field_and_never_echo_the_value(product: SceneProduct, facts: dict[str, Any],
                                                           field: str) -> None:
    with pytest.raises(InvalidInput) as e:
        price(product, facts, on=ON)
    assert e.value.data["field"] == field and e.value.message.startswith(f"{field}: ")
    value = facts[field]
    if isinstance(value, str) and len(value) > 4:
        assert value not in e.value.message


def test_facts_are_minimised() -> None:
    q = price(RS, rs_facts(buyer_phone="13800138000", buyer_name="张三"), on=ON)
    assert set(q.facts_used) == set(rs_facts())
    assert q.basis["ignored_facts"] == ["buyer_name", "buyer_phone"] and "13800138000" not in json.dumps(q.basis)
    with pytest.raises(InvalidInput):
        price(RS, ["not", "a", "mapping"], on=ON)  # type: ignore[arg-type]


# --- a messy products file ----------------------------------------------------------------------------------

def _messy(tmp_path: Path, old: str, new: str) -> Path:
    text = scene.BUILT_IN.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "products.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "product", "field"), [
    ('name_en = "Flight delay insurance"\n', "", "TD01", "name_en"),  # missing
    ("credibility_orders = 500", 'credibility_orders = "500"', "RS01", "pricing.credibility_orders"),  # wrong type
    ("apparel = 0.30", 'apparel = "high"', "RS01", "pricing.category_return_rate.apparel"),
    ('"新疆" = 2500', '"新彊" = 2500', "RS01", "pricing.region_fee_fen.新彊"),  # not a province
    ("delay = [0.040, 0.012]", "delay = [0.040]", "TD01", "pricing.probability.hub.delay"),
    ("{ minutes = 240, payout_fen = 40000 }", "{ minutes = 240 }", "TD01", "pricing.delay_bands[1].payout_fen"),
    ('"4" = 0.0050', "", "AC01", "pricing.rate_per_mille_per_day"),  # class 4 neither priced nor refused
    ('kind = "health"', 'kind = "pet"', "HM01", "kind"),
    ("cover_days = 365", "cover_days = 365.0", "HM01", "cover_days"),
])
def test_messy_products_file_names_file_product_and_field(tmp_path: Path, old: str, new: str, product: str,
                                                          field: str) -> None:
    path = _messy(tmp_path, old, new)
    with pytest.raises(ConfigError) as e:
        load_products(path)
    assert e.value.data == {"file": str(path), "product": product, "field": field}
    assert str(path) in e.value.message and product in e.value.message and field in e.value.message


def test_unreadable_products_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_products(tmp_path / "missing.toml")
    broken = _messy(tmp_path, "[products.RS01]", "[products.RS01")
    with pytest.raises(ConfigError, match="not valid TOML") as e:
        load_products(broken)
    assert e.value.data == {"file": str(broken)}


def test_pricing_tables_are_read_exactly() -> None:
    # TOML floats are read as Decimal: 0.30 is exactly 3/10, never a binary float
    assert isinstance(RS.pricing, scene.ReturnShippingPricing)
    assert RS.pricing.category_return_rate["apparel"] == Decimal("3") / 10
    assert all(isinstance(v, Decimal) for v in RS.pricing.category_return_rate.values())
