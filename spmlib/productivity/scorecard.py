"""Rep scorecards: each KPI against the team, strengths, areas to improve and an overall rating.

A scorecard compares one rep with the other reps of the same team over a range (default: all
the data up to ``as_of``). Only the rep's own values and anonymous team benchmarks (median,
25th and 75th percentiles, and the pooled value of the rest of the team) appear in it.

KPIs (``better`` says which way is good):

- ``win_rate``: won / (won + lost) of deals closed in the range, Wilson 95% interval; tested
  with a two-proportion z-test (Fisher's exact test for small counts) against the rest of the
  team (:func:`spmlib.core.stats.compare_to_rest`).
- ``avg_deal_size``: mean amount of the deals won in the range; Mann-Whitney U test of the
  rep's won amounts against the rest of the team's.
- ``cycle_days``: median days from creation to close of the deals won in the range (lower is
  better); Mann-Whitney U test of the cycle lengths.
- ``activity_volume``: activities per month active
(:func:`spmlib.productivity.activity.months_active`);
  Mann-Whitney U test of the rep's monthly activity counts against the rest of the team's
  rep-months (months before a hire left out).
- ``proposal_acceptance``: accepted / decided proposals, Wilson interval; two-proportion test
  as for the win rate.
- ``opportunities_per_month``: opportunities created per month active; Mann-Whitney U test on
  monthly counts.
- ``bookings`` and ``attainment`` (bookings / the quota falling in the range, quota rows
  pro-rated by days as in :mod:`spmlib.productivity.attainment`) are shown, not tested.

**Strengths and areas to improve** (the rule, also written in the report): a KPI is a
*strength* when the rep differs from the rest of the team in the good direction with a
Holm-adjusted p-value below 0.05 (the correction runs over the reps of the team, KPI by KPI)
and by at least 10% of the rest of the team's value (a smaller difference is not worth a
coaching conversation, however sure), an *area to improve* when it differs in the bad
direction, *in line* otherwise, and *not enough data* when either side has fewer than
``min_n`` observations (closed deals, won deals, decided proposals or months). Benchmarks
and tests are withheld for teams of fewer than three reps, where a team figure would reveal a
colleague's numbers.

**Overall rating** (:data:`RATING_RULE`): score = number of strengths - number of areas to
improve + 1 if attainment >= 100% (- 1 if below 80%; 0 without a quota); *Exceeds
expectations* when the score is 2 or more, *Needs improvement* when it is -2 or less, *Meets
expectations* otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from spmlib.core.buckets import period_codes, rep_codes
from spmlib.core.periods import period_range
from spmlib.core.ranges import resolve_range
from spmlib.core.stats import compare_to_rest
from spmlib.exceptions import SpmError
from spmlib.io.schema import Dataset
from spmlib.productivity.activity import activity_outcomes
from spmlib.productivity.attainment import allocate_quota
from spmlib.productivity.kpis import kpis

__all__ = [
    "ScorecardKpi",
    "SCORECARD_KPIS",
    "RATING_RULE",
    "MIN_TEAM_SIZE",
    "team_scorecards",
    "scorecard",
    "overall_rating",
]

log = logging.getLogger(__name__)

#: Smallest team for which team benchmarks and tests are shown.
MIN_TEAM_SIZE = 3
RATING_RULE = (
    "Overall rating: score = number of strengths - number of areas to improve, plus 1 when "
    "attainment is at or above 100% of quota (minus 1 below 80%; 0 without a quota). "
    "A score of 2 or more is *Exceeds expectations*, -2 or less *Needs improvement*, anything "
    "else *Meets expectations*. A KPI is a strength (area to improve) when it differs from the "
    "rest of the team in the good (bad) direction with a Holm-adjusted p-value below 0.05 and "
    "by at least 10% of the rest of the team's value."
)


@dataclass(frozen=True)
class ScorecardKpi:
    """A scorecard KPI: its label, which way is better, its unit and how it is tested."""

    name: str
    label: str
    higher_is_better: bool
    unit: str
    test: str


SCORECARD_KPIS: dict[str, ScorecardKpi] = {
    k.name: k
    for k in [
        ScorecardKpi("win_rate", "Win rate", True, "rate", "two-proportion test"),
        ScorecardKpi("avg_deal_size", "Average deal size", True, "amount", "Mann-Whitney U"),
        ScorecardKpi("cycle_days", "Median sales cycle (days)", False, "days", "Mann-Whitney U"),
        ScorecardKpi("activity_volume", "Activities per month", True, "count", "Mann-Whitney U"),
        ScorecardKpi(
            "proposal_acceptance", "Proposal acceptance", True, "rate", "two-proportion test"
        ),
        ScorecardKpi(
            "opportunities_per_month", "Opportunities per month", True, "count", "Mann-Whitney U"
        ),
        ScorecardKpi("bookings", "Bookings", True, "amount", ""),
        ScorecardKpi("attainment", "Quota attainment", True, "rate", ""),
    ]
}
_COLUMNS = [
    "kpi",
    "label",
    "better",
    "value",
    "low",
    "high",
    "n",
    "team_median",
    "team_p25",
    "team_p75",
    "percentile",
    "rest_value",
    "test",
    "p_value",
    "p_adjusted",
    "assessment",
    "evidence",
]


def _rep_month_counts(
    frame: pd.DataFrame, date_col: str, reps: pd.DataFrame, periods: pd.DataFrame, fy: int
) -> pd.DataFrame:
    """Counts per rep and month (rep x month grid), with ``active`` (month ends after hire)."""
    n_r, n_p = len(reps), len(periods)
    r = rep_codes(reps, frame["rep_id"])
    p = period_codes(frame[date_col], periods, "month", fy)
    ok = (r >= 0) & (p >= 0)
    counts = np.bincount(r[ok] * n_p + p[ok], minlength=n_r * n_p)
    r_idx = np.repeat(np.arange(n_r), n_p)
    p_end = periods["period_end"].to_numpy()[np.tile(np.arange(n_p), n_r)]
    if "hire_date" in reps.columns:
        hired = reps["hire_date"].to_numpy()[r_idx]
        active = pd.isna(hired) | (hired <= p_end)
    else:
        active = np.ones(n_r * n_p, dtype=bool)
    return pd.DataFrame(
        {"rep_id": reps["rep_id"].astype(str).to_numpy()[r_idx], "count": counts, "active": active}
    )


def _mwu(samples: dict[str, np.ndarray], min_n: int) -> pd.DataFrame:
    """Mann-Whitney U of each rep's sample against the pooled samples of the others."""
    rows = []
    for rep, own in samples.items():
        rest = np.concatenate([v for k, v in samples.items() if k != rep] or [np.array([])])
        own, rest = own[~np.isnan(own)], rest[~np.isnan(rest)]
        p, effect = np.nan, np.nan
        if len(own) >= min_n and len(rest) >= min_n:
            res = stats.mannwhitneyu(own, rest, alternative="two-sided")
            p = float(res.pvalue)
            effect = float(res.statistic) / (len(own) * len(rest))  # P(own > rest) + ties / 2
        rows.append({"rep_id": rep, "p_value": p, "effect": effect})
    out = pd.DataFrame(rows)
    out["p_adjusted"] = _holm(out["p_value"].to_numpy())
    out["direction"] = np.where(out["effect"] > 0.5, "above", "below")
    return out


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN stays NaN and does not count as a test).

    Same result as ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]``.
    """
    adj = np.full(len(p), np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if len(ok):
        order = ok[np.argsort(p[ok], kind="stable")]
        m = len(order)
        stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
        adj[order] = np.minimum(stepped, 1.0)
    return adj


def _percentile(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """Per rep: share of team reps (self included, ties counted half) with a value no better."""
    ok = values.dropna()
    out = pd.Series(np.nan, index=values.index)
    for idx, v in ok.items():
        pct = stats.percentileofscore(ok.to_numpy(), v, kind="mean")
        out[idx] = pct if higher_is_better else 100.0 - pct
    return out


def team_scorecards(
    ds: Dataset,
    team: str,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    min_n: int = 5,
    min_effect: float = 0.10,
) -> pd.DataFrame:
    """Scorecard rows for every rep of ``team`` (rules in the module docstring).

    Returns
    -------
    DataFrame with ``rep_id`` then the columns of :func:`scorecard`, one row per rep and KPI of
    :data:`SCORECARD_KPIS`.
    """
    scoped = ds.scoped(team=team)
    reps = scoped.reps.reset_index(drop=True)
    if reps.empty:
        raise SpmError(f"team {team!r} has no reps in the dataset; check the team name.")
    lo, hi = resolve_range(ds, start, end)
    fy = ds.config.fiscal_year_start_month
    ids = reps["rep_id"].astype(str).tolist()
    k = kpis(scoped, by="rep", start=lo, end=hi).set_index("rep_id")
    k.index = k.index.astype(str)
    act = activity_outcomes(scoped, lo, hi).set_index("rep_id")
    act.index = act.index.astype(str)
    opp = scoped.opportunities
    won = opp[(opp["status"] == "won") & (opp["close_date"] >= lo) & (opp["close_date"] <= hi)]
    won_rep = won["rep_id"].astype(str).to_numpy()
    amounts = won["amount"].to_numpy(dtype=float)
    cycles = (won["close_date"] - won["created_date"]).dt.days.to_numpy(dtype=float)
    periods = period_range(lo, hi, "month", fy)
    acts = scoped.activities
    acts = acts[(acts["date"] >= lo) & (acts["date"] <= hi)]
    monthly_acts = _rep_month_counts(acts, "date", reps, periods, fy)
    created = opp[(opp["created_date"] >= lo) & (opp["created_date"] <= hi)]
    monthly_opps = _rep_month_counts(created, "created_date", reps, periods, fy)
    window = pd.DataFrame({"period_start": [lo], "period_end": [hi]})
    quota = allocate_quota(scoped.quotas, window).groupby("rep_id")["quota"].sum()
    quota.index = quota.index.astype(str)

    values: dict[str, pd.Series] = {
        "win_rate": k["win_rate"],
        "avg_deal_size": k["avg_deal_size"],
        "cycle_days": k["median_cycle_days"],
        "activity_volume": act["activities_per_month"],
        "proposal_acceptance": act["proposal_acceptance"],
        "opportunities_per_month": act["opportunities_per_month"],
        "bookings": k["bookings"],
        "attainment": k["bookings"] / quota.reindex(k.index).where(lambda q: q > 0),
    }
    counts = {
        "win_rate": k["won"] + k["lost"],
        "avg_deal_size": k["won"],
        "cycle_days": k["won"],
        "activity_volume": act["activities"],
        "proposal_acceptance": act["proposals_decided"],
        "opportunities_per_month": act["opportunities_created"],
        "bookings": k["won"],
        "attainment": k["won"],
    }
    intervals = {
        "win_rate": (k["win_rate_low"], k["win_rate_high"]),
        "proposal_acceptance": (act["proposal_acceptance_low"], act["proposal_acceptance_high"]),
    }
    tests: dict[str, pd.DataFrame] = {}
    big_enough = len(reps) >= MIN_TEAM_SIZE
    if big_enough:
        rates = pd.DataFrame(
            {
                "rep_id": ids,
                "won": k.loc[ids, "won"].to_numpy(),
                "closed": (k.loc[ids, "won"] + k.loc[ids, "lost"]).to_numpy(),
                "acc": act.loc[ids, "proposals_accepted"].to_numpy(),
                "dec": act.loc[ids, "proposals_decided"].to_numpy(),
            }
        )
        for name, (s, n) in {
            "win_rate": ("won", "closed"),
            "proposal_acceptance": ("acc", "dec"),
        }.items():
            frame = rates.copy()
            small = frame[n] < min_n
            res = compare_to_rest(frame, s, n)
            res.loc[small, ["p_value", "p_adjusted"]] = np.nan
            res["p_adjusted"] = np.where(small, np.nan, _holm(res["p_value"].to_numpy()))
            own = frame[s] / frame[n].where(frame[n] > 0)
            res["direction"] = np.where(own > res["rest_rate"], "above", "below")
            tests[name] = res[["rep_id", "p_value", "p_adjusted", "direction", "rest_rate"]]
        tests["avg_deal_size"] = _mwu({r: amounts[won_rep == r] for r in ids}, min_n)
        tests["cycle_days"] = _mwu({r: cycles[won_rep == r] for r in ids}, min_n)
        for name, monthly in [
            ("activity_volume", monthly_acts),
            ("opportunities_per_month", monthly_opps),
        ]:
            m = monthly[monthly["active"]]
            samples = {r: m.loc[m["rep_id"] == r, "count"].to_numpy(dtype=float) for r in ids}
            tests[name] = _mwu(samples, min_n)
    rest = _rest_values(ids, k, act, amounts, cycles, won_rep, quota)

    frames = []
    for name, spec in SCORECARD_KPIS.items():
        v = values[name].reindex(ids).astype(float)
        frame = pd.DataFrame({"rep_id": ids, "kpi": name, "label": spec.label})
        frame["better"] = "higher" if spec.higher_is_better else "lower"
        frame["value"] = v.to_numpy()
        low, high = intervals.get(name, (None, None))
        frame["low"] = low.reindex(ids).to_numpy(dtype=float) if low is not None else np.nan
        frame["high"] = high.reindex(ids).to_numpy(dtype=float) if high is not None else np.nan
        frame["n"] = counts[name].reindex(ids).fillna(0).to_numpy(dtype=np.int64)
        if big_enough:
            frame["team_median"] = v.median()
            frame["team_p25"] = v.quantile(0.25)
            frame["team_p75"] = v.quantile(0.75)
            frame["percentile"] = _percentile(v, spec.higher_is_better).to_numpy()
            frame["rest_value"] = rest[name].reindex(ids).to_numpy(dtype=float)
        else:
            for c in ("team_median", "team_p25", "team_p75", "percentile", "rest_value"):
                frame[c] = np.nan
        frame["test"] = spec.test
        t = tests.get(name)
        if t is not None:
            t = t.set_index("rep_id").reindex(ids)
            frame["p_value"] = t["p_value"].to_numpy(dtype=float)
            frame["p_adjusted"] = t["p_adjusted"].to_numpy(dtype=float)
            good = "above" if spec.higher_is_better else "below"
            rel = np.abs(frame["value"] / frame["rest_value"] - 1.0).to_numpy()
            sig = t["p_adjusted"].lt(0.05).to_numpy() & (rel >= min_effect)
            same = (t["direction"] == good).to_numpy()
            frame["assessment"] = np.select(
                [t["p_adjusted"].isna().to_numpy(), sig & same, sig & ~same],
                ["not enough data", "strength", "area to improve"],
                "in line",
            )
        else:
            frame["p_value"] = np.nan
            frame["p_adjusted"] = np.nan
            frame["assessment"] = "not enough data" if spec.test else ""
        frame["evidence"] = [_evidence(spec, row) for row in frame.itertuples(index=False)]
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["rep_id"] = out["rep_id"].astype("string")
    for c in ("kpi", "label", "better", "test", "assessment", "evidence"):
        out[c] = out[c].astype("string")
    return out[["rep_id", *_COLUMNS]]


def _rest_values(ids, k, act, amounts, cycles, won_rep, quota) -> dict[str, pd.Series]:
    """The pooled value of the rest of the team, for each rep and KPI."""
    out: dict[str, dict[str, float]] = {name: {} for name in SCORECARD_KPIS}
    for r in ids:
        o = [x for x in ids if x != r]
        won, lost = k.loc[o, "won"].sum(), k.loc[o, "lost"].sum()
        out["win_rate"][r] = won / (won + lost) if won + lost else np.nan
        mask = np.isin(won_rep, o)
        out["avg_deal_size"][r] = amounts[mask].mean() if mask.any() else np.nan
        out["cycle_days"][r] = float(np.median(cycles[mask])) if mask.any() else np.nan
        months = act.loc[o, "months_active"].sum()
        out["activity_volume"][r] = act.loc[o, "activities"].sum() / months if months else np.nan
        out["opportunities_per_month"][r] = (
            act.loc[o, "opportunities_created"].sum() / months if months else np.nan
        )
        dec = act.loc[o, "proposals_decided"].sum()
        out["proposal_acceptance"][r] = (
            act.loc[o, "proposals_accepted"].sum() / dec if dec else np.nan
        )
        out["bookings"][r] = k.loc[o, "bookings"].median()
        q = quota.reindex(o).fillna(0)
        has = q[q > 0].index
        out["attainment"][r] = k.loc[has, "bookings"].sum() / q[has].sum() if len(has) else np.nan
    return {name: pd.Series(v, dtype=float) for name, v in out.items()}


def _fmt(value: float, unit: str) -> str:
    if value is None or pd.isna(value):
        return "—"
    if unit == "rate":
        return f"{value:.0%}"
    if unit == "amount":
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _evidence(spec: ScorecardKpi, row) -> str:
    """One sentence: the rep's value, the rest of the team's and the test."""
    own = _fmt(row.value, spec.unit)
    text = f"{spec.label}: {own}"
    if spec.unit == "rate" and not pd.isna(row.low):
        text += f" (95% CI {_fmt(row.low, 'rate')}–{_fmt(row.high, 'rate')})"
    basis = {
        "win_rate": "closed deals",
        "avg_deal_size": "won deals",
        "cycle_days": "won deals",
        "activity_volume": "activities",
        "proposal_acceptance": "decided proposals",
        "opportunities_per_month": "opportunities",
        "bookings": "won deals",
        "attainment": "won deals",
    }[spec.name]
    text += f" on {int(row.n):,} {basis}"
    if not pd.isna(row.rest_value):
        rest_word = "team median" if spec.name == "bookings" else "rest of the team"
        text += f"; {rest_word} {_fmt(row.rest_value, spec.unit)}"
    if spec.test and not pd.isna(row.p_adjusted):
        p = float(row.p_adjusted)  # never in scientific notation: "< 0.001" below 0.001
        text += f" ({spec.test}, Holm-adjusted p {'< 0.001' if p < 0.001 else f'= {p:.3f}'})"
    elif spec.test and row.assessment == "not enough data":
        text += " (too little data to test)"
    return text + "."


def scorecard(
    ds: Dataset,
    rep_id: str,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    min_n: int = 5,
    min_effect: float = 0.10,
) -> pd.DataFrame:
    """One rep's scorecard against the rep's team (rules in the module docstring).

    Parameters
    ----------
    ds : the dataset holding at least the rep's whole team.
    rep_id : the rep.
    start, end : inclusive range; defaults as in :func:`spmlib.productivity.activity.resolve_range`.
    min_n : fewest observations on each side of a test (closed deals, won deals, decided
        proposals, months) for the test to run.
    min_effect : smallest relative difference from the rest of the team (0.10 = 10%) for a
        significant KPI to count as a strength or an area to improve.

    Returns
    -------
    DataFrame, one row per KPI of :data:`SCORECARD_KPIS`: ``kpi``, ``label``, ``better``
    ("higher" / "lower"), ``value`` (the rep's), ``low``, ``high`` (Wilson 95% interval for
    rates, else empty), ``n`` (observations behind the value), ``team_median``, ``team_p25``,
    ``team_p75`` (over the team's reps, the rep included), ``percentile`` (0-100: share of the
    team's reps with a value no better, ties counted half; higher is better), ``rest_value``
    (pooled value of the rest of the team; the median for bookings), ``test``, ``p_value``,
    ``p_adjusted`` (Holm over the team's reps), ``assessment`` ("strength", "area to improve",
    "in line", "not enough data", or empty for untested KPIs), ``evidence`` (a sentence). No
    other rep's identity appears.

    Raises
    ------
    SpmError
        When ``rep_id`` is not in the dataset.
    """
    match = ds.reps[ds.reps["rep_id"].astype(str) == str(rep_id)]
    if match.empty:
        raise SpmError(
            f"rep_id {rep_id!r} is not in the dataset; list the reps with `spm kpis PATH --by rep`."
        )
    team = match["team"].iloc[0]
    rows = team_scorecards(ds, team, start, end, min_n, min_effect)
    mine = rows[rows["rep_id"] == str(rep_id)]
    return mine[_COLUMNS].reset_index(drop=True)


def overall_rating(card: pd.DataFrame) -> pd.DataFrame:
    """The overall rating of a scorecard, by :data:`RATING_RULE`.

    Returns
    -------
    One-row DataFrame: ``strengths``, ``areas_to_improve`` (counts), ``attainment``,
    ``attainment_points`` (+1, 0 or -1), ``score``, ``rating``.

    Examples
    --------
    >>> card = pd.DataFrame({"kpi": ["win_rate", "cycle_days", "attainment"],
    ...     "value": [0.4, 30.0, 1.05], "assessment": ["strength", "strength", ""]})
    >>> overall_rating(card)[["strengths", "score", "rating"]]
       strengths  score                rating
    0          2      3  Exceeds expectations
    """
    strengths = int((card["assessment"] == "strength").sum())
    areas = int((card["assessment"] == "area to improve").sum())
    att_rows = card.loc[card["kpi"] == "attainment", "value"]
    att = float(att_rows.iloc[0]) if len(att_rows) else np.nan
    points = 0 if np.isnan(att) else (1 if att >= 1.0 else (-1 if att < 0.8 else 0))
    score = strengths - areas + points
    rating = (
        "Exceeds expectations"
        if score >= 2
        else ("Needs improvement" if score <= -2 else "Meets expectations")
    )
    return pd.DataFrame(
        {
            "strengths": [strengths],
            "areas_to_improve": [areas],
            "attainment": [att],
            "attainment_points": [points],
            "score": [score],
            "rating": pd.Series([rating], dtype="string"),
        }
    )
