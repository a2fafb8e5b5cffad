"""Versioned model artifacts on disk: ``<root>/<name>/<version>/{model.txt, meta.json}``.

``root`` is ``<data_dir>/models`` in a deployment. Versions are 1, 2, 3, ...; ``name@3`` names one,
plain ``name`` the latest. ``model.txt`` is LightGBM's own text format (no pickle: a model file
can be read and diffed); ``meta.json`` holds everything else (features, calibration, drift profile,
metrics, data fingerprint, parameters, seed, time, shouhu version).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shouhu.errors import InvalidInput, UnknownName

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MODEL_FILE = "model.txt"
META_FILE = "meta.json"


@dataclass(frozen=True)
class Artifact:
    name: str
    version: int
    path: Path
    meta: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def model_file(self) -> Path:
        return self.path / MODEL_FILE


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(f"model names use letters, digits, '_', '-', '.' (up to 64): {name!r}", name=name)
    return name


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"lapse@2"`` -> ("lapse", 2); ``"lapse"`` -> ("lapse", None) meaning the latest."""
    name, _, version = ref.partition("@")
    if version and not version.isdigit():
        raise InvalidInput(f"a model version is a number: {ref!r}", ref=ref)
    return check_name(name), int(version) if version else None


def versions(root: Path, name: str) -> list[int]:
    d = root / name
    if not d.is_dir():
        return []
    return sorted(int(p.name) for p in d.iterdir() if p.name.isdigit() and (p / META_FILE).exists())


def save(root: Path, name: str, model_text: str, meta: dict[str, Any]) -> Artifact:
    """Write a new version of ``name``; earlier versions are never touched."""
    check_name(name)
    version = (versions(root, name) or [0])[-1] + 1
    path = root / name / str(version)
    path.mkdir(parents=True, exist_ok=False)
    meta = {**meta, "name": name, "version": version}
    (path / MODEL_FILE).write_text(model_text, encoding="utf-8")
    (path / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return Artifact(name, version, path, meta)


def load(root: Path, ref: str) -> Artifact:
    name, version = parse_ref(ref)
    known = versions(root, name)
    if not known:
        raise UnknownName("model", name, list_names(root))
    version = version or known[-1]
    if version not in known:
        raise UnknownName(f"version of model {name!r}", str(version), [str(v) for v in known])
    path = root / name / str(version)
    meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    return Artifact(name, version, path, meta)


def list_names(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and versions(root, p.name))


def list_models(root: Path) -> list[dict[str, Any]]:
    """Every version of every model, with its headline metrics."""
    rows = []
    for name in list_names(root):
        for v in versions(root, name):
            meta = load(root, f"{name}@{v}").meta
            m = meta.get("metrics", {})
            rows.append({"name": name, "version": v, "created_at": meta.get("created_at"),
                         "target": meta.get("target"), "rows": m.get("rows"), "auc": m.get("auc"),
                         "top_decile_lift": m.get("top_decile_lift"), "validation": meta.get("validation")})
    return rows
