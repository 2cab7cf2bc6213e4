"""Helpers for report notebooks: one-line set-up, showing a report, recording its values.

A report notebook calls :func:`setup` once, builds its report with one builder and calls
:func:`show`, which displays the report (scope line, summary, contents, sections, the closing
"how this is worked out") and records its values with :func:`glue`: tests read them back with
:func:`read_glued` and the mail renderer uses ``title`` and ``headline`` for the plain-text part.
Glued values travel as a display output of their own MIME type, which HTML exporters ignore, so
they never show in a report.

Each table and chart is shown twice over, in one output: the browser version, and the email's
under a MIME type of its own (:data:`MAIL_HTML_MIME`, :data:`MAIL_PNG_MIME`) that only the mail
renderer (:mod:`spmlib.reports.mail_html`) reads: a table of more than
:data:`~spmlib.reports.report.MAIL_COLUMNS` columns stacked (one small block per row), a chart
drawn for the phone (:mod:`spmlib.reports.plotting.style`), the table of contents left out.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import nbformat

__all__ = [
    "literal_dollars",
    "GLUE_MIME",
    "MAIL_HTML_MIME",
    "MAIL_PNG_MIME",
    "setup",
    "show",
    "glue",
    "read_glued",
    "figure_outputs",
    "contents_html",
]

GLUE_MIME = "application/vnd.spm.glue+json"
#: The email's version of an HTML output (an empty string: left out of the email).
MAIL_HTML_MIME = "application/vnd.spm.mail+html"
#: The email's version of a chart: a PNG drawn for the phone (base64).
MAIL_PNG_MIME = "application/vnd.spm.mail+png"
#: Resolution of the PNGs: twice the CSS pixels, sharp on high-density screens.
PNG_DPI = 200
#: Characters nbconvert keeps as they are in a heading's anchor.
_ANCHOR_SAFE = "?/:@!$&'()*+,;="
log = logging.getLogger(__name__)


def setup() -> None:
    """Headless-safe plotting defaults (the house palette and sizes of
    :mod:`spmlib.reports.plotting.style`) and readable pandas display for report notebooks."""
    import matplotlib

    if not _in_ipython():
        matplotlib.use("Agg")
    import pandas as pd
    import seaborn as sns

    from spmlib.reports.plotting.style import PALETTE, rc

    sns.set_theme(style="whitegrid", context="notebook", palette=list(PALETTE))
    matplotlib.rcParams.update(rc())
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (8, 4)})
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 160)


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    return get_ipython() is not None


def _jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars and frames to plain JSON values (a missing or non-finite
    number becomes None: JSON has no NaN or infinity).

    Examples
    --------
    >>> import numpy as np
    >>> _jsonable({"a": np.float64("nan"), "b": [float("inf"), np.int64(3)]})
    {'a': None, 'b': [None, 3]}
    """
    import math

    import numpy as np
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="records", date_format="iso"))
    if isinstance(value, pd.Series):
        return json.loads(value.to_json(date_format="iso"))
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def glue(name: str, value: Any) -> None:
    """Record ``value`` under ``name`` in the executed notebook (invisible in HTML).

    By convention ``glue("headline", [sentence, ...])`` records the report's headline sentences,
    and ``glue("title", "...")`` its title; the mail renderer puts them in the text part.
    """
    from IPython.display import display

    display({GLUE_MIME: {"name": name, "value": _jsonable(value)}}, raw=True)


def _png(fig) -> tuple[str, int]:
    """The figure as base64 PNG at :data:`PNG_DPI` and its width in CSS pixels."""
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    with warnings.catch_warnings():  # a few months of dates: matplotlib falls back to 6 ticks
        warnings.filterwarnings("ignore", "AutoDateLocator was unable", UserWarning)
        fig.savefig(buffer, format="png", dpi=PNG_DPI, bbox_inches="tight", pad_inches=0.05,
                    facecolor="white")  # fmt: skip
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as img:
        width = round(img.width * 100 / PNG_DPI)
    return base64.b64encode(data).decode("ascii"), width


def figure_outputs(figure, currency: str | None = None) -> tuple[dict, dict]:
    """The display data and metadata of a :class:`~spmlib.reports.report.Figure`: the browser
    PNG (``image/png``, with its alt text and CSS width in the metadata) and the phone PNG of
    the email (:data:`MAIL_PNG_MIME`). Each is drawn at its own size, then closed."""
    import matplotlib.pyplot as plt

    out: dict[str, str] = {"text/plain": figure.alt or "Chart"}
    meta: dict[str, dict] = {}
    for canvas, mime in (("browser", "image/png"), ("phone", MAIL_PNG_MIME)):
        fig = figure.draw(canvas, currency)
        try:
            out[mime], width = _png(fig)
        finally:
            plt.close(fig)
        meta[mime] = {"alt": figure.alt or "Chart", "width": width}
    return out, meta


def contents_html(titles: list[str]) -> str:
    """A table of contents linking to the section headings (their anchors as nbconvert makes
    them: spaces become hyphens).

    Examples
    --------
    >>> print(contents_html(["Stage funnel", "Q&A"]))  # doctest: +NORMALIZE_WHITESPACE
    <nav class="spm-toc" aria-label="Contents"><b>Contents:</b>
    <a href="#Stage-funnel">Stage funnel</a> · <a href="#Q&amp;A">Q&amp;A</a></nav>
    """
    from html import escape
    from urllib.parse import quote

    links = " · ".join(
        f'<a href="#{escape(quote(t.replace(" ", "-"), safe=_ANCHOR_SAFE))}">{escape(t)}</a>'
        for t in titles
    )
    return f'<nav class="spm-toc" aria-label="Contents"><b>Contents:</b>\n{links}</nav>'


def show(report) -> None:
    """Display a :class:`spmlib.reports.report.Report` in a notebook and record its values.

    Shows the scope line and the headline under "Summary", a table of contents (browser only),
    then each section (title, intro, its tables, figures and text in order), then the closing
    section; records :meth:`~spmlib.reports.report.Report.recorded` with :func:`glue`. Tables
    and figures carry their email version too (see the module docstring). Figures are drawn
    here, shown at once and closed, so they appear in order.
    """
    from IPython.display import Markdown, display

    from spmlib.reports.report import Figure, Table, Text, bullets

    for name, value in report.recorded().items():
        glue(name, value)
    display(
        Markdown(
            literal_dollars(f"{report.scope_line()}\n\n## Summary\n\n{bullets(report.headline)}")
        )
    )
    sections = report.all_sections
    if len(sections) > 1:
        toc = contents_html([s.title for s in sections])
        display({"text/html": toc, MAIL_HTML_MIME: ""}, raw=True)
    for section in sections:
        display(Markdown(literal_dollars(f"## {section.title}\n\n{section.intro}".strip())))
        for block in section.blocks:
            if isinstance(block, Text):
                display(Markdown(literal_dollars(block.markdown)))
            elif isinstance(block, Table):
                if block.title:
                    display(Markdown(literal_dollars(block.title)))
                html = {
                    "text/html": block.to_html(report.currency),
                    MAIL_HTML_MIME: block.to_mail_html(report.currency),
                }
                display(html, raw=True)
                if block.note:
                    display(Markdown(literal_dollars(block.note)))
            elif isinstance(block, Figure):
                data, metadata = figure_outputs(block, report.currency)
                display(data, metadata=metadata, raw=True)


def literal_dollars(markdown: str) -> str:
    """``markdown`` with every ``$`` escaped: Jupyter and nbconvert read text between two dollar
    signs as LaTeX math, so "**$574K** of its **$948K**" lost its bold and its amounts in the
    browser report. CommonMark (the email's renderer) reads ``\\$`` as ``$``.

    Examples
    --------
    >>> print(literal_dollars("**$574K** of its **$948K**"))
    **\\$574K** of its **\\$948K**
    """
    return markdown.replace("$", "\\$")


def read_glued(notebook: str | Path | nbformat.NotebookNode) -> dict[str, Any]:
    """Every value glued in an executed notebook, by name (the last one wins)."""
    nb = (
        notebook
        if isinstance(notebook, nbformat.NotebookNode)
        else nbformat.read(str(notebook), as_version=4)
    )
    found: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(GLUE_MIME)
            if payload is not None:
                found[payload["name"]] = payload["value"]
    return found
