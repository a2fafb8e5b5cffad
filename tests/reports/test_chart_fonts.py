"""Charts in the review report draw Chinese with a CJK font, even when matplotlib's font cache was
built before the font was installed (a CI machine installs fonts-wqy-microhei after the first run)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import warnings

import pytest

from shouhu.reports import review


def _system_has_cjk_font() -> bool:
    if shutil.which("fc-list") is None:
        return False
    return bool(subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout.strip())


@pytest.mark.skipif(not _system_has_cjk_font() and not os.environ.get("CI"),
                    reason="no CJK font installed (apt install fonts-wqy-microhei)")
def test_chinese_chart_text_has_glyphs() -> None:
    from matplotlib import font_manager

    # forget the CJK fonts, as a cache written before the font was installed would
    font_manager.fontManager.ttflist = [f for f in font_manager.fontManager.ttflist
                                        if f.name not in review.FONT_FAMILIES]
    getattr(font_manager.fontManager, "_findfont_cached").cache_clear()  # noqa: B009 (private, untyped)
    plt = review._pyplot()
    fig, ax = plt.subplots()
    ax.set_title("家庭保单检视报告")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    missing = [str(w.message) for w in seen if "missing from font" in str(w.message)]
    assert missing == []
