"""One report on a warm kernel keeps papermill's rules: clean exits end a report successfully,
other exits fail it, the failing cell is marked as papermill marks it, no IPython history is
written, and no secret reaches a written file."""

from __future__ import annotations

import json

import nbformat
import pytest
from papermill.execute import ERROR_MARKER_TAG

from spmlib.config import PROJ_ROOT
from spmlib.reports.notebook import read_glued
from spmlib.run.job import Job, Output, Status
from spmlib.run.runner import Runner

pytestmark = pytest.mark.slow

EXITS = PROJ_ROOT / "tests" / "notebooks" / "exits.ipynb"
LIGHT = ("IPython.display", "spmlib.reports.notebook")
SECRET = "Pa55-w0rd"
URL = f"postgresql://ann:{SECRET}@db.example.com/crm"
EXIT_CELL = 5  # markdown, imports, parameters, injected parameters, title glue, then the exit


def _job(how: str) -> Job:
    return Job(f"exits__{how}", "exits", str(EXITS), {}, {"how": how, "data": URL}, timeout=60)


def test_exit_semantics_marking_history_and_secrets(tmp_path):
    output = Output(str(tmp_path))
    runner = Runner(warm_imports=LIGHT)
    try:
        outcomes = {how: runner.run(_job(how), output) for how in ("exit0", "empty", "exit1")}
    finally:
        runner.close()

    # sys.exit(0) and SystemExit(""): a complete report; the cells after the exit did not run
    for how in ("exit0", "empty"):
        assert outcomes[how].status is Status.OK and outcomes[how].error is None
        nb = nbformat.read(tmp_path / "reports" / f"exits__{how}.ipynb", as_version=4)
        assert read_glued(nb)["title"] == f"Exiting report ({how})"
        assert "after" not in read_glued(nb)
        assert nb.metadata.spm["ended_early_at"] == EXIT_CELL
        # papermill's record stays; the SystemExit and IPython's "To exit" warning are not shown
        assert nb.cells[EXIT_CELL].metadata.papermill["exception"] is True
        html = (tmp_path / "reports" / f"exits__{how}.html").read_text()
        assert "Nothing to report for this scope." in html
        assert "SystemExit" not in html and "To exit" not in html
    # the two reports ran on one kernel that keeps no history
    first = read_glued(tmp_path / "reports" / "exits__exit0.ipynb")
    assert first["history_enabled"] is False

    # sys.exit(1): a failure at that cell, marked as papermill marks it
    failed = outcomes["exit1"]
    assert failed.status is Status.FAILED
    assert (failed.error.cell, failed.error.ename, failed.error.evalue) == (
        EXIT_CELL,
        "SystemExit",
        "1",
    )
    nb = nbformat.read(tmp_path / failed.outputs["partial"], as_version=4)
    banner, anchor, cell = nb.cells[0], nb.cells[EXIT_CELL + 1], nb.cells[EXIT_CELL + 2]
    assert ERROR_MARKER_TAG in banner.metadata.tags and "papermill-error-cell" in banner.source
    assert ERROR_MARKER_TAG in anchor.metadata.tags and 'id="papermill-error-cell"' in anchor.source
    assert "sys.exit(1)" in cell.source and cell.metadata.papermill["status"] == "failed"
    assert nb.metadata.papermill["exception"] is True

    # the data URL's password is in no written file (injected cell, metadata, HTML header)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) == 5
    assert [p.name for p in written if SECRET in p.read_text()] == []
    assert "ann:***@db.example.com" in (tmp_path / "reports" / "exits__exit0.html").read_text()
    injected = json.loads((tmp_path / "reports" / "exits__exit0.ipynb").read_text())
    assert injected["metadata"]["papermill"]["parameters"]["data"].endswith(
        ":***@db.example.com/crm"
    )


def test_papermill_runs_a_notebook_with_the_engine_on_its_own_kernel(tmp_path):
    """``papermill … --engine spm`` (registered through papermill's entry point): a fresh
    kernel without history; a SystemExit with a message fails the notebook as in papermill."""
    import papermill
    from papermill.engines import papermill_engines

    from spmlib.run.engine import WarmKernelEngine

    assert papermill_engines.get_engine("spm") is WarmKernelEngine
    out = tmp_path / "out.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(
            str(EXITS), str(out), {"how": "message"}, engine_name="spm", progress_bar=False
        )
    assert (info.value.ename, info.value.evalue) == ("SystemExit", "no data")
    nb = nbformat.read(out, as_version=4)
    assert ERROR_MARKER_TAG in nb.cells[0].metadata.tags
    assert read_glued(nb)["history_enabled"] is False
