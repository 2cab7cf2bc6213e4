"""Email-ready rendering (spmlib.reports.mail_html) on an in-memory 'executed' notebook (no kernel)."""

from __future__ import annotations

import io
import re

import pytest
from mail_support import png_bytes, synthetic_notebook
from nbformat.v4 import new_code_cell, new_notebook, new_output

from spmlib.exceptions import SpmError
from spmlib.reports.mail_html import (
    CONTENT_WIDTH,
    MAX_HTML_BYTES,
    MAX_IMAGE_PIXELS_WIDE,
    html_with_files,
    markdown_to_text,
    render_email,
)


@pytest.fixture(scope="module")
def rendered():
    return render_email(synthetic_notebook(), kicker="Rep scorecard · team A", footer="Run X")


def test_html_has_no_script_no_style_block_no_data_uri_no_external_resource(rendered):
    html = rendered.html.lower()
    assert "<script" not in html and "<style" not in html and "<link" not in html
    assert "data:" not in html and "javascript:" not in html and "onclick" not in html
    assert not re.search(r'src="https?:', html)
    assert "display: flex" not in html and "display:flex" not in html and "grid" not in html


def test_css_is_inlined_into_style_attributes(rendered):
    # the template's `h1 { font-size: 22px ... }` rule ends up on the h1 element itself
    assert re.search(r'<h1 style="[^"]*font-size:22px', rendered.html)
    assert re.search(r'<tr style="border-bottom:1px solid #e5e7eb">', rendered.html)
    assert ' class="' not in rendered.html  # classes are dropped once their CSS is inlined


def test_every_cid_reference_has_an_image_and_back(rendered):
    cids = re.findall(r'src="cid:([^"]+)"', rendered.html)
    assert len(cids) == 2 == len(rendered.images)
    assert sorted(cids) == sorted(i.cid for i in rendered.images)
    assert all(i.data.startswith(b"\x89PNG\r\n\x1a\n") for i in rendered.images)
    # the figure under "## Chart of deals" gets that heading as alt text
    assert 'alt="Chart: Chart of deals"' in rendered.html


def test_text_from_data_renders_as_text(rendered):
    html = rendered.html
    # markdown output and table cells: the hostile name is escaped, never markup
    assert (
        "<strong>O'Neil &amp; &lt;Co&gt;</strong>" in html
        or "<strong>O&#x27;Neil &amp; &lt;Co&gt;</strong>" in html
    )
    assert re.search(
        r"did &lt;script&gt;alert\((&#x27;|&#39;|')md(&#x27;|&#39;|')\)&lt;/script&gt;", html
    )
    assert re.search(
        r"&lt;script&gt;alert\((&#x27;|&#39;|')acct(&#x27;|&#39;|')\)&lt;/script&gt;", html
    )
    # raw HTML output: script removed with its content, link target dropped
    assert "alert(2)" not in html and "alert(3)" not in html
    # the title (from data) is escaped in <title> and <h1>
    assert (
        "Scorecard: O&#39;Neil &amp; &lt;Co&gt;" in html
        or "Scorecard: O'Neil &amp; &lt;Co&gt;" in html
    )


def test_dropped_outputs_and_no_email_cells(rendered):
    assert "print output" not in rendered.html  # stdout
    assert "alert(4)" not in rendered.html  # application/javascript
    assert "hidden cell" not in rendered.html  # cell tagged no-email
    assert "x = 1" not in rendered.html and "plot()" not in rendered.html  # code inputs


def test_numbers_in_tables_are_formatted_for_reading(rendered):
    # 1234567.891 -> thousands separators, no decimals; 0.3125 -> 3 significant digits;
    # the year 2026 (4-digit integer) is left alone
    assert ">1,234,568<" in rendered.html and ">0.312<" in rendered.html
    assert ">2026<" in rendered.html and "2,026" not in rendered.html
    assert re.search(r'<td align="right" nowrap="">1,234,568</td>', rendered.html)


def test_styler_colors_survive_as_inline_styles(rendered):
    # background_gradient on 'rate': the Styler's CSS (by element id) becomes style attributes
    assert re.search(
        r'<td[^>]*style="[^"]*background-color:#[0-9a-f]{6}[^>]*>0.312</td>', rendered.html
    )


def test_text_part_has_title_and_headline_without_markdown(rendered):
    text = rendered.text
    assert "Scorecard: O'Neil & <Co>" in text
    assert "- 3 deals won" in text and "- Win rate 31.2%" in text
    assert "**" not in text
    assert rendered.headline == ["**3 deals** won", "Win rate 31.2%"]
    assert rendered.title == "Scorecard: O'Neil & <Co>"


def test_notebook_title_heading_is_not_repeated(rendered):
    # the notebook's "# Scorecard" is replaced by the template's title
    assert rendered.html.count("<h1") == 1


def test_wide_figures_are_downscaled_for_phones():
    from PIL import Image

    wide = png_bytes(width_in=20, height_in=4, dpi=100)  # 2000 x 400 px
    nb = new_notebook(
        cells=[
            new_code_cell(
                "",
                outputs=[
                    new_output(
                        "display_data",
                        data={"image/png": __import__("base64").b64encode(wide).decode()},
                    )
                ],
            )
        ]
    )
    r = render_email(nb)
    (image,) = r.images
    with Image.open(io.BytesIO(image.data)) as img:
        # 2000 px wide -> MAX_IMAGE_PIXELS_WIDE, height kept in proportion (400 * 1136 / 2000)
        assert img.size == (MAX_IMAGE_PIXELS_WIDE, round(400 * MAX_IMAGE_PIXELS_WIDE / 2000))
        assert img.mode == "P"  # palette PNG
    assert f'width="{CONTENT_WIDTH}"' in r.html
    assert len(image.data) < len(wide)


def test_long_tables_are_capped_and_the_html_stays_under_gmail_limit():
    import pandas as pd

    big = pd.DataFrame({"account": [f"Account {i}" for i in range(3000)], "amount": range(3000)})
    nb = new_notebook(
        cells=[
            new_code_cell(
                "", outputs=[new_output("display_data", data={"text/html": big.to_html()})]
            )
        ]
    )
    r = render_email(nb, max_table_rows=40)
    assert r.html_bytes < MAX_HTML_BYTES
    # 40 rows are shown, the other 2960 summed up in one row
    assert "… 2960 more rows in the full report" in r.html
    assert "Account 39<" in r.html and "Account 40<" not in r.html


def test_html_that_cannot_fit_raises_with_advice():
    huge = "<p>" + "x" * 150_000 + "</p>"
    nb = new_notebook(
        cells=[new_code_cell("", outputs=[new_output("display_data", data={"text/html": huge})])]
    )
    with pytest.raises(SpmError, match="Gmail clips"):
        render_email(nb)


def test_html_that_cannot_fit_is_sent_as_its_headline_with_the_full_report():
    from nbformat.v4 import new_markdown_cell

    from spmlib.reports.mail_html import FullReport
    from spmlib.reports.notebook import GLUE_MIME

    huge = "<p>" + "x" * 150_000 + "</p>"
    glued = {GLUE_MIME: {"name": "headline", "value": ["Win rate 31% this quarter."]}}
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Funnel"),
            new_code_cell("", outputs=[new_output("display_data", data=glued)]),
            new_code_cell("", outputs=[new_output("display_data", data={"text/html": huge})]),
        ]
    )
    attached = render_email(nb, full=FullReport(None))
    assert attached.html_bytes < 20_000 and "x" * 1000 not in attached.html
    assert "Win rate 31% this quarter." in attached.html and attached.glued["email"] == []
    linked = render_email(nb, full=FullReport("https://reports.example.com/r/funnel.html"))
    assert 'href="https://reports.example.com/r/funnel.html"' in linked.html


def test_html_with_files_resolves_cids(tmp_path, rendered):
    page = html_with_files(rendered, tmp_path)
    html = page.read_text()
    assert "cid:" not in html
    for image in rendered.images:
        assert (tmp_path / image.filename).read_bytes() == image.data
        assert f'src="{image.filename}"' in html


@pytest.mark.parametrize(
    "text, expected",
    [
        ("**a** and __b__", "a and b"),
        ("*c* `d`", "c d"),
        ("2 * 3 * 4", "2 * 3 * 4"),
        ("snake_case_name", "snake_case_name"),
    ],
)
def test_markdown_to_text(text, expected):
    assert markdown_to_text(text) == expected


def test_already_formatted_numbers_are_right_aligned_and_kept():
    import pandas as pd

    df = pd.DataFrame(
        {"label": ["Win rate", "Bookings"], "value": ["20%", "$1,200"], "low": ["—", "1,234.5"]}
    )
    nb = new_notebook(
        cells=[
            new_code_cell(
                "",
                outputs=[new_output("display_data", data={"text/html": df.to_html(index=False)})],
            )
        ]
    )
    html = render_email(nb).html
    for cell in ["20%", "$1,200", "—", "1,234.5"]:
        assert re.search(rf'<td align="right" nowrap="">{re.escape(cell)}</td>', html), cell
    assert "<td>Win rate</td>" in html


def test_headers_of_numeric_columns_are_right_aligned():
    import pandas as pd

    df = pd.DataFrame({"label": ["Win rate", "Bookings"], "value": ["20%", "1,200"], "n": [3, 4]})
    nb = new_notebook(
        cells=[
            new_code_cell(
                "",
                outputs=[new_output("display_data", data={"text/html": df.to_html(index=False)})],
            )
        ]
    )
    heads = re.findall(r'<th align="(\w+)"[^>]*>([^<]*)</th>', render_email(nb).html)
    assert heads == [("left", "label"), ("right", "value"), ("right", "n")]
