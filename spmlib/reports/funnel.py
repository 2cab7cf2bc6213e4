"""Every table of the funnel report for one scope (company, team or rep), and its narrative.

The notebook ``notebooks/funnel.ipynb`` only displays what :func:`build_funnel_report` returns.
Privacy: for a rep scope, every table holds that rep's own deals only; peers appear only as
anonymous benchmarks (median and quartiles across the team's reps, the pooled rate of the rest
of the team). Comparison groups default to reps within their team (company scope) or within the
team (team scope); a rep is compared with the rest of their team.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field

import pandas as pd

from spmlib.core.grouping import group_list
from spmlib.core.periods import period_end, period_start
from spmlib.exceptions import SpmError
from spmlib.funnel.conversion import (
    cohort_funnel,
    compare_stages,
    peer_benchmark,
    stage_funnel,
    win_rates,
)
from spmlib.funnel.flow import pipeline_flow
from spmlib.funnel.leads import lead_funnel
from spmlib.funnel.pipeline import (
    coverage,
    open_pipeline,
    pipeline_velocity,
    stage_win_probability,
    weighted_pipeline,
)
from spmlib.funnel.velocity import (
    days_in_pipeline,
    sales_cycle,
    stage_stays,
    stale_deals,
    time_in_stage,
)
from spmlib.io.schema import Dataset

__all__ = [
    "FunnelReport",
    "build_funnel_report",
    "funnel_headline",
    "headline_markdown",
    "styled",
]

log = logging.getLogger(__name__)

#: Groupings compared within their team at company scope.
_WITHIN_TEAM = {"rep", "rep_id", "rep_name", "manager"}


@dataclass
class FunnelReport:
    """The tables of a funnel report (each documented by the function that computed it)."""

    title: str
    scope: str
    as_of: pd.Timestamp
    period: tuple[pd.Timestamp | None, pd.Timestamp | None]
    flow_period: tuple[pd.Timestamp, pd.Timestamp]
    quarter: tuple[pd.Timestamp, pd.Timestamp]
    currency: str
    funnel: pd.DataFrame
    win_rates: pd.DataFrame
    comparison: pd.DataFrame
    benchmark: pd.DataFrame | None
    win_benchmark: pd.DataFrame | None
    reference_win_rate: float
    time_in_stage: pd.DataFrame
    stays: pd.DataFrame
    cycle: pd.DataFrame
    pipeline_age: pd.DataFrame
    open_pipeline: pd.DataFrame
    stale: pd.DataFrame
    win_probability: pd.DataFrame
    weighted: pd.DataFrame
    flow: pd.DataFrame
    coverage: pd.DataFrame
    velocity: pd.DataFrame
    leads: pd.DataFrame
    leads_by_rep: pd.DataFrame
    cohorts: pd.DataFrame
    headline: list[str] = field(default_factory=list)


def _ts(value) -> pd.Timestamp | None:
    return None if value is None or value == "" else pd.Timestamp(value).normalize()


def _one_pipeline(ds: Dataset, pipeline: str | None) -> Dataset:
    """The dataset of the pipeline reported: the one asked for, or the only one."""
    names = list(ds.config.pipelines)
    if pipeline is None:
        if len(names) <= 1:
            return ds
        raise SpmError(
            f"the funnel report covers one pipeline and the data has {len(names)} "
            f"({', '.join(names)}); set pipeline to one of them"
        )
    if pipeline not in names:
        known = ", ".join(names) if names else "one, unnamed (leave pipeline empty)"
        raise SpmError(f"pipeline {pipeline!r} is not in the data; its pipelines: {known}")
    return ds.for_pipeline(pipeline)


def build_funnel_report(
    ds: Dataset,
    *,
    team: str | None = None,
    rep_id: str | None = None,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    by: str = "rep",
    cohort_freq: str = "quarter",
    pipeline: str | None = None,
) -> FunnelReport:
    """Compute the funnel report of one scope of ``ds`` (the whole, unscoped dataset).

    Parameters
    ----------
    ds : the loaded dataset (all teams: peers are needed for the benchmarks).
    team, rep_id : the scope; both None = the whole company.
    start, end : the period (YYYY-MM-DD or None): the funnel counts transitions in it, the
        cohorts are those created in it, the pipeline flow spans it (default: from the start of
        the fiscal quarter containing the reference date to that date).
    by : grouping compared and ranked (rep, team, manager, region, lead_source, product, ...);
        ignored for a rep scope, which is compared with the rest of its team.
    cohort_freq : "month" or "quarter".
    pipeline : with several pipelines (``pipelines:`` in dataset.yml), the one reported: its
        deals, its stages (KPIs and win rates then cover that pipeline too).

    Raises
    ------
    SpmError : the team or rep is not in the data.
    """
    ds = _one_pipeline(ds, pipeline)
    cfg = ds.config
    as_of = ds.as_of
    if rep_id is not None and str(rep_id) not in set(ds.reps["rep_id"].astype(str)):
        raise SpmError(f"rep_id {rep_id!r} is not in the reps table; check the spelling.")
    if team is not None and team not in set(ds.reps["team"].astype(str)):
        raise SpmError(f"team {team!r} is not in the reps table; check the spelling.")
    scope_ds = ds.scoped(team=team, rep_id=rep_id)
    if rep_id is not None:
        rep_row = ds.reps[ds.reps["rep_id"].astype(str) == str(rep_id)].iloc[0]
        rep_team = str(rep_row["team"])
        peer_ds = ds.scoped(team=rep_team)
        scope = f"rep {rep_row['rep_name']} ({rep_id}, team {rep_team})"
        title = f"Funnel and pipeline: {rep_row['rep_name']}"
    elif team is not None:
        peer_ds = scope_ds
        scope = f"team {team}"
        title = f"Funnel and pipeline: team {team}"
    else:
        peer_ds = ds
        scope = "the whole company"
        title = "Funnel and pipeline: company"
    lo, hi = _ts(start), _ts(end)
    opps, hist, reps = scope_ds.opportunities, scope_ds.stage_history, scope_ds.reps
    funnel = stage_funnel(opps, hist, config=cfg, start=lo, end=hi, as_of=as_of)

    # Comparisons and rankings (shrunken rates), always among peers.
    if rep_id is not None:
        keys, parent = ["rep_id", "rep_name"], None
    else:
        keys = group_list(by)
        parent = "team" if (team is None and by in _WITHIN_TEAM) else None
        if parent:
            keys = ["team", *[k for k in keys if k != "team"]]
    p_opps, p_hist, p_reps = peer_ds.opportunities, peer_ds.stage_history, peer_ds.reps
    rates = win_rates(p_opps, by=keys, reps=p_reps, parent=parent, start=lo, end=hi)
    by_group = stage_funnel(
        p_opps, p_hist, config=cfg, by=keys, reps=p_reps, start=lo, end=hi, as_of=as_of
    )
    comparison = compare_stages(by_group, parent=parent)
    benchmark = win_benchmark = None
    pooled = rates["won"].sum() / rates["closed"].sum() if rates["closed"].sum() else float("nan")
    if rep_id is not None:
        benchmark = peer_benchmark(by_group, "conversion")
        own = funnel[["stage", "conversion", "conversion_low", "conversion_high"]]
        benchmark = own.merge(benchmark, on="stage", how="left").rename(
            columns={
                "groups": "team_reps",
                "median": "team_median",
                "p25": "team_p25",
                "p75": "team_p75",
            }
        )
        benchmark = benchmark[benchmark["stage"] != cfg.won_stage].reset_index(drop=True)
        win_benchmark = peer_benchmark(by_group, "cumulative_conversion")
        win_benchmark = win_benchmark[win_benchmark["stage"] == cfg.won_stage]
        keep = rates["rep_id"].astype(str) == str(rep_id)
        rates = rates[keep].reset_index(drop=True)
        comparison = comparison[comparison["rep_id"].astype(str) == str(rep_id)]
        comparison = comparison.reset_index(drop=True)

    # Time.
    peer_time = time_in_stage(p_opps, p_hist, config=cfg, as_of=as_of)
    tis = time_in_stage(opps, hist, config=cfg, as_of=as_of)
    stays = stage_stays(opps, hist, config=cfg, as_of=as_of)
    stale = stale_deals(opps, hist, config=cfg, as_of=as_of, thresholds=peer_time)

    # Pipeline.
    fy = cfg.fiscal_year_start_month
    q_start = period_start(pd.Series([as_of]), "quarter", fy).iloc[0]
    q_end = period_end(pd.Series([q_start]), "quarter").iloc[0]
    flow_lo = lo if lo is not None else q_start
    flow_hi = hi if hi is not None else as_of
    probs = stage_win_probability(p_opps, p_hist, config=cfg)
    weighted = weighted_pipeline(opps, hist, config=cfg, probabilities=probs)
    flow = pipeline_flow(opps, hist, config=cfg, start=flow_lo, end=flow_hi)
    next_start = q_end + pd.Timedelta(days=1)
    next_end = period_end(pd.Series([next_start]), "quarter").iloc[0]
    cov = pd.concat(
        [
            coverage(opps, scope_ds.quotas, start=a, end=b, as_of=as_of, by=None)
            for a, b in ((q_start, q_end), (next_start, next_end))
        ],
        ignore_index=True,
    )
    cov.insert(0, "quarter", ["current", "next"])
    velocity = pipeline_velocity(opps, start=lo, end=hi)
    leads = lead_funnel(scope_ds.leads, ds.opportunities, by="source", start=lo, end=hi)
    leads_by_rep = lead_funnel(
        scope_ds.leads, ds.opportunities, by="rep", reps=scope_ds.reps, start=lo, end=hi
    )
    closed = opps[(opps["close_date"] >= lo) if lo is not None else opps["close_date"].notna()]
    if hi is not None:
        closed = closed[closed["close_date"] <= hi]
    cycle = sales_cycle(closed)
    pipeline_age = days_in_pipeline(opps, as_of=as_of)
    open_pipe = open_pipeline(opps, config=cfg)
    cohorts = cohort_funnel(opps, hist, config=cfg, freq=cohort_freq, as_of=as_of)
    if lo is not None:
        cohorts = cohorts[
            cohorts["cohort_start"] >= period_start(pd.Series([lo]), cohort_freq, fy).iloc[0]
        ]
    if hi is not None:
        cohorts = cohorts[cohorts["cohort_start"] <= hi]
    del reps
    report = FunnelReport(
        title=title,
        scope=scope,
        as_of=as_of,
        period=(lo, hi),
        flow_period=(flow_lo, flow_hi),
        quarter=(q_start, q_end),
        currency=cfg.currency,
        funnel=funnel,
        win_rates=rates,
        comparison=comparison,
        benchmark=benchmark,
        win_benchmark=win_benchmark,
        reference_win_rate=float(pooled),
        time_in_stage=tis,
        stays=stays,
        cycle=cycle,
        pipeline_age=pipeline_age,
        open_pipeline=open_pipe,
        stale=stale,
        win_probability=probs,
        weighted=weighted,
        flow=flow,
        coverage=cov,
        velocity=velocity,
        leads=leads,
        leads_by_rep=leads_by_rep,
        cohorts=cohorts.reset_index(drop=True),
    )
    report.headline = funnel_headline(report)
    return report


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x:.0%}"


def _money(x: float, currency: str) -> str:
    return f"{x:,.0f} {currency}"


def funnel_headline(report: FunnelReport) -> list[str]:
    """The report's narrative, one sentence per finding, built from its numbers (Markdown)."""
    f = report.funnel
    out: list[str] = []
    first, won = f.iloc[0], f.iloc[-1]
    in_period = any(p is not None for p in report.period)
    period, won_when = ("in the period", " in it") if in_period else ("over all the data", "")
    history = bool(f["losses_known"].all())
    rate = (
        f"the win rate of closed deals is **{_pct(won['cumulative_conversion'])}** (95% interval "
        f"{_pct(won['cumulative_conversion_low'])}–{_pct(won['cumulative_conversion_high'])})."
    )
    if history:
        out.append(
            f"For {report.scope}, {int(first['reached']):,} opportunities entered the funnel "
            f"{period} and {int(won['reached']):,} were won{won_when}; {rate}"
        )
    else:
        out.append(f"For {report.scope}, {int(won['reached']):,} deals were won {period}; {rate}")
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
            f"Most deals are lost at **{worst['stage']}** ({int(worst['lost']):,} lost, "
            f"{_pct(worst['conversion'])} advance)"
        )
        if weakest["stage"] != worst["stage"]:
            text += (
                f"; the lowest next-step conversion is at **{weakest['stage']}** "
                f"({_pct(weakest['conversion'])}, interval {_pct(weakest['conversion_low'])}–"
                f"{_pct(weakest['conversion_high'])})"
            )
        out.append(text + ".")
    sig = report.comparison[report.comparison["significant"]]
    wsig = report.win_rates[report.win_rates["significant"]]
    if report.benchmark is not None:
        if len(wsig):
            r = wsig.iloc[0]
            out.append(
                f"The win rate ({_pct(r['win_rate'])}) is significantly **{r['direction']}** the "
                f"rest of the team ({_pct(r['rest_rate'])}) after correction for multiple tests."
            )
        else:
            out.append("The win rate does not differ significantly from the rest of the team.")
        if len(sig) and history:
            stages = ", ".join(f"{s['stage']} ({s['direction']})" for _, s in sig.iterrows())
            out.append(f"Stages where conversion differs significantly from the team: {stages}.")
    else:
        name_cols = [c for c in ("rep_name", "team", "manager") if c in sig.columns]
        group_cols = list(sig.columns[: list(sig.columns).index("stage")])
        label_cols = name_cols[:1] or group_cols[-1:]
        n_groups = len(set(map(tuple, sig[label_cols].astype(str).values))) if len(sig) else 0
        if n_groups:
            examples = sig.sort_values("p_adjusted").drop_duplicates(label_cols).head(3)
            text = ", ".join(
                f"{r[label_cols[0]]} ({r['direction']} at {r['stage']})"
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
                ", ".join(f"{r[label_cols[0]]} ({r['direction']})" for _, r in best.iterrows())
                if label_cols and label_cols[0] in wsig.columns
                else ""
            )
            out.append(
                f"{len(wsig)} group(s) have a win rate significantly different from their peers"
                + (f", e.g. {names}." if names else ".")
            )
        else:
            out.append("No group's win rate differs significantly from its peers.")
    n_stale = len(report.stale)
    if n_stale:
        amount = _money(report.stale["amount"].sum(), report.currency)
        out.append(
            f"**{n_stale:,} open deal(s)** ({amount}) have sat in their current stage longer "
            "than 90% of past deals did."
        )
    elif history:
        out.append("No open deal has sat in its stage longer than 90% of past deals did.")
    fl = report.flow.set_index("measure").loc["amount"]
    lo, hi = report.flow_period
    out.append(
        f"From {lo.date()} to {hi.date()} the open pipeline went from "
        f"{_money(fl['open_start'], report.currency)} to {_money(fl['open_end'], report.currency)} "
        f"(+{fl['created']:,.0f} created, −{fl['won']:,.0f} won, −{fl['lost']:,.0f} lost)."
    )
    for _, cov in report.coverage.iterrows():
        when = "this quarter" if cov["quarter"] == "current" else "next quarter"
        due = _money(cov["open_pipeline"], report.currency)
        if pd.notna(cov["coverage"]):
            out.append(
                f"Pipeline coverage {when}: **{cov['coverage']:.1f}×** the quota still to be met "
                f"({due} due against {_money(cov['remaining_quota'], report.currency)})."
            )
        elif cov["quota"] > 0 and cov["remaining_quota"] == 0:
            booked = _money(cov["booked"], report.currency)
            out.append(
                f"The quota of {when} is already met ({booked} booked against "
                f"{_money(cov['quota'], report.currency)})."
            )
        elif cov["quarter"] == "next" and cov["open_pipeline"] > 0:
            out.append(f"No quota is set for {when}, where {due} of open pipeline is due.")
    return out


def headline_markdown(report: FunnelReport) -> str:
    """The narrative as a Markdown bullet list, with text from the data HTML-escaped."""
    head = f"**Scope:** {html.escape(report.scope)}. **Reference date:** {report.as_of.date()}."
    return "\n".join([head, "", *(f"- {html.escape(s, quote=False)}" for s in report.headline)])


def styled(frame: pd.DataFrame, digits: int = 0):
    """A display table: rates (columns named like ``*rate*``, ``*conversion*``,
    ``*probability*``, ``share_*``, ``p25``/``median``/``p75``/``team_*``) as percentages,
    money and counts with thousands separators, dates as YYYY-MM-DD, text HTML-escaped, no
    index."""
    rate_words = ("rate", "conversion", "probability", "share_", "team_", "median", "p25", "p75")
    fmt = {}
    for col in frame.columns:
        name = str(col)
        kind = frame[col].dtype
        if pd.api.types.is_bool_dtype(kind):
            continue
        if pd.api.types.is_datetime64_any_dtype(kind):
            fmt[col] = "{:%Y-%m-%d}"
        elif pd.api.types.is_float_dtype(kind) and any(w in name for w in rate_words):
            if name == "team_reps":
                fmt[col] = "{:,.0f}"
            elif "days" not in name:
                fmt[col] = "{:.0%}" if digits == 0 else f"{{:.{digits}%}}"
            else:
                fmt[col] = "{:,.1f}"
        elif name.startswith("p_"):
            fmt[col] = "{:.3g}"
        elif pd.api.types.is_numeric_dtype(kind):
            fmt[col] = "{:,.0f}" if "days" not in name else "{:,.1f}"
    style = frame.style
    if fmt:
        style = style.format(fmt, na_rep="—")
    rest = [c for c in frame.columns if c not in fmt]
    if rest:
        # After the numeric formats: a dict format resets the columns it does not name.
        style = style.format(na_rep="—", escape="html", subset=rest)
    return style.hide(axis="index")
