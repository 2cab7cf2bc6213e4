"""Pipeline-based forecast of the current period's bookings, and how accurate it has been.

Three parts add up to a period's bookings:

1. **booked**: won amounts already closed in the period up to the forecast date;
2. **open pipeline**: each open deal closes won by the period's end with a probability estimated
   from history by its current stage and age in stage (:func:`deal_probabilities`);
3. **new deals**: deals not yet created that will be created and won within the period, from
   the run rate of such deals in past periods (:func:`new_deal_rates`).

Two corrections come from the same past periods (:func:`period_shock`): a shock shared by every
deal of a simulated period (whole quarters swing together), and per team a lasting factor on
its deals' probabilities and new-deal rates (:func:`team_win_factors`: a team whose reps win
more, or close faster, than the company-wide rates say) with a shock of the team's period.

:func:`pipeline_forecast` simulates the sum (Monte Carlo) per rep, team and company;
:func:`pipeline_replay` re-runs it at day N of each past period using only what was known then.

History is read at **snapshots**: for a forecast on day d of a period, each past complete period
contributes the deals that were open on its own day d (same number of days into the period),
with the stage they were in that day (from stage history) and whether they were won by that
period's end. Everything uses only information dated on or before the forecast date.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import optimize

from spmlib.core.periods import (
    current_period,
    period_end,
    period_label,
    period_start,
    period_step,
)
from spmlib.core.pipelines import per_pipeline_dataset
from spmlib.core.stats import fit_beta_prior, shrink_rates, wilson_interval
from spmlib.forecast.series import FREQS, normalize_freq
from spmlib.forecast.team_effects import team_factors, team_shock_sd
from spmlib.io.schema import Dataset

__all__ = [
    "AGE_BUCKETS",
    "current_period",
    "open_deals_at",
    "stage_win_table",
    "deal_probabilities",
    "new_deal_rates",
    "pipeline_forecast",
    "compound_poisson",
    "simulate_bookings",
    "forecast_category_rollup",
    "period_shock",
    "team_win_factors",
    "pipeline_replay",
    "replay_accuracy",
]

log = logging.getLogger(__name__)

#: Age-in-stage buckets (days): [0, 14), [14, 30), [30, 60), [60, 120), [120, inf).
AGE_BUCKETS = (0, 14, 30, 60, 120)
_AGE_LABELS = ("0-13", "14-29", "30-59", "60-119", "120+")
_NO_HISTORY_STAGE = "(open)"
_CATEGORY_ORDER = ("Commit", "Best Case", "Pipeline")


def _bucket(age_days: pd.Series) -> pd.Series:
    idx = np.searchsorted(np.asarray(AGE_BUCKETS[1:]), age_days.to_numpy(), side="right")
    return pd.Series(np.asarray(_AGE_LABELS)[idx], index=age_days.index, dtype="string")


@per_pipeline_dataset
def open_deals_at(ds: Dataset, when: pd.Timestamp) -> pd.DataFrame:
    """The deals open at the end of day ``when``, with the stage they were in then.

    A deal is open on ``when`` if it was created by then and is either still open or closed
    after ``when``. Its stage is the last stage-history entry dated on or before ``when``
    (the first open stage, entered at creation, when it has none yet). Without stage history,
    every open deal is in stage ``"(open)"`` and its age counts from creation.

    Returns
    -------
    DataFrame with ``opp_id``, ``rep_id``, ``amount``, ``stage``, ``stage_entered``,
    ``age_days`` (whole days in the stage by ``when``), ``age_bucket``, ``forecast_category``
    (NA when the data has none), ``crm_probability`` (the deal's CRM probability, NaN when the
    data has none), ``close_date``, ``status``.
    """
    when = pd.Timestamp(when)
    opp = ds.opportunities
    is_open = (opp["created_date"] <= when) & (
        (opp["status"] == "open") | (opp["close_date"] > when)
    )
    deals = opp.loc[is_open].copy()
    if ds.has_stage_history:
        sh = ds.stage_history
        sh = sh[(sh["entered_date"] <= when) & sh["opp_id"].isin(deals["opp_id"])]
        last = sh.sort_values(["opp_id", "entered_date"]).drop_duplicates("opp_id", keep="last")
        deals = deals.merge(
            last.rename(columns={"entered_date": "stage_entered", "stage": "stage_then"}),
            on="opp_id",
            how="left",
        )
        first = ds.config.open_stages[0]
        missing = deals["stage_then"].isna()
        deals.loc[missing, "stage_then"] = first
        deals.loc[missing, "stage_entered"] = deals.loc[missing, "created_date"]
        deals = deals[deals["stage_then"].isin(ds.config.open_stages)]
        deals["stage"] = deals["stage_then"].astype("string")
    else:
        deals["stage"] = pd.Series(_NO_HISTORY_STAGE, index=deals.index, dtype="string")
        deals["stage_entered"] = deals["created_date"]
    deals["age_days"] = (when - deals["stage_entered"]).dt.days.clip(lower=0).astype(int)
    deals["age_bucket"] = _bucket(deals["age_days"])
    if "forecast_category" not in deals.columns:
        deals["forecast_category"] = pd.Series(pd.NA, index=deals.index, dtype="string")
    cols = ["opp_id", "rep_id", "amount", "stage", "stage_entered", "age_days", "age_bucket"]
    deals["crm_probability"] = (
        deals["probability"].astype("float64") if "probability" in deals.columns else np.nan
    )
    cols += ["forecast_category", "crm_probability", "close_date", "status"]
    return deals[cols].reset_index(drop=True)


def _snapshots(ds: Dataset, as_of: pd.Timestamp, code: str) -> list[tuple]:
    """(snapshot day, period start, period end) at the same day-of-period as the current period,
    for every past period that ended on or before ``as_of`` and started after the first deal."""
    fy = ds.config.fiscal_year_start_month
    start, _ = current_period(as_of, code, fy)
    offset = (pd.Timestamp(as_of) - start).days  # -1 on the day before the period starts
    first = ds.opportunities["created_date"].min()
    if pd.isna(first):  # no deals: no past period to learn from
        return []
    out = []
    p = start - period_step(code)
    while True:
        end = period_end(pd.Series([p]), FREQS[code]).iloc[0]
        if end < first:
            break
        snap = min(p + pd.Timedelta(days=offset), end)
        if end <= as_of and snap >= first:
            out.append((snap, p, end))
        p = p - period_step(code)
    return out[::-1]


@per_pipeline_dataset
def stage_win_table(
    ds: Dataset, as_of: pd.Timestamp | None = None, freq: str = "Q"
) -> pd.DataFrame:
    """How often deals in each stage and age bucket were won by their period's end.

    Counts come from the snapshots of past periods (module docstring).

    Returns
    -------
    DataFrame with ``stage``, ``age_bucket``, ``deals`` (deal-snapshots), ``won`` (won by the
    period's end), ``win_prob`` (raw rate), ``win_prob_low`` / ``win_prob_high`` (Wilson 95%),
    ``win_prob_shrunk`` (empirical-Bayes rate, shrunk toward the stage's other age buckets with
    :func:`spmlib.core.stats.shrink_rates`), one row per stage and bucket seen, in funnel order.
    """
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of)
    return _win_table(ds, _snapshot_history(ds, as_of, normalize_freq(freq)))


def _snapshot_history(ds: Dataset, as_of: pd.Timestamp, code: str) -> pd.DataFrame:
    """Every deal open at each past snapshot: ``snapshot`` (its period start), ``rep_id``,
    ``amount``, ``stage``, ``age_bucket`` and ``won`` (1 if won by that period's end)."""
    frames = []
    for snap, p, end in _snapshots(ds, as_of, code):
        deals = open_deals_at(ds, snap)
        won = (
            (deals["status"] == "won") & (deals["close_date"] > snap) & (deals["close_date"] <= end)
        )
        cols = ["rep_id", "amount", "stage", "age_bucket"]
        frames.append(deals[cols].assign(won=won.astype(int), snapshot=p))
    if not frames:
        cols = ["rep_id", "amount", "stage", "age_bucket", "won", "snapshot"]
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    return pd.concat(frames, ignore_index=True)


def _win_table(ds: Dataset, allsnap: pd.DataFrame) -> pd.DataFrame:
    cols = ["stage", "age_bucket", "deals", "won", "win_prob", "win_prob_low", "win_prob_high"]
    if allsnap.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in [*cols, "win_prob_shrunk"]})
    counts = (
        allsnap.groupby(["stage", "age_bucket"], observed=True)["won"]
        .agg(deals="size", won="sum")
        .reset_index()
    )
    counts["win_prob"] = counts["won"] / counts["deals"]
    counts["win_prob_low"], counts["win_prob_high"] = wilson_interval(
        counts["won"], counts["deals"]
    )
    parts = []
    for _stage, g in counts.groupby("stage", sort=False):
        prior = fit_beta_prior(g["won"].to_numpy(), g["deals"].to_numpy())
        parts.append(shrink_rates(g, "won", "deals", "win_prob", prior=prior))
    out = pd.concat(parts, ignore_index=True)
    order = {s: i for i, s in enumerate([*ds.config.open_stages, _NO_HISTORY_STAGE])}
    out["_s"] = out["stage"].map(order)
    out["_a"] = out["age_bucket"].map({b: i for i, b in enumerate(_AGE_LABELS)})
    out = out.sort_values(["_s", "_a"]).reset_index(drop=True)
    out["deals"] = out["deals"].astype(int)
    out["won"] = out["won"].astype(int)
    out["stage"] = out["stage"].astype("string")
    out["age_bucket"] = out["age_bucket"].astype("string")
    return out[[*cols, "win_prob_shrunk"]]


@per_pipeline_dataset
def deal_probabilities(
    ds: Dataset,
    as_of: pd.Timestamp | None = None,
    freq: str = "Q",
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each open deal's probability of closing won by the end of the current period.

    The probability is, by the first that applies (``probability_source``):

    1. ``stage and age``: the shrunk rate of :func:`stage_win_table` (or ``table``, when
       already computed for this dataset) for the deal's stage and age bucket;
    2. ``stage``: for a bucket never seen, the stage's pooled rate;
    3. ``crm``: for a stage the history never saw (or no history at all), the deal's CRM
       probability (its ``probability``, e.g. Salesforce's Probability or the stage's
       DefaultProbability) when its expected close date falls by the period's end, else 0
       (the CRM probability is that of winning at all, the forecast that of winning this
       period);
    4. ``all stages``: the pooled rate of all snapshots;
    5. ``none``: 0 (no history and no CRM probability).

    Returns
    -------
    DataFrame with ``opp_id``, ``rep_id``, ``team``, ``stage``, ``age_days``, ``age_bucket``,
    ``amount``, ``forecast_category``, ``probability``, ``probability_low``,
    ``probability_high`` (Wilson 95% of the raw counts behind it; NaN for ``crm``),
    ``history_deals`` (those counts' size), ``probability_source`` and ``expected``
    (probability x amount).
    """
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of)
    table = stage_win_table(ds, as_of, freq) if table is None else table
    deals = open_deals_at(ds, as_of).merge(ds.reps[["rep_id", "team"]], on="rep_id", how="left")
    key = ["stage", "age_bucket"]
    rates = table.set_index(key) if not table.empty else None
    n = len(deals)
    prob, low, high, hist = (np.full(n, np.nan) for _ in range(4))
    source = np.full(n, "none", dtype=object)

    def pooled(level: pd.DataFrame, name: str) -> None:
        miss = np.isnan(prob)
        if not miss.any():
            return
        if "stage" in level.index.names:
            sub = level.reindex(deals.loc[miss, "stage"])
        else:
            sub = pd.concat([level] * int(miss.sum()))
        k, t = sub["won"].to_numpy(float), sub["deals"].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            prob[miss] = k / t
        lo, hi = wilson_interval(np.nan_to_num(k), np.nan_to_num(t))
        low[miss], high[miss], hist[miss] = lo, hi, t
        source[miss & ~np.isnan(prob)] = name

    if rates is not None and n:
        hit = rates.reindex(pd.MultiIndex.from_frame(deals[key]))
        prob = hit["win_prob_shrunk"].to_numpy(float).copy()
        low = hit["win_prob_low"].to_numpy(float).copy()
        high = hit["win_prob_high"].to_numpy(float).copy()
        hist = hit["deals"].to_numpy(float).copy()
        source[~np.isnan(prob)] = "stage and age"
        pooled(table.groupby("stage")[["won", "deals"]].sum(), "stage")
    _, end = current_period(as_of, freq, ds.config.fiscal_year_start_month)
    crm = np.where(deals["close_date"] <= end, deals["crm_probability"].to_numpy(float), 0.0)
    crm[np.isnan(deals["crm_probability"].to_numpy(float))] = np.nan
    use = np.isnan(prob) & ~np.isnan(crm)
    prob[use], hist[use], source[use] = crm[use], 0, "crm"
    if rates is not None and n:
        pooled(
            pd.DataFrame({"won": [table["won"].sum()], "deals": [table["deals"].sum()]}),
            "all stages",
        )
    prob = np.nan_to_num(prob, nan=0.0)
    out = pd.DataFrame(
        {
            "opp_id": deals["opp_id"],
            "rep_id": deals["rep_id"],
            "team": deals["team"].astype("string"),
            "stage": deals["stage"],
            "age_days": deals["age_days"],
            "age_bucket": deals["age_bucket"],
            "amount": deals["amount"].astype(float),
            "forecast_category": deals["forecast_category"].astype("string"),
            "probability": prob,
            "probability_low": low,
            "probability_high": high,
            "history_deals": np.nan_to_num(hist).astype(int),
            "probability_source": pd.array(source, dtype="string"),
        }
    )
    out["expected"] = out["probability"] * out["amount"]
    return out


def new_deal_rates(ds: Dataset, as_of: pd.Timestamp | None = None, freq: str = "Q") -> pd.DataFrame:
    """Run rate of deals created after the forecast day and won within the same period.

    For each past snapshot (same day of the period), counts per rep the deals created after
    the snapshot day and won by the period's end.

    Returns
    -------
    DataFrame with ``rep_id``, ``periods`` (snapshots counted), ``deals_per_period`` (mean count:
    the Poisson rate of the simulation) and ``mean_amount`` (mean amount of those deals, NaN if
    none), one row per rep of ``ds.reps``.
    """
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of)
    opp = ds.opportunities
    won = opp[opp["status"] == "won"]
    snaps = _snapshots(ds, as_of, normalize_freq(freq))
    rows = []
    for snap, _p, end in snaps:
        new = won[(won["created_date"] > snap) & (won["close_date"] <= end)]
        rows.append(new[["rep_id", "amount"]])
    reps = ds.reps[["rep_id"]].copy()
    if rows:
        allnew = pd.concat(rows, ignore_index=True)
        agg = allnew.groupby("rep_id")["amount"].agg(count="size", mean_amount="mean")
    else:
        agg = pd.DataFrame({"count": [], "mean_amount": []})
    reps["periods"] = len(snaps)
    reps["deals_per_period"] = reps["rep_id"].map(agg["count"]).fillna(0).astype(float) / max(
        len(snaps), 1
    )
    reps["mean_amount"] = reps["rep_id"].map(agg["mean_amount"]).astype(float)
    return reps.reset_index(drop=True)


def _team_of(ds: Dataset) -> pd.Series:
    """Each rep's team by ``rep_id`` (``(no team)`` when missing)."""
    teams = ds.reps.drop_duplicates("rep_id").set_index("rep_id")["team"]
    return teams.astype(object).where(teams.notna(), "(no team)")


def _team_periods(
    ds: Dataset, as_of: pd.Timestamp, code: str, table: pd.DataFrame, history: pd.DataFrame
) -> pd.DataFrame:
    """What the model expected of each past snapshot period per team, against what happened.

    One row per snapshot period and team (``(no team)`` for reps without one) with ``period``,
    ``team``, ``expected``, ``variance``, ``actual``: the deals open on the snapshot day with
    their stage-and-age rate (E = sum prob x amount, V = sum prob (1 - prob) amount^2, A = won
    amounts by the period's end), plus the deals created after it and won by the period's end
    (E = the team's such amounts over all snapshots / snapshots, V = their squares likewise: a
    Poisson number of them; A = that period's).
    """
    cols = ["period", "team", "expected", "variance", "actual"]
    if history.empty or table.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    rates = table.set_index(["stage", "age_bucket"])["win_prob_shrunk"]
    key = pd.MultiIndex.from_frame(history[["stage", "age_bucket"]])
    prob = np.nan_to_num(rates.reindex(key).to_numpy(float))
    amount = history["amount"].to_numpy(float)
    teams = _team_of(ds)
    h = pd.DataFrame(
        {
            "period": history["snapshot"].to_numpy(),
            "team": history["rep_id"].map(teams).fillna("(no team)").to_numpy(),
            "expected": prob * amount,
            "variance": prob * (1 - prob) * amount**2,
            "actual": history["won"].to_numpy(float) * amount,
        }
    )
    per = h.groupby(["period", "team"])[cols[2:]].sum()
    opp = ds.opportunities
    won = opp[(opp["status"] == "won") & (opp["close_date"] <= as_of)]
    snaps = _snapshots(ds, as_of, code)
    new = [
        won.loc[
            (won["created_date"] > snap) & (won["close_date"] <= end), ["rep_id", "amount"]
        ].assign(period=p)
        for snap, p, end in snaps
    ]
    new = pd.concat(new, ignore_index=True) if new else pd.DataFrame()
    if len(new):
        new["team"] = new["rep_id"].map(teams).fillna("(no team)").astype(object)
        n = len(snaps)
        by_team = new.groupby("team")["amount"]
        rate_e, rate_v = by_team.sum() / n, (new["amount"] ** 2).groupby(new["team"]).sum() / n
        idx = pd.MultiIndex.from_product(
            [
                [p for _, p, _ in snaps],
                sorted(set(per.index.get_level_values("team")) | set(rate_e.index), key=str),
            ],
            names=["period", "team"],
        )
        per = per.reindex(idx, fill_value=0.0)
        t = per.index.get_level_values("team")
        per["expected"] += rate_e.reindex(t).fillna(0.0).to_numpy()
        per["variance"] += rate_v.reindex(t).fillna(0.0).to_numpy()
        per["actual"] += (
            new.groupby(["period", "team"])["amount"]
            .sum()
            .reindex(per.index)
            .fillna(0.0)
            .to_numpy()
        )
    return per.reset_index()[cols]


def period_shock(
    ds: Dataset,
    as_of: pd.Timestamp | None = None,
    freq: str = "Q",
    table: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """How much whole periods, and each team's periods, have swung beyond what independent
    deals explain.

    For each past snapshot period p (module docstring), the model's expectation of what the
    deals open on that day and the deals created after it would bring by the period's end,
    E_p = sum(prob x amount) + (new deals per period) x (their mean amount), is set against what
    they brought, A_p. Were the deals independent with those probabilities, A_p would vary
    around E_p with variance V_p = sum(prob (1 - prob) amount^2) + (new deals per period) x
    mean(amount^2). The rest is a shock common to the period (a strong or weak quarter, a change
    of win rates, deals slipping together), as a share of the expectation:

        shock_sd^2 = max(0, sum_p [(A_p - E_p)^2 - V_p] / sum_p E_p^2)

    (method of moments, periods weighted by their size; a biased model, A != E on average, also
    widens it). The same sums per team and period give each team's lasting factor
    (:func:`team_win_factors`) and the sd of a shock of one team's period beyond the company's
    swing and the team's factor (:func:`spmlib.forecast.team_effects.team_shock_sd`).

    Returns
    -------
    One-row DataFrame with ``periods`` (snapshot periods with an expectation), ``ratio``
    (sum A_p / sum E_p), ``independent_sd`` (sqrt(sum V_p / sum E_p^2)), ``shock_sd`` and
    ``team_shock_sd`` (0 with one team).
    """
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of)
    code = normalize_freq(freq)
    history = _snapshot_history(ds, as_of, code) if history is None else history
    table = _win_table(ds, history) if table is None else table
    return _shock_row(_team_periods(ds, as_of, code, table, history))


def team_win_factors(
    ds: Dataset, as_of: pd.Timestamp | None = None, freq: str = "Q"
) -> pd.DataFrame:
    """How much more or less each team's deals brought than the company-wide rates expected.

    Per past snapshot period and team (module docstring): the deals open that day with their
    stage-and-age rate plus the deals created after it and won by the period's end, against
    what they brought; :func:`spmlib.forecast.team_effects.team_factors` turns these into one
    factor per team (relative to the other teams, shrunk toward 1; 1 with one team or fewer
    than :data:`spmlib.forecast.team_effects.MIN_PERIODS` periods). The simulation multiplies a
    team's open-deal probabilities and new-deal rates by it, rescaled so that the company's
    expected bookings do not change.

    Returns
    -------
    DataFrame with ``team``, ``periods``, ``raw``, ``se``, ``weight`` and ``factor``.
    """
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of)
    code = normalize_freq(freq)
    history = _snapshot_history(ds, as_of, code)
    return team_factors(_team_periods(ds, as_of, code, _win_table(ds, history), history))


def _shock_row(per: pd.DataFrame) -> pd.DataFrame:
    cols = ["periods", "ratio", "independent_sd", "shock_sd", "team_shock_sd"]
    company = per.groupby("period")[["expected", "variance", "actual"]].sum()
    company = company[company["expected"] > 0]
    if len(company) < 2:
        return pd.DataFrame([[len(company), np.nan, np.nan, 0.0, 0.0]], columns=cols)
    e2 = float((company["expected"] ** 2).sum())
    excess = float(((company["actual"] - company["expected"]) ** 2 - company["variance"]).sum())
    ratio = float(company["actual"].sum() / company["expected"].sum())
    independent = float(np.sqrt(company["variance"].sum() / e2))
    shock = float(np.sqrt(max(0.0, excess / e2)))
    row = [len(company), ratio, independent, shock, team_shock_sd(per)]
    return pd.DataFrame([row], columns=cols)


def compound_poisson(rng: np.random.Generator, rate, pool: np.ndarray, n_sims: int):
    """``n_sims`` simulated totals of a Poisson(``rate``) number of deals whose amounts are drawn
    with replacement from ``pool`` (zeros when the pool is empty). ``rate`` is a number or one
    rate per simulation.

    Examples
    --------
    >>> sims = compound_poisson(np.random.default_rng(0), 2.0, np.array([10.0]), 10_000)
    >>> round(float(sims.mean()) / 10, 1)  # mean = rate x mean amount = 2 x 10
    2.0
    """
    counts = rng.poisson(rate, n_sims)
    if not counts.sum() or not len(pool):
        return np.zeros(n_sims)
    draws = rng.choice(pool, size=int(counts.sum()))
    return np.bincount(np.repeat(np.arange(n_sims), counts), draws, n_sims)


def _amount_pools(ds: Dataset, as_of: pd.Timestamp) -> tuple[dict, np.ndarray]:
    """Won amounts closed by ``as_of`` per rep, and all of them (for reps with fewer than 5)."""
    opp = ds.opportunities
    won = opp[(opp["status"] == "won") & (opp["close_date"] <= as_of)]
    pools = {r: g.to_numpy(float) for r, g in won.groupby("rep_id")["amount"]}
    return pools, won["amount"].to_numpy(float)


def _quota(ds: Dataset, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    q = ds.quotas
    q = q[(q["period_start"] >= start) & (q["period_end"] <= end)]
    return q.groupby("rep_id")["quota"].sum()


def _gamma(rng: np.random.Generator, sd: float, n_sims: int) -> np.ndarray:
    """``n_sims`` gamma draws of mean 1 and sd ``sd`` (ones when ``sd`` is 0)."""
    if sd <= 0:
        return np.ones(n_sims)
    shape = 1 / sd**2
    return rng.gamma(shape, 1 / shape, n_sims)


def _relative_factors(factor: pd.Series, inputs: dict, base: dict) -> dict:
    """Each team's factor times one scale c, chosen so that, with probabilities capped at 1, the
    company's expected bookings stay what the company-wide rates expect: the factors are
    measured relative to the other teams (:func:`spmlib.forecast.team_effects.team_factors`),
    so they move expected bookings between teams, not the total. ``inputs``: rep -> (team,
    probabilities, amounts, new-deal rate, amount pool, expected new amount); ``base``: team ->
    expected bookings without factor."""
    raw = {t: float(factor.get(t, 1.0)) for t in base}
    target, positive = sum(base.values()), [f for f in raw.values() if f > 0]
    if target <= 0 or not positive or all(f == 1.0 for f in raw.values()):
        return raw

    def gap(c: float) -> float:  # expected bookings at scale c less the target (increasing in c)
        return (
            sum(
                float((np.minimum(raw[t] * c * p, 1.0) * a).sum()) + raw[t] * c * new_mean
                for t, p, a, _lam, _pool, new_mean in inputs.values()
            )
            - target
        )

    # At c = 1 / min(factor) every probability is at least its company-wide value: gap >= 0
    # unless a team's factor is 0 (then the closest possible).
    high = 1 / min(positive)
    c = optimize.brentq(gap, 0.0, high, xtol=1e-10) if gap(high) > 0 else high
    return {t: f * c for t, f in raw.items()}


def _simulate(ds, as_of, freq, n_sims, seed):
    code = normalize_freq(freq)
    fy = ds.config.fiscal_year_start_month
    start, end = current_period(as_of, code, fy)
    history = _snapshot_history(ds, as_of, code)
    table = _win_table(ds, history)
    # Several pipelines: deal_probabilities learns each pipeline's table itself.
    deals = deal_probabilities(ds, as_of, code, table if len(ds.config.pipelines) <= 1 else None)
    per = _team_periods(ds, as_of, code, table, history)
    shocks = _shock_row(per).iloc[0]
    factor = team_factors(per).set_index("team")["factor"]
    rates = new_deal_rates(ds, as_of, code).set_index("rep_id")
    pools, everyone = _amount_pools(ds, as_of)
    opp = ds.opportunities
    booked = opp[
        (opp["status"] == "won") & (opp["close_date"] >= start) & (opp["close_date"] <= as_of)
    ]
    booked = booked.groupby("rep_id")["amount"].sum()
    rng = np.random.default_rng(seed)
    team_of = _team_of(ds)
    inputs, base = {}, {}
    for rep in ds.reps["rep_id"]:
        team = team_of.get(rep, "(no team)")
        d = deals[deals["rep_id"] == rep]
        p, a = d["probability"].to_numpy(float), d["amount"].to_numpy(float)
        lam = float(rates["deals_per_period"].get(rep, 0.0))
        pool = pools.get(rep, np.array([]))
        pool = pool if len(pool) >= 5 else everyone
        new_mean = lam * (pool.mean() if len(pool) else 0.0)
        inputs[rep] = (team, p, a, lam, pool, new_mean)
        base[team] = base.get(team, 0.0) + float((p * a).sum()) + new_mean
    factor = _relative_factors(factor, inputs, base)
    weight = {t: factor[t] * e for t, e in base.items()}
    # One shock per simulated period shared by every deal and rep (mean 1, sd shock_sd),
    # times one per team (mean 1, sd team_shock_sd) divided by the expectation-weighted mean of
    # all teams' draws: the team shocks move bookings between teams, not the company's total,
    # whose swing is the common shock's (period_shock).
    shock = _gamma(rng, float(shocks["shock_sd"]), n_sims)
    total = sum(weight.values())
    team_shock = {t: _gamma(rng, float(shocks["team_shock_sd"]), n_sims) for t in weight}
    if total > 0 and float(shocks["team_shock_sd"]) > 0:
        mean = sum(w * team_shock[t] for t, w in weight.items()) / total
        team_shock = {t: v / mean for t, v in team_shock.items()}
    sims, parts = {}, {}
    for rep, (team, p, a, lam, pool, new_mean) in inputs.items():
        u = shock * team_shock[team]
        p, lam, new_mean = factor[team] * p, factor[team] * lam, factor[team] * new_mean
        if len(p):
            probs = np.minimum(u[:, None] * p[None, :], 1.0)
            open_sims = (rng.random((n_sims, len(p))) < probs) @ a
        else:
            open_sims = np.zeros(n_sims)
        new_sims = compound_poisson(rng, lam * u, pool, n_sims)
        b = float(booked.get(rep, 0.0))
        sims[rep] = b + open_sims + new_sims
        parts[rep] = (b, float((np.minimum(p, 1.0) * a).sum()), new_mean)
    return start, end, sims, parts


def simulate_bookings(
    ds: Dataset,
    as_of: pd.Timestamp | str | None = None,
    freq: str = "Q",
    n_sims: int = 5000,
    seed: int = 0,
) -> tuple[pd.Timestamp, pd.Timestamp, pd.DataFrame]:
    """The simulated bookings of the current period per rep, before any summary.

    Returns
    -------
    (period start, period end, DataFrame with one column per rep_id and one row per
    simulation): the same draws :func:`pipeline_forecast` summarizes (same seed, same numbers),
    for callers that apply their own function per simulation (e.g. a pay plan).
    """
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of).normalize()
    start, end, sims, _parts = _simulate(ds, as_of, normalize_freq(freq), n_sims, seed)
    return start, end, pd.DataFrame(sims)


def pipeline_forecast(
    ds: Dataset,
    as_of: pd.Timestamp | str | None = None,
    freq: str = "Q",
    n_sims: int = 5000,
    seed: int = 0,
) -> pd.DataFrame:
    """Monte Carlo distribution of the current period's bookings per rep, team and company.

    Parameters
    ----------
    ds : the dataset (scope it with ``ds.scoped(...)`` for a team or rep report).
    as_of : forecast date; None = ``ds.as_of``. The period is :func:`current_period`.
    freq : ``"Q"`` (fiscal quarter), ``"M"`` or ``"W"``.
    n_sims : number of simulated periods.
    seed : seed of the ``numpy.random.default_rng`` generator (same seed, same numbers).

    Returns
    -------
    DataFrame with ``level`` ("company", "team", "rep"), ``team``, ``rep_id`` (NA above rep
    level), ``period`` (label, e.g. FY2027-Q4), ``period_start``, ``period_end``, ``as_of``,
    ``booked``, ``open_expected``, ``new_expected``, ``mean``, ``p10``, ``p25``, ``p50``,
    ``p75``, ``p90``,
    ``quota`` (sum of the quota rows inside the period, NaN if none) and ``p_quota``
    (simulated probability that bookings reach the quota, NaN without quota).

    Notes
    -----
    Each simulation draws, per rep: every open deal won with its probability (Bernoulli x
    amount); a Poisson number of new deals (rate from :func:`new_deal_rates`) with amounts
    drawn from the rep's won amounts (everyone's when the rep has fewer than 5); plus what is
    already booked. Team and company totals sum the same simulations, so they stay coherent.
    Deals are not independent: each simulated period draws one shock u (gamma, mean 1, sd
    ``shock_sd`` of :func:`period_shock`, measured on past periods) that multiplies every open
    deal's probability (capped at 1) and every rep's new-deal rate, so a strong or weak period
    moves all deals together. Teams differ (:func:`team_win_factors`): each team's open-deal
    probabilities (capped at 1) and new-deal rates are multiplied by its factor, rescaled so that
    the company's expectation stays the company-wide rates' (``open_expected`` and
    ``new_expected`` include it); and each team draws a shock of its own (gamma, mean 1, sd
    ``team_shock_sd`` of :func:`period_shock`) divided by the expectation-weighted mean of all
    teams' draws, so it moves bookings between teams and leaves the company's swing to u.
    Slipped close dates are in the probabilities themselves: a deal's probability is how often
    deals in its stage and age were won *by the period's end*.
    """
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of).normalize()
    code = normalize_freq(freq)
    start, end, sims, parts = _simulate(ds, as_of, code, n_sims, seed)
    quotas = _quota(ds, start, end)
    teams = ds.reps.set_index("rep_id")["team"]
    label = period_label(pd.Series([start]), FREQS[code], ds.config.fiscal_year_start_month).iloc[0]
    rows = []

    def add(level, team, rep, reps):
        total = sum((sims[r] for r in reps), np.zeros(n_sims))
        booked = sum(parts[r][0] for r in reps)
        q = float(quotas.reindex(reps).sum()) if quotas.reindex(reps).notna().any() else np.nan
        rows.append(
            {
                "level": level,
                "team": team,
                "rep_id": rep,
                "booked": booked,
                "open_expected": sum(parts[r][1] for r in reps),
                "new_expected": sum(parts[r][2] for r in reps),
                "mean": float(total.mean()),
                "p10": float(np.quantile(total, 0.1)),
                "p25": float(np.quantile(total, 0.25)),
                "p50": float(np.quantile(total, 0.5)),
                "p75": float(np.quantile(total, 0.75)),
                "p90": float(np.quantile(total, 0.9)),
                "quota": q,
                "p_quota": float(np.mean(total >= q)) if q == q and q > 0 else np.nan,
            }
        )

    all_reps = list(ds.reps["rep_id"])
    add("company", pd.NA, pd.NA, all_reps)
    for team, g in ds.reps.groupby("team", sort=True):
        add("team", team, pd.NA, list(g["rep_id"]))
    for rep in sorted(all_reps):
        add("rep", teams.get(rep), rep, [rep])
    out = pd.DataFrame(rows)
    out.insert(3, "period", label)
    out.insert(4, "period_start", start)
    out.insert(5, "period_end", end)
    out.insert(6, "as_of", as_of)
    for c in ("level", "team", "rep_id", "period"):
        out[c] = out[c].astype("string")
    return out


def forecast_category_rollup(
    ds: Dataset, as_of: pd.Timestamp | str | None = None, freq: str = "Q"
) -> pd.DataFrame:
    """The open pipeline by forecast category (commit, best case, pipeline), cumulatively.

    Returns
    -------
    DataFrame with ``forecast_category``, ``deals``, ``amount`` (open amount),
    ``expected`` (sum of probability x amount), ``cumulative_amount`` (already booked plus the
    amounts of this and the more certain categories: booked + commit, + best case, + pipeline),
    ``cumulative_expected`` (likewise with expected values). Commit, Best Case, Pipeline come
    first, then any other category; empty when the data carries no forecast category.
    """
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of).normalize()
    deals = deal_probabilities(ds, as_of, freq)
    cols = ["forecast_category", "deals", "amount", "expected"]
    cols += ["cumulative_amount", "cumulative_expected"]
    deals = deals[deals["forecast_category"].notna()]
    if deals.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    start, _ = current_period(as_of, freq, ds.config.fiscal_year_start_month)
    opp = ds.opportunities
    booked = opp.loc[
        (opp["status"] == "won") & (opp["close_date"] >= start) & (opp["close_date"] <= as_of),
        "amount",
    ].sum()
    g = deals.groupby("forecast_category").agg(
        deals=("opp_id", "size"), amount=("amount", "sum"), expected=("expected", "sum")
    )
    order = [c for c in _CATEGORY_ORDER if c in g.index] + sorted(
        c for c in g.index if c not in _CATEGORY_ORDER
    )
    g = g.reindex(order).reset_index()
    g["cumulative_amount"] = booked + g["amount"].cumsum()
    g["cumulative_expected"] = booked + g["expected"].cumsum()
    g["forecast_category"] = g["forecast_category"].astype("string")
    g["deals"] = g["deals"].astype(int)
    return g[cols]


def pipeline_replay(
    ds: Dataset,
    freq: str = "Q",
    day: int = 30,
    n_sims: int = 2000,
    seed: int = 0,
    min_history: int = 2,
) -> pd.DataFrame:
    """Replay the pipeline forecast on day ``day`` of each past period against what closed.

    For each complete past period with at least ``min_history`` earlier periods of history,
    :func:`pipeline_forecast` is run as of the period's day ``day`` (using only stage history,
    creations and closes dated on or before it) for the scope of ``ds``; the actual is the won
    amount closed in the period.

    Returns
    -------
    DataFrame with ``period``, ``period_start``, ``as_of``, ``actual``, ``p10``, ``p50``,
    ``p90``, ``quota``, ``p_quota``, ``inside_80`` (p10 <= actual <= p90) and ``error_pct``
    (100 (p50 - actual) / actual; NaN when actual is 0), one row per replayed period.
    """
    code = normalize_freq(freq)
    fy = ds.config.fiscal_year_start_month
    as_of = ds.as_of
    opp = ds.opportunities
    first = opp["created_date"].min()
    starts = pd.Series(pd.date_range(first, as_of, freq="MS"))
    if code == "W":
        starts = pd.Series(pd.date_range(first, as_of, freq="W-MON"))
    starts = period_start(starts, FREQS[code], fy).drop_duplicates().reset_index(drop=True)
    won = opp[opp["status"] == "won"]
    rows = []
    for i, start in enumerate(starts):
        end = period_end(pd.Series([start]), FREQS[code]).iloc[0]
        if i < min_history or end > as_of:
            continue
        when = start + pd.Timedelta(days=day - 1)
        res = pipeline_forecast(ds, when, code, n_sims, seed).iloc[0]
        actual = float(
            won.loc[(won["close_date"] >= start) & (won["close_date"] <= end), "amount"].sum()
        )
        rows.append(
            {
                "period": res["period"],
                "period_start": start,
                "as_of": when,
                "actual": actual,
                "p10": res["p10"],
                "p50": res["p50"],
                "p90": res["p90"],
                "quota": res["quota"],
                "p_quota": res["p_quota"],
                "inside_80": bool(res["p10"] <= actual <= res["p90"]),
                "error_pct": 100 * (res["p50"] - actual) / actual if actual else np.nan,
            }
        )
    cols = ["period", "period_start", "as_of", "actual", "p10", "p50", "p90", "quota", "p_quota"]
    cols += ["inside_80", "error_pct"]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    out = pd.DataFrame(rows)[cols]
    out["period"] = out["period"].astype("string")
    return out


def replay_accuracy(replay: pd.DataFrame) -> pd.DataFrame:
    """Summary of :func:`pipeline_replay`: ``periods``, ``coverage_80`` (share of actuals inside
    P10-P90), ``mape`` (mean absolute ``error_pct``), ``bias`` (100 * sum(P50 - actual) /
    sum(actual); positive = over-forecast), one row.

    Examples
    --------
    >>> r = pd.DataFrame({"actual": [100.0, 200.0], "p50": [110.0, 180.0],
    ...                   "inside_80": [True, False], "error_pct": [10.0, -10.0]})
    >>> replay_accuracy(r)
       periods  coverage_80  mape  bias
    0        2          0.5  10.0 -3.33...
    """
    n = len(replay)
    total = replay["actual"].sum() if n else 0.0
    return pd.DataFrame(
        {
            "periods": [n],
            "coverage_80": [float(replay["inside_80"].mean()) if n else np.nan],
            "mape": [float(replay["error_pct"].abs().mean()) if n else np.nan],
            "bias": [
                float(100 * (replay["p50"] - replay["actual"]).sum() / total) if total else np.nan
            ],
        }
    )
