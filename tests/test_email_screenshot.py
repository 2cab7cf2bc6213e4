"""A rendered email in headless Chromium (Debian package): it loads with its images resolved.

``cid:`` references are rewritten to the extracted image files (what a mail client does with
the ``multipart/related`` parts), then Chromium loads the page, reports each image's natural
width, and takes a screenshot at a phone-to-desktop width.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from mail_support import synthetic_notebook
from PIL import Image

from spmlib.config import PROJ_ROOT
from spmlib.reports.mail_html import html_with_files, render_email

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
# After load, put the natural width of every <img> into the title (0 = not loaded).
PROBE = (
    "<script>window.addEventListener('load', function () {"
    "document.title = 'IMAGES:' + Array.prototype.map.call(document.images,"
    " function (i) { return i.naturalWidth; }).join(','); });</script>"
)


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("email")
    rendered = render_email(synthetic_notebook(), kicker="Rep scorecard · team A", footer="Run X")
    return rendered, html_with_files(rendered, folder)


@pytest.mark.slow
@needs_chromium
def test_email_page_loads_with_every_image_resolved(page, tmp_path):
    rendered, path = page
    probe = path.with_name("probe.html")
    probe.write_text(path.read_text().replace("</body>", PROBE + "</body>"))
    done = _chromium(tmp_path, "--dump-dom", "--virtual-time-budget=5000", probe.as_uri())
    found = re.search(r"<title>IMAGES:([0-9,]*)</title>", done.stdout)
    assert found, done.stderr[-2000:]
    widths = [int(w) for w in found.group(1).split(",") if w]
    # every <img> loaded, at the pixel width of the attached PNG
    assert widths == [image.width for image in rendered.images]


@pytest.mark.slow
@needs_chromium
def test_email_screenshot_is_not_blank(page, tmp_path):
    _, path = page
    shot = tmp_path / "email.png"
    done = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=600,1600", path.as_uri())
    assert shot.exists(), done.stderr[-2000:]
    with Image.open(shot) as img:
        assert img.size == (600, 1600)
        colors = img.convert("RGB").getcolors(maxcolors=1 << 20)
    # text, table shading and the bar chart give many distinct colours; a blank page has one
    assert colors is not None and len(colors) > 100
    # the chart's bars (#e4572e, a colour the template never uses) are drawn: the images were
    # loaded, not shown as broken-image icons
    bars = sum(
        n
        for n, (r, g, b) in colors
        if abs(r - 0xE4) < 10 and abs(g - 0x57) < 10 and abs(b - 0x2E) < 10
    )
    assert bars > 5000


def test_example_screenshot_is_committed():
    example = PROJ_ROOT / "docs" / "email-example.png"
    assert example.exists(), "docs/email-example.png is linked from the README"
    with Image.open(example) as img:
        assert img.width >= 500 and img.height >= 800
    assert "docs/email-example.png" in (PROJ_ROOT / "README.md").read_text()
