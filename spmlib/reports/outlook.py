"""The quarter outlook of a report's scope: the one figure for "this quarter" in every report.

:func:`scope_outlook` picks, from :func:`spmlib.forecast.outlook.quarter_outlook` run on the
whole dataset, the scope's own row and the rows under it, so the brief, the forecast report and
``spm outlook`` show the same numbers for the same team or rep; :func:`outlook_sentence` words
the scope's row; :func:`outlook_method` says how it is made.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spmlib.forecast.outlook import COVERAGE_TARGET, OUTLOOK_METHOD, quarter_outlook
from spmlib.io.schema import Dataset
from spmlib.reports.formatter import format_chance, format_compact, format_number, format_percent
from spmlib.reports.report import escape
from spmlib.reports.scope import Scope

__all__ = ["scope_outlook", "outlook_sentence", "outlook_method"]


def scope_outlook(
    ds: Dataset,
    scope: Scope,
    n_sims: int = 5000,
    seed: int = 0,
    calibration: pd.DataFrame | bool | None = None,
) -> pd.DataFrame:
    """The outlook rows of a scope: its own row first, then the rows under it (the company's
    teams; a team's or a manager's reps, by name); a rep's report has the rep's row only.

    Parameters
    ----------
    ds : the whole dataset (not the scope's data: every scope reads one simulation of it).
    scope : from :func:`spmlib.reports.scope.resolve_scope`.
    n_sims, seed, calibration : as :func:`spmlib.forecast.outlook.quarter_outlook`.

    Returns
    -------
    DataFrame with ``level`` (company, team, manager, rep), ``team``, ``manager``, ``rep_id``,
    ``rep_name`` (empty where they do not apply) and the outlook columns
    (:data:`spmlib.forecast.outlook.OUTLOOK_COLUMNS`).
    """
    kw = {"n_sims": n_sims, "seed": seed, "calibration": calibration}
    if scope.kind == "company":
        own, under = quarter_outlook(ds, "company", **kw), quarter_outlook(ds, "team", **kw)
        parts = [own.assign(level="company"), under.assign(level="team")]
    elif scope.kind == "rep":
        reps = quarter_outlook(ds, "rep", **kw)
        parts = [reps[reps["rep_id"] == scope.rep_id].assign(level="rep")]
    else:
        key = scope.kind  # team or manager
        own = quarter_outlook(ds, key, **kw)
        own = own[own[key] == getattr(scope, key)].assign(level=key)
        reps = quarter_outlook(ds, "rep", **kw)
        mine = set(scope.data.reps["rep_id"].astype(str))
        parts = [own, reps[reps["rep_id"].astype(str).isin(mine)].assign(level="rep")]
    out = pd.concat(parts, ignore_index=True)
    for col in ("team", "manager", "rep_id", "rep_name"):
        if col not in out.columns:
            out[col] = pd.NA
        out[col] = out[col].astype("string")
    out["level"] = out["level"].astype("string")
    front = ["level", "team", "manager", "rep_id", "rep_name"]
    return out[front + [c for c in out.columns if c not in front]]


def outlook_sentence(row: pd.Series, subject: str, currency: str = "USD") -> str:
    """The outlook of one row in a sentence (Markdown; ``subject`` escaped).

    Examples
    --------
    >>> row = pd.Series({"period": "FY2027-Q4", "booked": 573840.0, "quota": 948000.0,
    ...     "attainment": 0.61, "pace": 1.27, "elapsed": 0.477, "p10": 1.08e6,
    ...     "p50": 1.19e6, "p90": 1.31e6, "p_quota": 0.93, "coverage": 3.1,
    ...     "coverage_target": 3.0})
    >>> outlook_sentence(row, "Team Atlas")  # doctest: +NORMALIZE_WHITESPACE
    'Team Atlas has booked **$574K** of its **$948K** FY2027-Q4 quota (61%, pace 127% with 48% of
    selling days gone) and will most likely end at **$1.2M** (80%: $1.1M–$1.3M), with **93%**
    chance of reaching quota; the open pipeline due covers 3.1× what is left (target 3×).'
    """

    def money(x):
        return format_compact(x, currency)

    period = escape(str(row["period"]))
    text = f"{escape(subject)} has booked **{money(row['booked'])}**"
    quota = row.get("quota", np.nan)
    if pd.notna(quota) and quota > 0:
        text += (
            f" of its **{money(quota)}** {period} quota ({format_percent(row['attainment'])}, "
            f"pace {format_percent(row['pace'])} with {format_percent(row['elapsed'])} of "
            "selling days gone)"
        )
    else:
        text += f" in {period} (no quota is set)"
    text += (
        f" and will most likely end at **{money(row['p50'])}** (80%: {money(row['p10'])}–"
        f"{money(row['p90'])})"
    )
    if pd.notna(row.get("p_quota", np.nan)):
        text += f", with **{format_chance(row['p_quota'], words=True)}** chance of reaching quota"
    if pd.notna(row.get("coverage", np.nan)):
        text += (
            f"; the open pipeline due covers {format_number(row['coverage'], 1)}× what is left "
            f"(target {format_number(row['coverage_target'], 0)}×)"
        )
    elif pd.notna(quota) and quota > 0:
        text += "; the quota is already met"
    return text + "."


def outlook_method(n_sims: int = 5000, target: float = COVERAGE_TARGET) -> str:
    """How the outlook is made (:data:`spmlib.forecast.outlook.OUTLOOK_METHOD`), filled in."""
    return OUTLOOK_METHOD.format(n_sims=n_sims, target=target)
