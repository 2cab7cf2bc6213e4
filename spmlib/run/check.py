"""Every planned report's parameters, checked once before anything runs.

For a report notebook of a registered kind (:data:`spmlib.reports.params.REPORT_PARAMS`), the
merged parameters must build its typed parameter object
(:meth:`~spmlib.reports.params.ReportParams.from_values`: known keys, dates that parse, known
period/metric/method names, positive counts) and its scope must resolve against the data
(:func:`spmlib.reports.scope.resolve_scope`: the team, manager or rep exists, a rep is in the
team given); the scope and data keys must also be parameters of the notebook. Any other notebook
(the test notebooks) is checked against its cell tagged ``parameters``
(:func:`spmlib.run.params.check_parameters`: known keys, values of the default's type), and its
scope resolved too when data is given.

Each problem is one sentence naming the layer file (or ``-p``) the key came from; the callers
collect them for every report and raise one :class:`~spmlib.exceptions.ParameterError`, so a typo
in ``params/defaults.yml`` fails the plan once instead of failing every report at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from spmlib.exceptions import ParameterError
from spmlib.io.schema import Dataset
from spmlib.reports.params import DATA_PARAMETERS, REPORT_PARAMS, SCOPE_PARAMETERS
from spmlib.reports.scope import resolve_scope
from spmlib.run.job import path_label
from spmlib.run.params import NotebookParameter, check_parameters, notebook_parameters

__all__ = ["ReportCheck", "declared_parameters"]


@lru_cache(maxsize=64)
def _declared(path: str, mtime_ns: int) -> dict[str, NotebookParameter]:
    return notebook_parameters(path)


def declared_parameters(path: str | Path) -> dict[str, NotebookParameter]:
    """The parameters of a notebook's ``parameters`` cell, read once per version of the file."""
    path = Path(path)
    return _declared(str(path), path.stat().st_mtime_ns)


@dataclass
class ReportCheck:
    """Checks reports against their kind and one dataset's reps; scopes are resolved once each.

    Parameters
    ----------
    data : the dataset the reports read; None when not known (``spm run`` of a notebook without
        a registered kind), then scopes are not resolved.
    """

    data: Dataset | None = None
    _scopes: dict[tuple[str | None, ...], str | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.data is not None:
            # A scope is a set of reps: resolving it needs the reps table only (and the
            # reference date, computed once), not the subsets of every other table.
            ds = self.data
            self.data = replace(
                ds,
                **{name: frame.iloc[:0] for name, frame in ds.tables().items() if name != "reps"},
                config=replace(ds.config, as_of=ds.as_of),
            )

    def problems(
        self,
        kind: str,
        notebook_path: str | Path,
        values: Mapping[str, Any],
        origin: Mapping[str, str],
    ) -> list[str]:
        """Every problem of one report's merged parameters (an empty list when it may run).

        Parameters
        ----------
        kind : the report kind (the notebook's name).
        notebook_path : the notebook, for its parameters cell.
        values : the merged parameters; origin : the layer each key came from.
        """
        declared = declared_parameters(notebook_path)
        notebook = path_label(notebook_path)
        cls = REPORT_PARAMS.get(kind)
        if cls is None:
            found = check_parameters(values, declared, origin, notebook=notebook)
        else:
            common = {k: v for k, v in values.items() if k in SCOPE_PARAMETERS + DATA_PARAMETERS}
            found = check_parameters(common, declared, origin, notebook=notebook)
            try:
                cls.from_values(values, origin)
            except ParameterError as exc:
                found += exc.problems
        scope_problem = self.scope_problem(values, origin)
        return found + ([scope_problem] if scope_problem else [])

    def scope_problem(self, values: Mapping[str, Any], origin: Mapping[str, str]) -> str | None:
        """Why the scope of ``values`` (``team``, ``rep_id``, ``manager``) does not resolve
        against the data, naming the files it came from; None when it does (or without data)."""
        if self.data is None:
            return None
        given = {k: values.get(k) for k in SCOPE_PARAMETERS}
        if any(v is not None and not isinstance(v, str) for v in given.values()):
            return None  # a wrong type: check_parameters names it
        key = tuple(given[k] for k in SCOPE_PARAMETERS)
        if key not in self._scopes:
            try:
                resolve_scope(self.data, **given)
                self._scopes[key] = None
            except ParameterError as exc:
                sources = sorted({origin[k] for k, v in given.items() if v is not None})
                where = f"{', '.join(sources)}: " if sources else ""
                self._scopes[key] = f"{where}{exc}"
        return self._scopes[key]
