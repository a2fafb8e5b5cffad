"""Saved segment definitions: one JSON file per segment under ``<data_dir>/segments/``.

A file store is enough for the data team's CLI; the web console will keep its own in the
serving database and can import these files.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from shouhu.errors import ConfigError, InvalidInput, UnknownName
from shouhu.segments.rules import parse_rule
from shouhu.segments.segments import Segment
from shouhu.segments.tags import TagLibrary, load_tag_library

SEGMENTS_DIR = "segments"
# Letters (Chinese included), digits, _ and -: a name is also a file name, so no dots or slashes.
_NAME = re.compile(r"^[^\W_][\w\-]{0,63}$")


class SegmentStore:
    def __init__(self, directory: Path, library: TagLibrary | None = None) -> None:
        self.directory = directory
        self._library = library

    def _path(self, name: str) -> Path:
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidInput(f"segment name {name!r}: use 1–64 letters, digits, _ or - (Chinese is fine), "
                               "starting with a letter or digit", name=str(name))
        return self.directory / f"{name}.json"

    def save(self, segment: Segment, *, overwrite: bool = True) -> Segment:
        """Validate (rule parses, tags exist) and write atomically; returns the segment as saved."""
        path = self._path(segment.name)
        parse_rule(segment.rule)
        if segment.tags:
            library = self._library if self._library is not None else load_tag_library()
            tags = tuple(library.get(code).code for code in segment.tags)  # labels become codes
        else:
            tags = ()
        if path.exists() and not overwrite:
            raise InvalidInput(f"segment {segment.name!r} exists already", name=segment.name)
        saved = Segment(segment.name, segment.rule, segment.description, tags,
                        datetime.now(UTC).isoformat(timespec="seconds"))
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(json.dumps(saved.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)
        return saved

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json") if _NAME.match(p.stem))

    def load(self, name: str) -> Segment:
        path = self._path(name)
        if not path.is_file():
            raise UnknownName("saved segment", name, self.names())
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return Segment(name=str(raw["name"]), rule=str(raw["rule"]), description=str(raw.get("description", "")),
                           tags=tuple(str(t) for t in raw.get("tags", [])), saved_at=raw.get("saved_at"))
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{path}: not a saved segment: {e}", file=str(path)) from e

    def list(self) -> list[Segment]:
        return [self.load(n) for n in self.names()]

    def delete(self, name: str) -> None:
        path = self._path(name)
        if not path.is_file():
            raise UnknownName("saved segment", name, self.names())
        path.unlink()


def segment_store(data_dir: Path) -> SegmentStore:
    return SegmentStore(data_dir / SEGMENTS_DIR, load_tag_library(data_dir))


def save_segment(data_dir: Path, name: str, rule: str, description: str = "", *,
                 tags: Sequence[str] = (), overwrite: bool = True) -> Segment:
    return segment_store(data_dir).save(Segment(name, rule, description, tuple(tags)), overwrite=overwrite)


def list_segments(data_dir: Path) -> list[Segment]:
    return SegmentStore(data_dir / SEGMENTS_DIR).list()


def load_segment(data_dir: Path, name: str) -> Segment:
    return SegmentStore(data_dir / SEGMENTS_DIR).load(name)
