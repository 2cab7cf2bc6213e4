"""What changed between two extracts of the same CRM: deals compared by ``opp_id``.

:func:`extract_changes` lists one row per deal and change; :func:`changes_summary` counts them
per change and per rep. "This quarter" is the fiscal quarter containing the current extract's
reference date (:func:`spmlib.core.periods.period_frame`). The kinds of change
(:data:`CHANGES`, in this order):

- ``new``: in the current extract, not in the previous one;
- ``won`` / ``lost``: won (lost) now and not before, including new deals that arrive closed (so
  the won rows add up to every booking made between the two extracts);
- ``advanced`` / ``moved back``: open in both, now in a later (earlier) stage of its pipeline;
  a deal closed before and open again also counts as ``moved back``;
- ``slipped``: open in both, its expected close date was on or before the end of this quarter
  (overdue dates included) and is now after it: it moved out of the quarter;
- ``pulled in``: open in both, its expected close date was after the end of this quarter and
  is now within it;
- ``amount changed``: in both, its amount differs (by more than half a cent);
- ``newly stale``: open in both, stale now and not stale in the previous extract. Stale is
  :func:`spmlib.funnel.velocity.stale_deals`: in its current stage longer than 90% of completed
  stays in that stage; both extracts are judged against the current extract's thresholds, so a
  deal is listed because it crossed the line, not because the line moved. Needs stage history
  in both extracts (else none are listed);
- ``removed``: in the previous extract, not in the current one (deleted or merged in the CRM).

A deal can have several changes (won and amount changed); deals in both extracts with none are
not listed. The rep, team and account are the deal's current ones (the previous ones for
removed deals); the account is its name when the data has an accounts table.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spmlib.core.periods import period_frame
from spmlib.funnel.velocity import stale_deals, time_in_stage
from spmlib.io.schema import Dataset, DatasetConfig

__all__ = ["CHANGES", "CHANGE_COLUMNS", "extract_changes", "changes_summary"]

log = logging.getLogger(__name__)

#: The kinds of change, in the order they are listed.
CHANGES = (
    "new",
    "won",
    "lost",
    "advanced",
    "moved back",
    "slipped",
    "pulled in",
    "amount changed",
    "newly stale",
    "removed",
)
#: The columns of :func:`extract_changes`.
CHANGE_COLUMNS = [
    "change",
    "opp_id",
    "rep_id",
    "rep_name",
    "team",
    "account",
    "stage_before",
    "stage_after",
    "close_date_before",
    "close_date_after",
    "amount_before",
    "amount_after",
]
_SIDE = ["rep_id", "stage", "status", "close_date", "amount", "account"]


def _side(ds: Dataset) -> pd.DataFrame:
    opp = ds.opportunities
    out = pd.DataFrame(index=pd.Index(opp["opp_id"].astype("string"), name="opp_id"))
    for col in _SIDE:
        out[col] = opp[col].to_numpy() if col in opp.columns else pd.NA
    if "pipeline" in opp.columns:
        out["pipeline"] = opp["pipeline"].to_numpy()
    return out


def _ranks(side: pd.DataFrame, config: DatasetConfig) -> pd.Series:
    """Each deal's position in its pipeline's funnel (open stages 0.., won last, lost -1)."""
    if config.pipelines and "pipeline" in side.columns:
        rank = pd.Series(np.nan, index=side.index)
        for name in config.pipelines:
            rows = side["pipeline"] == name
            order = config.for_pipeline(name)
            rank[rows.fillna(False)] = side.loc[rows.fillna(False), "stage"].map(
                {s: order.stage_rank(s) for s in order.stages}
            )
        return rank
    return side["stage"].map({s: config.stage_rank(s) for s in config.stages}).astype(float)


def _stale_ids(ds: Dataset, thresholds: pd.DataFrame) -> set:
    if not ds.has_stage_history:
        return set()
    stale = stale_deals(
        ds.opportunities, ds.stage_history, config=ds.config, as_of=ds.as_of, thresholds=thresholds
    )
    return set(stale["opp_id"].astype(str))


def _names(previous: Dataset, current: Dataset) -> tuple[pd.DataFrame, pd.Series]:
    reps = pd.concat([current.reps, previous.reps]).drop_duplicates("rep_id")
    reps = reps.set_index(reps["rep_id"].astype("string"))[["rep_name", "team"]]
    accounts = pd.concat([current.accounts, previous.accounts]).drop_duplicates("account_id")
    names = accounts.set_index(accounts["account_id"].astype("string"))["account_name"]
    return reps, names


def extract_changes(previous: Dataset, current: Dataset) -> pd.DataFrame:
    """Every change between two extracts of the same CRM, one row per deal and change.

    Parameters
    ----------
    previous, current : the two extracts (same stages and fiscal calendar), the previous one
        taken first.

    Returns
    -------
    DataFrame with :data:`CHANGE_COLUMNS`: ``change`` (a name of :data:`CHANGES`), ``opp_id``,
    ``rep_id``, ``rep_name``, ``team``, ``account``, ``stage_before``, ``stage_after``,
    ``close_date_before``, ``close_date_after``, ``amount_before``, ``amount_after`` (before =
    the previous extract, after = the current one; empty on the side where the deal is
    absent). Sorted by change (in :data:`CHANGES` order), then amount (the larger of before
    and after) largest first, then ``opp_id``. Definitions in the module docstring.

    Examples
    --------
    >>> from dataclasses import replace
    >>> cfg = DatasetConfig(("Lead", "Offer"), "Won", "Lost")
    >>> reps = pd.DataFrame({"rep_id": ["r"], "rep_name": ["Ann"], "team": ["T"]})
    >>> def extract(day, stages, amounts):
    ...     opps = pd.DataFrame({"opp_id": ["1", "2"][: len(stages)], "rep_id": "r",
    ...         "created_date": pd.Timestamp("2026-01-05"),
    ...         "close_date": pd.Timestamp("2026-03-20"), "stage": stages, "amount": amounts,
    ...         "status": ["won" if s == "Won" else "open" for s in stages]})
    ...     return Dataset(replace(cfg, as_of=pd.Timestamp(day)), reps, opps)
    >>> before = extract("2026-03-01", ["Lead"], [100.0])
    >>> after = extract("2026-03-08", ["Won", "Offer"], [120.0, 50.0])
    >>> extract_changes(before, after)[["change", "opp_id", "stage_before", "stage_after"]]
               change opp_id stage_before stage_after
    0             new      2         <NA>       Offer
    1             won      1         Lead         Won
    2  amount changed      1         Lead         Won
    """
    cfg = current.config
    this = period_frame(current.as_of, "quarter", cfg.fiscal_year_start_month)
    before, after = _side(previous), _side(current)
    ids = before.index.union(after.index)
    b, a = before.reindex(ids), after.reindex(ids)
    in_b, in_a = ids.isin(before.index), ids.isin(after.index)
    both = in_b & in_a
    open_b = (b["status"] == "open").fillna(False).to_numpy(dtype=bool)
    open_a = (a["status"] == "open").fillna(False).to_numpy(dtype=bool)
    still_open = both & open_b & open_a
    rank_b, rank_a = _ranks(b, previous.config).to_numpy(), _ranks(a, cfg).to_numpy()
    due_b = (b["close_date"] <= this.end).fillna(False).to_numpy(dtype=bool)
    due_a = (a["close_date"] <= this.end).fillna(False).to_numpy(dtype=bool)
    amount_b, amount_a = b["amount"].to_numpy(float), a["amount"].to_numpy(float)
    moved = np.abs(np.nan_to_num(amount_a) - np.nan_to_num(amount_b)) > 0.005
    stale_now, stale_then = set(), set()
    if current.has_stage_history and previous.has_stage_history:
        thresholds = time_in_stage(
            current.opportunities, current.stage_history, config=cfg, as_of=current.as_of
        )
        stale_now = _stale_ids(current, thresholds)
        stale_then = _stale_ids(previous, thresholds)
    key = ids.astype(str)
    kinds = {
        "new": in_a & ~in_b,
        "won": in_a & (a["status"] == "won").fillna(False).to_numpy(dtype=bool)
        & ~(b["status"] == "won").fillna(False).to_numpy(dtype=bool),
        "lost": in_a & (a["status"] == "lost").fillna(False).to_numpy(dtype=bool)
        & ~(b["status"] == "lost").fillna(False).to_numpy(dtype=bool),
        "advanced": still_open & (rank_a > rank_b),
        "moved back": (still_open & (rank_a < rank_b)) | (both & ~open_b & open_a),
        "slipped": still_open & due_b & ~due_a,
        "pulled in": still_open & ~due_b & due_a,
        "amount changed": both & moved,
        "newly stale": still_open & key.isin(stale_now) & ~key.isin(stale_then),
        "removed": in_b & ~in_a,
    }  # fmt: skip
    reps, accounts = _names(previous, current)
    owner = a["rep_id"].where(in_a, b["rep_id"]).astype("string")
    account = a["account"].where(in_a, b["account"]).astype("string")
    account = account.map(accounts).astype("string").fillna(account)
    base = pd.DataFrame(
        {
            "opp_id": ids.astype("string"),
            "rep_id": owner.to_numpy(),
            "rep_name": owner.map(reps["rep_name"]).astype("string").to_numpy(),
            "team": owner.map(reps["team"]).astype("string").to_numpy(),
            "account": account.to_numpy(),
            "stage_before": b["stage"].astype("string").to_numpy(),
            "stage_after": a["stage"].astype("string").to_numpy(),
            "close_date_before": pd.to_datetime(b["close_date"]).to_numpy(),
            "close_date_after": pd.to_datetime(a["close_date"]).to_numpy(),
            "amount_before": amount_b,
            "amount_after": amount_a,
        }
    )
    parts = [base[mask].assign(change=name) for name, mask in kinds.items()]
    out = pd.concat(parts, ignore_index=True)
    out["_order"] = out["change"].map({c: i for i, c in enumerate(CHANGES)})
    out["_size"] = out[["amount_before", "amount_after"]].max(axis=1).fillna(0.0)
    out = out.sort_values(["_order", "_size", "opp_id"], ascending=[True, False, True])
    out["change"] = out["change"].astype("string")
    for col in ("rep_id", "rep_name", "team", "account", "stage_before", "stage_after"):
        out[col] = out[col].astype("string")
    log.info("%d changes between %s and %s", len(out), previous.as_of.date(), current.as_of.date())
    return out[CHANGE_COLUMNS].reset_index(drop=True)


def changes_summary(changes: pd.DataFrame) -> pd.DataFrame:
    """Count and amount of each kind of change, in total and per rep.

    Parameters
    ----------
    changes : :func:`extract_changes` (possibly filtered to a team or a rep).

    Returns
    -------
    DataFrame ``level`` ("all" for the totals, "rep" per rep), ``rep_id``, ``rep_name``,
    ``team`` (empty on the totals), ``change``, ``deals`` (deals with that change),
    ``amount`` (their amounts now; before, for removed deals) and ``amount_change`` (the sum of
    amount now - amount before, a missing side counting 0: new deals add their amount,
    removed deals subtract theirs, re-quoted deals their difference). The totals list every
    kind of :data:`CHANGES` in order (0 when none); rep rows only the kinds a rep has, reps by
    name.

    Examples
    --------
    >>> ch = pd.DataFrame({"change": ["won", "won", "removed"], "opp_id": ["1", "2", "3"],
    ...     "rep_id": ["a", "b", "a"], "rep_name": ["Ann", "Bo", "Ann"], "team": "T",
    ...     "amount_before": [np.nan, 10.0, 5.0], "amount_after": [20.0, 10.0, np.nan]})
    >>> s = changes_summary(ch)
    >>> s.loc[s["level"] == "all", ["change", "deals", "amount"]].head(3)
      change  deals  amount
    0    new      0     0.0
    1    won      2    30.0
    2   lost      0     0.0
    """
    amount = changes["amount_after"].where(changes["change"] != "removed", changes["amount_before"])
    delta = changes["amount_after"].fillna(0.0) - changes["amount_before"].fillna(0.0)
    frame = changes.assign(_amount=amount.fillna(0.0), _delta=delta)
    totals = (
        frame.groupby("change")
        .agg(deals=("opp_id", "size"), amount=("_amount", "sum"), amount_change=("_delta", "sum"))
        .reindex(list(CHANGES), fill_value=0)
        .reset_index()
    )
    totals.insert(0, "level", "all")
    for col in ("rep_id", "rep_name", "team"):
        empty = pd.Series(pd.NA, index=totals.index, dtype="string")
        totals.insert(totals.columns.get_loc("change"), col, empty)
    keys = ["rep_id", "rep_name", "team", "change"]
    per_rep = (
        frame.groupby(keys, dropna=False)
        .agg(deals=("opp_id", "size"), amount=("_amount", "sum"), amount_change=("_delta", "sum"))
        .reset_index()
    )
    per_rep["_order"] = per_rep["change"].map({c: i for i, c in enumerate(CHANGES)})
    per_rep = per_rep.sort_values(["rep_name", "rep_id", "_order"]).drop(columns="_order")
    per_rep.insert(0, "level", "rep")
    for col in ("rep_id", "rep_name", "team"):
        per_rep[col] = per_rep[col].astype("string")
    out = pd.concat([totals, per_rep], ignore_index=True) if len(per_rep) else totals
    for col in ("level", "rep_id", "rep_name", "team", "change"):
        out[col] = out[col].astype("string")
    out["deals"] = out["deals"].astype("int64")
    out[["amount", "amount_change"]] = out[["amount", "amount_change"]].astype("float64")
    return out
