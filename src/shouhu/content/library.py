"""The content library: articles, courses and quizzes authored as Markdown files with a YAML header.

A file looks like this (zh-CN first; see docs/content.md for every field)::

    ---
    id: ci-waiting-period
    kind: article                 # article | course | quiz
    title: 重疾险的等待期是什么？
    tags:
      product_types: [critical_illness]
      gaps: [critical_illness]
      life_stages: [young_family]
      diseases: [malignant_tumour]
    ---
    正文(Markdown)……

Files come from outside (an agency's writers, a vendor), so reading never guesses: a file that is not
UTF-8 (GBK is named as such), has no header, or names an unknown field or tag is refused with the file
and the field. A directory is checked as a whole and every problem is listed at once. The version of an
item is its content hash (:func:`content_hash`): the same text imported twice is one version.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from shouhu.content.model import TAG_FIELDS, Audience, ContentError, Item, Kind, Question, tag_vocabulary

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")
KNOWN_FIELDS = frozenset({"id", "kind", "title", "title_en", "summary", "lang", "audience", "reading_minutes",
                          "valid_until", "tags", "lessons", "questions"})
LANGS = ("zh-CN", "en")
MAX_BYTES = 512 * 1024


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: field {self.field!r}: {self.reason}"


class LibraryError(ContentError):
    code = "content_file_invalid"

    def __init__(self, problems: list[Problem]) -> None:
        shown = "; ".join(str(p) for p in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the content files: {shown}{more}", problems=len(problems))
        self.problems = problems


def decode(raw: bytes, file: str) -> str:
    """UTF-8 text (a BOM is dropped); anything else is refused, naming GBK when it reads as GBK."""
    if len(raw) > MAX_BYTES:
        raise LibraryError([Problem(file, "file", f"larger than {MAX_BYTES // 1024} KiB")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gb18030")
        reason = "not UTF-8: it reads as GBK/GB18030; save it as UTF-8 and import again"
    except UnicodeDecodeError:
        reason = "not UTF-8 text"
    raise LibraryError([Problem(file, "encoding", reason)])


def split_front_matter(text: str, file: str) -> tuple[dict[str, Any], str]:
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---":
        raise LibraryError([Problem(file, "front_matter", "missing: the file must start with a '---' header")])
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise LibraryError([Problem(file, "front_matter", "not closed: no second '---' line")]) from None
    try:
        header = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as e:
        raise LibraryError([Problem(file, "front_matter", f"not valid YAML: {e}".splitlines()[0])]) from None
    if not isinstance(header, dict):
        raise LibraryError([Problem(file, "front_matter", "must be a mapping of field: value")])
    return header, "\n".join(lines[end + 1:]).strip()


def _tags(raw: Any, vocab: dict[str, list[str]], bad: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict) or not raw:
        bad("tags", f"give at least one of {', '.join(TAG_FIELDS)}")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for name, values in raw.items():
        if name not in vocab:
            bad(f"tags.{name}", f"unknown tag field; valid: {', '.join(TAG_FIELDS)}")
            continue
        items = [values] if isinstance(values, str) else values
        if not isinstance(items, list):
            bad(f"tags.{name}", "must be a list of codes")
            continue
        for v in items:
            if str(v) not in vocab[name]:
                bad(f"tags.{name}", f"unknown tag {v!r}; valid: {', '.join(vocab[name])}")
        out[name] = tuple(str(v) for v in items)
    return out


def _questions(raw: Any, gaps: list[str], bad: Any) -> tuple[Question, ...]:
    if not isinstance(raw, list) or not raw:
        bad("questions", "a quiz needs a list of questions")
        return ()
    out = []
    for i, q in enumerate(raw):
        where = f"questions[{i}]"
        if not isinstance(q, dict) or not str(q.get("text") or "").strip():
            bad(f"{where}.text", "required")
            continue
        options = q.get("options")
        if not isinstance(options, list) or len(options) < 2:
            bad(f"{where}.options", "give at least two options")
            continue
        answer = q.get("answer")
        if not isinstance(answer, int) or not 0 <= answer < len(options):
            bad(f"{where}.answer", f"must be the index (0..{len(options) - 1}) of the right option")
            continue
        gap = str(q.get("gap") or "")
        if gap and gap not in gaps:
            bad(f"{where}.gap", f"unknown gap {gap!r}; valid: {', '.join(gaps)}")
        out.append(Question(str(q["text"]).strip(), tuple(str(o) for o in options), answer,
                            str(q.get("explain") or ""), gap))
    return tuple(out)


def _choice(header: dict[str, Any], name: str, valid: list[str] | tuple[str, ...], default: str, bad: Any) -> str:
    value = str(header.get(name) or default)
    if value not in valid:
        bad(name, f"{value!r} is not one of {', '.join(valid)}")
    return value


def _scalars(header: dict[str, Any], bad: Any) -> dict[str, Any]:
    item_id = str(header.get("id") or "")
    if not ID_PATTERN.match(item_id):
        bad("id", "required: 3-64 characters of a-z, 0-9 and '-'")
    title = str(header.get("title") or "").strip()
    if not 2 <= len(title) <= 120:
        bad("title", "required: 2 to 120 characters")
    minutes = header.get("reading_minutes", 3)
    if not isinstance(minutes, int) or not 1 <= minutes <= 120:
        bad("reading_minutes", "a whole number of minutes, 1 to 120")
        minutes = 3
    valid_until = header.get("valid_until") or ""
    if valid_until:
        try:
            valid_until = date.fromisoformat(str(valid_until)).isoformat()
        except ValueError:
            bad("valid_until", f"{valid_until!r} is not a date (YYYY-MM-DD)")
    for name in sorted(set(header) - KNOWN_FIELDS):
        bad(name, f"unknown field; valid: {', '.join(sorted(KNOWN_FIELDS))}")
    return {"item_id": item_id, "title": title, "reading_minutes": minutes, "valid_until": str(valid_until),
            "title_en": str(header.get("title_en") or ""), "summary": str(header.get("summary") or "").strip()}


def content_hash(meta: dict[str, Any], body: str) -> str:
    """The version: SHA-256 over the header's meaning (not its layout) and the body, 16 hex digits."""
    canon = json.dumps({k: v for k, v in meta.items() if k != "source_file"}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256((canon + "\n" + body).encode("utf-8")).hexdigest()[:16]


def parse(text: str, file: str, disease_codes: list[str]) -> Item:
    """One item from the text of one file; every problem of the file is listed at once."""
    header, body = split_front_matter(text, file)
    problems: list[Problem] = []

    def bad(name: str, reason: str) -> None:
        problems.append(Problem(file, name, reason))

    vocab = tag_vocabulary(disease_codes)
    scalars = _scalars(header, bad)
    kind = _choice(header, "kind", Kind.codes(), "", bad)
    lang = _choice(header, "lang", LANGS, "zh-CN", bad)
    audience = _choice(header, "audience", Audience.codes(), Audience.CUSTOMER.value, bad)
    tags = _tags(header.get("tags"), vocab, bad)
    questions = _questions(header.get("questions"), vocab["gaps"], bad) if kind == Kind.QUIZ.value else ()
    lessons = header.get("lessons") or []
    if kind == Kind.COURSE.value and (not isinstance(lessons, list) or not lessons):
        bad("lessons", "a course needs a list of article ids")
    if not body and kind != Kind.QUIZ.value:
        bad("body", "empty: write the text below the header")
    if problems:
        raise LibraryError(problems)
    item = Item(scalars["item_id"], kind, scalars["title"], body, "", tags, scalars["title_en"], scalars["summary"],
                lang, audience, scalars["reading_minutes"], scalars["valid_until"],
                tuple(str(x) for x in lessons), questions, file)
    return Item(**{**item.__dict__, "content_hash": content_hash(item.meta(), body)})


def read_file(path: Path, disease_codes: list[str]) -> Item:
    return parse(decode(path.read_bytes(), path.name), path.name, disease_codes)


def load_directory(folder: Path, disease_codes: list[str]) -> list[Item]:
    """Every ``*.md`` file under ``folder`` (sorted by name); all problems of all files listed together."""
    if not folder.is_dir():
        raise ContentError(f"directory: {folder} is not a directory", field="directory")
    items: list[Item] = []
    problems: list[Problem] = []
    for path in sorted(folder.rglob("*.md")):
        try:
            items.append(read_file(path, disease_codes))
        except LibraryError as e:
            problems.extend(e.problems)
    problems.extend(_cross_checks(items))
    if problems:
        raise LibraryError(problems)
    if not items:
        raise ContentError(f"directory: no *.md files in {folder}", field="directory")
    return items


def _cross_checks(items: list[Item]) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[str, str] = {}
    for it in items:
        if it.item_id in first:
            problems.append(Problem(it.source_file, "id", f"{it.item_id!r} is also the id of {first[it.item_id]}"))
        first.setdefault(it.item_id, it.source_file)
    for it in items:
        for lesson in it.lessons:
            if lesson not in first:
                problems.append(Problem(it.source_file, "lessons", f"no article with id {lesson!r} in the library"))
    return problems
