"""Sentences for the productivity and scorecard reports, built from the computed tables.

Text that comes from the data (rep and team names) is HTML-escaped, since the sentences are
displayed as Markdown in notebooks exported to HTML.
"""

from __future__ import annotations

import html
import logging

import numpy as np
import pandas as pd

from spmlib.productivity.attainment import share_at_quota
from spmlib.reports.mail_html import format_money, format_number, format_percent

__all__ = [
    "productivity_narrative",
    "scorecard_narrative",
    "scorecard_table",
    "current_period",
    "ramp_month_reached",
]

#: Scorecard KPIs shown as percentages, and as amounts of money.
_RATE_KPIS = {"win_rate", "proposal_acceptance", "attainment"}
_MONEY_KPIS = {"avg_deal_size", "bookings"}
#: Scorecard columns shown in the report, with their headers.
_SCORECARD_HEADERS = {
    "label": "KPI",
    "value": "you",
    "low": "95% CI low",
    "high": "95% CI high",
    "n": "based on",
    "team_median": "team median",
    "team_p25": "team 25th pct",
    "team_p75": "team 75th pct",
    "percentile": "your percentile",
    "assessment": "assessment",
}

log = logging.getLogger(__name__)


def current_period(att: pd.DataFrame) -> pd.DataFrame:
    """The rows of the latest period of an :func:`spmlib.productivity.attainment.attainment`
    table."""
    if att.empty:
        return att
    return att[att["period_start"] == att["period_start"].max()].reset_index(drop=True)


def ramp_month_reached(curve: pd.DataFrame, level: float = 1.0) -> int | None:
    """First month since hire from which the median new rep stays at or above ``level`` times
    the tenured median until the end of the curve; None if never.

    Examples
    --------
    >>> curve = pd.DataFrame({"month_since_hire": [1, 2, 3, 4],
    ...     "median_share_of_tenured": [0.2, 1.1, 0.9, 1.2]})
    >>> ramp_month_reached(curve)
    4
    """
    share = curve.set_index("month_since_hire")["median_share_of_tenured"]
    below = share[~(share >= level)]
    if below.empty:
        return int(share.index.min()) if len(share) else None
    after = share[share.index > below.index.max()]
    return int(after.index.min()) if len(after) else None


def _pct(x: float) -> str:
    return "—" if x is None or pd.isna(x) else f"{x:.0%}"


def productivity_narrative(
    att: pd.DataFrame,
    outcomes: pd.DataFrame,
    board: pd.DataFrame,
    curve: pd.DataFrame,
    scope: str,
    metric_label: str = "bookings",
) -> list[str]:
    """Headline sentences of the productivity report.

    Parameters
    ----------
    att : rep rows of :func:`spmlib.productivity.attainment.attainment` (the latest period is
    described).
    outcomes : :func:`spmlib.productivity.activity.activity_outcomes`.
    board : :func:`spmlib.productivity.leaderboard.leaderboard` (by rep).
    curve : :func:`spmlib.productivity.activity.ramp_curve`.
    scope : e.g. "team Atlas" or "the whole company".
    metric_label : the leaderboard's KPI, in words.

    Returns
    -------
    list of str, one sentence (Markdown) each.
    """
    out = []
    cur = current_period(att)
    with_quota = cur.dropna(subset=["attainment"])
    if len(with_quota):
        label = html.escape(str(cur["period"].iloc[0]))
        elapsed = float(cur["elapsed_share"].iloc[0])
        share = share_at_quota(with_quota).iloc[0]
        total_b, total_q = with_quota["bookings"].sum(), with_quota["quota"].sum()
        pooled = total_b / total_q if total_q > 0 else np.nan
        projected = pooled / elapsed if elapsed > 0 else np.nan
        hit, n = int(share["at_or_above"]), int(share["reps_with_quota"])
        low, high = _pct(share["share_at_quota_low"]), _pct(share["share_at_quota_high"])
        out.append(
            f"In **{label}** ({_pct(elapsed)} of the period elapsed) {hit} of {n} reps with a "
            f"quota in {html.escape(scope)} are at or above quota "
            f"({_pct(share['share_at_quota'])}, 95% CI {low}–{high}); the median rep is at "
            f"{_pct(with_quota['attainment'].median())}."
        )
        on_pace = int(with_quota["on_pace"].sum())
        out.append(
            f"Together they have booked {_pct(pooled)} of quota, on course for "
            f"{_pct(projected)} at the period's end at the current run rate; {on_pace} of "
            f"{len(with_quota)} reps are on or ahead of pace."
        )
    else:
        out.append(f"No rep in {html.escape(scope)} has a quota in the latest period.")
    active = outcomes[outcomes["months_active"] > 0]
    if len(active) and active["activities"].sum() > 0:
        acc_k, acc_n = active["proposals_accepted"].sum(), active["proposals_decided"].sum()
        sentence = (
            f"The median rep logs {active['activities_per_month'].median():,.0f} activities and "
            f"creates {active['opportunities_per_month'].median():,.1f} opportunities a month"
        )
        cpm = active["calls_per_meeting"].median()
        if not pd.isna(cpm):
            sentence += f", with {cpm:,.1f} calls per meeting"
        if acc_n > 0:
            sentence += f"; {_pct(acc_k / acc_n)} of decided proposals were accepted"
        out.append(sentence + ".")
    ranked = board.dropna(subset=["rank"])
    if len(ranked):
        top = ranked.iloc[0]
        name = html.escape(str(top.get("rep_name", top.get("team", ""))))
        out.append(
            f"On {html.escape(metric_label)}, **{name}** leads the board in "
            f"{html.escape(str(top['period']))}."
        )
    if len(curve):
        month = ramp_month_reached(curve)
        out.append(
            f"New reps reach the tenured median in month {month} after hire."
            if month
            else "New reps have not reached the tenured median within the months observed."
        )
    return out


def scorecard_narrative(card: pd.DataFrame, rating: pd.DataFrame, rep_name: str) -> str:
    """A short Markdown summary of a scorecard: rating, strengths and areas to improve.

    Text from the data (the rep's name) is used as given; escape it before putting it in HTML.
    """
    r = rating.iloc[0]
    strengths = card[card["assessment"] == "strength"]
    areas = card[card["assessment"] == "area to improve"]
    att = r["attainment"]
    parts = [
        f"**{rep_name}**: overall rating **{r['rating']}** (score {int(r['score'])}: "
        f"{int(r['strengths'])} strength(s), {int(r['areas_to_improve'])} area(s) to improve, "
        + (f"attainment {att:.0%}" if not pd.isna(att) else "no quota")
        + ")."
    ]
    if len(strengths):
        parts.append("Strengths: " + "; ".join(strengths["evidence"].str.rstrip(".")) + ".")
    else:
        parts.append("No KPI is significantly above the rest of the team.")
    if len(areas):
        parts.append("Areas to improve: " + "; ".join(areas["evidence"].str.rstrip(".")) + ".")
    else:
        parts.append("No KPI is significantly below the rest of the team.")
    return " ".join(parts)


def scorecard_table(card: pd.DataFrame, currency: str = "USD") -> pd.DataFrame:
    """A :func:`spmlib.productivity.scorecard.scorecard` table as people read it: every value
    formatted for
    its KPI (rates as percentages, deal size and bookings as amounts of ``currency``, other
    figures with thousands separators, ``—`` when missing) and the columns given headers.

    Examples
    --------
    >>> card = pd.DataFrame({"kpi": ["win_rate", "avg_deal_size"], "label": ["Win rate", "Deal"],
    ...     "value": [0.2512, 11012.9], "low": [0.2, None], "high": [0.3, None], "n": [361, 72],
    ...     "team_median": [0.24, 11621.6], "team_p25": [0.2, 9919.4], "team_p75": [0.29, 14560.1],
    ...     "percentile": [25.0, 43.75], "assessment": ["in line", "in line"]})
    >>> scorecard_table(card)[["KPI", "you", "team median", "your percentile"]]
            KPI      you team median your percentile
    0  Win rate    25.1%       24.0%              25
    1      Deal  $11,013     $11,622              44
    """
    out = card[list(_SCORECARD_HEADERS)].copy()
    for col in ["value", "low", "high", "team_median", "team_p25", "team_p75"]:
        out[col] = [
            format_percent(v)
            if kpi in _RATE_KPIS
            else format_money(v, currency)
            if kpi in _MONEY_KPIS
            else format_number(v)
            for v, kpi in zip(card[col], card["kpi"], strict=True)
        ]
    out["n"] = [format_number(v) for v in card["n"]]
    out["percentile"] = [format_number(v, decimals=0) for v in card["percentile"]]
    return out.rename(columns=_SCORECARD_HEADERS)
