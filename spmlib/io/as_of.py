"""A dataset as it stood on an earlier day: what an extract taken that evening would have held.

:func:`dataset_as_of` cuts a loaded dataset at the end of day ``as_of``:

- **opportunities** created after it are dropped. A deal closed after it is open again, in the
  stage it was in that day (its last stage-history entry on or before it; without one, the
  first open stage of its pipeline), with no close reason, the CRM probability and forecast
  category of that stage when ``dataset.yml`` gives them (``stage_probabilities``,
  ``stage_forecast_categories``; else empty), and its later close date kept as the expected
  close date: a real extract does not record what the expected close date was on an earlier
  day, so this is the best it can say (the sample generator, which knows, restores the true
  one: :func:`spmlib.sample.generator.generate` with ``as_of``). A deal still open keeps its
  row, with the stage it was in that day. Amounts are those of the extract.
- **stage history** entries, **activities** and **leads** dated after it are dropped; a lead
  converted after it is not converted yet (no ``converted_date``, no ``opp_id``).
- **credit splits** of dropped deals are dropped.
- **reps** hired after it are dropped, with their quotas and the accounts they own, unless a
  row kept still names them. Quotas are plans, set in advance: the others are kept whole.
- ``dataset.yml``'s ``as_of`` becomes the day.

Cutting at the data's own reference date (or later) returns the dataset unchanged: the data
cannot show what happened after it was extracted, so a later day is refused.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pandas as pd

from spmlib.exceptions import ParameterError
from spmlib.io.schema import Dataset, DatasetConfig

__all__ = ["dataset_as_of", "stages_on"]

log = logging.getLogger(__name__)


def stages_on(stage_history: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Each deal's stage at the end of ``day``: its last stage-history entry dated on or
    before it (ties keep the row order of the history).

    Returns
    -------
    DataFrame ``opp_id``, ``stage``, ``entered_date``, one row per deal with an entry by then.

    Examples
    --------
    >>> h = pd.DataFrame({"opp_id": ["a", "a", "b"], "stage": ["S1", "S2", "S1"],
    ...     "entered_date": pd.to_datetime(["2026-01-01", "2026-01-09", "2026-01-20"])})
    >>> stages_on(h, pd.Timestamp("2026-01-10"))
      opp_id stage entered_date
    0      a    S2   2026-01-09
    """
    seen = stage_history[stage_history["entered_date"] <= day]
    last = seen.sort_values(["opp_id", "entered_date"], kind="stable").drop_duplicates(
        "opp_id", keep="last"
    )
    return last[["opp_id", "stage", "entered_date"]].reset_index(drop=True)


def _first_open_stage(config: DatasetConfig, pipelines: pd.Series | None) -> pd.Series | str:
    if not config.pipelines or pipelines is None:
        return config.open_stages[0]
    first = {name: stages[0] for name, stages in config.pipelines.items()}
    return pipelines.map(first).fillna(config.open_stages[0]).astype("string")


def _opportunities(ds: Dataset, day: pd.Timestamp) -> pd.DataFrame:
    cfg = ds.config
    opp = ds.opportunities[ds.opportunities["created_date"] <= day].copy()
    current = opp["stage"].astype("string")
    still_open = (opp["status"] == "open").to_numpy(dtype=bool)
    reopen = ((opp["status"] != "open") & (opp["close_date"] > day)).to_numpy(dtype=bool)
    then = opp["opp_id"].map(stages_on(ds.stage_history, day).set_index("opp_id")["stage"])
    then = then.astype("string")
    first = _first_open_stage(cfg, opp["pipeline"] if "pipeline" in opp.columns else None)
    # without an open stage in the history by then: an open deal keeps its stage, a reopened
    # one starts in its pipeline's first stage
    fallback = current.where(still_open, first)
    open_stage = then.where(then.isin(cfg.open_stages).fillna(False), fallback)
    stage = current.where(~(still_open | reopen), open_stage).astype("string")
    changed = (stage != current).fillna(True).to_numpy(dtype=bool) | reopen
    opp["stage"] = stage
    opp.loc[reopen, "status"] = "open"
    if "close_reason" in opp.columns:
        opp.loc[reopen, "close_reason"] = pd.NA
    if "probability" in opp.columns:
        prob = opp.loc[changed, "stage"].map(cfg.stage_probabilities).astype("float64")
        opp.loc[changed, "probability"] = prob.to_numpy()
    if "forecast_category" in opp.columns:
        category = opp.loc[changed, "stage"].map(cfg.stage_forecast_categories)
        opp.loc[changed, "forecast_category"] = category.astype("string").to_numpy()
    return opp.reset_index(drop=True)


def _leads(leads: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    out = leads[leads["created_date"] <= day].copy()
    if "converted_date" in out.columns:
        later = out["converted_date"] > day
        out.loc[later, "converted_date"] = pd.NaT
        if "opp_id" in out.columns:
            out.loc[later, "opp_id"] = pd.NA
    return out.reset_index(drop=True)


def dataset_as_of(ds: Dataset, as_of: pd.Timestamp | str | None) -> Dataset:
    """The dataset as it stood at the end of day ``as_of`` (rules in the module docstring).

    Parameters
    ----------
    ds : a loaded dataset.
    as_of : the day; None, or the data's own reference date, returns ``ds`` itself.

    Raises
    ------
    ParameterError : when ``as_of`` is after the data's reference date.

    Examples
    --------
    >>> cfg = DatasetConfig(("Open",), "Won", "Lost", as_of=pd.Timestamp("2026-01-31"))
    >>> reps = pd.DataFrame({"rep_id": ["r"], "rep_name": ["Ann"], "team": ["T"]})
    >>> opps = pd.DataFrame({"opp_id": ["1", "2"], "rep_id": ["r", "r"],
    ...     "created_date": pd.to_datetime(["2026-01-02", "2026-01-20"]),
    ...     "close_date": pd.to_datetime(["2026-01-15", "2026-01-25"]),
    ...     "stage": ["Won", "Lost"], "amount": [10.0, 20.0], "status": ["won", "lost"]})
    >>> then = dataset_as_of(Dataset(cfg, reps, opps), "2026-01-10")
    >>> then.as_of.date(), then.opportunities[["opp_id", "stage", "status"]].values.tolist()
    (datetime.date(2026, 1, 10), [['1', 'Open', 'open']])
    """
    if as_of is None:
        return ds
    day = pd.Timestamp(as_of).normalize()
    own = ds.as_of
    if day > own:
        raise ParameterError(
            f"as_of {day.date()} is after the data's reference date {own.date()}; the data "
            "cannot show what happened since it was extracted. Leave as_of empty or choose an "
            "earlier day."
        )
    if day == own:
        return ds
    opp = _opportunities(ds, day)
    kept = set(opp["opp_id"])
    hist = ds.stage_history
    hist = hist[(hist["entered_date"] <= day) & hist["opp_id"].isin(kept)]
    acts = ds.activities[ds.activities["date"] <= day]
    if "opp_id" in acts.columns:
        acts = acts[acts["opp_id"].isna() | acts["opp_id"].isin(kept)]
    leads = _leads(ds.leads, day)
    splits = ds.splits[ds.splits["opp_id"].isin(kept)]
    reps = ds.reps
    if "hire_date" in reps.columns:
        named = set(opp["rep_id"]) | set(acts["rep_id"]) | set(leads["rep_id"])
        named |= set(splits["rep_id"])
        if "account" in opp.columns:
            used = ds.accounts["account_id"].isin(set(opp["account"].dropna()))
            named |= set(ds.accounts.loc[used, "rep_id"])
        later = (reps["hire_date"] > day).fillna(False).to_numpy(dtype=bool)
        reps = reps[~(later & ~reps["rep_id"].isin(named).to_numpy(dtype=bool))]
    ids = set(reps["rep_id"])
    log.info("data cut at %s: %d of %d deals", day.date(), len(opp), len(ds.opportunities))
    return replace(
        ds,
        config=replace(ds.config, as_of=day),
        reps=reps.reset_index(drop=True),
        opportunities=opp,
        stage_history=hist.reset_index(drop=True),
        activities=acts.reset_index(drop=True),
        quotas=ds.quotas[ds.quotas["rep_id"].isin(ids)].reset_index(drop=True),
        leads=leads,
        accounts=ds.accounts[ds.accounts["rep_id"].isin(ids)].reset_index(drop=True),
        splits=splits.reset_index(drop=True),
    )
