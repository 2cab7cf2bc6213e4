"""The rep scorecard: "Your quarter", then how you compare.

It opens with the rep's own quarter (attainment to date, the gap to quota, the open deals
expected this quarter with the chance that deals at their stage are won, what closing them
would mean, and next steps tied to deals), then the rating and its written rule
(:mod:`spmlib.productivity.rating`), then the KPIs beside the team (strengths and areas to
improve in plain words), recent results, and the statistics in the closing "How this is worked
out" section.

Privacy: the report shows the rep's own figures; the team appears only as benchmarks that never
reveal a colleague (:mod:`spmlib.core.benchmark`: the median of at least five other reps,
rounded to two significant figures, and the rep's band), or not at all, with the reason.
"""

from __future__ import annotations

import math

import pandas as pd

from spmlib.core.benchmark import MIN_OTHER_REPS
from spmlib.core.periods import period_frame
from spmlib.funnel.attention import REASONS, deals_needing_attention, large_deal_amount
from spmlib.funnel.pipeline import stage_win_probability
from spmlib.funnel.velocity import current_stays, time_in_stage
from spmlib.io.schema import Dataset
from spmlib.productivity.rating import RATING_RULE, rep_ratings, review_window
from spmlib.productivity.scorecard import (
    KPI_QUARTERS,
    SCORECARD_KPIS,
    scorecard,
    scorecard_range,
)
from spmlib.productivity.scorecard_trend import scorecard_trend
from spmlib.reports import plotting
from spmlib.reports.available import KPI_TABLES, keep_available, missing
from spmlib.reports.columns import Column, column
from spmlib.reports.formatter import (
    RowFormat,
    format_count,
    format_money,
    format_percent,
    format_value,
)
from spmlib.reports.names import with_account_names
from spmlib.reports.params import ScorecardParams
from spmlib.reports.plotting.productivity import SCORECARD_TREND_KPIS
from spmlib.reports.report import Figure, Report, Section, Table, Text, bullets, escape
from spmlib.reports.scope import Scope, resolve_scope, scope_as_of

__all__ = [
    "build_rep_scorecard_report",
    "quarter_deals",
    "next_steps",
    "kpi_sentences",
    "SCORECARD_COLUMNS",
]

#: The KPI table's columns, with their headers.
SCORECARD_COLUMNS: dict[str, Column] = {
    "label": Column("KPI", "text"),
    "value": Column("You", "number"),
    "n": Column("Based on", "count"),
    "team_median": Column("Team median", "number"),
    "band": Column("Your place in the team", "text"),
    "assessment": Column("Assessment", "text"),
}
#: Each KPI's values are shown as the vocabulary shows that column (by the KPI's label).
_KPI_ROWS = RowFormat(
    "label",
    {spec.label: column(name) for name, spec in SCORECARD_KPIS.items()},
    ("value", "team_median", "low", "high"),
)
_DEAL_COLUMNS = {
    "account": Column("Account", "text"),
    "stage": Column("Stage", "text"),
    "amount": Column("Amount", "money"),
    "close_date": Column("Close date", "date"),
    "win_probability": Column("Won from this stage", "percent"),
    "expected": Column("Expected", "money"),
    "days_in_stage": Column("Days in stage", "days"),
}
#: What to do about a deal, per reason (:data:`spmlib.funnel.attention.REASONS`).
_ACTIONS = {
    "past_close": "its close date ({close}) has passed: agree a new date with the buyer, or "
    "close it as lost",
    "stale": "{days} days in {stage}, longer than 90% of deals stay there: get the next step "
    "agreed, or take it out of your forecast",
    "large_late": "a large deal in {stage} due by {close}: check the decision maker and the "
    "paperwork now",
    "slipped": "its close date moved out of the quarter: confirm what changed",
}


def _rep_scope(ds: Dataset, scope: Scope) -> Scope:
    """The scope itself for a rep; else the first rep of the scope (the notebook's default)."""
    if scope.is_rep:
        return scope
    return resolve_scope(ds, rep_id=str(scope.data.reps["rep_id"].iloc[0]))


def quarter_deals(ds: Dataset, scope: Scope, quarter_end: pd.Timestamp) -> pd.DataFrame:
    """The rep's open deals expected to close by the end of the quarter (past-dated ones
    included), largest first, with the company's historical chance of winning a deal from its
    stage and the expected amount (amount x that chance).

    Returns
    -------
    DataFrame ``opp_id``, ``account`` (names), ``stage``, ``amount``, ``close_date``,
    ``win_probability``, ``expected``, ``days_in_stage`` (empty without stage history).
    """
    cfg = ds.config
    opps = scope.data.opportunities
    due = opps[(opps["status"] == "open") & (opps["close_date"] <= quarter_end)].copy()
    probs = stage_win_probability(ds.opportunities, ds.stage_history, config=cfg)
    keys = ["stage", *(["pipeline"] if "pipeline" in probs.columns else [])]
    probs = probs[[*keys, "win_probability"]].astype({"stage": "string"})
    due["stage"] = due["stage"].astype("string")
    due = due.merge(probs, on=keys, how="left")
    due["expected"] = due["amount"] * due["win_probability"]
    stays = current_stays(due, scope.data.stage_history, config=cfg, as_of=ds.as_of)
    days = stays.set_index(stays["opp_id"].astype(str))["days_in_stage"]
    due["days_in_stage"] = due["opp_id"].astype(str).map(days).astype("float64")
    if "account" not in due.columns:
        due["account"] = pd.NA
    due = with_account_names(due, ds.accounts)
    cols = ["opp_id", "account", "stage", "amount", "close_date", "win_probability", "expected",
            "days_in_stage"]  # fmt: skip
    due = due.sort_values(["amount", "opp_id"], ascending=[False, True], kind="stable")
    return due[cols].reset_index(drop=True)


def next_steps(ds: Dataset, scope: Scope, currency: str) -> tuple[list[str], pd.DataFrame]:
    """Concrete next steps, one per deal that needs attention (rules in
    :mod:`spmlib.funnel.attention`, judged against the company's stays and deal sizes): the
    account, the amount and what to do about each reason. Returns the Markdown lines and the
    deals."""
    cfg = ds.config
    thresholds = time_in_stage(ds.opportunities, ds.stage_history, config=cfg, as_of=ds.as_of)
    deals = deals_needing_attention(
        scope.data.opportunities, scope.data.stage_history, config=cfg, as_of=ds.as_of,
        thresholds=thresholds, large_amount=large_deal_amount(ds.opportunities),
    )  # fmt: skip
    deals = with_account_names(deals, ds.accounts)
    lines = []
    for r in deals.itertuples(index=False):
        words = {
            "close": pd.Timestamp(r.close_date).date(),
            "stage": escape(r.stage),
            "days": "" if pd.isna(r.days_in_stage) else f"{r.days_in_stage:,.0f}",
        }
        todo = [_ACTIONS[flag].format(**words) for flag in _ACTIONS if getattr(r, flag)]
        account = escape(r.account) if pd.notna(r.account) else "A deal without an account"
        lines.append(
            f"**{account}** ({format_money(r.amount, currency)}, {escape(r.stage)}): "
            + "; ".join(todo)
            + "."
        )
    return lines, deals


def kpi_sentences(card: pd.DataFrame, currency: str) -> tuple[list[str], list[str]]:
    """Strengths and areas to improve in plain words, each with its evidence: the rep's value,
    what it rests on, and the team benchmark when one may be shown."""

    def evidence(row) -> str:
        col = column(str(row["kpi"]))
        unit = " days" if col.kind == "days" else ""
        own = format_value(row["value"], col, currency) + unit
        spec = SCORECARD_KPIS[str(row["kpi"])]
        text = f"{own} on {int(row['n']):,} {spec.basis}"
        if pd.notna(row["team_median"]):
            median = _about(row["team_median"], col, currency) + unit
            text += f"; team median about {median}, you are in the {row['band']}"
        return text

    strengths, areas = [], []
    for _, row in card.iterrows():
        spec = SCORECARD_KPIS[str(row["kpi"])]
        if row["assessment"] == "strength":
            strengths.append(f"{spec.strength} ({evidence(row)}).")
        elif row["assessment"] == "area to improve":
            areas.append(f"{spec.area} ({evidence(row)}).")
    return strengths, areas


def _quarter_sentence(r: pd.Series, name: str, currency: str) -> str:
    booked = format_money(r["quarter_bookings"], currency)
    if pd.isna(r["quarter_quota"]):
        return f"**{escape(name)}**, {r['quarter']}: you have booked {booked}; no quota is set."
    gap = max(r["quarter_quota"] - r["quarter_bookings"], 0.0)
    pace = "ahead of" if r["quarter_attainment"] >= r["elapsed_share"] else "behind"
    to_go = f"{format_money(gap, currency)} to go" if gap > 0 else "quota reached"
    return (
        f"**{escape(name)}**, {r['quarter']}: you have booked {booked} of your "
        f"{format_money(r['quarter_quota'], currency)} quota (**"
        f"{format_percent(r['quarter_attainment'])}**) with {format_percent(r['elapsed_share'])} "
        f"of the quarter's selling days gone: {pace} pace, {to_go}."
    )


def _deals_sentence(deals: pd.DataFrame, r: pd.Series, currency: str) -> str:
    if deals.empty:
        return "You have no open deal expected to close this quarter."
    total, expected = deals["amount"].sum(), deals["expected"].sum()
    text = (
        f"Your {format_count(len(deals), 'open deal')} due this quarter "
        f"{'comes' if len(deals) == 1 else 'come'} to {format_money(total, currency)}"
    )
    if pd.isna(r["quarter_quota"]):
        return (
            f"{text}; weighted by how often deals at their stage are won, about "
            f"{format_money(expected, currency)}."
        )
    if_all = (r["quarter_bookings"] + total) / r["quarter_quota"]
    likely = (r["quarter_bookings"] + expected) / r["quarter_quota"]
    return (
        f"{text}: if they all close you reach **{format_percent(if_all)}**; weighted by how "
        f"often deals at their stage are won, about {format_percent(likely)} of your quota."
    )


def _rating_sentence(r: pd.Series, ramp_months: int) -> str:
    rating = str(r["rating"])
    att = format_percent(r["attainment"])
    since = pd.Timestamp(r["measured_from"])
    joined = since > pd.Timestamp(r["window_start"])
    if rating == "Ramping":
        return (
            f"Rating: **Ramping**: you joined on {since.date()}, less than {ramp_months} months "
            f"before the end of {r['window']}, so you are not rated yet ({att} of your quota "
            "since then)."
        )
    if rating == "Not rated":
        return f"Rating: **Not rated**: you had no quota over {r['window']}."
    where = f"{r['window']}" + (f", since you joined on {since.date()}" if joined else "")
    pace = (
        f"; your pace this quarter is {format_percent(r['pace'])}" if bool(r["pace_counts"]) else ""
    )
    return f"Rating: **{rating}**: {att} of quota over {where}{pace}."


def _compare_sentence(card: pd.DataFrame) -> str:
    """One sentence: the strengths and areas found, by KPI name."""
    if (card["assessment"] == "no comparison").all() or not card["assessment"].ne("").any():
        return "No comparison with your team: it has too few other reps."
    words = {
        key: [str(x).lower() for x in card.loc[card["assessment"] == found, "label"]]
        for key, found in (("strength", "strength"), ("area", "area to improve"))
    }
    if not words["strength"] and not words["area"]:
        return "Compared with your team, no KPI stands out either way."
    parts = []
    if words["strength"]:
        parts.append(f"your strengths: {', '.join(words['strength'])}")
    if words["area"]:
        parts.append(f"to work on: {', '.join(words['area'])}")
    return "Compared with your team, " + "; ".join(parts) + "."


def _about(value: float, col: Column, currency: str) -> str:
    """A benchmark (two significant figures) without false precision."""
    if col.kind in ("number", "count") and value:
        digits = max(0, 1 - math.floor(math.log10(abs(value))))
        return format_value(value, col.relabel(col.label, decimals=digits), currency)
    return format_value(value, col, currency)


_METHOD = [
    "**Attainment** = bookings (won deals closed in the period) / quota (quota rows spread "
    "evenly over their days); **pace** = attainment so far / the share of the quarter's "
    "selling days (weekdays) gone.",
    "**Won from this stage**: of the company's closed deals that reached the stage, the share "
    "won; **expected** = amount x that share.",
    "**Win rate** = won / (won + lost) of deals closed in the range; **proposal acceptance** = "
    "accepted / decided proposals; both with Wilson 95% intervals (below).",
    "**Average deal size**: mean amount of won deals; **median sales cycle**: median days from "
    "creation to close of won deals (lower is better).",
    "**Activities per month** and **opportunities per month**: counts over the months employed "
    "in the range (months before your hire date are left out).",
    "**Team median**: the median of the other reps of your team, rounded to two significant "
    "figures; **your place**: top quarter, middle half or bottom quarter of the team. Shown "
    f"only when at least {MIN_OTHER_REPS} other reps have a value, so that it never reveals a "
    "colleague.",
    "**Strengths and areas to improve**: a KPI that differs from the rest of the team by at "
    "least 10% with a Holm-adjusted p-value below 0.05, in the good or the bad direction. "
    "Tests: two-proportion test (Fisher's exact test for small counts) for rates, "
    "Mann-Whitney U for deal sizes, cycles and monthly volumes, each against the rest of the "
    "team, Holm-corrected over the team's reps.",
]


#: The start of the method line that defines the activity KPIs (left out without activities).
_ACTIVITY_METHOD = "**Activities per month**"


def _compare_section(card: pd.DataFrame, window: str, currency: str) -> tuple[Section, list]:
    """How the rep compares with the team: the KPI table and the strengths and areas in plain
    words (or why there is no comparison); and the statistics for the closing section."""
    strengths, areas = kpi_sentences(card, currency)
    shown = card[card["value"].notna() | card["test"].ne("")]
    blocks: list = [
        Table(shown[list(SCORECARD_COLUMNS)], columns=SCORECARD_COLUMNS, rows=_KPI_ROWS)
    ]
    notes = sorted({str(n) for n in card["benchmark_note"].dropna() if str(n)})
    if notes and card["team_median"].isna().all():
        blocks.insert(0, Text(notes[0]))
    if (card["assessment"] == "no comparison").any():
        blocks.append(
            Text(
                f"Strengths and areas to improve are not worked out: your team has fewer than "
                f"{MIN_OTHER_REPS} other reps, and a comparison would tell you about them."
            )
        )
    else:
        none = "- none found (no KPI differs clearly from the rest of the team)"
        blocks += [
            Text("### Strengths\n" + (bullets(strengths) or none)),
            Text("### Areas to improve\n" + (bullets(areas) or none)),
        ]
    section = Section(
        "How you compare",
        f"Your KPIs over {window} beside the team: the other reps' median and your place in "
        "the team, never a colleague's figure.",
        tuple(blocks),
    )
    tests = card[card["p_value"].notna()][["label", "test", "p_value", "p_adjusted"]]
    rates = card[card["low"].notna()][["label", "value", "low", "high"]]
    method = []
    if len(tests):
        method.append(Table(tests, title="**Tests against the rest of the team:**",
                            columns={"label": Column("KPI", "text")}))  # fmt: skip
    if len(rates):
        method.append(Table(rates, title="**Your rates with their 95% intervals:**",
                            columns={"label": Column("KPI", "text"),
                                     "value": Column("You", "percent"),
                                     "low": Column("95% low", "percent"),
                                     "high": Column("95% high", "percent")}))  # fmt: skip
    return section, method


def build_rep_scorecard_report(ds: Dataset, scope: Scope, params: ScorecardParams) -> Report:
    """The scorecard of one rep (a team or company scope reviews its first rep).

    Parameters
    ----------
    ds : the loaded dataset.
    scope : from :func:`spmlib.reports.scope.resolve_scope`.
    params : ``as_of`` (this quarter is the one holding it), ``start``/``end`` (the range of the
        KPIs; default the review window of the rating), the trend period and length, the
        months of ramp.

    Returns
    -------
    Report
        ``values``: ``rating``, ``attainment`` (over the review window), ``window``,
        ``quarter_attainment``, ``strengths`` and ``areas_to_improve`` (KPI names), ``kpis``
        (KPI name to the rep's value), ``deals_due`` and ``next_steps`` (counts).
    """
    ds, scope = scope_as_of(ds, scope, params.as_of)
    scope = _rep_scope(ds, scope)
    rep_id, name, currency = str(scope.rep_id), str(scope.rep_name), ds.config.currency
    ratings = rep_ratings(ds, team=scope.team, ramp_months=params.ramp_months)
    r = ratings.set_index(ratings["rep_id"].astype(str)).loc[rep_id]
    quarter_end = period_frame(ds.as_of, "quarter", ds.config.fiscal_year_start_month).end
    deals = quarter_deals(ds, scope, quarter_end)
    steps, attention = next_steps(ds, scope, currency)
    start, end = params.range
    lo, hi = scorecard_range(ds, start, end)
    span = (
        f"{lo.date()} to {hi.date()}"
        if start or end
        else review_window(ds.as_of, ds.config.fiscal_year_start_month, KPI_QUARTERS)[2]
    )
    card = scorecard(scope.peers, rep_id, start=lo, end=hi)
    card = card[[not missing(ds, KPI_TABLES.get(k, ())) for k in card["kpi"]]]
    trend_kpis = tuple(k for k in SCORECARD_TREND_KPIS if not missing(ds, KPI_TABLES.get(k, ())))
    trend = scorecard_trend(scope.peers, rep_id, params.period, params.trend_periods, ds.as_of)
    compare, method_tables = _compare_section(card, span, currency)
    strengths = card.loc[card["assessment"] == "strength", "kpi"].tolist()
    areas = card.loc[card["assessment"] == "area to improve", "kpi"].tolist()
    if steps:
        counts = [
            f"{int(attention[flag].sum())} {word}"
            for flag, word in REASONS.items()
            if attention[flag].any()
        ]
        steps_line = (
            f"**Next steps**: {format_count(len(steps), 'deal')} "
            f"{'needs' if len(steps) == 1 else 'need'} you ({', '.join(counts)})."
        )
    else:
        steps_line = "No deal needs you this week: none is past its close date or stale."
    headline = [
        _quarter_sentence(r, name, currency),
        _deals_sentence(deals, r, currency),
        steps_line,
        _rating_sentence(r, params.ramp_months),
        _compare_sentence(card),
    ]
    deal_blocks = (
        (
            Table(deals.drop(columns="opp_id"), columns=_DEAL_COLUMNS,
                  title=f"**Open deals expected to close by {quarter_end.date()}**, largest "
                  "first:"),
            Text(_deals_sentence(deals, r, currency)),
        )
        if len(deals)
        else (Text(_deals_sentence(deals, r, currency)),)
    )  # fmt: skip
    window_row = pd.DataFrame(
        {
            "window": [r["window"]],
            "measured_from": [pd.Timestamp(r["measured_from"])],
            "quota": [r["quota"]],
            "booked": [r["bookings"]],
            "attainment": [r["attainment"]],
            "pace": [r["pace"] if bool(r["pace_counts"]) else float("nan")],
        }
    )
    window_cols = {
        "window": Column("Review window", "text"),
        "measured_from": Column("Measured from", "date"),
        "pace": Column(f"Pace in {r['quarter']}", "percent"),
    }
    sections = [
        Section(
            "Your quarter",
            _quarter_sentence(r, name, currency),
            deal_blocks,
        ),
        Section(
            "Next steps",
            "Deals past their close date, stale in their stage, or large and late-stage.",
            (Text(bullets(steps) if steps else "Nothing needs you this week."),),
        ),
        Section(
            "Your rating",
            _rating_sentence(r, params.ramp_months),
            (
                Table(window_row, columns=window_cols),
                Text(RATING_RULE.format(ramp_months=params.ramp_months)),
            ),
        ),
        compare,
        Section(
            "Recent results",
            "Your KPIs over the last periods (since you joined) beside the team median, when "
            "one may be shown.",
            (
                Figure(
                    plotting.plot_scorecard_trends,
                    trend,
                    {"kpis": trend_kpis},
                    alt="Your recent results",
                ),
            ),
        ),
    ]
    no_activities = bool(missing(ds, ["activities"]))
    sections = keep_available(
        ds,
        sections,
        {},
        {
            "Quota attainment, pace and a rating led by them": ("quotas",),
            "Activity KPIs (activities per month, proposal acceptance)": ("activities",),
        },
    )
    method = Section(
        "How this is worked out",
        bullets([m for m in _METHOD if not (m.startswith(_ACTIVITY_METHOD) and no_activities)]),
        tuple(method_tables),
    )
    return Report(
        kind="rep_scorecard",
        title=f"Your quarter: {name}",
        scope=scope,
        headline=headline,
        sections=sections,
        method=method,
        values={
            "rating": str(r["rating"]),
            "attainment": r["attainment"],
            "window": str(r["window"]),
            "quarter_attainment": r["quarter_attainment"],
            "strengths": strengths,
            "areas_to_improve": areas,
            "kpis": card.set_index("kpi")["value"].to_dict(),
            "deals_due": len(deals),
            "next_steps": len(steps),
        },
        currency=currency,
        as_of=ds.as_of,
    )
