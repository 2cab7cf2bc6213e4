"""The embedded sample dataset: a deterministic, realistic synthetic CRM extract.

``generate`` builds every table of the data model (reps with managers, opportunities with
stage history, activities, monthly quotas, leads, accounts, credit splits) from a seed;
``write_sample``
writes them as a dataset folder with ``dataset.yml`` and ``ground_truth.yml`` (the generator's
true parameters, so tests can check that analyses recover them); ``ensure_sample`` does that
once for the default sample. Default: 6 teams x 8 reps x 38 months ending Monday 2026-12-14,
six weeks into fiscal quarter FY2027-Q4, with the fiscal year starting in February (so fiscal
quarters are Feb-Apr, May-Jul, Aug-Oct, Nov-Jan). ``generate(as_of=DAY)`` (``spm sample OUT
--as-of DAY``) writes the same world as an extract taken on an earlier day would have held it:
the week before, for "what changed since last week".

What makes it realistic (the model is documented in :mod:`spmlib.sample.reps`,
:mod:`spmlib.sample.deals`, :mod:`spmlib.sample.activities` and :mod:`spmlib.sample.accounts`):
reps differ in win skill, deal size, activity level, proposal acceptance and sales-cycle speed;
about a third of reps get a deliberate, detectable strength and/or weakness (listed in
``ground_truth.yml``); one rep per team is a new hire ramping up; deal creation grows 15% a
year; won deals bunch up at fiscal quarter end; deals walk the stages with losses at every
stage; deals are also created in the 3 months before the window so it opens with a pipeline in
flight; deals still open at the end form the open pipeline, with expected close dates that were
revised, pulled in and slipped over time (:mod:`spmlib.sample.close_dates`); each rep owns
accounts whose potential explains part of the rep's bookings, and every deal belongs to one of
them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from spmlib.config import SAMPLE_DATA_DIR
from spmlib.core.periods import period_end, period_start
from spmlib.exceptions import SpmError, UnknownNameError, UnsafeOutputError
from spmlib.io.as_of import dataset_as_of
from spmlib.io.schema import Dataset, DatasetConfig
from spmlib.sample import accounts as sa
from spmlib.sample import activities as acts
from spmlib.sample import deals as sd
from spmlib.sample import reps as sr
from spmlib.sample.close_dates import deal_history, opportunities_on
from spmlib.sample.reps import KPI_NAMES, STRENGTH, WEAKNESS
from spmlib.sample.splits import generate_splits

__all__ = [
    "SampleData",
    "generate",
    "write_sample",
    "ensure_sample",
    "is_sample_folder",
    "KPI_NAMES",
]

log = logging.getLogger(__name__)

FISCAL_YEAR_START_MONTH = 2
#: Bumped whenever the generated data change; ``ensure_sample`` regenerates older samples.
GENERATOR_VERSION = 9
#: The default sample's last day: Monday 2026-12-14, six weeks into FY2027-Q4 (Nov-Jan).
DEFAULT_END = "2026-12-14"


@dataclass
class SampleData:
    """A generated dataset: the tables by name, its ``dataset.yml`` config and the ground truth."""

    tables: dict[str, pd.DataFrame]
    config: DatasetConfig
    ground_truth: dict[str, Any] = field(default_factory=dict)


def _check_args(teams, reps_per_team, months, opportunities, activities) -> None:
    for name, value, low in [("teams", teams, 1), ("reps_per_team", reps_per_team, 1),
                             ("months", months, 1)]:  # fmt: skip
        if int(value) < low:
            raise SpmError(f"{name} must be at least {low}, got {value}; pass a positive number.")
    if opportunities is not None and int(opportunities) < 1:
        raise SpmError(f"opportunities must be a positive count or None, got {opportunities}.")
    if not isinstance(activities, bool) and float(activities) < 0:
        raise SpmError(f"activities must be True, False or a scale >= 0, got {activities}.")


def generate(
    teams: int = 6,
    reps_per_team: int = 8,
    months: int = 38,
    seed: int = 42,
    end: str = DEFAULT_END,
    opportunities: int | None = None,
    activities: bool | float = True,
    warmup_months: int = 3,
    as_of: str | None = None,
) -> SampleData:
    """Generate the sample dataset in memory (pure and deterministic for a seed).

    Parameters
    ----------
    teams, reps_per_team : the sales organisation (one new hire per team when 3+ reps).
    months : months of history, ending with the month that contains ``end``.
    seed : seed of ``numpy.random.default_rng``; the same seed gives identical tables.
    end : the last day of the world (YYYY-MM-DD); the data's ``as_of`` unless ``as_of`` is given.
        The default, Monday 2026-12-14, is six weeks into fiscal quarter FY2027-Q4
        (Nov-Jan), so the data shows a quarter in progress.
    opportunities : force the total number of opportunities (deals per rep scale); None =
        about 8 new deals per rep and month, growing 15% a year.
    activities : True, False (no activities) or a scale on activity volume (0.1 = a tenth).
    warmup_months : deals (with their history and activities) are also created in these months
        before the window, so the window opens with a pipeline in flight and its first months
        have normal bookings, as in a real CRM extract. Quotas cover the window and, as
        planned quotas do in a real CRM, the rest of the fiscal quarter that follows the data's
        last day (see :func:`_with_planned_quotas`).
    as_of : the day the extract is taken (YYYY-MM-DD, between the first deal and ``end``):
        the same world (same seed, same ``end``) as it stood at the end of that day. Deals
        created later, stage moves and closes dated later have not happened; open deals show
        the expected close date and amount they had then (:mod:`spmlib.sample.close_dates`);
        activities and leads dated later are absent, reps hired later too. None = ``end``.

    Returns
    -------
    SampleData
        ``tables``: reps, opportunities, stage_history, activities, quotas, leads, accounts,
        splits (:mod:`spmlib.sample.splits`), with the
        columns of :data:`spmlib.io.schema.TABLES` (ids and text as ``string``, dates as
        datetime64[ns], amounts float64); ``config``; ``ground_truth`` (see ``write_sample``;
        its figures are those observable on the data's last day).

    Raises
    ------
    SpmError
        When a size is not positive, or ``as_of`` is outside the world.

    Examples
    --------
    >>> s = generate(teams=1, reps_per_team=2, months=3, seed=1)
    >>> sorted(s.tables)
    ['accounts', 'activities', 'leads', 'opportunities', 'quotas', 'reps', 'splits',
     'stage_history']
    >>> s.tables["reps"]["rep_id"].tolist()
    ['R001', 'R002']
    >>> week_before = generate(teams=1, reps_per_team=2, months=3, seed=1, as_of="2026-12-07")
    >>> str(week_before.config.as_of.date()), len(week_before.tables["opportunities"]) < len(
    ...     s.tables["opportunities"])
    ('2026-12-07', True)
    """
    _check_args(teams, reps_per_team, months, opportunities, activities)
    if int(warmup_months) < 0:
        raise SpmError(f"warmup_months must be 0 or more, got {warmup_months}.")
    rng = np.random.default_rng(seed)
    end_ts = pd.Timestamp(end).normalize()
    start_ts = (end_ts.to_period("M") - (int(months) - 1)).to_timestamp()
    end_day = _day(end_ts)
    first_ts = (start_ts.to_period("M") - int(warmup_months)).to_timestamp()
    first_day = _day(first_ts)
    cutoff_ts = _cutoff(as_of, first_ts, end_ts)
    cutoff = _day(cutoff_ts)
    span = int(months) + int(warmup_months)  # months in which deals are created
    fy = FISCAL_YEAR_START_MONTH
    reps = sr.make_reps(rng, int(teams), int(reps_per_team), first_day, end_day)
    deals = sd.generate_deals(rng, reps, span, first_day, end_day, fy, opportunities)
    history = deal_history(seed, deals, reps["cycle_factor"][deals.rep], end_day)
    n_reps = len(reps["rep_id"])
    deal_count = np.bincount(deals.rep, minlength=n_reps)
    all_win = np.bincount(deals.rep, weights=deals.p_win, minlength=n_reps) / np.maximum(
        deal_count, 1
    )
    draws = int(np.clip(600_000 // max(deals.rep.size, 1), 2, 40))
    exp_won, exp_closed = sd.expected_closed_outcomes(seed, deals, reps, cutoff, draws)
    won_r = np.bincount(deals.rep, weights=exp_won, minlength=n_reps)
    closed_r = np.bincount(deals.rep, weights=exp_closed, minlength=n_reps)
    true_win = np.divide(won_r, closed_r, out=np.full(n_reps, np.nan), where=closed_r > 0)
    seen = deals.created <= cutoff
    seen_count = np.bincount(deals.rep[seen], minlength=n_reps)
    seen_win = np.bincount(deals.rep[seen], weights=deals.p_win[seen], minlength=n_reps)
    n_closed = closed_r.sum()
    win = {
        "closed": won_r.sum() / n_closed if n_closed > 0 else np.nan,
        "all": deals.p_win[seen].mean() if seen.any() else np.nan,
        "rep_all": np.where(seen_count > 0, seen_win / np.maximum(seen_count, 1), np.nan),
    }
    scale = float(activities) if not isinstance(activities, bool) else 1.0
    if activities is False or scale == 0:
        activity_table = _empty("activities")
    else:
        activity_table = acts.generate_activities(rng, reps, deals, span, first_day, end_day, scale)
    quotas = acts.generate_quotas(reps, deals, span, first_day, end_day, fy, all_win)
    quotas = quotas[quotas["period_start"] >= start_ts].reset_index(drop=True)
    quotas = _with_planned_quotas(quotas, end_ts, fy)
    accounts = sa.generate_accounts(seed, reps, deals, end_day, fy)
    tables = {
        "reps": sr.reps_frame(reps),
        "opportunities": opportunities_on(deals.opportunities, history, end_day).assign(
            account=accounts.deal_account
        ),
        "stage_history": deals.stage_history,
        "activities": activity_table,
        "quotas": quotas,
        "leads": acts.generate_leads(rng, deals, reps, first_day, end_day),
        "accounts": accounts.table,
    }
    tables["splits"] = generate_splits(seed, deals.opportunities, tables["reps"])
    config = DatasetConfig(
        open_stages=sd.OPEN_STAGES,
        won_stage=sd.WON_STAGE,
        lost_stage=sd.LOST_STAGE,
        currency="USD",
        fiscal_year_start_month=fy,
        as_of=end_ts,
    )
    if cutoff_ts < end_ts:
        tables = _as_of(tables, config, history, cutoff_ts)
        config = replace(config, as_of=cutoff_ts)
    truth = _ground_truth(seed, teams, reps_per_team, months, start_ts, end_ts, reps, deals,
                          true_win, cutoff, win)  # fmt: skip
    truth["parameters"]["as_of"] = cutoff_ts.date().isoformat()
    kept = set(tables["reps"]["rep_id"])
    truth["reps"] = {rid: rep for rid, rep in truth["reps"].items() if rid in kept}
    truth["accounts"] = accounts.truth
    for rid, potential in zip(reps["rep_id"], accounts.rep_potential, strict=True):
        if rid in kept:
            truth["reps"][rid]["potential"] = _r(potential, 0)
    truth["parameters"]["warmup_months"] = int(warmup_months)
    truth["parameters"]["first_created"] = first_ts.date().isoformat()
    return SampleData(tables=tables, config=config, ground_truth=truth)


def _day(ts: pd.Timestamp) -> int:
    """Days since 1970-01-01."""
    return int(ts.value // 86_400_000_000_000)


def _cutoff(as_of, first: pd.Timestamp, end: pd.Timestamp) -> pd.Timestamp:
    """The extract's day: ``as_of`` checked to lie in the world, else ``end``."""
    if as_of is None:
        return end
    try:
        day = pd.Timestamp(as_of).normalize()
    except (ValueError, TypeError):
        raise SpmError(f"as_of {as_of!r} is not a date; write it as YYYY-MM-DD.") from None
    if not first <= day <= end:
        raise SpmError(
            f"as_of {day.date()} is outside the sample's world ({first.date()} to {end.date()}); "
            "choose a day in it, or move end."
        )
    return day


def _as_of(tables: dict, config: DatasetConfig, history, day: pd.Timestamp) -> dict:
    """The world's tables as an extract at the end of ``day`` holds them: the rows of every
    table cut by :func:`spmlib.io.as_of.dataset_as_of`, the deals' close dates and amounts
    as they were then (``history``), quotas planned up to the end of the fiscal quarter that
    holds the next day."""
    ds = dataset_as_of(Dataset(config, **tables), day)
    out = ds.tables()
    out["opportunities"] = opportunities_on(out["opportunities"], history, _day(day))
    next_day = pd.Series([day + pd.Timedelta(days=1)])
    fy = config.fiscal_year_start_month
    horizon = period_end(period_start(next_day, "quarter", fy), "quarter").iloc[0]
    quotas = out["quotas"]
    out["quotas"] = quotas[quotas["period_start"] <= horizon].reset_index(drop=True)
    return out


def _empty(name: str) -> pd.DataFrame:
    from spmlib.io.schema import empty_table

    return empty_table(name)


def _r(x, nd=4):
    """A float rounded for YAML; None for NaN (nothing to measure, e.g. no closed deals)."""
    return None if np.isnan(x) else round(float(x), nd)


def _with_planned_quotas(quotas: pd.DataFrame, end: pd.Timestamp, fy: int) -> pd.DataFrame:
    """Add the quotas already planned after the data's end: one monthly row per rep, repeating
    the rep's last quota, for every month up to the end of the fiscal quarter that holds the day
    after ``end`` (the period a pipeline forecast made on ``end`` is about).

    >>> q = pd.DataFrame({"rep_id": ["a"], "period_start": [pd.Timestamp("2026-10-01")],
    ...     "period_end": [pd.Timestamp("2026-10-31")], "quota": [100.0]})
    >>> _with_planned_quotas(q, pd.Timestamp("2026-10-31"), 2)["period_start"].dt.month.tolist()
    [10, 11, 12, 1]
    """
    if quotas.empty:
        return quotas
    next_day = pd.Series([end + pd.Timedelta(days=1)])
    quarter_end = period_end(period_start(next_day, "quarter", fy), "quarter").iloc[0]
    months = pd.date_range(next_day.iloc[0].replace(day=1), quarter_end, freq="MS")
    months = months[months > quotas["period_start"].max()]
    last = quotas.sort_values("period_start").groupby("rep_id", sort=False).tail(1)
    planned = [last.assign(period_start=m, period_end=m + pd.offsets.MonthEnd(0)) for m in months]
    out = pd.concat([quotas, *planned], ignore_index=True)
    return out.astype(quotas.dtypes.to_dict())


def _ground_truth(seed, teams, reps_per_team, months, start_ts, end_ts, reps, deals, true_win,
                  end_day, win) -> dict[str, Any]:  # fmt: skip
    """The generator's true parameters (agreed keys first, then extra ones)."""
    n_open, entry, p = deals.n_open, deals.entry, deals.p_stage
    conversion = {}
    for k, stage in enumerate(sd.OPEN_STAGES):
        # deals that reached stage k and whose advance/loss at k happened by the data's end
        reached = (n_open >= k + 1) & (entry[:, k + 1] <= end_day)
        conversion[stage] = _r(p[reached, k].mean()) if reached.any() else None
    a, b = sd.QUARTER_PUSH
    reps_truth = {}
    for i, rid in enumerate(reps["rep_id"]):
        reps_truth[rid] = {
            "team": reps["team_names"][reps["team"][i]],
            "win_skill": _r(reps["win_skill"][i]),
            "true_win_rate": _r(true_win[i]),
            "deal_size": _r(reps["deal_size"][i], 0),
            "activity_level": _r(reps["activity_level"][i]),
            "strengths": list(reps["strengths"][i]),
            "weaknesses": list(reps["weaknesses"][i]),
            "new_hire": bool(reps["new_hire"][i]),
            "true_win_rate_all_deals": _r(win["rep_all"][i]),
            "proposal_acceptance": _r(reps["proposal_acceptance"][i]),
            "cycle_factor": _r(reps["cycle_factor"][i]),
            "hire_date": str(np.datetime64(int(reps["hire_day"][i]), "D")),
            "ramp_months": int(reps["ramp_months"][i]) if reps["new_hire"][i] else 0,
        }
    return {
        "seed": int(seed),
        "parameters": {
            "teams": int(teams),
            "reps_per_team": int(reps_per_team),
            "months": int(months),
            "start": start_ts.date().isoformat(),
            "end": end_ts.date().isoformat(),
        },
        "stages": {"open": list(sd.OPEN_STAGES), "won": sd.WON_STAGE, "lost": sd.LOST_STAGE},
        "stage_conversion": conversion,
        "win_rate": _r(win["closed"]),
        "seasonality": {"month_of_quarter": [_r(1 - a, 2), _r(1 - b, 2), _r(1 + a + b, 2)]},
        "growth_per_year": sd.GROWTH_PER_YEAR,
        "reps": reps_truth,
        # extra keys
        "generator_version": GENERATOR_VERSION,
        "win_rate_all_deals": _r(win["all"]),
        "fiscal_year_start_month": FISCAL_YEAR_START_MONTH,
        "base_stage_advance": dict(zip(sd.OPEN_STAGES, sd.BASE_ADVANCE.tolist(), strict=True)),
        "stage_median_days": dict(zip(sd.OPEN_STAGES, sd.STAGE_MEDIAN_DAYS.tolist(), strict=True)),
        "proposal_odds": {"accepted": sd.ACCEPTED_ODDS, "rejected": sd.REJECTED_ODDS},
        "lead_source_odds": dict(zip(sd.SOURCES, sd.SOURCE_ODDS.tolist(), strict=True)),
        "lead_conversion": dict(acts.LEAD_CONVERSION),
        "quota_target_attainment": acts.TARGET_ATTAINMENT,
        "effects": {"strength": dict(STRENGTH), "weakness": dict(WEAKNESS)},
        "teams": {
            name: {
                "manager": f"{reps['managers'][t][0]} {reps['managers'][t][1]}",
                "region": reps["regions"][t],
                "win_factor": _r(reps["team_win"][t]),
                "deal_size_factor": _r(reps["team_size"][t]),
            }
            for t, name in enumerate(reps["team_names"])
        },
    }


_FORMATS = ("csv", "parquet")

#: The header of ground_truth.yml: what each key means.
TRUTH_NOTES = """\
# True parameters of the sample generator (spmlib.sample.generator, spmlib.sample.deals,
# spmlib.sample.activities), for checking that analyses recover them.
# stage_conversion: per open stage, the mean true probability of advancing, over the deals that
#   reached the stage and whose advance or loss there happened by the data's end (as_of).
# win_rate: the expected observed won / (won + lost) at the data's end (Monte Carlo over each
#   deal's true probabilities and stage times; deals still open are not counted, as in the data).
#   win_rate_all_deals: the mean true win probability of every deal at creation.
# seasonality.month_of_quarter: factors on won deals closing in months 1, 2, 3 of a fiscal
#   quarter (a share of month-1 and month-2 closes is pushed to the quarter's last 3 weeks).
# growth_per_year: multiplicative yearly growth of deal creation.
# parameters: start..end is the window (quotas, bookings); deals are also created in the
#   warmup_months before it (from first_created) so that the window opens with a pipeline.
#   as_of is the day the extract shows (end unless an earlier extract of the same world was
#   asked for); figures "at the data's end" are those observable on as_of. Quotas also run
#   to the end of the fiscal quarter holding the day after as_of (planned quotas; months after
#   end repeat each rep's last monthly quota).
# reps.<id>: win_skill = multiplier on every stage's advance odds (team factor apart, see
#   teams.<name>.win_factor); true_win_rate = win_rate restricted to the rep's deals
#   (true_win_rate_all_deals likewise); deal_size = expected mean amount; activity_level =
#   multiplier on activity rates (deal creation scales with its square root);
#   proposal_acceptance = probability a proposal is accepted; cycle_factor = multiplier on
#   time in stage; strengths / weaknesses = KPIs built to stand out from the team (the KPI's
#   driver set to the effects.strength / effects.weakness value); new_hire = hired in the last
#   6-9 months, ramping up over ramp_months (fewer deals, lower win odds, ramped quota);
#   potential = the yearly potential of the accounts the rep owns.
# accounts: a tenured rep's potential = potential_ratio x B^s x B_team^(1-s) x exp(N(0,
#   potential_noise)), B = the rep's bookings over the last four complete fiscal quarters of
#   the data (on 2026-12-14: 2025-11-01..2026-10-31, a quota plan's history), B_team the
#   team's median, s = bookings_elasticity (bookings_window: that window's first and last
#   day); log_potential_log_bookings_correlation and r_squared
#   say how much of the spread of log bookings between tenured reps potential explains
#   (within_team_correlation: the same after removing each team's mean).
#   locked_share: share of accounts locked to their owner.
"""


def write_sample(
    out_dir: str | Path, format: str = "csv", force: bool = False, **generate_kwargs: Any
) -> Path:
    """Generate the sample and write it as a dataset folder, never deleting what it did not write.

    The tables go to ``<table>.csv`` (or ``.parquet``), with ``dataset.yml`` (stages, currency,
    fiscal year, ``as_of`` = the data's end) and ``ground_truth.yml`` (the generator's true
    parameters). Where they go depends on what is at ``out_dir``:

    - nothing: everything is written into a temporary sibling folder first and renamed into
      place, so a half-written dataset never exists at ``out_dir``;
    - an empty folder, or a sample folder this generator wrote (its ``ground_truth.yml`` has a
      ``generator_version``): the sample's own files are replaced one by one (each written
      aside, then renamed; ``ground_truth.yml`` last); any other file in it is left as it is,
      and a table file of the other format (``reps.parquet`` when writing CSV) is removed so it
      cannot shadow the new one;
    - a folder holding anything else: refused, unless ``force``; then the same as above (only
      files named like the sample's are replaced);
    - a file (or anything that is not a folder): always refused.

    Parameters
    ----------
    out_dir : the dataset folder to create or refresh (``.`` is the current folder).
    format : "csv" (readable by hand) or "parquet" (for large datasets).
    force : write into a non-empty folder that is not a sample.
    **generate_kwargs : passed to :func:`generate`.

    Returns
    -------
    Path
        ``out_dir`` (absolute).

    Raises
    ------
    UnknownNameError
        When ``format`` is not csv or parquet.
    UnsafeOutputError
        When ``out_dir`` is a file, holds a folder named like one of the sample's files, or is
        a non-empty folder that is not a sample (without ``force``); nothing is written then.

    Notes
    -----
    ``ground_truth.yml`` holds the agreed keys (``seed``, ``parameters``, ``stages``,
    ``stage_conversion``, ``win_rate``, ``seasonality``, ``growth_per_year``, ``reps`` with
    ``team``, ``win_skill``, ``true_win_rate``, ``deal_size``, ``activity_level``,
    ``strengths``, ``weaknesses``, ``new_hire``) and extra ones; :data:`TRUTH_NOTES` (written at
    the top of the file) defines each of them.
    """
    if format not in _FORMATS:
        raise UnknownNameError("sample format", format, _FORMATS)
    out = Path(os.path.abspath(out_dir))
    existing = check_output_folder(out, force)
    sample = generate(**generate_kwargs)
    if existing:
        _write_into(out, sample, format)
    else:
        _write_new(out, sample, format)
    log.info("wrote sample dataset to %s", out)
    return out


#: The files a sample folder holds besides its tables.
_META_FILES = ("dataset.yml", "ground_truth.yml")


def _own_files() -> set[str]:
    """Names of the files the sample writers write (every table in either format)."""
    from spmlib.io.schema import TABLES

    return {f"{t}.{ext}" for t in TABLES for ext in _FORMATS} | set(_META_FILES)


def _own_folders() -> set[str]:
    """Names of the folders of Parquet parts a chunked sample writes (one per table)."""
    from spmlib.io.schema import TABLES

    return set(TABLES)


def is_sample_folder(path: str | Path) -> bool:
    """True when ``path`` is a folder whose ``ground_truth.yml`` was written by this generator
    (any version): :func:`write_sample` may refresh it without ``force``."""
    try:
        truth = yaml.safe_load((Path(path) / "ground_truth.yml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(truth, dict) and "generator_version" in truth


def _is_parts_folder(path: Path) -> bool:
    return path.is_dir() and all(p.is_file() and p.suffix == ".parquet" for p in path.iterdir())


def check_output_folder(out: Path, force: bool) -> bool:
    """Refuse an unsafe sample folder ``out`` (the rules of :func:`write_sample`).

    Returns True when ``out`` is an existing folder the sample may be written into, False
    when nothing is there.

    Raises
    ------
    UnsafeOutputError
        ``out`` is a file; it holds an entry named like the sample's that is not of the
        sample's kind (a folder ``reps.csv``, a file ``opportunities``, a folder
        ``opportunities`` holding more than Parquet parts); or it is a non-empty folder that is
        not a sample and ``force`` is False.
    """
    if not out.exists() and not out.is_symlink():
        return False
    if not out.is_dir():
        raise UnsafeOutputError(
            f"{out} is a file, not a folder; the sample is a folder of tables. Nothing was "
            "written: give the path of a new or empty folder."
        )
    files, folders = _own_files(), _own_folders()
    entries = sorted(p.name for p in out.iterdir())
    for name in entries:
        path = out / name
        clash = (name in files and not path.is_file()) or (
            name in folders and not _is_parts_folder(path)
        )
        if clash:
            want = "a file" if name in files else "a folder of Parquet parts"
            raise UnsafeOutputError(
                f"{path} is not what the sample writes under that name ({want}); nothing was "
                "written: rename or move it, or give another folder."
            )
    if entries and not force and not is_sample_folder(out):
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise UnsafeOutputError(
            f"{out} is not empty (it holds {shown}) and is not a sample dataset written by "
            "`spm sample`; nothing was written. Give a new or empty folder, or --force to write "
            "the sample's files (its tables, dataset.yml, ground_truth.yml) into it: entries "
            "with those names are replaced, everything else is left as it is."
        )
    return True


def move_into(tmp: Path, out: Path, written: list[str]) -> None:
    """Put the sample entries ``written`` in ``tmp`` into the existing folder ``out``: entries
    of the sample's names that were not written (the other format) are removed first, then each
    written entry replaces its namesake, ``ground_truth.yml`` last; nothing else is touched."""
    stale = (_own_files() | _own_folders()) - set(written)
    for name in sorted(stale):
        _remove(out / name)
    for name in sorted(written, key=lambda n: n == "ground_truth.yml"):
        if (out / name).is_dir():
            _remove(out / name)
        os.replace(tmp / name, out / name)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _write_files(folder: Path, sample: SampleData, format: str) -> list[str]:
    """Write every file of the sample into ``folder``; returns their names."""
    names = []
    for name, frame in sample.tables.items():
        if format == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%d")
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        names.append(f"{name}.{format}")
    (folder / "dataset.yml").write_text(yaml.safe_dump(sample.config.to_dict(), sort_keys=False))
    (folder / "ground_truth.yml").write_text(
        TRUTH_NOTES + yaml.safe_dump(sample.ground_truth, sort_keys=False, allow_unicode=True)
    )
    return [*names, *_META_FILES]


def _write_new(out: Path, sample: SampleData, format: str) -> None:
    """A new folder: written as a temporary sibling, then renamed into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        _write_files(tmp, sample, format)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_into(out: Path, sample: SampleData, format: str) -> None:
    """An existing folder: the sample's files are written aside (a hidden folder inside
    ``out``), then moved into place (:func:`move_into`)."""
    tmp = Path(tempfile.mkdtemp(prefix=".spm-sample.tmp-", dir=out))
    try:
        move_into(tmp, out, _write_files(tmp, sample, format))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_sample(out_dir: str | Path = SAMPLE_DATA_DIR, as_of: str | None = None) -> Path:
    """The default sample dataset at ``out_dir``, generated once if absent (or out of date).

    ``as_of``: the default world as an extract of that day holds it (``generate(as_of=...)``,
    e.g. the week before for "what changed since last week"); None = the world's last day.
    A folder counts as up to date when it has ``dataset.yml`` and its ``ground_truth.yml`` was
    written by this version of the generator (``generator_version``) for that day. Safe when
    several processes call it at once: they take a file lock beside the folder, the first one
    writes, the others find the finished folder.
    """
    out = Path(out_dir)
    day = str(pd.Timestamp(as_of or DEFAULT_END).date())
    if _is_current(out, day):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    lock_path = out.parent / f".{out.name}.lock"
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _is_current(out, day):
                log.info("generating the sample dataset in %s (as of %s)", out, day)
                if as_of is None:
                    write_sample(out)
                else:
                    write_sample(out, as_of=day)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return out


def _is_current(out: Path, day: str) -> bool:
    """``out`` holds a finished sample written by this version of the generator, as of ``day``."""
    if not (out / "dataset.yml").exists():
        return False
    try:
        truth = yaml.safe_load((out / "ground_truth.yml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return False
    as_of = (truth.get("parameters") or {}).get("as_of")
    return truth.get("generator_version") == GENERATOR_VERSION and as_of in (None, day)
