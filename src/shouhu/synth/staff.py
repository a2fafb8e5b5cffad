"""Sellers and service staff: agents in teams and branches per city, bank sellers per outlet.

Customers are served by staff of their own city, so a branch manager's view of "my customers"
is geographically coherent, as in a real agency force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shouhu.reference.regions import regions
from shouhu.synth.people import day_number
from shouhu.synth.text import cat, num, pick

IntArray = npt.NDArray[np.int64]
BANKS = ("工商银行", "建设银行", "农业银行", "中国银行", "交通银行", "招商银行", "邮储银行", "兴业银行")


@dataclass
class StaffTable:
    """Staff rows (canonical staff fields) plus, per city, which rows sell (for assignment)."""

    fields: dict[str, Any]
    city: IntArray
    sellers: IntArray  # row numbers of staff who sell, sorted by city

    def __len__(self) -> int:
        return len(self.city)

    def assign(self, rng: np.random.Generator, city: IntArray) -> IntArray:
        """A random seller of the same city for each customer city (nearest in list if none)."""
        seller_city = self.city[self.sellers]
        start = np.searchsorted(seller_city, city)
        count = np.searchsorted(seller_city, city, side="right") - start
        fallback = np.minimum(start, len(self.sellers) - 1)
        pos = np.where(count > 0, start + rng.integers(0, 1 << 30, len(city)) % np.maximum(count, 1), fallback)
        return self.sellers[pos]


def _names(rng: np.random.Generator, n: int) -> Any:
    from shouhu.synth.people import _names as person_names

    return person_names(rng, (rng.random(n) < 0.45).astype(np.int64))[0]


def _per_city(customers_per_city: IntArray, per_seller: int) -> IntArray:
    return np.where(customers_per_city > 0, np.maximum(1, customers_per_city // per_seller), 0)


def agent_force(rng: np.random.Generator, customers_per_city: IntArray, as_of: date) -> StaffTable:
    """Agents (~1 per 60 customers) in teams of ~8 under a leader, plus service and health staff."""
    reg = regions()
    agents = _per_city(customers_per_city, 60)
    city = np.repeat(np.arange(len(reg.cities)), agents)
    n_agents = len(city)
    team = np.concatenate([np.arange(k) // 8 for k in agents]) if n_agents else np.zeros(0, np.int64)
    leaders = np.flatnonzero(np.r_[True, (team[1:] != team[:-1]) | (city[1:] != city[:-1])]) if n_agents else team
    role = np.full(n_agents, "agent", dtype=object)
    role[leaders] = "team_leader"
    extra_city = np.repeat(np.arange(len(reg.cities)), _per_city(customers_per_city, 800))
    health_city = np.repeat(np.arange(len(reg.cities)), _per_city(customers_per_city, 2500))
    all_city = np.concatenate([city, extra_city, health_city]).astype(np.int64)
    all_team = np.concatenate([team, np.full(len(extra_city) + len(health_city), -1)])
    roles = np.concatenate([role, ["service"] * len(extra_city), ["health_manager"] * len(health_city)])
    n = len(all_city)
    code = pick([c.code for c in reg.cities], all_city)
    cname = pick([c.name.removesuffix("市") for c in reg.cities], all_city)
    team_no = num(np.maximum(all_team, 0) + 1, 2)
    has_team = pa.array(all_team >= 0)
    import pyarrow.compute as pc

    fields = {
        "staff_id": cat("AG", num(np.arange(n) * 7 + 100_003 + rng.integers(0, 7, n), 7)),
        "name": _names(rng, n),
        "role": pa.array(list(roles), pa.string()),
        "team_id": pc.if_else(has_team, cat("T", code, team_no), pa.scalar(None, pa.string())),
        "team_name": pc.if_else(has_team, cat(cname, "营业部第", team_no, "组"), pa.scalar(None, pa.string())),
        "branch_id": cat("BR", code),
        "branch_name": cat(cname, "中心支公司"),
        "qualification_grade": pick(["Q1", "Q2", "Q3"], rng.choice(3, size=n, p=[0.55, 0.33, 0.12])),
        "hire_date": day_number(as_of) - rng.integers(30, 15 * 365, n),
    }
    sellers = np.flatnonzero(np.isin(roles, ["agent", "team_leader"]))
    return StaffTable(fields, all_city, sellers[np.argsort(all_city[sellers], kind="stable")])


def bank_sellers(rng: np.random.Generator, customers_per_city: IntArray, as_of: date) -> StaffTable:
    """Bank wealth managers (理财经理), ~1 per 150 bank customers, grouped by outlet and bank."""
    reg = regions()
    city = np.repeat(np.arange(len(reg.cities)), _per_city(customers_per_city, 150)).astype(np.int64)
    n = len(city)
    bank = rng.integers(0, len(BANKS), n)
    outlet = rng.integers(1, 40, n)
    cname = pick([c.name.removesuffix("市") for c in reg.cities], city)
    bname = pick(BANKS, bank)
    code = pick([c.code for c in reg.cities], city)
    fields = {
        "staff_id": cat("YB", num(np.arange(n) * 13 + 200_011 + rng.integers(0, 13, n), 8)),
        "name": _names(rng, n),
        "role": pa.array(["bank_seller"] * n, pa.string()),
        "team_id": cat(code, num(bank, 2), num(outlet, 3)),
        "team_name": cat(
            bname, cname, pick(["人民路", "中山路", "城东", "城西", "高新区", "开发区"], outlet % 6), "支行"
        ),
        "branch_id": cat(code, num(bank, 2)),
        "branch_name": cat(bname, cname, "分行"),
        "qualification_grade": pick(["Q1", "Q2", "Q3"], rng.choice(3, size=n, p=[0.4, 0.45, 0.15])),
        "hire_date": day_number(as_of) - rng.integers(60, 20 * 365, n),
    }
    return StaffTable(fields, city, np.arange(n, dtype=np.int64))
