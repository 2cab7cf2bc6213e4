"""One report (``spm run``): check its parameters, run it on a fresh warm kernel, write it.

The same checks as a batch's run first (:mod:`spmlib.run.check`): for a report notebook of a
registered kind the data is loaded here, before the kernel starts, to resolve the scope.
"""

from __future__ import annotations

from pathlib import Path

from spmlib.config import NOTEBOOKS_DIR
from spmlib.exceptions import MissingFileError, ParameterError
from spmlib.reports.params import REPORT_PARAMS, SCOPE_PARAMETERS
from spmlib.run.check import ReportCheck
from spmlib.run.job import Job, Output
from spmlib.run.params import Layer, merge_layers
from spmlib.run.plan import report_id
from spmlib.run.runner import Runner

__all__ = ["resolve_notebook", "run_report"]


def resolve_notebook(name: str | Path) -> Path:
    """A notebook given as a path, or as a name in ``notebooks/`` (``funnel`` or ``funnel.ipynb``).

    Raises
    ------
    MissingFileError : naming the paths tried.
    """
    path = Path(name)
    candidates = [path, NOTEBOOKS_DIR / path.name, NOTEBOOKS_DIR / f"{path.name}.ipynb"]
    for candidate in candidates:
        if candidate.is_file() and candidate.suffix == ".ipynb":
            return candidate.resolve()
    raise MissingFileError(
        f"notebook {str(name)!r} not found (tried {', '.join(str(c) for c in candidates)})"
    )


def run_report(
    notebook: str | Path,
    layers: list[Layer],
    out_dir: str | Path,
    timeout: float = 600,
    warm_imports: tuple[str, ...] | None = None,
) -> Job:
    """Run one report: check its parameters, execute it on a fresh warm kernel in this process,
    and write ``<out_dir>/<report-id>.ipynb`` and ``.html`` (a failure: ``failed/<id>.ipynb``).

    Parameters
    ----------
    notebook : a path or a name in ``notebooks/``.
    layers : parameter layers in order (``-f`` files, then ``-p`` values); later wins.
    out_dir : the output folder.
    timeout : seconds for the whole report.
    warm_imports : modules the kernel imports first (default: spmlib only).

    Returns
    -------
    Job : finished; its ``outcome`` has the outputs (relative to ``out_dir``) and any error.

    Raises
    ------
    MissingFileError, ParameterError : before the kernel starts.
    spmlib.exceptions.DataValidationError : when the data of a report kind breaks the data model.
    """
    path = resolve_notebook(notebook)
    kind = path.stem
    values, origin = merge_layers(layers)
    problems = ReportCheck().problems(kind, path, values, origin)
    if not problems and kind in REPORT_PARAMS:
        from spmlib.sample.resolve import load

        data = load(values.get("data"), mapping=values.get("mapping"))
        problems = [p for p in [ReportCheck(data).scope_problem(values, origin)] if p]
    if problems:
        raise ParameterError(problems)
    scope = {k: str(values[k]) for k in SCOPE_PARAMETERS if values.get(k) is not None}
    job = Job(report_id(kind, scope), kind, str(path), scope, values, timeout)
    # one report on a fresh kernel: only spmlib is imported first (from this process's folder)
    runner = Runner(warm_imports=warm_imports or ("spmlib",), kernel_reuse=1)
    try:
        job.start()
        job.finish(runner.run(job, Output(str(Path(out_dir).resolve()), reports=".", index=None)))
    finally:
        runner.close()
    return job
