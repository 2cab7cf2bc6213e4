"""People and accounts by name in report tables, never by bare id.

:func:`with_rep_names` puts each rep's name beside (or in place of) the ``rep_id`` of a table;
:func:`with_account_names` turns the ``account`` column of deals into account names when the
dataset has an accounts table (there, ``opportunities.account`` holds account ids).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["with_rep_names", "with_account_names"]


def with_rep_names(frame: pd.DataFrame, reps: pd.DataFrame, replace: bool = True) -> pd.DataFrame:
    """``frame`` with ``rep_name`` from ``reps`` (the id when a rep has no name); with
    ``replace`` the name takes the place of ``rep_id``, else it is added after it.

    Examples
    --------
    >>> deals = pd.DataFrame({"opp_id": ["1", "2"], "rep_id": ["r1", "r9"]})
    >>> reps = pd.DataFrame({"rep_id": ["r1"], "rep_name": ["Ann"]})
    >>> with_rep_names(deals, reps)
      opp_id rep_name
    0      1      Ann
    1      2       r9
    """
    if "rep_id" not in frame.columns:
        return frame.copy()
    names = reps[["rep_id", "rep_name"]].astype("string").drop_duplicates("rep_id")
    out = frame.drop(columns=["rep_name"], errors="ignore").astype({"rep_id": "string"})
    out = out.merge(names, on="rep_id", how="left")
    out["rep_name"] = out["rep_name"].fillna(out["rep_id"])
    cols = [c for c in frame.columns if c != "rep_name"]
    at = cols.index("rep_id")
    cols = (
        [*cols[:at], "rep_name", *cols[at + 1 :]]
        if replace
        else [*cols[: at + 1], "rep_name", *cols[at + 1 :]]
    )
    return out[cols]


def with_account_names(frame: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its ``account`` column (account ids) replaced by the account names of
    ``accounts`` (``account_id``, ``account_name``); values not found, or no accounts table,
    stay as they are (then ``account`` already holds names).

    Examples
    --------
    >>> deals = pd.DataFrame({"opp_id": ["1", "2"], "account": ["A1", "Free text"]})
    >>> accounts = pd.DataFrame({"account_id": ["A1"], "account_name": ["O'Neil & Co"]})
    >>> with_account_names(deals, accounts)["account"].tolist()
    ["O'Neil & Co", 'Free text']
    """
    out = frame.copy()
    if "account" not in out.columns or accounts is None or accounts.empty:
        return out
    names = dict(
        zip(accounts["account_id"].astype(str), accounts["account_name"].astype(str), strict=True)
    )
    ids = out["account"].astype("string")
    out["account"] = ids.map(names).astype("string").fillna(ids)
    return out
