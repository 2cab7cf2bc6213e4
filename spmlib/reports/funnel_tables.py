"""Every table of the funnel report for one scope (company, team, manager or rep).

Privacy: for a rep scope, every table holds that rep's own deals only; the team appears only
as benchmarks that never reveal a colleague (:mod:`spmlib.core.benchmark`: the other reps'
median, two significant figures, and the rep's band, over at least five other reps), and the
tests against the rest of the team only with at least five other reps. Comparison groups
default to reps within their team (company scope) or within the team (team and manager
scopes); a rep is compared with the rest of their team.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from spmlib.core.benchmark import MIN_OTHER_REPS
from spmlib.core.grouping import group_list
from spmlib.core.periods import period_end, period_frame, period_start
from spmlib.exceptions import ParameterError
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
from spmlib.reports.params import FunnelParams
from spmlib.reports.scope import Scope

__all__ = ["FunnelTables", "funnel_tables"]

#: Groupings compared within their team at company scope.
_WITHIN_TEAM = {"rep", "rep_id", "rep_name", "manager"}


@dataclass
class FunnelTables:
    """The tables of a funnel report (each documented by the function that computed it).

    ``period`` is the range asked for (None ends: the data's own), ``flow_period`` the range of
    the pipeline flow, ``quarter`` the fiscal quarter containing the reference date;
    ``benchmark`` and ``win_benchmark`` are set for a rep scope only (team median and band),
    ``reference_win_rate`` is the pooled win rate of the peers compared.
    """

    as_of: pd.Timestamp
    period: tuple[pd.Timestamp | None, pd.Timestamp | None]
    flow_period: tuple[pd.Timestamp, pd.Timestamp]
    quarter: tuple[pd.Timestamp, pd.Timestamp]
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

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table, by name."""
        return {k: v for k, v in vars(self).items() if isinstance(v, pd.DataFrame)}


def _rep_benchmarks(funnel, by_group, won_stage, rep_id):
    """A rep's own conversions and win rate beside the team, by the rule that never reveals a
    colleague (:func:`spmlib.funnel.conversion.peer_benchmark`)."""
    own = funnel[["stage", "conversion", "conversion_low", "conversion_high"]]
    marks = peer_benchmark(by_group, rep_id, "conversion")
    benchmark = own.merge(marks, on="stage", how="left")
    benchmark = benchmark[benchmark["stage"] != won_stage].reset_index(drop=True)
    win = peer_benchmark(by_group, rep_id, "cumulative_conversion")
    return benchmark, win[win["stage"] == won_stage].reset_index(drop=True)


def _one_pipeline(ds: Dataset, pipeline: str | None) -> Dataset:
    """The dataset of the pipeline reported: the one asked for, or the only one."""
    names = list(ds.config.pipelines)
    if pipeline is None:
        if len(names) <= 1:
            return ds
        raise ParameterError(
            f"the funnel report covers one pipeline and the data has {len(names)} "
            f"({', '.join(names)}); set pipeline to one of them"
        )
    if pipeline not in names:
        known = ", ".join(names) if names else "one, unnamed (leave pipeline empty)"
        raise ParameterError(f"pipeline {pipeline!r} is not in the data; its pipelines: {known}")
    return ds.for_pipeline(pipeline)


def funnel_tables(ds: Dataset, scope: Scope, params: FunnelParams) -> FunnelTables:
    """Compute the funnel tables of one scope of ``ds`` (the whole, unscoped dataset).

    Parameters
    ----------
    ds : the loaded dataset.
    scope : from :func:`spmlib.reports.scope.resolve_scope`.
    params : ``start``/``end`` (the funnel counts transitions in the range, the cohorts are
        those created in it, the pipeline flow spans it; default flow range: from the start of
        the fiscal quarter containing the reference date to that date), ``by`` (the grouping
        compared and ranked; ignored for a rep, who is compared with the rest of the team) and
        ``cohort_freq``; ``pipeline``: with several pipelines (``pipelines:`` in dataset.yml),
        the one reported (its deals and stages; KPIs and win rates then cover it too).
    """
    ds = _one_pipeline(ds, params.pipeline)
    scope = replace(
        scope,
        data=_one_pipeline(scope.data, params.pipeline),
        peers=_one_pipeline(scope.peers, params.pipeline),
    )
    cfg = ds.config
    as_of = ds.as_of
    own = scope.data
    # Peers compared: a rep's team; the team (or manager's reps) itself; the whole company.
    peers = scope.peers if scope.kind in ("rep", "company") else own
    lo, hi = params.range
    opps, hist = own.opportunities, own.stage_history
    funnel = stage_funnel(opps, hist, config=cfg, start=lo, end=hi, as_of=as_of)

    # Comparisons and rankings (shrunken rates), always among peers.
    if scope.is_rep:
        keys, parent = ["rep_id", "rep_name"], None
    else:
        keys = group_list(params.by)
        parent = "team" if (scope.kind == "company" and params.by in _WITHIN_TEAM) else None
        if parent:
            keys = ["team", *[k for k in keys if k != "team"]]
    p_opps, p_hist, p_reps = peers.opportunities, peers.stage_history, peers.reps
    rates = win_rates(p_opps, by=keys, reps=p_reps, parent=parent, start=lo, end=hi)
    by_group = stage_funnel(
        p_opps, p_hist, config=cfg, by=keys, reps=p_reps, start=lo, end=hi, as_of=as_of
    )
    comparison = compare_stages(by_group, parent=parent)
    benchmark = win_benchmark = None
    pooled = rates["won"].sum() / rates["closed"].sum() if rates["closed"].sum() else float("nan")
    if scope.is_rep:
        benchmark, win_benchmark = _rep_benchmarks(funnel, by_group, cfg.won_stage, scope.rep_id)
        rates = rates[rates["rep_id"].astype(str) == scope.rep_id].reset_index(drop=True)
        # the pooled rate of the rest of the team, the rank and the rate shrunk towards the
        # team's are never shown to a rep; the tests against the rest of the team only when
        # enough colleagues stand behind them not to reveal one
        peer_based = ["rest_rate", "rank", "win_rate_shrunk", "win_rate_shrunk_low",
                      "win_rate_shrunk_high"]  # fmt: skip
        rates = rates.drop(columns=peer_based)
        comparison = comparison[comparison["rep_id"].astype(str) == scope.rep_id]
        comparison = comparison.drop(
            columns=["rest_rate", "rank", "conversion_shrunk", "conversion_shrunk_low",
                     "conversion_shrunk_high"]
        )  # fmt: skip
        if len(p_reps) - 1 < MIN_OTHER_REPS:
            comparison = comparison.iloc[0:0]
            rates[["p_value", "p_adjusted"]] = np.nan
            rates["significant"] = False
        comparison = comparison.reset_index(drop=True)

    # Time.
    peer_time = time_in_stage(p_opps, p_hist, config=cfg, as_of=as_of)
    stale = stale_deals(opps, hist, config=cfg, as_of=as_of, thresholds=peer_time)

    # Pipeline.
    fy = cfg.fiscal_year_start_month
    this = period_frame(as_of, "quarter", fy)  # this quarter: the one containing as_of
    q_start, q_end = this.start, this.end
    flow_lo = lo if lo is not None else q_start
    flow_hi = hi if hi is not None else as_of
    probs = stage_win_probability(p_opps, p_hist, config=cfg)
    next_start = q_end + pd.Timedelta(days=1)
    next_end = period_end(pd.Series([next_start]), "quarter").iloc[0]
    cov = pd.concat(
        [
            coverage(opps, own.quotas, start=a, end=b, as_of=as_of, by=None)
            for a, b in ((q_start, q_end), (next_start, next_end))
        ],
        ignore_index=True,
    )
    cov.insert(0, "quarter", ["current", "next"])
    closed = opps[(opps["close_date"] >= lo) if lo is not None else opps["close_date"].notna()]
    if hi is not None:
        closed = closed[closed["close_date"] <= hi]
    cohorts = cohort_funnel(opps, hist, config=cfg, freq=params.cohort_freq, as_of=as_of)
    if lo is not None:
        first = period_start(pd.Series([lo]), params.cohort_freq, fy).iloc[0]
        cohorts = cohorts[cohorts["cohort_start"] >= first]
    if hi is not None:
        cohorts = cohorts[cohorts["cohort_start"] <= hi]
    return FunnelTables(
        as_of=as_of,
        period=(lo, hi),
        flow_period=(flow_lo, flow_hi),
        quarter=(q_start, q_end),
        funnel=funnel,
        win_rates=rates,
        comparison=comparison,
        benchmark=benchmark,
        win_benchmark=win_benchmark,
        reference_win_rate=float(pooled),
        time_in_stage=time_in_stage(opps, hist, config=cfg, as_of=as_of),
        stays=stage_stays(opps, hist, config=cfg, as_of=as_of),
        cycle=sales_cycle(closed),
        pipeline_age=days_in_pipeline(opps, as_of=as_of),
        open_pipeline=open_pipeline(opps, config=cfg),
        stale=stale,
        win_probability=probs,
        weighted=weighted_pipeline(opps, hist, config=cfg, probabilities=probs),
        flow=pipeline_flow(opps, hist, config=cfg, start=flow_lo, end=flow_hi),
        coverage=cov,
        velocity=pipeline_velocity(opps, start=lo, end=hi),
        leads=lead_funnel(own.leads, ds.opportunities, by="source", start=lo, end=hi),
        leads_by_rep=lead_funnel(
            own.leads, ds.opportunities, by="rep", reps=own.reps, start=lo, end=hi
        ),
        cohorts=cohorts.reset_index(drop=True),
    )
