"""Markdown files with a YAML header: the shipped samples, and messy outside files refused with file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from shouhu.content import diseases, library
from shouhu.content.library import LibraryError
from shouhu.content.model import LIFE_STAGES, Kind
from tests.content.factories import SHIPPED, make_item, md, shipped

CODES = list(diseases.catalogue())


def _problems(exc: pytest.ExceptionInfo[LibraryError]) -> list[tuple[str, str]]:
    return [(p.file, p.field) for p in exc.value.problems]


def test_the_shipped_library_has_articles_a_course_and_a_quiz_all_zh_cn_first() -> None:
    items = shipped()
    kinds = {i.kind for i in items}
    assert 15 <= len(items) <= 25
    assert kinds == set(Kind.codes())
    assert all(i.lang == "zh-CN" for i in items)
    assert all(any(i.tags.values()) for i in items)


def test_life_stage_codes_match_the_customer_360() -> None:
    from shouhu.customer360.lifecycle import LifeStage

    assert list(LIFE_STAGES) == LifeStage.codes()


def test_a_file_without_front_matter_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "plain.md").write_text("# 标题\n\n没有头部信息的文章。\n", encoding="utf-8")
    with pytest.raises(LibraryError) as e:
        library.load_directory(tmp_path, CODES)
    assert _problems(e) == [("plain.md", "front_matter")]
    assert "plain.md" in str(e.value) and "front_matter" in str(e.value)


def test_a_gbk_file_is_refused_as_gbk_not_guessed(tmp_path: Path) -> None:
    text = md("id: gbk-file\nkind: article\ntitle: 等待期是什么\ntags:\n  gaps: [medical]")
    (tmp_path / "gbk.md").write_bytes(text.encode("gbk"))
    with pytest.raises(LibraryError) as e:
        library.load_directory(tmp_path, CODES)
    assert _problems(e) == [("gbk.md", "encoding")]
    assert "GBK" in e.value.problems[0].reason


def test_unknown_tags_and_fields_are_named_with_the_valid_choices(tmp_path: Path) -> None:
    header = ("id: messy\nkind: article\ntitle: 一篇外来的文章\nauthor: 某供应商\n"
              "tags:\n  diseases: [flu]\n  moods: [happy]\n  gaps: [education]")
    (tmp_path / "messy.md").write_text(md(header), encoding="utf-8")
    with pytest.raises(LibraryError) as e:
        library.load_directory(tmp_path, CODES)
    fields = {f for _, f in _problems(e)}
    assert fields == {"author", "tags.diseases", "tags.moods"}
    disease = next(p for p in e.value.problems if p.field == "tags.diseases")
    assert "'flu'" in disease.reason and "malignant_tumour" in disease.reason


def test_every_problem_of_a_directory_is_listed_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(md("id: dup-id\nkind: article\ntitle: 文章一\ntags:\n  gaps: [life]"), "utf-8")
    (tmp_path / "b.md").write_text(md("id: dup-id\nkind: article\ntitle: 文章二\ntags:\n  gaps: [life]"), "utf-8")
    (tmp_path / "c.md").write_text(md("id: a-course\nkind: course\ntitle: 课程\nlessons: [dup-id, missing-one]\n"
                                      "tags:\n  gaps: [life]"), "utf-8")
    (tmp_path / "d.md").write_text(md("id: bad-quiz\nkind: quiz\ntitle: 测验\ntags:\n  gaps: [life]\n"
                                      "questions:\n  - text: 问题?\n    options: [是, 否]\n    answer: 5"), "utf-8")
    with pytest.raises(LibraryError) as e:
        library.load_directory(tmp_path, CODES)
    assert set(_problems(e)) == {("b.md", "id"), ("c.md", "lessons"), ("d.md", "questions[0].answer")}


@pytest.mark.parametrize(("header", "field"), [
    ("id: X\nkind: article\ntitle: 标题\ntags:\n  gaps: [life]", "id"),
    ("id: no-kind\ntitle: 标题\ntags:\n  gaps: [life]", "kind"),
    ("id: no-tags\nkind: article\ntitle: 标题", "tags"),
    ("id: bad-date\nkind: article\ntitle: 标题\nvalid_until: 明年\ntags:\n  gaps: [life]", "valid_until"),
    ("id: bad-lang\nkind: article\ntitle: 标题\nlang: fr\ntags:\n  gaps: [life]", "lang"),
    ("id: [unclosed\nkind: article", "front_matter"),
])
def test_bad_headers_name_their_field(header: str, field: str) -> None:
    with pytest.raises(LibraryError) as e:
        library.parse(md(header), "x.md", CODES)
    assert field in [p.field for p in e.value.problems]


def test_the_version_is_a_hash_of_meaning_not_layout() -> None:
    a = make_item(extra="reading_minutes: 3")
    b = make_item(extra="reading_minutes:    3   # same, other layout")
    c = make_item(body="正文内容,改了一个字。")
    assert a.content_hash == b.content_hash
    assert a.content_hash != c.content_hash and len(a.content_hash) == 16


def test_a_bom_is_accepted_and_samples_are_plain_utf8() -> None:
    raw = "\ufeff" + md("id: with-bom\nkind: article\ntitle: 有BOM的文件\ntags:\n  gaps: [life]")
    assert library.parse(library.decode(raw.encode("utf-8"), "b.md"), "b.md", CODES).item_id == "with-bom"
    for path in SHIPPED.glob("*.md"):
        path.read_bytes().decode("utf-8")
