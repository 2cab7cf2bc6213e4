"""The rep scorecard: one rep's goals and KPIs against anonymous team benchmarks.

Privacy: the report shows the rep's own figures; the rest of the team appears only as
anonymous figures (median, quartiles, the rep's percentile, the pooled rest of the team).
"""

from __future__ import annotations

import pandas as pd

from spmlib.io.schema import Dataset
from spmlib.productivity.attainment import attainment
from spmlib.productivity.scorecard import (
    RATING_RULE,
    SCORECARD_KPIS,
    overall_rating,
    scorecard,
)
from spmlib.productivity.scorecard_trend import scorecard_trend
from spmlib.reports import plotting
from spmlib.reports.available import KPI_TABLES, keep_available, missing
from spmlib.reports.columns import Column, column
from spmlib.reports.formatter import RowFormat, format_percent
from spmlib.reports.params import ScorecardParams
from spmlib.reports.plotting.productivity import SCORECARD_TREND_KPIS
from spmlib.reports.report import Figure, Report, Section, Table, Text, bullets, escape
from spmlib.reports.scope import Scope, resolve_scope

__all__ = ["build_rep_scorecard_report", "scorecard_narrative", "SCORECARD_COLUMNS"]

#: The scorecard table's columns, with their headers.
SCORECARD_COLUMNS: dict[str, Column] = {
    "label": Column("KPI", "text"),
    "value": Column("You", "number"),
    "low": Column("95% CI low", "number"),
    "high": Column("95% CI high", "number"),
    "n": Column("Based on", "count"),
    "team_median": Column("Team median", "number"),
    "team_p25": Column("Team 25th percentile", "number"),
    "team_p75": Column("Team 75th percentile", "number"),
    "percentile": Column("Your percentile", "number", 0),
    "assessment": Column("Assessment", "text"),
}
#: Each KPI's values are shown as the vocabulary shows that column (by the KPI's label).
_KPI_ROWS = RowFormat(
    "label",
    {spec.label: column(name) for name, spec in SCORECARD_KPIS.items()},
    ("value", "low", "high", "team_median", "team_p25", "team_p75"),
)


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
        + (f"attainment {format_percent(att)}" if not pd.isna(att) else "no quota")
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


def _rep_scope(ds: Dataset, scope: Scope) -> Scope:
    """The scope itself for a rep; else the first rep of the scope (the notebook's default)."""
    if scope.is_rep:
        return scope
    return resolve_scope(ds, rep_id=str(scope.data.reps["rep_id"].iloc[0]))


_METHOD = [
    "**Win rate** = won / (won + lost) of deals closed in the range; **proposal acceptance** = "
    "accepted / decided proposals; both with Wilson 95% intervals.",
    "**Average deal size**: mean amount of won deals; **median sales cycle**: median days from "
    "creation to close of won deals (lower is better).",
    "**Activities per month** and **opportunities per month**: counts over the months active "
    "since hire.",
    "**Percentile**: share of the team's reps (you included, ties counted half) whose value is "
    "no better than yours.",
    "**Tests**: two-proportion test (Fisher's exact test for small counts) for rates, "
    "Mann–Whitney U for deal sizes, cycles and monthly volumes, each against the rest of the "
    "team, Holm-corrected over the team's reps.",
]


def build_rep_scorecard_report(ds: Dataset, scope: Scope, params: ScorecardParams) -> Report:
    """The scorecard of one rep (a team or company scope reviews its first rep).

    Parameters
    ----------
    ds : the loaded dataset.
    scope : from :func:`spmlib.reports.scope.resolve_scope`.
    params : review range, trend period and number of periods.

    Returns
    -------
    Report
        ``values``: ``rating``, ``strengths`` and ``areas_to_improve`` (KPI names), ``kpis``
        (KPI name to the rep's value).
    """
    scope = _rep_scope(ds, scope)
    rep_id, name = str(scope.rep_id), str(scope.rep_name)
    team_ds, start, end = scope.peers, *params.range
    card = scorecard(team_ds, rep_id, start=start, end=end)
    rating = overall_rating(card)
    card = card[[not missing(ds, KPI_TABLES.get(k, ())) for k in card["kpi"]]]
    trend_kpis = tuple(k for k in SCORECARD_TREND_KPIS if not missing(ds, KPI_TABLES.get(k, ())))
    trend = scorecard_trend(team_ds, rep_id, params.period, params.trend_periods, end)
    goals = attainment(scope.data, params.period, by="rep", start=start, end=end)
    goals = goals.tail(params.trend_periods)
    summary = scorecard_narrative(card, rating, escape(name))
    strengths = card[card["assessment"] == "strength"]
    areas = card[card["assessment"] == "area to improve"]
    none = "- none found (no KPI differs significantly and materially from the rest of the team)"
    review = f"{params.start or 'start of the data'} to {params.end or ds.as_of.date()}"
    r = rating.iloc[0]
    sections = [
        Section(
            "Goals: quota attainment",
            f"**{escape(name)}**, team {escape(scope.team)}. Review range: {review}. Bookings "
            "against quota per period; pace compares attainment with the share of the period "
            "elapsed.",
            (
                Table(
                    goals[
                        [
                            "period",
                            "quota",
                            "bookings",
                            "attainment",
                            "elapsed_share",
                            "projected_attainment",
                        ]
                    ],
                    shade=("attainment", "projected_attainment"),
                ),
            ),  # fmt: skip
        ),
        Section(
            "KPIs against the team",
            "Your value, the team median and quartiles (anonymous), your percentile in the team "
            "(higher is better) and the comparison with the rest of the team.",
            (
                Table(card[list(SCORECARD_COLUMNS)], columns=SCORECARD_COLUMNS, rows=_KPI_ROWS),
                Figure(plotting.plot_scorecard, card, alt="Your KPIs against the team"),
            ),
        ),
        Section(
            "Recent results",
            "Your KPIs over the last periods beside the team median.",
            (
                Figure(
                    plotting.plot_scorecard_trends,
                    trend,
                    {"kpis": trend_kpis},
                    alt="Your recent results",
                ),
            ),
        ),
        Section(
            "Strengths and areas to improve",
            blocks=(
                Text("### Strengths\n" + (bullets(strengths["evidence"]) or none)),
                Text("### Areas to improve\n" + (bullets(areas["evidence"]) or none)),
            ),
        ),
        Section(
            "Summary rating",
            blocks=(Text(f"**{r['rating']}** (score {int(r['score'])}).\n\n{RATING_RULE}"),),
        ),
    ]
    sections = keep_available(
        ds,
        sections,
        {"Goals: quota attainment": ("quotas",)},
        {"Activity KPIs (activities per month, proposal acceptance)": ("activities",)},
    )
    tests = card[card["test"].fillna("") != ""][["label", "test", "p_value", "p_adjusted"]]
    method = Section(
        "How this is worked out",
        bullets(_METHOD),
        (Table(tests, title="**Tests against the rest of the team:**",
               columns={"label": Column("KPI", "text")}),),
    )  # fmt: skip
    return Report(
        kind="rep_scorecard",
        title=f"Performance review: {name}",
        scope=scope,
        headline=[summary],
        sections=sections,
        method=method,
        values={
            "rating": str(r["rating"]),
            "strengths": strengths["kpi"].tolist(),
            "areas_to_improve": areas["kpi"].tolist(),
            "kpis": card.set_index("kpi")["value"].to_dict(),
        },
        currency=ds.config.currency,
        as_of=ds.as_of,
    )
