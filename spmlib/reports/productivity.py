"""The productivity report: attainment and pace, outcomes, activity, leaderboard and ramp.

:func:`build_productivity_report` computes every table for a company, team, manager or rep
scope, words the headline (:func:`productivity_headline`) and lays out the sections;
``notebooks/productivity.ipynb`` only shows the result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spmlib.core.periods import period_kind
from spmlib.io.schema import Dataset
from spmlib.productivity.activity import (
    activity_mix,
    activity_outcomes,
    activity_volume,
    revenue_per_rep,
)
from spmlib.productivity.attainment import attainment, attainment_distribution, share_at_quota
from spmlib.productivity.kpis import kpis
from spmlib.productivity.leaderboard import METRICS, Metric, leaderboard
from spmlib.productivity.ramp import ramp, ramp_curve
from spmlib.reports import plotting
from spmlib.reports.available import keep_available
from spmlib.reports.columns import Column
from spmlib.reports.formatter import format_number, format_percent
from spmlib.reports.outlook import scope_outlook
from spmlib.reports.params import ProductivityParams
from spmlib.reports.report import Figure, Report, Section, Table, Text, bullets, escape
from spmlib.reports.scope import Scope, scope_as_of

__all__ = [
    "build_productivity_report",
    "productivity_headline",
    "current_period",
    "ramp_month_reached",
    "metric_column",
    "leaderboard_columns",
]

#: Column kind of each leaderboard metric kind.
_METRIC_KINDS = {"amount": "money", "count": "count", "days": "days", "ratio": "percent",
                 "rate": "percent"}  # fmt: skip


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


def metric_column(metric: Metric, label: str | None = None, signed: bool = False) -> Column:
    """How a leaderboard metric's values are shown.

    Examples
    --------
    >>> metric_column(METRICS["win_rate"]).kind, metric_column(METRICS["bookings"]).kind
    ('percent', 'money')
    """
    kind = _METRIC_KINDS.get(metric.kind, "number")
    return Column(label or metric.label, kind, None, metric.higher_is_better, signed)


def leaderboard_columns(metric: Metric) -> dict[str, Column]:
    """How a :func:`spmlib.productivity.leaderboard.leaderboard` table's value columns read."""
    return {
        "value": metric_column(metric),
        "raw_value": metric_column(metric, "Observed"),
        "previous_value": metric_column(metric, "Previous value"),
        "value_change": metric_column(metric, "Change", signed=True),
    }


def _pct(x) -> str:
    return "—" if x is None or pd.isna(x) else format_percent(x)


def productivity_headline(
    att: pd.DataFrame,
    outcomes: pd.DataFrame,
    board: pd.DataFrame,
    curve: pd.DataFrame,
    scope: str,
    metric_label: str = "bookings",
    outlook: pd.Series | None = None,
) -> list[str]:
    """Headline sentences of the productivity report (Markdown, text from the data escaped).

    Parameters
    ----------
    att : rep rows of :func:`spmlib.productivity.attainment.attainment` (the latest period is
        described).
    outcomes : :func:`spmlib.productivity.activity.activity_outcomes`.
    board : :func:`spmlib.productivity.leaderboard.leaderboard` (by rep).
    curve : :func:`spmlib.productivity.ramp.ramp_curve`.
    scope : e.g. "team Atlas" or "the whole company".
    metric_label : the leaderboard's KPI, in words.
    outlook : the scope's row of :func:`spmlib.reports.outlook.scope_outlook` when the
        latest period is this quarter: its projection (the pipeline Monte Carlo's P50) replaces
        the run-rate one, so every report gives one figure for this quarter.
    """
    out = []
    cur = current_period(att)
    with_quota = cur.dropna(subset=["attainment"])
    if len(with_quota):
        label = escape(cur["period"].iloc[0])
        elapsed = float(cur["elapsed_share"].iloc[0])
        share = share_at_quota(with_quota).iloc[0]
        total_b, total_q = with_quota["bookings"].sum(), with_quota["quota"].sum()
        pooled = total_b / total_q if total_q > 0 else np.nan
        projected = pooled / elapsed if elapsed > 0 else np.nan
        hit, n = int(share["at_or_above"]), int(share["reps_with_quota"])
        low, high = _pct(share["share_at_quota_low"]), _pct(share["share_at_quota_high"])
        out.append(
            f"In **{label}** ({_pct(elapsed)} of the period elapsed) {hit} of {n} reps with a "
            f"quota in {escape(scope)} are at or above quota "
            f"({_pct(share['share_at_quota'])}, 95% CI {low}–{high}); the median rep is at "
            f"{_pct(with_quota['attainment'].median())}."
        )
        on_pace = int(with_quota["on_pace"].sum())
        if outlook is not None and pd.notna(outlook.get("projected_attainment", np.nan)):
            course = (
                f"most likely {_pct(outlook['projected_attainment'])} by the quarter's end "
                f"(the pipeline outlook's P50; {_pct(outlook['p_quota'])} chance of reaching "
                "quota)"
            )
        else:
            course = f"on course for {_pct(projected)} at the period's end at the current run rate"
        out.append(
            f"Together they have booked {_pct(pooled)} of quota, {course}; {on_pace} of "
            f"{len(with_quota)} reps are on or ahead of pace."
        )
    else:
        out.append(f"No rep in {escape(scope)} has a quota in the latest period.")
    active = outcomes[outcomes["months_active"] > 0]
    if len(active) and active["activities"].sum() > 0:
        acc_k, acc_n = active["proposals_accepted"].sum(), active["proposals_decided"].sum()
        sentence = (
            f"The median rep logs {format_number(active['activities_per_month'].median(), 0)} "
            f"activities and creates "
            f"{format_number(active['opportunities_per_month'].median(), 1)} opportunities a month"
        )
        cpm = active["calls_per_meeting"].median()
        if not pd.isna(cpm):
            sentence += f", with {format_number(cpm, 1)} calls per meeting"
        if acc_n > 0:
            sentence += f"; {_pct(acc_k / acc_n)} of decided proposals were accepted"
        out.append(sentence + ".")
    ranked = board.dropna(subset=["rank"])
    if len(ranked):
        top = ranked.iloc[0]
        name = escape(top.get("rep_name", top.get("team", "")))
        out.append(
            f"On {escape(metric_label)}, **{name}** leads the board in {escape(top['period'])}."
        )
    if len(curve):
        month = ramp_month_reached(curve)
        out.append(
            f"New reps reach the tenured median in month {month} after hire."
            if month
            else "New reps have not reached the tenured median within the months observed."
        )
    return out


_METHOD = [
    "**Bookings**: amount of deals won (closed) in the period, up to the data's reference date.",
    "**Quota of a period**: every quota row spread evenly over its days; a row straddling the "
    "period counts for its share. **Attainment** = bookings / quota.",
    "**Pace**: attainment against the share of the period's selling days (weekdays) elapsed; "
    "**projected attainment** = attainment / elapsed share (the current run rate carried to "
    "the period's end). For this quarter the headline quotes the pipeline outlook instead "
    "(P50 of the Monte Carlo of the forecast report and `spm outlook`).",
    "**Share at or above quota**: reps with attainment ≥ 100% over reps with a quota, with a "
    "Wilson 95% interval. **Win rate** = won / (won + lost), with its Wilson 95% interval.",
    "**Months active**: months of the range after the rep's hire date, partial months by their "
    "share of days. **Revenue per full-time rep**: a rep hired half-way through counts one half.",
    "**Leaderboard**: ranks in the current period to date, with the change since the same days "
    "of the previous period; rates are ranked by their shrunken (empirical-Bayes) values, so a "
    "rep with few deals does not top the board by luck.",
    "**Ramp**: months since hire count from 1 (the hire month); tenured reps are past the ramp "
    "horizon.",
]


#: The optional tables each section needs (left out without them, see
#: :mod:`spmlib.reports.available`).
_NEEDS = {
    "Quota attainment": ("quotas",),
    "Activity mix": ("activities",),
    "Activity to outcome": ("activities",),
}


def build_productivity_report(ds: Dataset, scope: Scope, params: ProductivityParams) -> Report:
    """The productivity report of a company, team, manager or rep scope.

    Parameters
    ----------
    ds : the loaded dataset.
    scope : from :func:`spmlib.reports.scope.resolve_scope`; every table covers its reps only.
    params : range, attainment/leaderboard period, leaderboard metric, ramp metric and horizon.

    Returns
    -------
    Report
        ``values``: ``period`` (label of the latest period), ``attainment`` (rep id to
        attainment in it, None without quota), ``share_at_quota`` (latest period),
        ``activities`` (count over the range), ``leader`` (rep id at the top of the board).
    """
    ds, scope = scope_as_of(ds, scope, params.as_of)
    d, p = scope.data, params
    start, end = p.range
    metric = METRICS[p.metric]
    att = attainment(d, p.period, by="rep", start=start, end=end)
    now = current_period(att)
    recent = sorted(att["period_start"].unique())[-4:]
    dist = attainment_distribution(att[att["period_start"].isin(recent)])
    share = share_at_quota(att)
    mix = activity_mix(activity_volume(d, "month", start, end))
    outcomes = activity_outcomes(d, start, end)
    results = kpis(d, by="rep", start=start, end=end)
    per_rep = revenue_per_rep(d, by="team", start=start, end=end)
    board = leaderboard(d, p.metric, by="rep", period=p.period, end=end)
    curve = ramp_curve(ramp(d, p.ramp_metric, horizon=p.ramp_months, start=start, end=end))
    teams = current_period(attainment(d, p.period, by="team", start=start, end=end))
    outlook = None
    if period_kind(p.period).name == "quarter" and len(now) and now["elapsed_share"].iloc[0] < 1:
        row = scope_outlook(ds, scope).iloc[0]
        outlook = row if row["period"] == now["period"].iloc[0] else None
    headline = productivity_headline(att, outcomes, board, curve, scope.label,
                                     metric.label.lower(), outlook)  # fmt: skip
    shaded = ("attainment", "projected_attainment")
    ramp_metric = METRICS[p.ramp_metric]
    curve_cols = {
        "median_value": metric_column(ramp_metric, "Median new rep"),
        "tenured_median": metric_column(ramp_metric, "Median tenured rep"),
    }
    sections = [
        Section(
            "Quota attainment",
            "Attainment = bookings / quota of the period. Projected = attainment / share of the "
            "period elapsed. Green is at or above quota, red well below.",
            (
                Table(
                    now[
                        [
                            "rep_name",
                            "team",
                            "quota",
                            "bookings",
                            "attainment",
                            "projected_attainment",
                            "on_pace",
                        ]
                    ],
                    shade=shaded,
                ),
                Text(
                    "### By team\nTeam attainment sums the quota and bookings of the team's "
                    "reps that carry a quota."
                ),
                Table(
                    teams[
                        ["team", "reps", "quota", "bookings", "attainment", "projected_attainment"]
                    ],
                    shade=shaded,
                ),
                Text(
                    "### Pace\nBars past the dashed line are ahead of an even pace through "
                    "the period."
                ),
                Figure(plotting.plot_pace, now, alt="Attainment against pace, by rep"),
                Text("### Distribution of attainment (last four periods)"),
                Figure(
                    plotting.plot_attainment_distribution, dist, alt="Distribution of attainment"
                ),
                Table(share.tail(4)),
            ),  # fmt: skip
        ),
        Section(
            "Outcomes",
            "Over the range: bookings (won deals by close date), win rate with its 95% "
            "interval, average deal size, median sales cycle of won deals, and revenue per "
            "full-time rep by team.",
            (
                Table(
                    results[
                        [
                            "rep_name",
                            "team",
                            "bookings",
                            "won",
                            "lost",
                            "win_rate",
                            "win_rate_low",
                            "win_rate_high",
                            "avg_deal_size",
                            "median_cycle_days",
                        ]
                    ],
                    bars=("bookings",),
                ),
                Table(per_rep),
            ),  # fmt: skip
        ),
        Section(
            "Activity mix",
            "Share of each rep's logged activities by type over the range.",
            (Figure(plotting.plot_activity_mix, mix, alt="Activity mix by rep"),),
        ),
        Section(
            "Activity to outcome",
            "Calls per meeting, meetings per opportunity created, activities per won deal and "
            "opportunities created per month active; proposal acceptance = accepted / decided "
            "proposals, with its 95% interval.",
            (
                Table(
                    outcomes[
                        [
                            "rep_name",
                            "months_active",
                            "activities_per_month",
                            "calls_per_meeting",
                            "meetings_per_opportunity",
                            "activities_per_won_deal",
                            "opportunities_per_month",
                            "proposal_acceptance",
                            "proposal_acceptance_low",
                            "proposal_acceptance_high",
                            "referrals_given",
                            "referrals_received",
                        ]
                    ]
                ),
            ),  # fmt: skip
        ),
        Section(
            "Leaderboard",
            f"Ranks on {escape(metric.label.lower())} in the current period to date, with the "
            "change since the same days of the previous period.",
            (
                Table(
                    board[
                        [
                            "rank",
                            "rep_name",
                            "team",
                            "value",
                            "raw_value",
                            "n",
                            "previous_rank",
                            "rank_change",
                            "value_change",
                        ]
                    ],
                    columns=leaderboard_columns(metric),
                ),
                Figure(plotting.plot_leaderboard, board, {"metric": p.metric}, alt="Leaderboard"),
            ),  # fmt: skip
        ),
        Section(
            "Ramp of new reps",
            "Monthly value of the ramp KPI for reps in their first months, as a share of the "
            "median tenured rep in the same calendar month.",
            (
                Figure(plotting.plot_ramp, curve, alt="Ramp of new reps"),
                Table(curve, columns=curve_cols),
            ),
        ),
    ]
    sections = keep_available(ds, sections, _NEEDS)
    values = {
        "period": str(now["period"].iloc[0]) if len(now) else None,
        "attainment": now.set_index("rep_id")["attainment"].to_dict(),
        "share_at_quota": float(share["share_at_quota"].iloc[-1]) if len(share) else None,
        "activities": int(outcomes["activities"].sum()),
        "leader": str(board["rep_id"].iloc[0]) if len(board) else None,
    }
    return Report(
        kind="productivity",
        title=f"Productivity and attainment: {scope.name}",
        scope=scope,
        headline=headline,
        sections=sections,
        method=Section("How this is worked out", bullets(_METHOD)),
        values=values,
        currency=ds.config.currency,
        as_of=ds.as_of,
    )
