"""Channel records: which people each channel knows, and how each channel spells them.

A household's primary channel holds every member (the agent keys the whole family in; the bank
or platform records insured relatives). Adults also turn up in other channels on their own, so
~30-40% of people sit in two or more systems. Every record copies the true person with the
variations real systems carry - homophone typos, traditional characters, an old phone, the
15-digit ID, blank optional fields - all still VALID values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shouhu.reference import occupations
from shouhu.reference.regions import regions
from shouhu.synth.config import CHANNELS, SynthConfig
from shouhu.synth.people import MARITAL, People
from shouhu.synth.render import MISSING
from shouhu.synth.text import cat, choose, null_where, num, pick

IntArray = npt.NDArray[np.int64]
PRIMARY_WEIGHTS = (0.46, 0.17, 0.10, 0.27, 0.0)  # agent, bancassurance, broker, internet, direct
EXTRA_PROB = (0.06, 0.09, 0.04, 0.11, 0.22)
# Probability that a record has each optional field filled, by channel.
PRESENCE: dict[str, dict[str, float]] = {
    "agent": {"id": 0.98, "email": 0.45, "address": 0.92, "income": 0.85, "occupation": 0.95, "marital": 0.95},
    "bancassurance": {"id": 1.0, "email": 0.15, "address": 0.95, "income": 0.9, "occupation": 0.8, "marital": 0.9},
    "broker": {"id": 0.95, "email": 0.7, "address": 0.8, "income": 0.6, "occupation": 0.7, "marital": 0.7},
    "internet": {"id": 0.6, "email": 0.3, "address": 0.3, "income": 0.0, "occupation": 0.2, "marital": 0.0},
    "direct": {"id": 0.5, "email": 0.4, "address": 0.2, "income": 0.0, "occupation": 0.0, "marital": 0.0},
}
PHONE_MISSING = {"agent": 0.03, "bancassurance": 0.05, "broker": 0.08, "internet": 0.0, "direct": 0.0}
TRADITIONAL = {"agent": 0.01, "bancassurance": 0.0, "broker": 0.15, "internet": 0.02, "direct": 0.01}
RECORD_PREFIX = {"agent": "KH", "bancassurance": "C", "broker": "BRK", "internet": "U", "direct": "A"}
RECORD_DIGITS = {"agent": 10, "bancassurance": 11, "broker": 7, "internet": 10, "direct": 9}


@dataclass
class ChannelRecords:
    channel: str
    person: IntArray  # true person of each record
    primary: npt.NDArray[np.bool_]  # record is in the household's primary channel
    record_id: Any
    fields: dict[str, Any]  # canonical party fields (Arrow arrays / numpy)
    created: IntArray  # day number the record was created

    def __len__(self) -> int:
        return len(self.person)


def membership(
    rng: np.random.Generator, people: People, cfg: SynthConfig, as_of_day: int
) -> tuple[npt.NDArray[np.bool_], IntArray]:
    """(people x channels) presence matrix and each household's primary channel."""
    n = len(people)
    w = np.array(PRIMARY_WEIGHTS)
    primary_h = rng.choice(len(CHANNELS), size=people.household[-1] + 1, p=w / w.sum())
    member = np.zeros((n, len(CHANNELS)), dtype=bool)
    member[np.arange(n), primary_h[people.household]] = True
    adult = (as_of_day - people.birth) >= 18 * 366
    extra = rng.random((n, len(CHANNELS))) < np.array(EXTRA_PROB) * cfg.multi_channel_boost
    member |= extra & adult[:, None]
    return member, primary_h


def record_ids(rng: np.random.Generator, channel: str, k: int) -> Any:
    """Unique, unordered record numbers in the channel's own format (KH0012345678, U3301...)."""
    digits = RECORD_DIGITS[channel]
    stride = max(1, (10 ** (digits - 1)) // max(k, 1))
    nums = 10 ** (digits - 1) + rng.permutation(k).astype(np.int64) * stride + rng.integers(0, stride, k)
    return cat(RECORD_PREFIX[channel], num(nums, digits))


def build_records(
    rng: np.random.Generator,
    people: People,
    member: npt.NDArray[np.bool_],
    channel: str,
    primary_channel: IntArray,
    cfg: SynthConfig,
    legacy_prob: float,
) -> ChannelRecords:
    """One channel's records with its own variations of each person's data."""
    c = CHANNELS.index(channel)
    person = np.flatnonzero(member[:, c]).astype(np.int64)
    k = len(person)
    primary = primary_channel[people.household[person]] == c
    pres = PRESENCE[channel]
    take = pa.array(person)

    def miss(p: float) -> npt.NDArray[np.bool_]:
        return rng.random(k) >= p

    name = people.name.take(take)
    trad = rng.random(k) < TRADITIONAL[channel]
    typo = rng.random(k) < np.where(primary, 0.02, 0.05)
    name = choose(trad, people.name_traditional.take(take), choose(typo, people.name_typo.take(take), name))
    old = people.old_phone.take(take)
    use_old = (rng.random(k) < np.where(primary, 0.15, 0.5)) & pc.is_valid(old).to_numpy(zero_copy_only=False)
    phone = null_where(choose(use_old, old, people.phone.take(take)), miss(1 - PHONE_MISSING[channel]))
    no_id = miss(pres["id"])
    id15 = people.id15.take(take)
    legacy = (rng.random(k) < legacy_prob) & pc.is_valid(id15).to_numpy(zero_copy_only=False)
    id_number = null_where(choose(legacy, id15, people.id18.take(take)), no_id)
    reg = regions()
    city = people.city[person]
    birth_known = ~no_id | (rng.random(k) < 0.7)
    occ = people.occupation[person]
    fields: dict[str, Any] = {
        "name": name,
        "gender": pick(["M", "F"], people.sex[person]),
        "birth_date": np.where(birth_known, people.birth[person], MISSING),
        "id_type": null_where(pa.array(["resident_id"] * k, pa.string()), no_id),
        "id_number": id_number,
        "phone": phone,
        "email": null_where(people.email.take(take), miss(pres["email"])),
        "province": pick([ct.province for ct in reg.cities], city),
        "city": pick([ct.name for ct in reg.cities], city),
        "address": null_where(people.address.take(take), miss(pres["address"])),
        "occupation": null_where(pick([o.name for o in occupations.OCCUPATIONS], occ), miss(pres["occupation"])),
        "occupation_class": np.array([o.occupation_class for o in occupations.OCCUPATIONS])[occ],
        "annual_income": np.where(miss(pres["income"]), np.nan, people.income[person]),
        "marital_status": null_where(pick(MARITAL, people.marital[person]), miss(pres["marital"])),
        "agent_id": pa.nulls(k, pa.string()),
    }
    return ChannelRecords(channel, person, primary, record_ids(rng, channel, k), fields, np.zeros(k, dtype=np.int64))


def legacy_probability(people: People, member: npt.NDArray[np.bool_], share: float) -> float:
    """Per-record chance of the 15-digit form so that ~``share`` of all records carry one.

    Only agent, bank and broker systems (the older ones) keep 15-digit numbers, and only people
    born before 2000 ever had one.
    """
    has15 = pc.is_valid(people.id15).to_numpy(zero_copy_only=False)
    eligible = int((member[:, :3] & has15[:, None]).sum())
    return min(1.0, share * int(member.sum()) / max(eligible, 1))
