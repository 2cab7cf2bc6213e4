"""Executed notebook → browser HTML (code hidden, parameters as a small header), and atomic writes.

One :class:`nbconvert.HTMLExporter` is built per process and reused: configuring nbconvert's
template costs more than rendering a report. The HTML uses nbconvert's ``lab`` template extended
by ``spmlib/templates/browser_report.html.j2``: input cells and prompts are hidden, the
``parameters`` and ``injected-parameters`` cells are dropped, the parameters the report ran
with are shown as one line of ``key = value`` at the top (escaped), after a link back to the
run's index when there is one; charts carry their alt text; wide tables scroll sideways inside
the page rather than being cut off.

Every file is written aside (``.<name>.tmp-<pid>`` in the same folder) and then renamed with
:func:`os.replace`, so a reader never sees a half-written report at its final path.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat

from spmlib.io.files import atomic_write_text
from spmlib.reports.jinja import TEMPLATES_DIR

__all__ = [
    "HIDDEN_TAGS",
    "notebook_to_html",
    "header_parameters",
    "atomic_write_notebook",
    "write_report",
]

log = logging.getLogger(__name__)

#: Cells with these tags are not shown in the HTML (their values are in the header instead).
HIDDEN_TAGS = ("parameters", "injected-parameters", "remove-cell")


@lru_cache(maxsize=1)
def _exporter():
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(HIDDEN_TAGS)
    exporter = HTMLExporter(
        config=config,
        template_name="lab",
        template_file=str(TEMPLATES_DIR / "browser_report.html.j2"),
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=False,
    )
    exporter.log.addFilter(_quiet_alt_text)
    return exporter


def _quiet_alt_text(record: logging.LogRecord) -> bool:
    """Drop nbconvert's per-report "Alternative text is missing" warning (charts get a default
    alt text anyway); every other message passes."""
    return "Alternative text is missing" not in str(record.msg)


def header_parameters(parameters: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The ``(key, text)`` pairs shown in the report header: set parameters only, ``data`` as
    its folder name (never a full server path).

    Examples
    --------
    >>> header_parameters({"data": "/srv/run/data", "team": "Atlas", "rep_id": None, "n": 3})
    [('data', 'data'), ('team', 'Atlas'), ('n', '3')]
    """
    shown: list[tuple[str, str]] = []
    for key, value in (parameters or {}).items():
        if value is None:
            continue
        if key == "data" and isinstance(value, str) and "://" not in value:
            value = Path(value).name
        shown.append((str(key), str(value)))
    return shown


def notebook_to_html(
    nb: nbformat.NotebookNode,
    parameters: Mapping[str, Any] | None = None,
    title: str | None = None,
    rendered: str | None = None,
    index: str | None = None,
) -> str:
    """Browser HTML of an executed notebook: outputs and markdown only, parameters as a header.

    Parameters
    ----------
    nb : the executed notebook (not modified).
    parameters : the report's parameters, shown as ``key = value`` at the top; defaults to
        the ones papermill recorded in ``nb.metadata.papermill.parameters``.
    title : the page title; defaults to the glued ``title`` value, else "Report".
    rendered : an optional timestamp shown in the header.
    index : the URL of the run's index page (relative), linked from the header.

    Returns
    -------
    str : a complete HTML page.
    """
    from spmlib.reports.notebook import read_glued

    if parameters is None:
        parameters = nb.get("metadata", {}).get("papermill", {}).get("parameters", {})
    if title is None:
        title = str(read_glued(nb).get("title") or "Report")
    resources = {
        "metadata": {"name": title},
        "spm": {"parameters": header_parameters(parameters), "rendered": rendered, "index": index},
    }
    with warnings.catch_warnings():
        # glued values have their own MIME type on purpose: nothing to show in HTML
        warnings.filterwarnings(
            "ignore", message="Your element with mimetype", category=UserWarning
        )
        body, _ = _exporter().from_notebook_node(nb, resources=resources)
    return body


def atomic_write_notebook(path: str | os.PathLike[str], nb: nbformat.NotebookNode) -> Path:
    """Write a notebook atomically."""
    return atomic_write_text(path, nbformat.writes(nb))


def write_report(
    nb: nbformat.NotebookNode,
    ipynb_path: str | os.PathLike[str],
    html_path: str | os.PathLike[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    rendered: str | None = None,
    index: str | None = None,
) -> dict[str, Path]:
    """Write an executed notebook and (optionally) its HTML, each atomically; HTML first, so a
    notebook at its final path always has its HTML beside it. ``index``: the run's index page,
    relative to the HTML, linked from its header."""
    written: dict[str, Path] = {}
    if html_path is not None:
        written["html"] = atomic_write_text(
            html_path,
            notebook_to_html(nb, parameters=parameters, rendered=rendered, index=index),
        )
    written["ipynb"] = atomic_write_notebook(ipynb_path, nb)
    return written
