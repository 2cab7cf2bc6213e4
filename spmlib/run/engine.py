"""A papermill engine that executes on a warm kernel: papermill's rules without a kernel start.

:func:`papermill.execute_notebook` does everything papermill does around the execution: it
injects the parameters, records ``metadata.papermill`` (the parameters, start and end times,
each cell's status and exception flag), ends a notebook early **without** an error on
``sys.exit(0)`` / ``SystemExit("")``, and on any other error marks the failing cell (an error
banner on top, linking to an anchor cell just before the failing one) and raises
:class:`papermill.PapermillExecutionError`. It hands the execution of the cells to an *engine*;
:class:`WarmKernelEngine` runs them on an already started
:class:`~spmlib.run.kernels.WarmKernel` given as ``kernel=``, so every report keeps papermill's
semantics while the kernel stays warm between reports. Without ``kernel=`` it starts a fresh
``spm`` kernel for the one notebook, so ``papermill in.ipynb out.ipynb --engine spm`` works too.

The engine is registered with papermill as ``spm`` through papermill's ``papermill.engine``
entry point (``pyproject.toml``); the runner also registers it itself (:func:`register_engine`),
so it does not depend on the installed entry points being current.

papermill stops at a cell that times out or whose kernel dies without marking it (those errors
are not cell errors); :func:`mark_failed_cell` marks it the same way papermill marks a cell error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import nbformat

from spmlib.run.kernels import WarmKernel

__all__ = [
    "ENGINE_NAME",
    "IOPUB_TIMEOUT",
    "Execution",
    "WarmKernelEngine",
    "register_engine",
    "mark_failed_cell",
]

#: The engine's name for ``papermill.execute_notebook(engine_name=...)`` and ``--engine``.
ENGINE_NAME = "spm"

#: Seconds to wait, after a cell's reply, for the rest of its outputs. papermill fails the cell
#: when they do not come in time (``raise_on_iopub_timeout``); nbclient's default of 4 s leaves
#: little room on a machine whose cores are busy with other reports.
IOPUB_TIMEOUT = 30


@dataclass
class Execution:
    """What the engine tells its caller while it runs (papermill returns the notebook only when
    it completes): the notebook being executed and the index of the cell last started."""

    nb: nbformat.NotebookNode | None = None
    cell: int | None = None


class WarmKernelEngine:
    """The papermill engine ``spm``: runs the cells of a papermill-managed notebook on a
    :class:`~spmlib.run.kernels.WarmKernel`.

    Extra keyword arguments of :func:`papermill.execute_notebook`:

    kernel : the running kernel to use (not shut down afterwards); None = start one for this
        notebook and shut it down at the end.
    deadline : a :func:`time.monotonic` time by which the whole notebook must finish (each cell
        gets the time left); None = papermill's ``execution_timeout`` per cell, if any.
    execution : an :class:`Execution` the engine fills in.

    papermill imports this module while it is itself being imported (through the entry point),
    so the subclass of its ``Engine`` is built on first use; these are the three class methods
    papermill calls on an engine.
    """

    @classmethod
    def execute_notebook(cls, nb, kernel_name, **kwargs):
        return _papermill_engine().execute_notebook(nb, kernel_name, **kwargs)

    @classmethod
    def nb_kernel_name(cls, nb, name=None):
        return _papermill_engine().nb_kernel_name(nb, name)

    @classmethod
    def nb_language(cls, nb, language=None):
        return _papermill_engine().nb_language(nb, language)


def _execute_managed(
    cls,
    nb_man,
    kernel_name,
    log_output=False,
    stdout_file=None,
    stderr_file=None,
    start_timeout=60,
    execution_timeout=None,
    kernel: WarmKernel | None = None,
    deadline: float | None = None,
    execution: Execution | None = None,
    **kwargs: Any,
):
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.log import logger

    execution = execution if execution is not None else Execution()
    execution.nb = nb_man.nb

    def on_cell_start(cell=None, cell_index=None, **_):
        execution.cell = cell_index

    def time_left(cell) -> int | None:
        if deadline is None:
            return execution_timeout
        return max(1, int(deadline - time.monotonic()) + 1)

    own = kernel is None
    if own:
        kernel = WarmKernel(warm_imports=(), startup_timeout=start_timeout).start()
    try:
        client = PapermillNotebookClient(
            nb_man,
            km=kernel.km,
            kernel_name=kernel_name,
            timeout_func=time_left,
            interrupt_on_timeout=False,
            iopub_timeout=IOPUB_TIMEOUT,
            record_timing=True,
            on_cell_start=on_cell_start,
            startup_timeout=start_timeout,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        client.kc = kernel.kc
        return client.execute()
    finally:
        if own:
            kernel.shutdown()


@lru_cache(maxsize=1)
def _papermill_engine() -> type:
    from papermill.engines import Engine

    return type(
        "WarmKernelPapermillEngine",
        (Engine,),
        {"execute_managed_notebook": classmethod(_execute_managed)},
    )


def register_engine() -> None:
    """Register the engine with papermill under :data:`ENGINE_NAME` (idempotent)."""
    from papermill.engines import papermill_engines

    papermill_engines.register(ENGINE_NAME, WarmKernelEngine)


def mark_failed_cell(nb: nbformat.NotebookNode, index: int) -> None:
    """Mark cell ``index`` of an executed notebook as the one that failed, as papermill marks a
    cell error (:func:`papermill.execute.raise_for_execution_errors`): its ``metadata.papermill``
    says ``status: failed`` and ``exception: true``, an anchor cell goes just before it and an
    error banner linking to it at the top. Changes ``nb`` in place."""
    from papermill.execute import ERROR_ANCHOR_MSG, ERROR_MARKER_TAG, ERROR_MESSAGE_TEMPLATE

    cell = nb.cells[index]
    cell.metadata.setdefault("papermill", {}).update(status="failed", exception=True)
    nb.metadata.setdefault("papermill", {})["exception"] = True
    anchor = nbformat.v4.new_markdown_cell(ERROR_ANCHOR_MSG)
    banner = nbformat.v4.new_markdown_cell(
        ERROR_MESSAGE_TEMPLATE % str(cell.get("execution_count"))
    )
    for marker in (anchor, banner):
        marker.metadata["tags"] = [ERROR_MARKER_TAG]
    nb.cells.insert(index, anchor)
    nb.cells.insert(0, banner)
