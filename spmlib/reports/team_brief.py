"""The team brief: the first thing a manager reads on Monday, for a team, a manager's reps or
the company.

It answers four questions in order: are we going to hit this quarter (the outlook), who is
behind (each rep by name with attainment and pace), which deals need me (stale, slipped, past
their close date, large and late-stage, :mod:`spmlib.funnel.attention`), and what changed since
last week; then it links to the full funnel, productivity and forecast reports of the same
scope in the same batch run. Its email (:attr:`~spmlib.reports.report.Report.email`) is a short
version of about two phone screens that links to (or attaches) the full brief.

Privacy: a team's or a manager's brief names only their reps and deals; the company brief
covers everyone. There is no brief for one rep (their quarter opens their scorecard).
"""

from __future__ import annotations

import pandas as pd

from spmlib.exceptions import ParameterError
from spmlib.funnel.attention import REASONS, deals_needing_attention, large_deal_amount
from spmlib.funnel.velocity import time_in_stage
from spmlib.io.schema import Dataset
from spmlib.productivity.attainment import attainment
from spmlib.reports.columns import Column
from spmlib.reports.formatter import format_money, format_number, format_percent
from spmlib.reports.links import report_href
from spmlib.reports.names import with_account_names, with_rep_names
from spmlib.reports.params import TeamBriefParams
from spmlib.reports.report import Report, Section, Table, Text, bullets, escape
from spmlib.reports.scope import Scope, scope_as_of

__all__ = ["EMAIL_DEALS", "LINKED_KINDS", "build_team_brief_report", "attention_lines"]

#: Deals listed in the email (the full brief lists ``max_deals``).
EMAIL_DEALS = 5
#: The full reports the brief links to, with their titles.
LINKED_KINDS = {
    "funnel": "Funnel and pipeline",
    "productivity": "Productivity and attainment",
    "forecast": "Forecast",
}
_DEAL_COLUMNS = {
    "rep_name": Column("Rep", "text"),
    "account": Column("Account", "text"),
    "amount": Column("Amount", "money"),
    "stage": Column("Stage", "text"),
    "close_date": Column("Close date", "date"),
    "days_in_stage": Column("Days in stage", "days"),
    "reasons": Column("Why", "text"),
}
_PACE = Column("Pace", "bool", words=("on pace", "behind"))


def _quarter_rows(ds: Dataset, by: str) -> pd.DataFrame:
    """Attainment rows of the fiscal quarter holding the reference date, per ``by``."""
    att = attainment(ds, "quarter", by=by, start=ds.as_of, end=ds.as_of)
    return att[att["period_start"] == att["period_start"].max()].reset_index(drop=True)


def _people(rows: pd.DataFrame, label: str) -> pd.DataFrame:
    """The per-rep (or per-team) table: name, quota, booked, attainment and pace."""
    out = rows[[label, "quota", "bookings", "attainment", "on_pace"]].rename(
        columns={"bookings": "booked"}
    )
    out["on_pace"] = out["on_pace"].where(out["attainment"].notna())
    return out.sort_values(["attainment", label], na_position="last").reset_index(drop=True)


def attention_lines(deals: pd.DataFrame, currency: str, n: int = EMAIL_DEALS) -> list[str]:
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
            n = format_number(r.days_in_stage, 0)
            days = f", {n} day{'' if n == '1' else 's'} in stage"
        out.append(
            f"**{account}**, {format_money(r.amount, currency)}, {escape(r.stage)}, closes "
            f"{pd.Timestamp(r.close_date).date()}{days}: {escape(r.rep_name)} ({r.reasons})"
        )
    return out


def _deals(ds: Dataset, scope: Scope, params: TeamBriefParams) -> pd.DataFrame:
    """The scope's deals needing attention, judged against the whole company's stays and deal
    sizes, with the rep's name."""
    cfg, as_of = ds.config, ds.as_of
    thresholds = time_in_stage(ds.opportunities, ds.stage_history, config=cfg, as_of=as_of)
    large = params.large_amount
    if large is None:
        large = large_deal_amount(ds.opportunities)
    own = scope.data
    deals = deals_needing_attention(
        own.opportunities, own.stage_history, config=cfg, as_of=as_of, thresholds=thresholds,
        large_amount=large, late_stages=params.late_stages,
    )  # fmt: skip
    deals = with_rep_names(deals, own.reps, replace=False)
    return with_account_names(deals, ds.accounts)


def _deal_sentence(deals: pd.DataFrame, currency: str) -> str:
    if deals.empty:
        return (
            "No open deal needs attention: none is past its close date, stale, or large and "
            "late-stage."
        )
    counts = [
        f"{int(deals[flag].sum())} {word}" for flag, word in REASONS.items() if deals[flag].any()
    ]
    return (
        f"**{len(deals)} deal(s) need attention** ({format_money(deals['amount'].sum(), currency)}"
        f"): {', '.join(counts)}."
    )


def _pace_sentence(people: pd.DataFrame, label: str, noun: str = "rep") -> str:
    """Who is behind pace, by name with attainment (reps, or teams in the company brief)."""
    rated = people[people["attainment"].notna()]
    if rated.empty:
        return f"No {noun} has a quota this quarter, so attainment and pace are not known."
    behind = rated[~rated["on_pace"].astype(bool)]
    if behind.empty:
        return f"All {len(rated)} {noun}s with a quota are on pace."
    names = ", ".join(
        f"{escape(r[label])} ({format_percent(r['attainment'])})" for _, r in behind.iterrows()
    )
    return f"**{len(behind)} of {len(rated)} {noun}s behind pace**: {names}."


def _links(scope: Scope) -> str:
    """Markdown links to the full reports of the same scope in the same run."""
    target = scope.parameters()
    return bullets(
        [f"[{title}]({report_href(kind, target)})" for kind, title in LINKED_KINDS.items()]
    )


_METHOD = [
    "**This quarter**: the fiscal quarter holding the reference date. **Attainment** = bookings "
    "(won deals closed in the quarter so far) / the quarter's quota; a rep is **on pace** when "
    "attainment is at least the share of the quarter elapsed.",
    "**Deals that need attention**: open deals **past their close date** (expected close before "
    "the reference date); **stale** (longer in their current stage than 90% of the company's "
    "completed stays in that stage); **large, late stage** (in one of the last open stages, at "
    "or above the company's 90th percentile of open deal amounts, expected to close this "
    "quarter); **slipped** (close date moved out of the quarter since the previous extract).",
]


def build_team_brief_report(ds: Dataset, scope: Scope, params: TeamBriefParams) -> Report:
    """The weekly brief of a company, team or manager scope.

    Parameters
    ----------
    ds : the loaded dataset (all teams: the company's stays and deal sizes are the yardstick).
    scope : from :func:`spmlib.reports.scope.resolve_scope`; not a rep.
    params : the large-deal amount, the late stages, the deals listed, the previous extract.

    Returns
    -------
    Report
        ``values``: ``quarter`` (label), ``reps`` (rep name to attainment), ``deals``
        (deals needing attention, count) and ``deals_amount``; its ``email`` is the short
        version.

    Raises
    ------
    ParameterError : for a rep scope.
    """
    if scope.is_rep:
        raise ParameterError(
            "the team brief covers a team, a manager's reps or the company; a rep's quarter "
            "opens their scorecard (rep_scorecard)."
        )
    ds, scope = scope_as_of(ds, scope, params.as_of)
    currency = ds.config.currency
    own = scope.data
    reps = _people(_quarter_rows(own, "rep"), "rep_name")
    quarter = str(_quarter_rows(own, "all")["period"].iloc[0]) if len(own.reps) else ""
    deals = _deals(ds, scope, params)
    shown = deals.head(params.max_deals)
    note = f"{len(shown)} of {len(deals)} deals shown." if len(deals) > len(shown) else ""
    people_col = {"rep_name": Column("Rep", "text"), "on_pace": _PACE}
    rep_table = Table(reps, columns=people_col, shade=("attainment",))
    headline = [_pace_sentence(reps, "rep_name"), _deal_sentence(deals, currency)]
    people_sections = [Section(f"Reps, {quarter}", "Attainment and pace so far.", (rep_table,))]
    email_people = people_sections
    if scope.kind == "company":
        teams = _people(_quarter_rows(own, "team"), "team")
        team_table = Table(teams, columns={"team": Column("Team", "text"), "on_pace": _PACE},
                           shade=("attainment",))  # fmt: skip
        people_sections = [Section(f"Teams, {quarter}", "Attainment and pace so far.",
                                   (team_table,)), *people_sections]  # fmt: skip
        email_people = people_sections[:1]
        headline[0] = _pace_sentence(teams, "team", "team")
    deal_table = Table(
        shown[list(_DEAL_COLUMNS)], title=f"**{len(deals)} deal(s)**, most reasons first:",
        note=note, columns=_DEAL_COLUMNS,
    )  # fmt: skip
    deals_section = Section(
        "Deals that need attention",
        "Open deals past their close date, stale in their stage, slipped out of the quarter, "
        "or large and late-stage.",
        (deal_table,) if len(deals) else (Text("None this week."),),
    )
    lines = attention_lines(deals, currency)
    more = ""
    if len(deals) > len(lines):
        more = f"\n\n{len(lines)} of {len(deals)} shown; the full brief lists more."
    email_deals = Section(
        "Deals that need attention",
        blocks=(Text((bullets(lines) or "None this week.") + more),),
    )
    links = Section("Full reports", blocks=(Text(_links(scope)),))
    return Report(
        kind="team_brief",
        title=f"Weekly brief: {scope.name}",
        scope=scope,
        headline=headline,
        sections=[*people_sections, deals_section, links],
        method=Section("How this is worked out", bullets(_METHOD)),
        values={
            "quarter": quarter,
            "reps": dict(zip(reps["rep_name"], reps["attainment"], strict=True)),
            "deals": len(deals),
            "deals_amount": float(deals["amount"].sum()),
        },
        currency=currency,
        as_of=ds.as_of,
        email=[*email_people, email_deals],
    )
