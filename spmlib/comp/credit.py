"""Crediting: which rep gets how much of each won deal, and when.

Rule ``bookings`` (the only one, :data:`spmlib.comp.plan.CREDIT_RULES`):

- a deal is credited on its **won date**: its ``close_date`` when it is won now; for a deal that
  was won and later reversed (its stage history enters the won stage, then another stage), the
  date it entered the won stage, and the **reversal date** is the next stage entry after it
  (else its close_date). A reversal is taken back by a clawback (:mod:`spmlib.comp.clawback`),
  never by rewriting the period the deal was credited in;
- without a ``splits`` row, the owner (``rep_id``) gets 100% of the amount;
- with ``revenue`` splits, those reps share the amount by ``share`` (shares of a deal sum to 1,
  checked by :func:`spmlib.io.validate.check_relations`), and the owner only through a row of
  their own; the cents are divided by largest remainder so the credits of a deal add up to its
  amount exactly (each rep gets ``floor(amount x share)`` cents, and the cents left go one by one
  to the largest remainders, ties to the smaller rep_id);
- ``overlay`` rows credit ``amount x share`` (half up to the cent) on top: overlay credit is
  extra, it does not reduce anyone's revenue credit.

Amounts are whole cents (:func:`spmlib.comp.money.cents_from_amounts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spmlib.comp.money import cents_from_amounts
from spmlib.core.codes import positions, sorted_codes
from spmlib.io.schema import Dataset
from spmlib.io.validate import isin

__all__ = [
    "won_deals",
    "credit_deals",
    "credit_rows",
    "CreditRows",
    "split_conservation",
    "unconserved_deals",
    "CREDIT_TYPES",
    "TYPE_ORDER",
]

#: Kinds of credit line: the owner's 100%, a revenue split share, an overlay credit.
CREDIT_TYPES = ("owner", "revenue", "overlay")
_PPM = 1_000_000  # shares are used in millionths


def won_deals(ds: Dataset) -> pd.DataFrame:
    """Every deal that was won: those won now and those won then reversed.

    Returns
    -------
    DataFrame with the opportunity columns, plus ``amount_cents`` (int64), ``won_date`` and
    ``reversed_date`` (NaT unless reversed), sorted by opp_id.

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> cfg = DatasetConfig(("Open",), "Won", "Lost")
    >>> d = pd.to_datetime
    >>> opps = pd.DataFrame({"opp_id": ["A", "B"], "rep_id": ["r", "r"], "stage": ["Won", "Lost"],
    ...     "status": ["won", "lost"], "amount": [100.0, 50.0],
    ...     "created_date": d(["2026-01-01"] * 2), "close_date": d(["2026-02-01", "2026-03-20"])})
    >>> hist = pd.DataFrame({"opp_id": ["B", "B", "B"], "stage": ["Open", "Won", "Lost"],
    ...     "entered_date": d(["2026-01-01", "2026-02-10", "2026-03-20"])})
    >>> ds = Dataset(cfg, pd.DataFrame({"rep_id": ["r"], "rep_name": ["R"], "team": ["T"]}),
    ...     opps, stage_history=hist)
    >>> won_deals(ds)[["opp_id", "amount_cents", "won_date", "reversed_date"]]
      opp_id  amount_cents   won_date reversed_date
    0      A         10000 2026-02-01           NaT
    1      B          5000 2026-02-10    2026-03-20
    """
    opp = ds.opportunities
    won = opp[opp["status"] == "won"].copy()
    won["won_date"] = won["close_date"]
    won["reversed_date"] = pd.Series(pd.NaT, index=won.index, dtype="datetime64[ns]")
    parts = [won]
    sh = ds.stage_history
    if not sh.empty:
        entries = sh[sh["stage"] == ds.config.won_stage]
        first_won = entries.groupby("opp_id")["entered_date"].min()
        others = opp[(opp["status"] != "won") & isin(opp["opp_id"], first_won.index)].copy()
        if len(others):
            others["won_date"] = others["opp_id"].map(first_won).astype("datetime64[ns]")
            later = sh[isin(sh["opp_id"], others["opp_id"]) & (sh["stage"] != ds.config.won_stage)]
            later = later.merge(others[["opp_id", "won_date"]], on="opp_id")
            later = later[later["entered_date"] >= later["won_date"]]
            reversal = later.groupby("opp_id")["entered_date"].min()
            rev = others["opp_id"].map(reversal).astype("datetime64[ns]")
            others["reversed_date"] = rev.fillna(others["close_date"]).clip(
                lower=others["won_date"]
            )
            parts.append(others)
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else won
    out["amount_cents"] = cents_from_amounts(out["amount"])
    out["won_date"] = out["won_date"].astype("datetime64[ns]")
    out["reversed_date"] = out["reversed_date"].astype("datetime64[ns]")
    return out.sort_values("opp_id", kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class CreditRows:
    """Credits as arrays, one entry per credit, in the order of :func:`credit_deals` (deal,
    type, rep): ``deal`` (row in the won deals), ``rep`` (the rep's code), ``type`` (code in
    :data:`TYPE_ORDER`), ``share`` (float) and ``cents`` (int64). Texts are attached only to
    the credits that become lines."""

    deal: np.ndarray
    rep: np.ndarray
    type: np.ndarray
    share: np.ndarray
    cents: np.ndarray


#: Credit types in the order of their names (their codes in :class:`CreditRows`).
TYPE_ORDER = tuple(sorted(CREDIT_TYPES))
_OVERLAY, _OWNER, _REVENUE = (TYPE_ORDER.index(t) for t in ("overlay", "owner", "revenue"))


def credit_rows(
    won: pd.DataFrame, owner: np.ndarray, splits: pd.DataFrame, split_rep: np.ndarray
) -> CreditRows:
    """The credits of won deals (module docstring) from integer codes.

    Parameters
    ----------
    won : the won deals (``opp_id``, ``amount_cents``), in the order of the credits' ``deal``.
    owner : each won deal's owner, as a rep code (codes sorted like the rep ids, so ties
        break as the ids do).
    splits : the splits table (``opp_id``, ``share``, ``type``: revenue or overlay); rows of
        deals not in ``won`` are left out.
    split_rep : each split row's rep, as a rep code.
    """
    at = positions(splits["opp_id"], won["opp_id"])  # -1: not one of the won deals
    hit = at >= 0
    amount = won["amount_cents"].to_numpy(dtype="int64")
    split_deal, split_rep = at[hit], np.asarray(split_rep)[hit]
    split_share = splits["share"].to_numpy(float)[hit]
    split_type = splits["type"].to_numpy(dtype=object)[hit]
    rev, over = split_type == "revenue", split_type == "overlay"
    ppm = np.round(split_share * _PPM).astype("int64")
    has_owner = np.ones(len(amount), dtype=bool)
    has_owner[split_deal[rev]] = False
    own = np.flatnonzero(has_owner)
    deals = [own, split_deal[rev], split_deal[over]]
    reps = [np.asarray(owner)[own], split_rep[rev], split_rep[over]]
    shares = [np.ones(len(own)), split_share[rev], split_share[over]]
    cents = [
        amount[own],
        _largest_remainder(amount, split_deal[rev], ppm[rev], split_rep[rev]),
        # overlay, half up: floor((2 x amount x ppm + PPM) / (2 x PPM)), amounts >= 0
        (2 * amount[split_deal[over]] * ppm[over] + _PPM) // (2 * _PPM),
    ]
    codes = [
        np.full(len(d), c, dtype="int64")
        for d, c in zip(deals, (_OWNER, _REVENUE, _OVERLAY), strict=True)
    ]
    deal, rep, typ = np.concatenate(deals), np.concatenate(reps), np.concatenate(codes)
    order = np.lexsort((rep, typ, deal))
    return CreditRows(
        deal[order].astype("int64"),
        rep[order].astype("int64"),
        typ[order],
        np.concatenate(shares).astype("float64")[order],
        np.concatenate(cents).astype("int64")[order],
    )


def credit_deals(won: pd.DataFrame, splits: pd.DataFrame) -> pd.DataFrame:
    """The credit lines of won deals (see the module docstring for the rules).

    Parameters
    ----------
    won : from :func:`won_deals` (``opp_id``, ``rep_id``, ``amount_cents``, ``won_date``,
        ``reversed_date``).
    splits : the dataset's ``splits`` table (may be empty).

    Returns
    -------
    DataFrame ``opp_id``, ``rep_id``, ``type`` (owner | revenue | overlay), ``share`` (float),
    ``credit_cents`` (int64), ``won_date``, ``reversed_date``, ``deal`` (the deal's row in
    ``won``), sorted by deal, type, rep_id.

    Examples
    --------
    >>> won = pd.DataFrame({"opp_id": ["A", "B"], "rep_id": ["r1", "r1"],
    ...     "amount_cents": [1000, 100001], "won_date": pd.to_datetime(["2026-02-01"] * 2),
    ...     "reversed_date": pd.to_datetime([None, None])})
    >>> splits = pd.DataFrame({"opp_id": ["B", "B", "B", "B"], "rep_id": ["r1", "r2", "r3", "r4"],
    ...     "share": [1/3, 1/3, 1/3, 0.5], "type": ["revenue"] * 3 + ["overlay"]})
    >>> credit_deals(won, splits)[["opp_id", "rep_id", "type", "credit_cents"]]
      opp_id rep_id     type  credit_cents
    0      A     r1    owner          1000
    1      B     r4  overlay         50001
    2      B     r1  revenue         33334
    3      B     r2  revenue         33334
    4      B     r3  revenue         33333
    """
    (owner, split_rep), names = sorted_codes(won["rep_id"], splits["rep_id"])
    rows = credit_rows(won, owner, splits, split_rep)
    out = pd.DataFrame(
        {
            "opp_id": won["opp_id"].astype("string").array.take(rows.deal),
            "rep_id": names.array.take(rows.rep),
            "type": pd.array(np.asarray(TYPE_ORDER, dtype=object)[rows.type], dtype="string"),
            "share": rows.share,
            "credit_cents": rows.cents,
            "won_date": won["won_date"].to_numpy()[rows.deal],
            "reversed_date": won["reversed_date"].to_numpy()[rows.deal],
            "deal": rows.deal,
        }
    )
    return out


def _largest_remainder(
    amount: np.ndarray, deal: np.ndarray, ppm: np.ndarray, rep: np.ndarray
) -> np.ndarray:
    """Cents of revenue split rows: floor(amount x share), plus one cent each to the largest
    remainders (ties: smaller rep code, i.e. rep_id) until the deal's credits add up to its
    amount."""
    if len(deal) == 0:
        return np.zeros(0, dtype="int64")
    codes, _ = pd.factorize(deal)
    total = np.bincount(codes, weights=ppm).astype("int64")[codes]
    exact = amount[deal] * ppm
    base, rem = exact // total, exact % total
    left = amount[deal] - np.bincount(codes, weights=base).astype("int64")[codes]
    order = np.lexsort((rep, -rem, codes))
    rank = np.empty(len(deal), dtype="int64")
    starts = np.r_[0, np.flatnonzero(np.diff(codes[order])) + 1]
    run = np.arange(len(deal)) - np.repeat(starts, np.diff(np.r_[starts, len(deal)]))
    rank[order] = run
    return base + (rank < left).astype("int64")


def unconserved_deals(rows: CreditRows, won: pd.DataFrame) -> pd.DataFrame:
    """:func:`split_conservation` of credits given as :class:`CreditRows` of ``won``."""
    amount = won["amount_cents"].to_numpy(dtype="int64")
    rev = rows.type != _OVERLAY
    total = np.bincount(rows.deal[rev], weights=rows.cents[rev], minlength=len(amount))
    bad = np.flatnonzero(total.astype("int64") != amount)
    return pd.DataFrame(
        {
            "opp_id": won["opp_id"].astype("string").array.take(bad),
            "amount_cents": amount[bad],
            "credited_cents": total[bad].astype("int64"),
        }
    )


def split_conservation(credits: pd.DataFrame, won: pd.DataFrame) -> pd.DataFrame:
    """Deals whose owner and revenue credits do not add up to their amount (should be none).

    Returns
    -------
    DataFrame ``opp_id``, ``amount_cents``, ``credited_cents`` of the offending deals.
    """
    rev = credits[credits["type"] != "overlay"]
    total = rev.groupby("opp_id")["credit_cents"].sum()
    out = won[["opp_id", "amount_cents"]].copy()
    out["credited_cents"] = out["opp_id"].map(total).fillna(0).astype("int64")
    return out[out["credited_cents"] != out["amount_cents"]].reset_index(drop=True)
