"""The builder of each report kind: ``build_<kind>_report(dataset, scope, params)``.

Every report notebook calls one of these and shows the :class:`~spmlib.reports.report.Report`
it returns; :data:`BUILDERS` lists them by kind (the notebook's name, as in
:data:`spmlib.reports.params.REPORT_PARAMS`), so a batch, a test or a later report can build any
kind without a kernel.
"""

from __future__ import annotations

from collections.abc import Callable

from spmlib.exceptions import UnknownNameError
from spmlib.io.schema import Dataset
from spmlib.reports.comp_plan import build_comp_plan_report
from spmlib.reports.comp_statement import build_comp_statement_report
from spmlib.reports.data_overview import build_data_overview_report
from spmlib.reports.forecast import build_forecast_report
from spmlib.reports.funnel import build_funnel_report
from spmlib.reports.params import ReportParams
from spmlib.reports.productivity import build_productivity_report
from spmlib.reports.quota_plan import build_quota_plan_report
from spmlib.reports.rep_scorecard import build_rep_scorecard_report
from spmlib.reports.report import Report
from spmlib.reports.scope import Scope
from spmlib.reports.team_brief import build_team_brief_report

__all__ = ["BUILDERS", "build_report"]

#: The builder of each report kind.
BUILDERS: dict[str, Callable[[Dataset, Scope, ReportParams], Report]] = {
    "data_overview": build_data_overview_report,
    "funnel": build_funnel_report,
    "productivity": build_productivity_report,
    "rep_scorecard": build_rep_scorecard_report,
    "forecast": build_forecast_report,
    "quota_plan": build_quota_plan_report,
    "comp_statement": build_comp_statement_report,
    "comp_plan": build_comp_plan_report,
    "team_brief": build_team_brief_report,
}


def build_report(kind: str, ds: Dataset, scope: Scope, params: ReportParams) -> Report:
    """Build a report of ``kind``; UnknownNameError listing the kinds."""
    if kind not in BUILDERS:
        raise UnknownNameError("report kind", kind, list(BUILDERS))
    return BUILDERS[kind](ds, scope, params)
