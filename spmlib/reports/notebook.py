"""Helpers for report notebooks: one-line set-up, showing a report, recording its values.

A report notebook calls :func:`setup` once, builds its report with one builder and calls
:func:`show`, which displays the report (scope line, summary, sections, the closing "how this is
worked out") and records its values with :func:`glue`: tests read them back with
:func:`read_glued` and the mail renderer uses ``title`` and ``headline`` for the plain-text part.
Glued values travel as a display output of their own MIME type, which HTML exporters ignore, so
they never show in a report.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import nbformat

__all__ = ["GLUE_MIME", "setup", "show", "glue", "read_glued"]

GLUE_MIME = "application/vnd.spm.glue+json"
log = logging.getLogger(__name__)


def setup() -> None:
    """Headless-safe plotting defaults and readable pandas display for report notebooks."""
    import matplotlib

    if not _in_ipython():
        matplotlib.use("Agg")
    import pandas as pd
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
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
    """Convert numpy/pandas scalars and frames to plain JSON values."""
    import numpy as np
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="records", date_format="iso"))
    if isinstance(value, pd.Series):
        return json.loads(value.to_json(date_format="iso"))
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:  # NaN
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


def show(report) -> None:
    """Display a :class:`spmlib.reports.report.Report` in a notebook and record its values.

    Shows the scope line and the headline under "Summary", then each section (title, intro,
    its tables, figures and text in order), then the closing section; records
    :meth:`~spmlib.reports.report.Report.recorded` with :func:`glue`. Figures are drawn here,
    shown at once and closed, so they appear in order.
    """
    import matplotlib.pyplot as plt
    from IPython.display import HTML, Markdown, display

    from spmlib.reports.report import Figure, Table, Text, bullets

    for name, value in report.recorded().items():
        glue(name, value)
    display(Markdown(f"{report.scope_line()}\n\n## Summary\n\n{bullets(report.headline)}"))
    for section in report.all_sections:
        display(Markdown(f"## {section.title}\n\n{section.intro}".strip()))
        for block in section.blocks:
            if isinstance(block, Text):
                display(Markdown(block.markdown))
            elif isinstance(block, Table):
                if block.title:
                    display(Markdown(block.title))
                display(HTML(block.to_html(report.currency)))
                if block.note:
                    display(Markdown(block.note))
            elif isinstance(block, Figure):
                fig = block.draw()
                display(fig)
                plt.close(fig)


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
