"""The funnel report: where deals stall and who converts better, for one scope.

:func:`build_funnel_report` computes the tables (:mod:`spmlib.reports.funnel_tables`), words
the headline (:func:`funnel_headline`) and lays out the sections; ``notebooks/funnel.ipynb``
only shows the result. Privacy: a rep's report holds that rep's deals only, and peers appear
as anonymous team figures (see :mod:`spmlib.reports.funnel_tables`).
"""

from __future__ import annotations

import pandas as pd

from spmlib.io.schema import Dataset
from spmlib.reports import plotting
from spmlib.reports.available import gap_line, gaps_section, missing
from spmlib.reports.changes import changes_section, changes_since
from spmlib.reports.columns import Column
from spmlib.reports.formatter import (
    RowFormat,
    format_count,
    format_money,
    format_number,
    format_percent,
)
from spmlib.reports.funnel_tables import FunnelTables, funnel_tables
from spmlib.reports.names import with_rep_names
from spmlib.reports.params import FunnelParams
from spmlib.reports.report import Figure, Report, Section, Table, Text, bullets, by_name, escape
from spmlib.reports.scope import Scope, scope_as_of

__all__ = ["build_funnel_report", "funnel_headline"]

#: Rows shown of long tables (the note says how many there are).
MAX_ROWS = 20
#: The flow table: counts on the "count" row, money on the "amount" row.
_FLOW_ROWS = RowFormat(
    "measure",
    {"count": Column("", "count"), "amount": Column("", "money")},
    ("open_start", "created", "won", "lost", "open_end"),
)


def _scope_words(scope: Scope) -> str:
    if scope.is_rep:
        return f"{scope.rep_name} (team {scope.team})"
    return scope.label


def funnel_headline(t: FunnelTables, scope: Scope, currency: str = "USD") -> list[str]:
    """The report's answer, one Markdown sentence per finding, built from its numbers.

    Parameters
    ----------
    t : the computed tables.
    scope : who the report is about.
    currency : ISO code of amounts.
    """

    def pct(x):
        return "n/a" if pd.isna(x) else format_percent(x)

    def money(x):
        return format_money(x, currency)

    f = t.funnel
    out: list[str] = []
    first, won = f.iloc[0], f.iloc[-1]
    in_period = any(p is not None for p in t.period)
    period, won_when = ("in the period", " in it") if in_period else ("over all the data", "")
    history = bool(f["losses_known"].all())
    who = escape(_scope_words(scope))
    rate = (
        f"the win rate of closed deals is **{pct(won['cumulative_conversion'])}** (95% interval "
        f"{pct(won['cumulative_conversion_low'])}–{pct(won['cumulative_conversion_high'])})."
    )
    if history:
        out.append(
            f"For {who}, {format_number(first['reached'], 0)} opportunities entered the funnel "
            f"{period} and {format_number(won['reached'], 0)} were won{won_when}; {rate}"
        )
    else:
        out.append(f"For {who}, {format_number(won['reached'], 0)} deals were won {period}; {rate}")
    open_rows = f.iloc[:-1]
    if not history:
        out.append(
            "The data has no stage history, so stage-level losses are unknown: lost deals count "
            "only in the win rate."
        )
    elif open_rows["lost"].fillna(0).sum() > 0:
        worst = open_rows.loc[open_rows["lost"].astype("float64").idxmax()]
        weakest = open_rows.loc[open_rows["conversion"].astype("float64").idxmin()]
        text = (
            f"Most deals are lost at **{escape(worst['stage'])}** "
            f"({format_number(worst['lost'], 0)} lost, {pct(worst['conversion'])} advance)"
        )
        if weakest["stage"] != worst["stage"]:
            text += (
                f"; the lowest next-step conversion is at **{escape(weakest['stage'])}** "
                f"({pct(weakest['conversion'])}, interval {pct(weakest['conversion_low'])}–"
                f"{pct(weakest['conversion_high'])})"
            )
        out.append(text + ".")
    out += _peer_sentences(t, history, pct)
    n_stale = len(t.stale)
    if n_stale:
        out.append(
            f"**{format_count(n_stale, 'open deal')}** ({money(t.stale['amount'].sum())}) "
            f"{'has' if n_stale == 1 else 'have'} sat in their current stage longer than 90% "
            "of past deals did."
        )
    elif history:
        out.append("No open deal has sat in its stage longer than 90% of past deals did.")
    fl = t.flow.set_index("measure").loc["amount"]
    lo, hi = t.flow_period
    out.append(
        f"From {lo.date()} to {hi.date()} the open pipeline went from {money(fl['open_start'])} "
        f"to {money(fl['open_end'])} (+{money(fl['created'])} created, −{money(fl['won'])} won, "
        f"−{money(fl['lost'])} lost)."
    )
    for _, cov in t.coverage.iterrows():
        when = "this quarter" if cov["quarter"] == "current" else "next quarter"
        due = money(cov["open_pipeline"])
        if pd.notna(cov["coverage"]):
            out.append(
                f"Pipeline coverage {when}: **{format_number(cov['coverage'], 1)}×** the quota "
                f"still to be met ({due} due against {money(cov['remaining_quota'])})."
            )
        elif cov["quota"] > 0 and cov["remaining_quota"] == 0:
            out.append(
                f"The quota of {when} is already met ({money(cov['booked'])} booked against "
                f"{money(cov['quota'])})."
            )
        elif cov["quarter"] == "next" and cov["open_pipeline"] > 0:
            out.append(f"No quota is set for {when}, where {due} of open pipeline is due.")
    return out


def _peer_sentences(t: FunnelTables, history: bool, pct) -> list[str]:
    """How the scope compares with its peers (tests corrected for multiple comparisons)."""
    out = []
    sig = t.comparison[t.comparison["significant"]]
    wsig = t.win_rates[t.win_rates["significant"]]
    if t.benchmark is not None:
        win = t.win_benchmark.iloc[0] if len(t.win_benchmark) else None
        if win is None or pd.isna(win["team_median"]):
            out.append(
                "The win rate is not compared with the team: fewer than five other reps have one, "
                "and a comparison would reveal a colleague's."
            )
            return out
        if len(wsig):
            r = wsig.iloc[0]
            out.append(
                f"The win rate ({pct(r['win_rate'])}) is significantly **{r['direction']}** the "
                f"rest of the team after correction for multiple tests (team median about "
                f"{pct(win['team_median'])}; you are in the {win['band']})."
            )
        else:
            out.append(
                "The win rate does not differ significantly from the rest of the team (team "
                f"median about {pct(win['team_median'])}; you are in the {win['band']})."
            )
        if len(sig) and history:
            stages = ", ".join(
                f"{escape(s['stage'])} ({s['direction']})" for _, s in sig.iterrows()
            )
            out.append(f"Stages where conversion differs significantly from the team: {stages}.")
        return out
    name_cols = [c for c in ("rep_name", "team", "manager") if c in sig.columns]
    group_cols = list(sig.columns[: list(sig.columns).index("stage")])
    label_cols = name_cols[:1] or group_cols[-1:]
    n_groups = len(set(map(tuple, sig[label_cols].astype(str).values))) if len(sig) else 0
    if n_groups:
        examples = sig.sort_values("p_adjusted").drop_duplicates(label_cols).head(3)
        text = ", ".join(
            f"{escape(r[label_cols[0]])} ({r['direction']} at {escape(r['stage'])})"
            for _, r in examples.iterrows()
        )
        out.append(
            f"{n_groups} group(s) convert significantly differently from their peers at some "
            f"stage after Holm correction, e.g. {text}."
        )
    elif history:
        out.append("No group converts significantly differently from its peers at any stage.")
    if len(wsig):
        best = wsig.sort_values("p_adjusted").head(3)
        names = (
            ", ".join(f"{escape(r[label_cols[0]])} ({r['direction']})" for _, r in best.iterrows())
            if label_cols and label_cols[0] in wsig.columns
            else ""
        )
        out.append(
            f"{len(wsig)} group(s) have a win rate significantly different from their peers"
            + (f", e.g. {names}." if names else ".")
        )
    else:
        out.append("No group's win rate differs significantly from its peers.")
    return out


def _first(frame: pd.DataFrame, what: str, n: int = MAX_ROWS) -> tuple[pd.DataFrame, str]:
    """The first ``n`` rows and a note saying how many there are when some are left out."""
    if len(frame) <= n:
        return frame, ""
    return frame.head(n), f"{n} of {len(frame):,} {what} shown."


_TESTS = ("p_value", "p_adjusted")


_REP_RATE_COLUMNS = ["won", "lost", "closed", "win_rate", "win_rate_low", "win_rate_high"]


def _rep_peer_section(t: FunnelTables, intro: str) -> tuple[Section, list]:
    """A rep's conversions and win rate beside the team, by the rule that never reveals a
    colleague (the other reps' median, two significant figures, and the rep's band, over at
    least five of them); the tests against the rest of the team for the closing section."""
    shown = t.benchmark
    notes = sorted({str(n) for n in t.benchmark["benchmark_note"].dropna() if str(n)})
    win = t.win_rates[_REP_RATE_COLUMNS]
    if len(t.win_benchmark):
        win = win.assign(
            team_median=t.win_benchmark["team_median"].iloc[0], band=t.win_benchmark["band"].iloc[0]
        )
    blocks: list = [
        Table(shown.drop(columns=["others", "benchmark_note"]),
              title="**Next-step conversion beside the team** (the other reps' median and your "
              "place in the team):"),
        Table(win, title="**Win rate:**"),
    ]  # fmt: skip
    if notes:
        blocks.append(Text(notes[0]))
    tests = []
    if t.win_rates["p_value"].notna().any():
        tests.append(
            Table(t.win_rates[[*_REP_RATE_COLUMNS, "p_value", "p_adjusted", "significant"]],
                  title="**Win rate tested against the rest of the team:**")
        )  # fmt: skip
    return Section("Compared with peers", intro, tuple(blocks)), tests


def _peer_section(t: FunnelTables, scope: Scope) -> tuple[Section, list]:
    """The "Compared with peers" section, and the test statistics for the closing section."""
    intro = (
        "Each group against the rest of its peers. Rankings use the **shrunken** rate (pulled "
        "towards the average in proportion to how few deals stand behind it). For one rep, "
        "the team appears only as the other reps' median and the rep's place, and only when "
        "at least five other reps stand behind it."
    )
    tests: list = []
    if t.benchmark is not None:
        return _rep_peer_section(t, intro)
    rates = t.win_rates
    labels = [c for c in ("rep_name", "team", "manager", "region") if c in rates.columns][:1]
    labels = labels or [rates.columns[0]]
    ranked = rates[rates["closed"] > 0].sort_values("rank")
    cols = [c for c in rates.columns if not c.endswith(("_low", "_high")) and c not in _TESTS]
    top, note = _first(by_name(rates.sort_values("rank")[cols]), "groups", 15)
    significant = t.comparison[t.comparison["significant"]]
    forest = (
        Figure(
            plotting.plot_rate_forest,
            ranked,
            {"rate": "win_rate", "label": labels, "reference": t.reference_win_rate},
            alt="Win rate of each group with its 95% interval",
        )
        if len(ranked)
        else Text("No group has a closed deal yet, so there is no win rate to compare.")
    )
    blocks = (
        forest,
        Table(top, note=note),
        Text(
            f"**Stage conversions that differ significantly from peers: {len(significant)}** "
            "(the tests are in *How this is worked out*)."
        ),
    )
    if len(significant):
        tests.append(
            Table(
                by_name(
                    significant.drop(columns=["conversion_shrunk_low", "conversion_shrunk_high"])
                ),
                title="**Stage conversions that differ significantly from peers:**",
            )
        )
    return Section("Compared with peers", intro, blocks), tests


#: How the outcomes of the sales cycle table read.
_OUTCOMES = {"won": "won", "won_or_lost": "won or lost"}


def _sections(
    t: FunnelTables, scope: Scope, won_stage: str, history: bool = True, quotas: bool = True
) -> tuple[list[Section], list]:
    """The body's sections and the tests for the closing one; without a stage history
    (``history``) the time in stage and stale deals are left out, without quotas the
    coverage."""
    peers, tests = _peer_section(t, scope)
    stale, stale_note = _first(with_rep_names(t.stale, scope.data.reps), "stale deals")
    flow_range = f"{t.flow_period[0].date()} to {t.flow_period[1].date()}"
    won_rows = t.cohorts[t.cohorts["stage"] == won_stage]
    cohort_table = won_rows[["cohort", "deals", "share_open", "cumulative_conversion"]].rename(
        columns={"cumulative_conversion": "win_rate"}
    )
    leads: tuple = (Text("No leads in the data."),)
    if len(t.leads):
        leads = (Table(t.leads, title="**By lead source:**"),)
        if t.leads["leads"].sum() > 0:
            leads += (Table(by_name(t.leads_by_rep), title="**By rep:**"),)
    sections = [
        Section(
            "Stage funnel",
            "For each stage: deals that **reached** it (skipped stages count as passed), "
            "**advanced** to a later stage, were **lost** at it (their furthest stage) or are "
            "still **open** in it. Conversion = advanced / (advanced + lost); cumulative "
            "conversion = share of closed deals that got this far (on the won row, the win rate).",
            (
                Figure(plotting.plot_funnel, t.funnel, alt="Deals reaching each stage"),
                Table(t.funnel.drop(columns="losses_known")),
            ),
        ),
        peers,
        Section(
            "Time in stage and stale deals" if history else "Sales cycle",
            "Completed days in each stage (median, p75, p90). A deal is **stale** when it has "
            "sat in its current stage longer than the p90 of its peers' completed stays."
            if history
            else "Days from creation to close, and the age of the open deals.",
            (
                *(
                    (Figure(plotting.plot_time_in_stage, t.stays, alt="Days spent in each stage"),)
                    if history
                    else ()
                ),
                Table(
                    t.cycle.replace({"outcome": _OUTCOMES}),
                    title="**Sales cycle** (created to close) of deals closed in the period:",
                ),
                Table(t.pipeline_age, title="**Age of the open deals:**"),
                *(
                    (
                        Table(t.time_in_stage, title="**Time in each stage:**"),
                        Table(
                            stale,
                            title=f"**Stale deals: {len(t.stale):,}** (longest over the p90 first)",
                            note=stale_note,
                        ),
                    )
                    if history
                    else ()
                ),
            ),
        ),  # fmt: skip
        Section(
            "Pipeline",
            "Open pipeline weighted by the historical probability of winning from each stage; "
            f"how it moved from {flow_range} (open at start + created − won − lost = open at "
            "end); coverage of the quota still to be met; and velocity.",
            (
                Table(
                    t.open_pipeline.drop(columns="close_period_start"),
                    title="**Open pipeline by stage and expected close month:**",
                ),
                Table(t.weighted, title="**Weighted pipeline:**"),
                Figure(
                    plotting.plot_pipeline_flow,
                    t.flow,
                    {"measure": "amount"},
                    alt="How the open pipeline moved",
                ),
                Table(t.flow, title="**Pipeline flow:**", rows=_FLOW_ROWS),
                *(
                    (Table(t.coverage, title="**Coverage of the quota still to be met:**"),)
                    if quotas
                    else ()
                ),  # fmt: skip
                Table(t.velocity, title="**Velocity:**"),
            ),  # fmt: skip
        ),
        Section(
            "Leads",
            "Leads → opportunities → won by lead source and by rep, with the time from lead to "
            "opportunity.",
            leads,
        ),
        Section(
            "Cohorts",
            "Cumulative conversion of the deals created in each period; recent cohorts are "
            "still maturing (see the share still open).",
            (
                *(
                    (Figure(plotting.plot_cohort_heatmap, t.cohorts, alt="Conversion by cohort"),)
                    if len(t.cohorts)
                    else ()
                ),
                Table(cohort_table),
            ),
        ),
    ]
    return sections, tests


_METHOD = [
    "**Intervals**: every rate carries a 95% Wilson score interval.",
    "**Compared with peers**: each group against the pooled rest of its peers with a "
    "two-proportion test (Fisher's exact test for small counts), p-values adjusted for the "
    "number of groups with Holm's method; *significant* means adjusted p < 0.05.",
    "**Shrunken rates**: empirical-Bayes (beta-binomial) estimates, pulled towards the peers' "
    "rate in proportion to how few deals stand behind a group; rankings use them.",
    "**Stale**: open longer in the current stage than the 90th percentile of the peers' "
    "completed stays in that stage.",
    "**Coverage**: open pipeline expected to close in the quarter / quota still to be met.",
    "**Velocity**: open deals × win rate × average deal size / average cycle days.",
]


def build_funnel_report(ds: Dataset, scope: Scope, params: FunnelParams) -> Report:
    """The funnel report of one scope.

    Parameters
    ----------
    ds : the loaded dataset (all teams: peers are needed for the benchmarks).
    scope : from :func:`spmlib.reports.scope.resolve_scope`.
    params : see :func:`spmlib.reports.funnel_tables.funnel_tables`.

    Returns
    -------
    Report
        ``values``: ``funnel`` (stage, reached, advanced, lost, open, conversion,
        cumulative_conversion), ``win_rate`` (won / closed of the scope), ``stale_deals``
        (count), ``flow`` (the pipeline flow table) and, with ``compare_to``, ``changes``
        (the scope's changes since that extract).
    """
    ds, scope = scope_as_of(ds, scope, params.as_of)
    t = funnel_tables(ds, scope, params)
    currency = ds.config.currency
    absent = missing(ds, ["stage_history", "quotas"])
    sections, tests = _sections(
        t, scope, ds.config.won_stage, "stage_history" not in absent, "quotas" not in absent
    )
    since = changes_since(ds, scope, params.compare_to)
    if since is not None:
        sections = [changes_section(since, currency), *sections]
    gaps = []
    if "stage_history" in absent:
        gaps.append(gap_line("Time in each stage and stale deals", ["stage_history"]))
    if "quotas" in absent:
        gaps.append(gap_line("Coverage of the quota", ["quotas"]))
    sections += gaps_section(gaps)
    method = Section("How this is worked out", bullets(_METHOD), tuple(tests))
    funnel_cols = ["stage", "reached", "advanced", "lost", "open", "conversion",
                   "cumulative_conversion"]  # fmt: skip
    return Report(
        kind="funnel",
        title=f"Funnel and pipeline: {scope.name}",
        scope=scope,
        headline=funnel_headline(t, scope, currency),
        sections=sections,
        method=method,
        values={
            "funnel": t.funnel[funnel_cols],
            "win_rate": t.funnel["cumulative_conversion"].iloc[-1],
            "stale_deals": len(t.stale),
            "flow": t.flow,
            **({"changes": since.changes} if since is not None else {}),
        },
        currency=currency,
        as_of=t.as_of,
    )
