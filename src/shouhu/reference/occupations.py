"""Occupations with the insurer's occupation class (1 = office ... 6 = most hazardous).

The class drives accident underwriting; ``income_factor`` scales the city-tier income so that
incomes differ by occupation as well as by region. ``min_age``/``max_age`` keep children, students
and retirees plausible.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Occupation:
    name: str
    occupation_class: int
    income_factor: float
    min_age: int
    max_age: int
    weight: float


OCCUPATIONS: tuple[Occupation, ...] = (
    Occupation("企业职员", 1, 1.0, 20, 60, 18.0),
    Occupation("企业管理人员", 1, 2.2, 28, 60, 5.0),
    Occupation("公务员", 1, 1.2, 22, 60, 4.0),
    Occupation("教师", 1, 1.05, 22, 60, 5.0),
    Occupation("医生", 1, 1.6, 25, 65, 2.0),
    Occupation("护士", 1, 0.9, 20, 55, 2.0),
    Occupation("工程师", 1, 1.5, 22, 60, 5.0),
    Occupation("IT技术人员", 1, 1.8, 20, 55, 4.0),
    Occupation("会计", 1, 1.0, 21, 60, 3.0),
    Occupation("律师", 1, 2.3, 25, 65, 0.6),
    Occupation("销售人员", 2, 1.1, 18, 60, 6.0),
    Occupation("个体工商户", 2, 1.3, 20, 70, 8.0),
    Occupation("私营企业主", 2, 3.0, 25, 70, 2.0),
    Occupation("农民", 2, 0.45, 18, 75, 9.0),
    Occupation("快递员", 3, 0.8, 18, 50, 2.5),
    Occupation("网约车司机", 3, 0.85, 22, 60, 2.5),
    Occupation("厨师", 3, 0.8, 18, 60, 2.0),
    Occupation("电工", 4, 0.9, 20, 60, 1.5),
    Occupation("建筑工人", 4, 0.75, 18, 60, 4.0),
    Occupation("货车司机", 4, 0.95, 22, 60, 1.5),
    Occupation("渔民", 5, 0.6, 18, 65, 0.5),
    Occupation("高空作业人员", 6, 1.0, 20, 55, 0.3),
    Occupation("退休人员", 1, 0.55, 50, 120, 10.0),
    Occupation("自由职业", 1, 0.9, 20, 65, 3.0),
    Occupation("家庭主妇", 1, 0.0, 20, 70, 2.0),
    Occupation("学生", 1, 0.0, 6, 25, 0.0),
    Occupation("学龄前儿童", 1, 0.0, 0, 5, 0.0),
)
STUDENT = next(i for i, o in enumerate(OCCUPATIONS) if o.name == "学生")
PRESCHOOL = next(i for i, o in enumerate(OCCUPATIONS) if o.name == "学龄前儿童")
RETIRED = next(i for i, o in enumerate(OCCUPATIONS) if o.name == "退休人员")
