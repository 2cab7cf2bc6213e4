"""Report ids and the links between the reports of one batch run.

A batch run writes every report as ``reports/<report id>.html`` (``spmlib.run``); the id is made
from the report kind and its scope, so one report can link to another of the same run with a
relative link (the team brief to the team's funnel, productivity and forecast reports).

Report ids are ``<kind>__company``, ``<kind>__team-<team>``, ``<kind>__rep-<rep_id>`` and
``<kind>__manager-<manager>`` (unsafe characters replaced by ``-``;
a name longer than 80 characters is cut and gets 8 hex digits of its hash).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["report_id", "report_href"]

#: Longest slug of a name in a report id (file names are limited to 255 bytes).
_MAX_SLUG = 80


def _slug(text: str) -> str:
    """A file-name-safe form of ``text``: runs of other characters become ``-``; a name longer
    than :data:`_MAX_SLUG` is cut and gets 8 hex digits of its hash, so two long names that
    share a start stay distinct.

    Examples
    --------
    >>> _slug("Ann O'Neil"), _slug("../../etc"), _slug("/abs/path"), _slug("")
    ('Ann-O-Neil', '..-..-etc', 'abs-path', 'x')
    >>> len(_slug("n" * 300))
    89
    """
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"
    if len(slug) > _MAX_SLUG:
        digest = hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:8]
        slug = f"{slug[:_MAX_SLUG]}-{digest}"
    return slug


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
