"""The team brief: the first thing a manager reads on Monday, for a team, a manager's reps or
the company.

It answers four questions in order: are we going to hit this quarter (the quarter outlook,
:func:`spmlib.forecast.outlook.quarter_outlook`, the one figure for "this quarter" that the
forecast report and ``spm outlook`` give too), who is behind (each rep by name with attainment,
pace and their own outlook), which deals need me (past their close date, slipped, stale, large
and late-stage: :mod:`spmlib.funnel.attention`), and what changed since last week
(:mod:`spmlib.funnel.changes`, against the previous extract); then it links to the full funnel,
productivity and forecast reports of the same scope in the same batch run. Its email
(:attr:`~spmlib.reports.report.Report.email`) is a short version of about two phone screens
that links to (or attaches) the full brief.

Privacy: a team's or a manager's brief names only their reps and deals; the company brief
covers everyone. There is no brief for one rep (their quarter opens their scorecard).
"""

from __future__ import annotations

import pandas as pd

from spmlib.exceptions import ParameterError
from spmlib.forecast.outlook import outlook_calibration, quarter_outlook
from spmlib.funnel.attention import REASONS, deals_needing_attention, large_deal_amount
from spmlib.funnel.velocity import time_in_stage
from spmlib.io.schema import Dataset
from spmlib.reports.changes import Changes, changes_section, changes_since
from spmlib.reports.columns import Column
from spmlib.reports.formatter import (
    RowFormat,
    format_count,
    format_money,
    format_number,
    format_percent,
)
from spmlib.reports.links import report_href
from spmlib.reports.names import with_account_names, with_rep_names
from spmlib.reports.outlook import outlook_method, outlook_sentence, scope_outlook
from spmlib.reports.params import TeamBriefParams
from spmlib.reports.report import Report, Section, Table, Text, bullets, escape
from spmlib.reports.scope import Scope, scope_as_of

__all__ = [
    "EMAIL_LINES",
    "LINKED_KINDS",
    "CHANGE_ORDER",
    "build_team_brief_report",
    "attention_lines",
    "change_lines",
]

#: Deals and changes listed in the email (the full brief lists ``max_deals``).
EMAIL_LINES = 5
#: The full reports the brief links to, with their titles.
LINKED_KINDS = {
    "funnel": "Funnel and pipeline",
    "productivity": "Productivity and attainment",
    "forecast": "Forecast",
}
#: The order changes are told in: what moves the quarter first.
CHANGE_ORDER = (
    "won",
    "lost",
    "slipped",
    "pulled in",
    "new",
    "advanced",
    "moved back",
    "amount changed",
    "newly stale",
    "removed",
)
_DEAL_COLUMNS = {
    "rep_name": Column("Rep", "text"),
    "account": Column("Account", "text"),
    "amount": Column("Amount", "money"),
    "stage": Column("Stage", "text"),
    "close_date": Column("Close date", "date"),
    "days_in_stage": Column("Days in stage", "days"),
    "reasons": Column("Why", "text"),
}
_PEOPLE_COLUMNS = {
    "rep_name": Column("Rep", "text"),
    "team": Column("Team", "text"),
    "booked": Column("Booked", "money"),
    "attainment": Column("Attainment", "percent"),
    "pace": Column("Pace", "percent", higher_is_better=True),
    "p50": Column("Likely by quarter end", "money"),
    "p_quota": Column("Chance of quota", "chance"),
}
_CHANGE_COLUMNS = {
    "change": Column("Change", "text"),
    "rep_name": Column("Rep", "text"),
    "account": Column("Account", "text"),
    "stage": Column("Stage", "text"),
    "close": Column("Close date", "text"),
    "amount": Column("Amount", "money"),
}
#: The outlook table: one measure per row, each in its own unit.
_OUTLOOK_ROWS = {
    "Booked so far": Column("", "money"),
    "Quota": Column("", "money"),
    "Attainment": Column("", "percent"),
    "Selling days gone": Column("", "percent"),
    "Pace (100% = on track)": Column("", "percent"),
    "Likely by quarter end (P50)": Column("", "money"),
    "Low end (P10)": Column("", "money"),
    "High end (P90)": Column("", "money"),
    "Chance of reaching quota": Column("", "chance"),
    "Open pipeline due this quarter": Column("", "money"),
    "Quota still to book": Column("", "money"),
    "Coverage": Column("", "ratio"),
    "Coverage target": Column("", "ratio"),
    "80% range held the actual (past quarters)": Column("", "percent"),
}


# --- the outlook ---------------------------------------------------------------------------------


def _outlook(ds: Dataset, scope: Scope, params: TeamBriefParams):
    """The scope's outlook row, its reps' rows and (company) its teams' rows, all from the same
    simulated quarters of the whole dataset (:func:`spmlib.reports.outlook.scope_outlook`); and
    the measured coverage of the 80% range, with whose outlook it was measured for."""
    calibration = (
        outlook_calibration(ds, n_sims=min(params.n_sims, 1000)) if params.measure_coverage
        else None
    )  # fmt: skip
    rows = scope_outlook(ds, scope, n_sims=params.n_sims, calibration=calibration)
    row = rows.iloc[0]
    under = rows.iloc[1:].reset_index(drop=True)
    measured = (row["replay_coverage_80"], int(row["replays"]), scope.label)
    if pd.isna(measured[0]) and calibration is not None:  # a manager: the company's is known
        company = calibration[calibration["level"] == "company"]
        if len(company):
            measured = (company["coverage_80"].iloc[0], int(company["replays"].iloc[0]),
                        "the whole company")  # fmt: skip
    if scope.kind == "company":
        return row, quarter_outlook(ds, "rep", n_sims=params.n_sims), under, measured
    return row, under, None, measured


def _outlook_sentences(row: pd.Series, measured, scope: Scope, currency: str) -> list[str]:
    """The outlook in the words every report uses, then how well such outlooks held."""
    out = [outlook_sentence(row, scope.subject, currency)]
    coverage, replays, whose = measured
    if pd.notna(coverage) and replays:
        out.append(
            f"Replayed on {replays} past quarters with only what was known then, the 80% range "
            f"of {escape(whose)}'s outlook held the actual {format_percent(coverage)} of the "
            "time."
        )
    return out


def _outlook_table(row: pd.Series, measured) -> Table:
    values = [
        row["booked"], row["quota"], row["attainment"], row["elapsed"], row["pace"], row["p50"],
        row["p10"], row["p90"], row["p_quota"], row["open_pipeline"], row["remaining_quota"],
        row["coverage"], row["coverage_target"], measured[0],
    ]  # fmt: skip
    frame = pd.DataFrame({"measure": list(_OUTLOOK_ROWS), "value": values})
    frame = frame[frame["value"].notna()].reset_index(drop=True)
    return Table(
        frame,
        columns={"measure": Column("Measure", "text"), "value": Column(str(row["period"]))},
        rows=RowFormat("measure", _OUTLOOK_ROWS, ("value",)),
    )


# --- people --------------------------------------------------------------------------------------


def _people(rows: pd.DataFrame, label: str) -> pd.DataFrame:
    """Reps (or teams) with their quarter: lowest pace first (who is behind)."""
    cols = [label, "booked", "attainment", "pace", "p50", "p_quota"]
    return rows[cols].sort_values(["pace", label], na_position="last").reset_index(drop=True)


def _pace_sentence(people: pd.DataFrame, label: str, noun: str = "rep") -> str:
    """Who is behind pace (under 100%: on course to miss quota at the run rate so far)."""
    rated = people[people["pace"].notna()]
    if rated.empty:
        return f"No {noun} has a quota this quarter, so attainment and pace are not known."
    behind = rated[rated["pace"] < 1.0]
    if behind.empty:
        return f"All {len(rated)} {noun}s with a quota are on pace."
    names = ", ".join(
        f"{escape(r[label])} ({format_percent(r['pace'])})" for _, r in behind.iterrows()
    )
    return f"**{len(behind)} of {len(rated)} {noun}s behind pace**: {names}."


# --- deals ---------------------------------------------------------------------------------------


def attention_lines(deals: pd.DataFrame, currency: str, n: int = EMAIL_LINES) -> list[str]:
    """One Markdown line per deal (the email's stacked layout, readable on a phone): account,
    amount, stage, close date and days in stage, then the rep and the reasons.

    Examples
    --------
    >>> deals = pd.DataFrame({"rep_name": ["Ann"], "account": ["O'Neil & Co"],
    ...     "amount": [1200.0], "stage": ["Demo"], "close_date": pd.to_datetime(["2026-11-12"]),
    ...     "days_in_stage": [45.0], "reasons": ["stale"]})
    >>> print(attention_lines(deals, "USD")[0])
    **O'Neil &amp; Co**, $1,200, Demo, closes 2026-11-12, 45 days in stage: Ann (stale)
    """
    out = []
    for r in deals.head(n).itertuples(index=False):
        account = escape(r.account) if pd.notna(r.account) else "(no account)"
        days = ""
        if pd.notna(r.days_in_stage):
            n_days = format_number(r.days_in_stage, 0)
            days = f", {n_days} day{'' if n_days == '1' else 's'} in stage"
        out.append(
            f"**{account}**, {format_money(r.amount, currency)}, {escape(r.stage)}, closes "
            f"{pd.Timestamp(r.close_date).date()}{days}: {escape(r.rep_name)} ({r.reasons})"
        )
    return out


def _deals(ds: Dataset, scope: Scope, params: TeamBriefParams, slipped) -> pd.DataFrame:
    """The scope's deals needing attention, judged against the whole company's stays and deal
    sizes, with the rep's name and the account's."""
    cfg, as_of = ds.config, ds.as_of
    thresholds = time_in_stage(ds.opportunities, ds.stage_history, config=cfg, as_of=as_of)
    large = params.large_amount
    if large is None:
        large = large_deal_amount(ds.opportunities)
    own = scope.data
    deals = deals_needing_attention(
        own.opportunities, own.stage_history, config=cfg, as_of=as_of, thresholds=thresholds,
        large_amount=large, late_stages=params.late_stages, slipped=slipped,
    )  # fmt: skip
    deals = with_rep_names(deals, own.reps, replace=False)
    return with_account_names(deals, ds.accounts)


def _deal_sentence(deals: pd.DataFrame, currency: str) -> str:
    if deals.empty:
        return (
            "No open deal needs attention: none is past its close date, slipped, stale, or "
            "large and late-stage."
        )
    counts = [
        f"{int(deals[flag].sum())} {word}" for flag, word in REASONS.items() if deals[flag].any()
    ]
    verb = "needs" if len(deals) == 1 else "need"
    amount = format_money(deals["amount"].sum(), currency)
    return (
        f"**{format_count(len(deals), 'deal')} {verb} attention** ({amount}): {', '.join(counts)}."
    )


# --- changes -------------------------------------------------------------------------------------


def _readable(changes: Changes) -> pd.DataFrame:
    """The scope's changes in :data:`CHANGE_ORDER`, the largest first within each kind, with
    readable ``stage``, ``close`` (before → after when they moved) and ``amount`` columns."""
    ch = changes.changes.copy()
    ch["_order"] = ch["change"].map({c: i for i, c in enumerate(CHANGE_ORDER)})
    ch["amount"] = ch["amount_after"].where(ch["amount_after"].notna(), ch["amount_before"])
    ch = ch.sort_values(["_order", "amount", "opp_id"], ascending=[True, False, True])
    ch["rep_name"] = ch["rep_name"].fillna(ch["rep_id"])
    ch["stage"] = [_before_after(b, a) for b, a in zip(ch["stage_before"], ch["stage_after"],
                                                        strict=True)]  # fmt: skip
    ch["close"] = [
        _before_after(_day(b), _day(a))
        for b, a in zip(ch["close_date_before"], ch["close_date_after"], strict=True)
    ]
    return ch.drop(columns="_order").reset_index(drop=True)


def _day(value) -> str | None:
    return None if pd.isna(value) else str(pd.Timestamp(value).date())


def _before_after(before, after) -> str:
    """``before → after`` when it changed, else the value (text from the data is escaped by
    the table formatter)."""
    b = None if before is None or pd.isna(before) else str(before)
    a = None if after is None or pd.isna(after) else str(after)
    if b == a or b is None:
        return a or ""
    return f"{b} → {a or '—'}"


def change_lines(changes: pd.DataFrame, currency: str, n: int = EMAIL_LINES) -> list[str]:
    """One short Markdown line per change (the email's stacked layout): the change, the
    account, the amount, what moved (the close date of a slipped or pulled-in deal, the stage
    of an advanced one, the amount of a re-quoted one) and the rep.

    Examples
    --------
    >>> ch = pd.DataFrame({"change": ["slipped", "won"], "account": ["Acme", "Bolt"],
    ...     "amount": [8000.0, 500.0], "stage": ["Proposal", "Offer → Won"],
    ...     "close": ["2026-12-20 → 2027-02-10", "2026-12-09"], "rep_name": ["Bo", "Ann"],
    ...     "amount_before": [8000.0, 500.0], "amount_after": [8000.0, 500.0]})
    >>> for line in change_lines(ch, "USD"):
    ...     print(line)
    Slipped: **Acme**, $8,000, close date 2026-12-20 → 2027-02-10 (Bo)
    Won: **Bolt**, $500 (Ann)
    """
    out = []
    for r in changes.head(n).itertuples(index=False):
        account = escape(r.account) if pd.notna(r.account) else "(no account)"
        what = ""
        if r.change in ("slipped", "pulled in"):
            what = f", close date {r.close}"
        elif r.change in ("advanced", "moved back", "new", "newly stale"):
            what = f", {escape(r.stage)}"
        amount = format_money(r.amount, currency)
        if r.change == "amount changed":
            amount = (
                f"{format_money(r.amount_before, currency)} → "
                f"{format_money(r.amount_after, currency)}"
            )
        out.append(
            f"{str(r.change).capitalize()}: **{account}**, {amount}{what} ({escape(r.rep_name)})"
        )
    return out


#: The changes told by kind in the headline; the others are counted together.
_HEADLINE_CHANGES = ("won", "lost", "slipped", "pulled in", "new")


def _change_sentence(changes: pd.DataFrame, since: pd.Timestamp, currency: str) -> str:
    if changes.empty:
        return f"Since the extract of {since.date()}, no deal changed."
    parts = []
    for kind in _HEADLINE_CHANGES:
        rows = changes[changes["change"] == kind]
        if len(rows):
            parts.append(f"{len(rows)} {kind} ({format_money(rows['amount'].sum(), currency)})")
    others = changes[~changes["change"].isin(_HEADLINE_CHANGES)]
    if len(others):
        kinds = ", ".join(k for k in CHANGE_ORDER if (others["change"] == k).any())
        parts.append(f"{format_count(len(others), 'other change')} ({kinds})")
    return f"**Since {since.date()}**: " + ", ".join(parts) + "."


def _email_changes(changes: Changes | None, readable: pd.DataFrame | None, currency: str):
    """The email's "Since ..." section: five changes as stacked lines (the headline has the
    totals)."""
    if changes is None:
        none = Text("No earlier extract was given (`compare_to`), so no changes are listed.")
        return Section("Since the last extract", blocks=(none,))
    lines = change_lines(readable, currency)
    more = f"\n\n{len(lines)} of {len(readable)} shown." if len(readable) > len(lines) else ""
    return Section(
        f"Since {changes.previous_as_of.date()}",
        blocks=(Text(bullets(lines) + more),) if lines else (Text("No deal changed."),),
    )


# --- the report ----------------------------------------------------------------------------------


def _links(scope: Scope) -> str:
    """Markdown links to the full reports of the same scope in the same run."""
    target = scope.parameters()
    return bullets(
        [f"[{title}]({report_href(kind, target)})" for kind, title in LINKED_KINDS.items()]
    )


_METHOD = [
    "**Deals that need attention**: open deals **past their close date** (expected close before "
    "the reference date); **slipped** (close date moved out of the quarter since the previous "
    "extract); **stale** (longer in their current stage than 90% of the company's completed "
    "stays in that stage); **large and late-stage** (in one of the last open stages, at or "
    "above the company's 90th percentile of open deal amounts, expected to close this "
    "quarter).",
    "**Since last week**: deals compared by id between the previous extract and this one "
    "(new, won, lost, advanced, moved back, slipped out of or pulled into the quarter, amount "
    "changed, newly stale, removed).",
]


def build_team_brief_report(ds: Dataset, scope: Scope, params: TeamBriefParams) -> Report:
    """The weekly brief of a company, team or manager scope.

    Parameters
    ----------
    ds : the loaded dataset (all teams: the outlook simulates the whole company, and the
        company's stays and deal sizes are the yardstick of deals needing attention).
    scope : from :func:`spmlib.reports.scope.resolve_scope`; not a rep.
    params : the reference date, the outlook's simulations and coverage target, the
        large-deal amount and late stages, the deals listed, the previous extract
        (``compare_to``: a dataset in the native model, such as a batch's data snapshot).

    Returns
    -------
    Report
        ``values``: ``quarter`` (label), ``outlook`` (the scope's outlook row), ``reps`` (rep
        name to pace), ``deals`` (deals needing attention, count), ``deals_amount`` and
        ``changes`` (count, None without a previous extract); its ``email`` is the short
        version.

    Raises
    ------
    ParameterError : for a rep scope, or a previous extract not earlier than this one.
    """
    if scope.is_rep:
        raise ParameterError(
            "the team brief covers a team, a manager's reps or the company; a rep's quarter "
            "opens their scorecard (rep_scorecard)."
        )
    ds, scope = scope_as_of(ds, scope, params.as_of)
    currency = ds.config.currency
    changes = changes_since(ds, scope, params.compare_to)
    readable = _readable(changes) if changes is not None else None
    slipped = [] if readable is None else readable.loc[readable["change"] == "slipped", "opp_id"]
    row, rep_rows, team_rows, measured = _outlook(ds, scope, params)
    reps = _people(rep_rows, "rep_name")
    deals = _deals(ds, scope, params, slipped)
    shown = deals.head(params.max_deals)
    note = f"{len(shown)} of {len(deals)} deals shown." if len(deals) > len(shown) else ""
    quarter = str(row["period"])

    rep_table = Table(reps, columns=_PEOPLE_COLUMNS, shade=("attainment",))
    people = [
        Section(
            f"Reps, {quarter}",
            "Lowest pace first; likely bookings and the chance of quota come from the same "
            "simulation as the outlook.",
            (rep_table,),
        )
    ]
    email_rows, pace_line = reps, _pace_sentence(reps, "rep_name")
    if team_rows is not None:
        teams = _people(team_rows, "team")
        team_table = Table(teams, columns=_PEOPLE_COLUMNS, shade=("attainment",))
        people.insert(0, Section(f"Teams, {quarter}", "Lowest pace first.", (team_table,)))
        email_rows, pace_line = teams, _pace_sentence(teams, "team", "team")
    # the email's table: five columns at most (a phone)
    email_table = Table(email_rows.drop(columns="booked"), columns=_PEOPLE_COLUMNS)
    email_people = [Section(people[0].title, blocks=(email_table,))]
    headline = [
        *_outlook_sentences(row, measured, scope, currency),
        pace_line,
        _deal_sentence(deals, currency),
    ]
    if changes is not None:
        headline.append(_change_sentence(readable, changes.previous_as_of, currency))
    deal_table = Table(
        shown[list(_DEAL_COLUMNS)], note=note, columns=_DEAL_COLUMNS,
        title=f"**{format_count(len(deals), 'deal')}**, most reasons first:",
    )  # fmt: skip
    deals_section = Section(
        "Deals that need attention",
        "Open deals past their close date, slipped out of the quarter, stale in their stage, "
        "or large and late-stage.",
        (deal_table,) if len(deals) else (Text("None this week."),),
    )
    lines = attention_lines(deals, currency)
    more = f"\n\n{len(lines)} of {len(deals)} shown." if len(deals) > len(lines) else ""
    email_deals = Section(
        "Deals that need attention", blocks=(Text((bullets(lines) or "None this week.") + more),)
    )
    since, email_since = changes_section(changes, currency), _email_changes(changes, readable,
                                                                             currency)  # fmt: skip
    outlook = Section(
        f"This quarter: {quarter}",
        " ".join(_outlook_sentences(row, measured, scope, currency)),
        (_outlook_table(row, measured),),
    )
    method = Section(
        "How this is worked out",
        bullets([outlook_method(params.n_sims, params.coverage_target), *_METHOD]),
    )
    return Report(
        kind="team_brief",
        title=f"Weekly brief: {scope.name}",
        scope=scope,
        headline=headline,
        sections=[
            outlook,
            *people,
            deals_section,
            since,
            Section("Full reports", blocks=(Text(_links(scope)),)),
        ],  # fmt: skip
        method=method,
        values={
            "quarter": quarter,
            "outlook": row.to_dict(),
            "reps": dict(zip(reps["rep_name"], reps["pace"], strict=True)),
            "deals": len(deals),
            "deals_amount": float(deals["amount"].sum()),
            "changes": None if changes is None else len(changes.changes),
        },
        currency=currency,
        as_of=ds.as_of,
        email=[*email_people, email_deals, email_since],
    )
