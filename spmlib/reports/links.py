"""Report ids and the links between the reports of one batch run.

A batch run writes every report as ``reports/<report id>.html`` (``spmlib.run``); the id is made
from the report kind and its scope, so one report can link to another of the same run with a
relative link (the team brief to the team's funnel, productivity and forecast reports).

Report ids are ``<kind>__company``, ``<kind>__team-<team>``, ``<kind>__rep-<rep_id>`` and
``<kind>__manager-<manager>`` (unsafe characters replaced by ``-``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["report_id", "report_href"]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


def report_id(kind: str, scope: Mapping[str, Any]) -> str:
    """The report's id (also its file name) from its kind and scope.

    Examples
    --------
    >>> report_id("funnel", {"team": "Atlas"})
    'funnel__team-Atlas'
    >>> report_id("rep_scorecard", {"rep_id": "R001", "team": "Atlas"})
    'rep_scorecard__rep-R001'
    >>> report_id("productivity", {}), report_id("funnel", {"manager": "Ann O'Neil"})
    ('productivity__company', 'funnel__manager-Ann-O-Neil')
    """
    if scope.get("rep_id") is not None:
        return f"{kind}__rep-{_slug(scope['rep_id'])}"
    if scope.get("manager") is not None:
        return f"{kind}__manager-{_slug(scope['manager'])}"
    if scope.get("team") is not None:
        return f"{kind}__team-{_slug(scope['team'])}"
    return f"{kind}__company"


def report_href(kind: str, scope: Mapping[str, Any]) -> str:
    """The relative link from one report of a run to another (both in ``reports/``).

    Examples
    --------
    >>> report_href("forecast", {"team": "Atlas"})
    'forecast__team-Atlas.html'
    """
    return f"{report_id(kind, scope)}.html"
