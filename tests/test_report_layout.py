"""How a report's tables and charts reach the browser and the email, on small hand-made tables.

- a table of more than five columns is stacked in the email (one block per row), a narrower
  one stays a table; both through the one formatter, escaped;
- a column without any value is not shown (no column of dashes for data that does not exist);
- shaded cells use the colour-blind-safe scale and never colour a missing value;
- the notebook output of a table and a chart carries the email's version under its own MIME
  type, which the mail renderer takes (the table of contents stays out of the email);
- the browser page links back to the run's index and carries the charts' alt text.
"""

from __future__ import annotations

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from nbformat.v4 import new_code_cell, new_notebook, new_output  # noqa: E402
from PIL import Image  # noqa: E402

from spmlib.reports import plotting  # noqa: E402
from spmlib.reports.browser import notebook_to_html  # noqa: E402
from spmlib.reports.formatter import table_html  # noqa: E402
from spmlib.reports.mail_html import render_email  # noqa: E402
from spmlib.reports.notebook import (  # noqa: E402
    MAIL_HTML_MIME,
    MAIL_PNG_MIME,
    contents_html,
    figure_outputs,
)
from spmlib.reports.report import MAIL_COLUMNS, Figure, Table  # noqa: E402

WIDE = pd.DataFrame(
    {
        "rep_name": ["Ann <b>", "Bo"],
        "team": ["A", "A"],
        "quota": [200000.0, np.nan],
        "bookings": [188470.4, 20000.0],
        "attainment": [0.94235, np.nan],
        "win_rate": [0.25, 0.5],
        "lead_to_win": [0.004, 0.0125],
    }
)


def test_a_wide_table_is_stacked_in_the_email_and_a_narrow_one_is_not():
    table = Table(WIDE, shade=("attainment",))
    assert len(table.shown.columns) > MAIL_COLUMNS
    mail = table.to_mail_html("USD")
    # one heading per row (its name), then "label, value" lines: two cells per line
    assert mail.count('<th colspan="2"') == 2
    assert "Ann &lt;b&gt; · A" in mail and "<b>" not in mail
    assert re.search(r">Bookings</td><td[^>]*>\$188,470</td>", mail)  # never 188,000
    assert re.search(r">Lead to win</td><td[^>]*>0\.4%</td>", mail)  # a rate, not 0
    assert max(len(re.findall(r"<td", row)) for row in re.findall(r"<tr>.*?</tr>", mail)) <= 2
    narrow = Table(WIDE[["rep_name", "bookings", "win_rate"]])
    assert narrow.to_mail_html("USD") == narrow.to_html("USD")


def test_stacked_email_tables_are_capped_with_a_line_saying_how_many_more():
    many = pd.concat([WIDE] * 10, ignore_index=True)
    mail = Table(many).to_mail_html("USD")
    assert mail.count('<th colspan="2"') == 12
    assert "… 8 more rows in the full report" in mail


def test_columns_without_any_value_are_not_shown():
    frame = WIDE.assign(quota=np.nan)
    shown = Table(frame).formatted("USD")
    assert "Quota" not in shown.columns and "Attainment" in shown.columns
    # an empty table keeps its columns (its header says what would be there)
    assert list(Table(frame.iloc[:0]).shown.columns) == list(frame.columns)


def test_shading_is_colour_blind_safe_and_never_colours_a_missing_value():
    frame = pd.DataFrame({"rep_name": ["A", "B", "C"], "attainment": [0.5, np.nan, 1.5]})
    html = table_html(frame, shade=("attainment",))
    cells = re.findall(r'<td align="right" style="([^"]*)">([^<]*)</td>', html)
    # the ends of the scale are Okabe and Ito's vermillion (50% and below) and bluish green
    # (150% and above), told apart with the common colour-vision deficiencies
    assert "background-color:#d55e00" in cells[0][0] and cells[0][1] == "50%"
    assert "background-color:#009e73" in cells[2][0] and cells[2][1] == "150%"
    # no quota: a dash, no colour at all
    assert cells[1] == ("text-align:right;white-space:nowrap", "—")


def test_contents_link_to_the_section_anchors():
    toc = contents_html(["Stage funnel", "Compared with peers"])
    assert '<a href="#Stage-funnel">Stage funnel</a>' in toc
    assert '<a href="#Compared-with-peers">' in toc


def _pace_figure() -> Figure:
    att = pd.DataFrame(
        {
            "rep_name": ["Ann", "Bo", "Cy"],
            "attainment": [1.2, 0.7, 0.4],
            "on_pace": [True, False, False],
            "elapsed_share": [0.5] * 3,
            "period": ["FY2026-Q1"] * 3,
        }
    )
    return Figure(plotting.plot_pace, att, alt="Attainment against pace")


def test_a_chart_output_carries_a_browser_and_a_phone_png():
    data, meta = figure_outputs(_pace_figure(), "EUR")
    sizes = {}
    for mime in ("image/png", MAIL_PNG_MIME):
        with Image.open(io.BytesIO(base64.b64decode(data[mime]))) as img:
            sizes[mime] = img.width
        assert meta[mime]["alt"] == "Attainment against pace"
    # the browser chart is 8 inches wide, the phone chart 3.6 (both at 200 dpi)
    assert sizes["image/png"] > 2 * sizes[MAIL_PNG_MIME]
    assert 700 <= sizes[MAIL_PNG_MIME] <= 760
    assert meta[MAIL_PNG_MIME]["width"] == round(sizes[MAIL_PNG_MIME] / 2)


def _report_notebook() -> nbformat.NotebookNode:
    """A notebook whose outputs are what ``show()`` displays: contents, a wide table, a chart."""
    table = Table(WIDE)
    chart, chart_meta = figure_outputs(_pace_figure(), "USD")
    outputs = [
        new_output("display_data", data={"text/html": contents_html(["A", "B"]),
                                         MAIL_HTML_MIME: ""}),
        new_output("display_data", data={"text/html": table.to_html("USD"),
                                         MAIL_HTML_MIME: table.to_mail_html("USD")}),
        new_output("display_data", data=chart, metadata=chart_meta),
    ]  # fmt: skip
    nb = new_notebook(cells=[new_code_cell("show(report)", outputs=outputs)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return nb


def test_the_email_takes_the_email_versions():
    nb = _report_notebook()
    mail = render_email(nb, title="Report")
    assert "Contents" not in mail.html  # the table of contents is for the browser
    assert mail.html.count('colspan="2"') >= 2  # the wide table, stacked
    (image,) = mail.images
    assert 700 <= image.width <= 760  # the phone chart, not the browser's shrunk
    assert image.alt == "Attainment against pace"


def test_the_browser_page_links_to_the_index_and_keeps_alt_text():
    html = notebook_to_html(_report_notebook(), parameters={}, index="../index.html")
    assert '<a class="spm-index" href="../index.html">' in html
    assert 'alt="Attainment against pace"' in html
    assert "Contents:" in html and "Ann &lt;b&gt;" in html
    assert "No description has been provided" not in html


def test_amounts_in_markdown_stay_amounts_in_browser_and_email():
    # two dollar signs in one sentence read as LaTeX math in Jupyter and nbconvert: the bold and
    # the amounts were lost in the browser report until show() escaped them
    from spmlib.reports.notebook import literal_dollars

    text = literal_dollars("Team Atlas has booked **$574K** of its **$948K** quota.")
    nb = new_notebook(
        cells=[
            new_code_cell("", outputs=[new_output("display_data", data={"text/markdown": text})])
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    page = notebook_to_html(nb, parameters={}, index="../index.html")
    assert "<strong>$574K</strong> of its <strong>$948K</strong>" in page
    mail = render_email(nb).html
    assert re.search(r"<strong[^>]*>\$574K</strong> of its <strong[^>]*>\$948K</strong>", mail)
    assert "\\$" not in page and "\\$" not in mail
