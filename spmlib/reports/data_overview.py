"""The data overview report: what the dataset holds for one scope."""

from __future__ import annotations

from spmlib.io import overview
from spmlib.io.schema import Dataset
from spmlib.reports import plotting
from spmlib.reports.params import OverviewParams
from spmlib.reports.report import Figure, Report, Section, Table, Text, bullets
from spmlib.reports.scope import Scope, scope_as_of

__all__ = ["build_data_overview_report"]


def build_data_overview_report(ds: Dataset, scope: Scope, params: OverviewParams) -> Report:
    """Rows and date coverage per table, data-quality warnings and monthly volumes of a scope.

    Parameters
    ----------
    ds : the loaded dataset (unused beyond the scope; every builder takes it).
    scope : from :func:`spmlib.reports.scope.resolve_scope`.
    params : the range of the monthly chart (``start``, ``end``).

    Returns
    -------
    Report
        ``values``: ``rows`` (rows per table).
    """
    ds, scope = scope_as_of(ds, scope, params.as_of)
    data = scope.data
    summary = overview.table_summary(data)
    notes = overview.quality_notes(data)
    volumes = overview.monthly_volumes(data)
    lo, hi = params.range
    if lo is not None:
        volumes = volumes[volumes["month"] >= lo]
    if hi is not None:
        volumes = volumes[volumes["month"] <= hi]
    warnings = Table(notes) if len(notes) else Text("No warnings.")
    sections = [
        Section("Tables", blocks=(Table(summary),)),
        Section(
            "Data-quality warnings",
            "Suspicious but legal data found by validation (errors would have stopped the load).",
            (warnings,),
        ),
        Section(
            "Monthly volumes",
            "Rows per month: opportunities by creation date, won and lost deals by close date, "
            "activities by date, leads by creation date.",
            (Figure(plotting.plot_monthly_volumes, volumes, alt="Rows per month and table"),),
        ),
    ]
    method = Section(
        "How this is worked out",
        bullets(
            [
                "**First and last date** span each table's time column: hire_date (reps), "
                "created_date (opportunities, leads), entered_date (stage history), date "
                "(activities), period_start (quotas).",
                "**Warnings** are the validation rules that found suspicious but legal data "
                "(`spm validate PATH` lists the same); errors stop the load instead.",
                "**Reference date**: `as_of` of dataset.yml, else the last date in the data.",
            ]
        ),
    )
    return Report(
        kind="data_overview",
        title=f"Data overview: {scope.name}",
        scope=scope,
        headline=[overview.overview_narrative(data)],
        sections=sections,
        method=method,
        values={"rows": dict(zip(summary["table"], summary["rows"].astype(int), strict=True))},
        currency=data.config.currency,
        as_of=data.as_of,
    )
