"""Checks that Chinese in a PDF is real glyphs: fontconfig knows a CJK font, and the PDF embeds one.

``pdftotext`` alone proves little: a PDF whose Chinese came out as empty boxes still carries the
characters in its ToUnicode map. The proof is an embedded font from the CJK families that
fontconfig lists for ``:lang=zh`` (only such a font holds the glyphs).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL_HINT = ("no Chinese (CJK) font is installed, so Chinese renders as empty boxes in PDFs and browser "
                "screenshots: install one with `apt-get install fonts-wqy-microhei` (.ci/run does)")


def poppler() -> None:
    """Skip (fail in CI) unless poppler-utils are installed."""
    missing = [t for t in ("pdftotext", "pdffonts", "pdfimages") if shutil.which(t) is None]
    if missing:
        if os.environ.get("SHOUHU_REQUIRE_SERVICES") == "1":
            pytest.fail(f"poppler-utils are required in CI: missing {missing}")
        pytest.skip(f"poppler-utils not installed (missing {missing}): apt-get install poppler-utils")


def _key(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name).lower()


def cjk_families() -> list[str]:
    """Font families fontconfig can use for Chinese (every name a family goes by)."""
    if shutil.which("fc-list") is None:
        pytest.fail(f"fc-list (fontconfig) is missing; {INSTALL_HINT}")
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=True).stdout
    return sorted({name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()})


def is_cjk_family(name: str, families: list[str] | None = None) -> bool:
    """Whether a font name (a family, or a PDF base font such as ``ABCDEF+WenQuanYiMicroHei``) is CJK."""
    bare = _key(name.split("+", 1)[-1])
    return any(bare.startswith(_key(f)) for f in (families if families is not None else cjk_families()))


def pdf_fonts(pdf: Path) -> list[dict[str, str | bool]]:
    """``pdffonts`` as rows: name, type, embedded, subset, unicode."""
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows: list[dict[str, str | bool]] = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        if len(parts) < 7:
            continue
        emb, sub, uni = parts[-5:-2]  # ... emb sub uni <object> <generation>
        rows.append({"name": parts[0], "type": " ".join(parts[1:-5]), "embedded": emb == "yes",
                     "subset": sub == "yes", "unicode": uni == "yes"})
    return rows


def embedded_cjk_fonts(pdf: Path) -> list[str]:
    """Names of the embedded fonts of ``pdf`` that belong to a CJK family (empty: Chinese is boxes)."""
    families = cjk_families()
    return [str(r["name"]) for r in pdf_fonts(pdf) if r["embedded"] and is_cjk_family(str(r["name"]), families)]


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def assert_chinese_pdf(pdf: Path, *headings: str) -> None:
    """The PDF embeds a CJK font (with a Unicode map) and gives the headings back as text."""
    assert cjk_families(), INSTALL_HINT
    fonts = pdf_fonts(pdf)
    cjk = embedded_cjk_fonts(pdf)
    assert cjk, f"{pdf.name} embeds no CJK font (fonts: {[f['name'] for f in fonts]}); {INSTALL_HINT}"
    assert all(f["unicode"] for f in fonts if f["name"] in cjk), f"a CJK font of {pdf.name} has no Unicode map"
    text = pdf_text(pdf)
    missing = [h for h in headings if h not in text]
    assert not missing, f"{pdf.name}: headings {missing} are not in its text:\n{text[:500]}"
