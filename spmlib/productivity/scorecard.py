"""Rep scorecards: each KPI beside the team, and the strengths and areas to improve found.

A scorecard compares one rep with the other reps of the same team over a range (default: the
last four complete fiscal quarters before the one holding ``as_of``,
:func:`scorecard_range`: a year of deals gives the tests enough to go on, and a recent one).
The rating itself is in :mod:`spmlib.productivity.rating`: attainment over the last two
complete quarters leads it; the KPIs here are for coaching.

KPIs (``better`` says which way is good):

- ``win_rate``: won / (won + lost) of deals closed in the range, Wilson 95% interval; tested
  with a two-proportion z-test (Fisher's exact test for small counts) against the rest of the
  team (:func:`spmlib.core.stats.compare_to_rest`).
- ``avg_deal_size``: mean amount of the deals won in the range; Mann-Whitney U test of the
  rep's won amounts against the rest of the team's.
- ``cycle_days``: median days from creation to close of the deals won in the range (lower is
  better); Mann-Whitney U test of the cycle lengths.
- ``activity_volume``: activities per month active
  (:func:`spmlib.productivity.activity.months_active`: months before a hire are left out);
  Mann-Whitney U test of the rep's monthly activity counts against the rest of the team's
  rep-months. Empty when the data has no activities.
- ``proposal_acceptance``: accepted / decided proposals, Wilson interval; two-proportion test
  as for the win rate. Empty when the data has no activities.
- ``opportunities_per_month``: opportunities created per month active; Mann-Whitney U test on
  monthly counts.
- ``bookings``: amount won in the range; shown, not tested.

**Team benchmark** (:mod:`spmlib.core.benchmark`): the median of the other reps of the team,
rounded to two significant figures, and the rep's band (top quarter, middle half, bottom
quarter), only when at least five other reps have a value; never quartiles or percentiles.

**Strengths and areas to improve**: a KPI is a *strength* when the rep differs from the rest of
the team in the good direction with a Holm-adjusted p-value below 0.05 (the correction runs
over the reps of the team, KPI by KPI) and by at least 10% of the rest of the team's value (a
smaller difference is not worth a coaching conversation, however sure), an *area to improve*
when it differs in the bad direction, *in line* otherwise, and *not enough data* when either
side has fewer than ``min_n`` observations (closed deals, won deals, decided proposals or
months). In a team with fewer than five other reps nothing is tested (*no comparison*): a
comparison with one or two colleagues would tell the rep about them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from spmlib.core.benchmark import MIN_OTHER_REPS, team_benchmark
from spmlib.core.buckets import period_codes, rep_codes
from spmlib.core.periods import period_range
from spmlib.core.ranges import day_range
from spmlib.core.stats import compare_to_rest
from spmlib.exceptions import SpmError
from spmlib.io.schema import Dataset
from spmlib.productivity.activity import activity_outcomes
from spmlib.productivity.kpis import kpis
from spmlib.productivity.rating import rep_ratings, review_window

__all__ = [
    "ScorecardKpi",
    "SCORECARD_KPIS",
    "ASSESSMENTS",
    "KPI_QUARTERS",
    "scorecard_range",
    "team_scorecards",
    "scorecard",
    "scorecards_overview",
]

log = logging.getLogger(__name__)

#: Complete quarters the KPIs cover by default.
KPI_QUARTERS = 4
#: What a KPI can be found to be.
ASSESSMENTS = ("strength", "area to improve", "in line", "not enough data", "no comparison")


@dataclass(frozen=True)
class ScorecardKpi:
    """A scorecard KPI: its label, which way is better, its unit, how it is tested, what its
    count counts (``basis``), and the plain words of a strength and of an area to improve."""

    name: str
    label: str
    higher_is_better: bool
    unit: str
    test: str
    basis: str
    strength: str = ""
    area: str = ""


SCORECARD_KPIS: dict[str, ScorecardKpi] = {
    k.name: k
    for k in [
        ScorecardKpi(
            "win_rate", "Win rate", True, "rate", "two-proportion test", "closed deals",
            "You win more of your deals than the rest of the team",
            "You win fewer of your deals than the rest of the team",
        ),
        ScorecardKpi(
            "avg_deal_size", "Average deal size", True, "amount", "Mann-Whitney U", "won deals",
            "Your deals are larger than the rest of the team's",
            "Your deals are smaller than the rest of the team's",
        ),
        ScorecardKpi(
            "cycle_days", "Median sales cycle (days)", False, "days", "Mann-Whitney U",
            "won deals", "You close deals faster than the rest of the team",
            "Your deals take longer to close than the rest of the team's",
        ),
        ScorecardKpi(
            "activity_volume", "Activities per month", True, "count", "Mann-Whitney U",
            "activities", "You log more activities than the rest of the team",
            "You log fewer activities than the rest of the team",
        ),
        ScorecardKpi(
            "proposal_acceptance", "Proposal acceptance", True, "rate", "two-proportion test",
            "decided proposals", "More of your proposals are accepted than the rest of the team's",
            "Fewer of your proposals are accepted than the rest of the team's",
        ),
        ScorecardKpi(
            "opportunities_per_month", "Opportunities per month", True, "count",
            "Mann-Whitney U", "opportunities",
            "You open more opportunities than the rest of the team",
            "You open fewer opportunities than the rest of the team",
        ),
        ScorecardKpi("bookings", "Bookings", True, "amount", "", "won deals"),
    ]
}  # fmt: skip
_COLUMNS = [
    "kpi",
    "label",
    "better",
    "value",
    "low",
    "high",
    "n",
    "team_median",
    "band",
    "benchmark_note",
    "test",
    "p_value",
    "p_adjusted",
    "assessment",
]
#: KPIs that need the activities table.
_FROM_ACTIVITIES = ("activity_volume", "proposal_acceptance")


def scorecard_range(
    ds: Dataset, start: pd.Timestamp | str | None = None, end: pd.Timestamp | str | None = None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The range a scorecard covers: ``start``/``end`` as given, else the last
    :data:`KPI_QUARTERS` complete fiscal quarters before the one holding ``as_of``."""
    lo, hi, _ = review_window(ds.as_of, ds.config.fiscal_year_start_month, KPI_QUARTERS)
    return day_range(start, end, lo, hi)


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


def _tests(k, act, ids, amounts, cycles, won_rep, monthly, min_n) -> dict[str, pd.DataFrame]:
    """Each tested KPI of each rep against the rest of the team: p_value, p_adjusted, direction."""
    tests: dict[str, pd.DataFrame] = {}
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
        res["p_value"] = np.where(small, np.nan, res["p_value"])
        res["p_adjusted"] = np.where(small, np.nan, _holm(res["p_value"].to_numpy()))
        own = frame[s] / frame[n].where(frame[n] > 0)
        res["direction"] = np.where(own > res["rest_rate"], "above", "below")
        tests[name] = res[["rep_id", "p_value", "p_adjusted", "direction"]]
    tests["avg_deal_size"] = _mwu({r: amounts[won_rep == r] for r in ids}, min_n)
    tests["cycle_days"] = _mwu({r: cycles[won_rep == r] for r in ids}, min_n)
    for name, counts in monthly.items():
        m = counts[counts["active"]]
        samples = {r: m.loc[m["rep_id"] == r, "count"].to_numpy(dtype=float) for r in ids}
        tests[name] = _mwu(samples, min_n)
    return tests


def _rest_values(ids, k, act, amounts, cycles, won_rep) -> dict[str, pd.Series]:
    """The pooled value of the rest of the team, for each rep and tested KPI (used for the
    size of a difference only; never shown)."""
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
    return {name: pd.Series(v, dtype=float) for name, v in out.items()}


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
    lo, hi = scorecard_range(ds, start, end)
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
    created = opp[(opp["created_date"] >= lo) & (opp["created_date"] <= hi)]
    monthly = {
        "activity_volume": _rep_month_counts(acts, "date", reps, periods, fy),
        "opportunities_per_month": _rep_month_counts(created, "created_date", reps, periods, fy),
    }
    no_activities = scoped.activities.empty
    if no_activities:
        del monthly["activity_volume"]
    values: dict[str, pd.Series] = {
        "win_rate": k["win_rate"],
        "avg_deal_size": k["avg_deal_size"],
        "cycle_days": k["median_cycle_days"],
        "activity_volume": act["activities_per_month"],
        "proposal_acceptance": act["proposal_acceptance"],
        "opportunities_per_month": act["opportunities_per_month"],
        "bookings": k["bookings"],
    }
    counts = {
        "win_rate": k["won"] + k["lost"],
        "avg_deal_size": k["won"],
        "cycle_days": k["won"],
        "activity_volume": act["activities"],
        "proposal_acceptance": act["proposals_decided"],
        "opportunities_per_month": act["opportunities_created"],
        "bookings": k["won"],
    }
    intervals = {
        "win_rate": (k["win_rate_low"], k["win_rate_high"]),
        "proposal_acceptance": (act["proposal_acceptance_low"], act["proposal_acceptance_high"]),
    }
    compared = len(reps) - 1 >= MIN_OTHER_REPS
    tests = _tests(k, act, ids, amounts, cycles, won_rep, monthly, min_n) if compared else {}
    rest = _rest_values(ids, k, act, amounts, cycles, won_rep)

    frames = []
    for name, spec in SCORECARD_KPIS.items():
        v = values[name].reindex(ids).astype(float)
        if no_activities and name in _FROM_ACTIVITIES:
            v[:] = np.nan
        frame = pd.DataFrame({"rep_id": ids, "kpi": name, "label": spec.label})
        frame["better"] = "higher" if spec.higher_is_better else "lower"
        frame["value"] = v.to_numpy()
        low, high = intervals.get(name, (None, None))
        frame["low"] = low.reindex(ids).to_numpy(dtype=float) if low is not None else np.nan
        frame["high"] = high.reindex(ids).to_numpy(dtype=float) if high is not None else np.nan
        frame["n"] = counts[name].reindex(ids).fillna(0).to_numpy(dtype=np.int64)
        marks = [team_benchmark(v[r], v.drop(r).tolist(), spec.higher_is_better) for r in ids]
        frame["team_median"] = [np.nan if b.median is None else b.median for b in marks]
        frame["band"] = [b.band for b in marks]
        frame["benchmark_note"] = [b.reason for b in marks]
        frame["test"] = spec.test
        t = tests.get(name)
        if t is not None:
            t = t.set_index("rep_id").reindex(ids)
            frame["p_value"] = t["p_value"].to_numpy(dtype=float)
            frame["p_adjusted"] = t["p_adjusted"].to_numpy(dtype=float)
            good = "above" if spec.higher_is_better else "below"
            rel = np.abs(frame["value"] / rest[name].reindex(ids).to_numpy(dtype=float) - 1.0)
            sig = t["p_adjusted"].lt(0.05).to_numpy() & (rel.to_numpy() >= min_effect)
            same = (t["direction"] == good).to_numpy()
            frame["assessment"] = np.select(
                [t["p_adjusted"].isna().to_numpy(), sig & same, sig & ~same],
                ["not enough data", "strength", "area to improve"],
                "in line",
            )
        else:
            frame["p_value"] = np.nan
            frame["p_adjusted"] = np.nan
            untested = "no comparison" if not compared else "not enough data"
            frame["assessment"] = untested if spec.test else ""
        if no_activities and name in _FROM_ACTIVITIES:
            frame["assessment"] = "not enough data"
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["rep_id"] = out["rep_id"].astype("string")
    for c in ("kpi", "label", "better", "band", "benchmark_note", "test", "assessment"):
        out[c] = out[c].astype("string")
    return out[["rep_id", *_COLUMNS]]


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
    start, end : inclusive range; default :func:`scorecard_range`.
    min_n : fewest observations on each side of a test (closed deals, won deals, decided
        proposals, months) for the test to run.
    min_effect : smallest relative difference from the rest of the team (0.10 = 10%) for a
        significant KPI to count as a strength or an area to improve.

    Returns
    -------
    DataFrame, one row per KPI of :data:`SCORECARD_KPIS`: ``kpi``, ``label``, ``better``
    ("higher" / "lower"), ``value`` (the rep's; empty when the data cannot give it), ``low``,
    ``high`` (Wilson 95% interval for rates, else empty), ``n`` (observations behind the
    value), ``team_median`` (median of the other reps, two significant figures) and ``band``
    (top quarter, middle half, bottom quarter), both empty with ``benchmark_note`` saying why
    when fewer than five other reps have a value; ``test``, ``p_value``, ``p_adjusted`` (Holm
    over the team's reps), ``assessment`` (one of :data:`ASSESSMENTS`, or empty for untested
    KPIs). No other rep's identity or exact figure appears.

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


def scorecards_overview(
    ds: Dataset,
    team: str | None = None,
    ramp_months: int = 6,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Every rep's rating and the strengths and areas found, one row per rep (``spm
    scorecards``): for a manager or sales operations, who see every rep of a team.

    Returns
    -------
    DataFrame ``rep_id``, ``rep_name``, ``team``, ``rating``, ``attainment`` (over the rating's
    window), ``window`` (its label), ``pace`` (this quarter, when it counts), ``strengths`` and
    ``areas_to_improve`` (KPI labels, comma-separated, over :func:`scorecard_range`).
    """
    ratings = rep_ratings(ds, team=team, ramp_months=ramp_months)
    teams = sorted(ratings["team"].dropna().unique())
    cards = pd.concat([team_scorecards(ds, t, start, end) for t in teams], ignore_index=True)

    def labels(found: str) -> pd.Series:
        rows = cards[cards["assessment"] == found]
        return rows.groupby("rep_id")["label"].agg(", ".join)

    out = ratings[["rep_id", "rep_name", "team", "rating", "attainment", "window"]].copy()
    out["pace"] = ratings["pace"].where(ratings["pace_counts"])
    for col, found in (("strengths", "strength"), ("areas_to_improve", "area to improve")):
        found_labels = out["rep_id"].astype(str).map(labels(found)).astype("string")
        out[col] = found_labels.fillna("")
    return out.sort_values(["team", "rep_name"], kind="stable").reset_index(drop=True)
