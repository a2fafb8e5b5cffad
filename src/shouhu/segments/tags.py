"""The tag library: named rules over customer_360, shipped in ``tags.toml`` and overridable.

``apply_tags`` materialises ``customer_tag`` (one row per customer and tag) inside the engine.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import ibis

from shouhu.errors import ConfigError, ShouhuError, StorageError, UnknownName
from shouhu.model.marts import CUSTOMER_360, CUSTOMER_GAP, CUSTOMER_TAG
from shouhu.segments.compile import compile_rule
from shouhu.segments.nodes import RuleError
from shouhu.segments.rules import Rule, parse_rule

SHIPPED_TAGS = Path(__file__).with_name("tags.toml")
USER_TAGS_FILE = "tags.toml"
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
T = TypeVar("T")
_KEYS = {"code", "zh", "en", "description", "rule", "enabled"}


@dataclass(frozen=True)
class Tag:
    code: str
    zh: str
    en: str
    description: str
    rule: Rule

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "zh": self.zh, "en": self.en, "description": self.description,
                "rule": self.rule.text}


@dataclass(frozen=True)
class TagLibrary:
    tags: tuple[Tag, ...]
    sources: tuple[Path, ...] = ()

    def __iter__(self) -> Iterator[Tag]:
        return iter(self.tags)

    def __len__(self) -> int:
        return len(self.tags)

    @property
    def codes(self) -> list[str]:
        return [t.code for t in self.tags]

    def get(self, code_or_label: str) -> Tag:
        """A tag by code, or by its Chinese or English label (``高净值`` finds ``high_net_worth``)."""
        for tag in self.tags:
            if code_or_label in (tag.code, tag.zh, tag.en):
                return tag
        raise UnknownName("tag", code_or_label, self.codes)


def read_tag_file(path: Path) -> list[dict[str, Any]]:
    """The ``[[tag]]`` tables of one file, checked: known keys, valid unique codes, rules that parse."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"tag file not found: {path}", file=str(path)) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}", file=str(path)) from e
    extra = set(raw) - {"tag"}
    if extra:
        raise ConfigError(f"{path}: unknown top-level keys {sorted(extra)}; tags are [[tag]] tables", file=str(path))
    entries = raw.get("tag", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: write tags as [[tag]] tables", file=str(path))
    seen: set[str] = set()
    for n, entry in enumerate(entries, 1):
        _check_entry(path, n, entry)
        if entry["code"] in seen:
            raise ConfigError(f"{path}: tag code {entry['code']!r} is defined twice", file=str(path))
        seen.add(entry["code"])
    return entries


def _check_entry(path: Path, n: int, entry: dict[str, Any]) -> None:
    where = f"{path}: tag #{n} ({entry.get('code', '?')})"
    unknown = set(entry) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_KEYS)}", file=str(path))
    if not isinstance(entry.get("code"), str) or not _CODE.match(entry["code"]):
        raise ConfigError(f"{where}: code must be lower_snake_case ASCII, at most 40 characters", file=str(path))
    if not isinstance(entry.get("enabled", True), bool):
        raise ConfigError(f"{where}: enabled must be true or false", file=str(path))
    required = ("zh", "en", "rule") if entry.get("enabled", True) else ()
    for key in (*required, "description"):
        if (key in entry and not isinstance(entry[key], str)) or (key in required and not entry.get(key)):
            raise ConfigError(f"{where}: {key} must be non-empty text", file=str(path))
    if "rule" in entry:
        try:
            parse_rule(entry["rule"])
        except RuleError as e:
            raise ConfigError(f"{where}: bad rule: {e.message}", file=str(path), tag=entry["code"]) from e


def load_tag_library(data_dir: Path | None = None, *, path: Path | None = None) -> TagLibrary:
    """The shipped library merged with ``<data_dir>/tags.toml`` if present (or only ``path`` if given).

    In the user file a tag with a shipped code replaces it, a new code adds a tag and
    ``enabled = false`` removes one.
    """
    files = [path] if path is not None else [SHIPPED_TAGS]
    user = data_dir / USER_TAGS_FILE if data_dir is not None and path is None else None
    if user is not None and user.is_file():
        files.append(user)
    merged: dict[str, dict[str, Any]] = {}
    for file in files:
        for entry in read_tag_file(file):
            if not entry.get("enabled", True):
                merged.pop(entry["code"], None)
            else:
                merged[entry["code"]] = entry
    tags = tuple(Tag(e["code"], e["zh"], e["en"], e.get("description", ""), parse_rule(e["rule"]))
                 for e in merged.values())
    return TagLibrary(tags, tuple(files))


def tag_table(customers: Any, library: TagLibrary) -> Any:
    """The customer_tag rows as an Ibis expression over a customer_360 table (pure; nothing runs)."""
    parts = [
        customers.filter(compile_rule(tag.rule, customers)).select(
            customer_id=customers.customer_id.cast("string"),
            tag=ibis.literal(tag.code, type="string"),
            label_zh=ibis.literal(tag.zh, type="string"),
            label_en=ibis.literal(tag.en, type="string"),
        )
        for tag in library
    ]
    if not parts:
        empty = customers.filter(ibis.literal(False))
        return empty.select(customer_id=empty.customer_id.cast("string"),
                            **{c: ibis.literal("", type="string") for c in CUSTOMER_TAG.field_names[1:]})
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def run_in_engine(wh: Any, what: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` (which executes Ibis on ``wh``); an engine failure says what was being done."""
    try:
        return fn()
    except ShouhuError:
        raise
    except Exception as e:
        raise StorageError(f"{wh.engine} warehouse failed to {what}: {e}", engine=wh.engine) from e


def customer_360(wh: Any) -> Any:
    if not wh.has_table(CUSTOMER_360.table):
        raise StorageError(f"the warehouse has no {CUSTOMER_360.table} table yet: run the refresh pipeline "
                           "first (客户360视图尚未生成)", table=CUSTOMER_360.table)
    customers = wh.table(CUSTOMER_360.table)
    if wh.has_table(CUSTOMER_GAP.table):
        gaps = wh.table(CUSTOMER_GAP.table)
        return customers.left_join(gaps, "customer_id").drop("customer_id_right")
    # no gaps step yet: the gap columns exist and are empty, so rules that name them still compile
    return customers.mutate(**{f.name: ibis.null().cast("float64") for f in CUSTOMER_GAP.fields[1:]})


def apply_tags(wh: Any, library: TagLibrary | None = None) -> dict[str, int]:
    """Materialise ``customer_tag`` from ``customer_360``; return the number of customers per tag."""
    library = library if library is not None else load_tag_library()
    expr = tag_table(customer_360(wh), library)  # built first: a bad library must not drop the old table
    wh.materialize(CUSTOMER_TAG.table, expr)
    return tag_counts(wh, library)


def tag_counts(wh: Any, library: TagLibrary | None = None) -> dict[str, int]:
    """Customers per tag in the materialised ``customer_tag`` (every library tag listed, zeros too)."""
    library = library if library is not None else load_tag_library()
    if not wh.has_table(CUSTOMER_TAG.table):
        raise StorageError(f"the warehouse has no {CUSTOMER_TAG.table} table yet: run `shouhu tags apply` "
                           "first", table=CUSTOMER_TAG.table)
    tags = wh.table(CUSTOMER_TAG.table)
    counted = tags.group_by("tag").aggregate(n=tags.count())
    rows = run_in_engine(wh, "count tags", counted.to_pyarrow).to_pylist()
    found = {r["tag"]: int(r["n"]) for r in rows}
    return {code: found.get(code, 0) for code in library.codes} | found
