"""Factories for content tests: items from text, the shipped library, candidates."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from shouhu.content import diseases, library
from shouhu.content.model import Item
from shouhu.content.recommend import Candidate

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "shouhu" / "content" / "library"
FIXTURES = Path(__file__).parent / "fixtures"


def md(header: str, body: str = "正文内容,讲清楚一个保险知识点。") -> str:
    return f"---\n{header.strip()}\n---\n{body}\n"


BODY = "正文内容,讲清楚一个保险知识点。"


def make_item(*, item_id: str = "sample-item", title: str = "示例文章标题", body: str = BODY,
              tags: str = "gaps: [critical_illness]", extra: str = "", **_: Any) -> Item:
    header = f"id: {item_id}\nkind: article\ntitle: {title}\ntags:\n  {tags}\n{extra}"
    return library.parse(md(header, body), f"{item_id}.md", list(diseases.catalogue()))


@cache
def shipped() -> tuple[Item, ...]:
    return tuple(library.load_directory(SHIPPED, list(diseases.catalogue())))


def published(items: tuple[Item, ...] | list[Item] | None = None) -> list[Candidate]:
    return [Candidate(i, "published") for i in (shipped() if items is None else items)]
