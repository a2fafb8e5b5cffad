"""Chinese renders as real glyphs, not empty boxes: in the browser (pixels and the font Chromium
actually used) and in the review PDF (an embedded CJK font).

A fresh machine has no CJK font; then every Chinese character is drawn as the same missing-glyph
box. So the proof compares pixels: missing glyphs (private-use and non-characters) all draw the
same box, while each Chinese character must draw something different from that box and from every
other character.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, Site, login, shot
from tests.reports.cjk import INSTALL_HINT, assert_chinese_pdf, cjk_families, is_cjk_family, poppler

HAN = "守护客户保单"
MISSING = ["\ue000", "\ue001", "\uffff"]  # private use and a non-character: no font draws them


def test_fontconfig_knows_a_chinese_font() -> None:
    families = cjk_families()
    assert families, INSTALL_HINT


def _pixels(png: bytes) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("L")


def _same(a: Any, b: Any) -> bool:
    from PIL import ImageChops

    return bool(a.size == b.size and ImageChops.difference(a, b).getbbox() is None)


def _platform_fonts(pg: Any, selector: str) -> list[dict[str, Any]]:
    """The fonts Chromium really used to draw the text of ``selector`` (DevTools protocol)."""
    cdp = pg.context.new_cdp_session(pg)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts: list[dict[str, Any]] = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return fonts


@pytest.mark.browser
def test_browser_draws_chinese_glyphs_not_boxes(page: Any, site: Site) -> None:
    families = cjk_families()
    assert families, INSTALL_HINT
    page.goto("/console/login")  # the application's own stylesheet and font stack
    probes = {f"han-{i}": ch for i, ch in enumerate(HAN)} | {f"missing-{i}": ch for i, ch in enumerate(MISSING)}
    probes |= {"phrase-a": "守护客户", "phrase-b": "保单检视"}
    page.evaluate("""probes => {
        const box = document.createElement('div'); box.id = 'cjk-probes';
        for (const [id, text] of Object.entries(probes)) {
            const s = document.createElement('span'); s.id = id; s.textContent = text;
            s.style.cssText = 'font-size:96px;line-height:1.1;display:inline-block;padding:4px;'
                + 'background:#fff;color:#000';
            box.appendChild(s);
        }
        document.querySelector('main').prepend(box);
    }""", probes)
    shot(page, "cjk-probes")
    img = {key: _pixels(page.locator(f"#{key}").screenshot()) for key in probes}

    # the method: every missing glyph draws the same box
    box = img["missing-0"]
    assert all(_same(box, img[f"missing-{i}"]) for i in range(len(MISSING))), "missing glyphs drew differently"
    # each Chinese character is a glyph of its own: not the box, not another character
    han = [f"han-{i}" for i in range(len(HAN))]
    boxed = [HAN[i] for i, key in enumerate(han) if _same(img[key], box)]
    assert not boxed, f"{boxed} rendered as missing-glyph boxes; {INSTALL_HINT}"
    for i, a in enumerate(han):
        for b in han[i + 1:]:
            assert not _same(img[a], img[b]), f"{probes[a]} and {probes[b]} rendered identically; {INSTALL_HINT}"
    assert not _same(img["phrase-a"], img["phrase-b"])

    # and the font Chromium used for them (and for the page's own heading) is a CJK font
    for selector, text in (("#phrase-a", "守护客户"), ("main h1", page.locator("main h1").inner_text())):
        used = _platform_fonts(page, selector)
        assert used, f"no font resolved for {selector}"
        han_count = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
        cjk = [f for f in used if is_cjk_family(f["familyName"], families)]
        assert cjk and sum(f["glyphCount"] for f in cjk) >= han_count, (
            f"{selector} ({text!r}) was drawn with {used}, not a CJK font; {INSTALL_HINT}")
    declared = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert any(f.lower() in declared.lower() for f in families), (
        f"the stylesheet's font stack {declared!r} names no installed CJK font ({families})")


@pytest.mark.browser
def test_console_pages_draw_chinese_with_a_cjk_font(page: Any, site: Site) -> None:
    families = cjk_families()
    login(page, site, "agent")
    page.goto(f"/console/customers/{site.subject}")
    for selector in ("header nav", "main h2"):
        used = _platform_fonts(page, selector)
        assert any(is_cjk_family(f["familyName"], families) for f in used), f"{selector}: {used}"


@pytest.mark.browser
def test_review_pdf_downloaded_from_the_console_embeds_a_cjk_font(page: Any, site: Site, tmp_path: Path) -> None:
    poppler()
    login(page, site, "agent")
    response = page.request.get(f"/console/advice/review.pdf?customer_id={site.subject}&lang=zh")
    assert response.status == 200, f"review PDF: HTTP {response.status} {response.text()[:200]}"
    pdf = tmp_path / "review.pdf"
    pdf.write_bytes(response.body())
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert_chinese_pdf(pdf, "家庭保单检视报告", "保障与需求")
    first = subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                           capture_output=True, check=True)
    assert first.returncode == 0
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages, "pdftoppm drew no page"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "review-pdf-page1.png").write_bytes(pages[0].read_bytes())
