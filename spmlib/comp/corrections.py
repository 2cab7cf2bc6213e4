"""Prior-period adjustments: a paid period is never rewritten; its changes are paid later.

When a run recomputes a period that was already paid (its draw balances feed the open period),
each paying line is compared with what was paid for it: the line of the run that paid the period
plus every prior-period adjustment to it paid since. A difference becomes a
``prior_period_adjustment`` line in the run's open period for the same rep, referencing the
original line (``ref_run``, ``ref_period``, ``ref_line_key``) and saying why (``reason``). So every
statement ever sent stays reproducible from its own run, and the pay of the period as it should
have been is what has been paid in total.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spmlib.comp.lines import make_lines, sort_order
from spmlib.comp.money import format_money
from spmlib.io.validate import isin

__all__ = ["effective_paid_lines", "prior_period_adjustments"]


def effective_paid_lines(paid_runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """What has been paid per original line: each paid run's paying lines, with prior-period
    adjustments folded onto the line they adjust.

    Parameters
    ----------
    paid_runs : run id -> that run's lines.

    Returns
    -------
    DataFrame ``line_key``, ``period``, ``rep_id``, ``kind``, ``deal``, ``seg_key`` (of the
    original line, when there was one) and ``amount_cents`` (total paid for it).
    """
    cols = ["line_key", "period", "rep_id", "kind", "deal", "seg_key"]
    parts = []
    for lines in paid_runs.values():
        pays = lines[lines["pays"]]
        ppa = pays["kind"] == "prior_period_adjustment"
        parts.append(pays.loc[~ppa, [*cols, "amount_cents"]].assign(_own=0))
        moved = pays[ppa].assign(
            line_key=pays.loc[ppa, "ref_line_key"],
            period=pays.loc[ppa, "ref_period"],
            seg_key=pd.NA,
        )
        parts.append(moved[[*cols, "amount_cents"]].assign(_own=1))
    parts = [p for p in parts if len(p)]  # empty frames would blur the concatenated dtypes
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in cols}).assign(
            amount_cents=pd.Series(dtype="int64")
        )
    allp = pd.concat(parts, ignore_index=True)
    allp = allp.take(sort_order(allp["line_key"], allp["_own"].to_numpy()))
    starts, total = _sums_by_key(allp["line_key"], allp["amount_cents"].to_numpy())
    # the first row of each key is its original line when there is one (_own = 0 sorts first)
    out = allp.iloc[starts][cols].reset_index(drop=True)
    return out.assign(amount_cents=total)


def _sums_by_key(keys: pd.Series, amounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows sorted by ``keys``: the first row of each key and the sum of its ``amounts``
    (int64, exact)."""
    if len(keys) == 0:
        return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64")
    k = pa.array(keys.array)
    new = np.asarray(pc.not_equal(k[1:], k[:-1]).fill_null(True), dtype=bool)
    starts = np.flatnonzero(np.r_[True, new])
    return starts, np.add.reduceat(np.asarray(amounts, dtype="int64"), starts)


def prior_period_adjustments(
    recomputed: pd.DataFrame,
    paid: pd.DataFrame,
    landing: pd.DataFrame,
    paid_statements: pd.DataFrame,
    new_statements: pd.DataFrame,
    period_runs: dict[str, str],
) -> pd.DataFrame:
    """The prior-period adjustment lines (see the module docstring).

    Parameters
    ----------
    recomputed : the paying lines of the paid periods as worked out now.
    paid : :func:`effective_paid_lines` of those periods.
    landing : per ``rep_id``, the ``seg_key``, ``period`` and ``plan`` of the open segment the
        adjustments go to.
    paid_statements, new_statements : statements (``seg_key``, ``credited_cents``,
        ``quota_cents``) as paid and as recomputed, to say why earnings changed.
    period_runs : paid period -> the run that paid it (the lines' ``ref_run``).

    Returns
    -------
    DataFrame of ``prior_period_adjustment`` lines (see :mod:`spmlib.comp.lines`).
    """
    pays = recomputed[recomputed["pays"].to_numpy(dtype=bool)]
    both = pd.DataFrame(
        {
            "line_key": pd.concat([pays["line_key"], paid["line_key"]], ignore_index=True),
            # what should have been paid, minus what was: one sort of the keys, no join
            "cents": np.r_[pays["amount_cents"].to_numpy(), -paid["amount_cents"].to_numpy()],
        }
    )
    both = both.take(sort_order(both["line_key"]))
    starts, sums = _sums_by_key(both["line_key"], both["cents"].to_numpy())
    changed = sums != 0
    if not changed.any():
        return make_lines({"kind": []})
    keys = both["line_key"].iloc[starts[changed]].reset_index(drop=True)
    delta = pd.Series(sums[changed], index=pd.Index(keys))
    now = pays[isin(pays["line_key"], keys)].groupby("line_key")["amount_cents"].sum()
    then = paid[isin(paid["line_key"], keys)].set_index("line_key")["amount_cents"]
    info = pd.concat(
        [
            recomputed[isin(recomputed["line_key"], keys)]
            .drop_duplicates("line_key")
            .set_index("line_key"),
            paid[isin(paid["line_key"], keys)].set_index("line_key").drop(columns="amount_cents"),
        ]
    )
    info = info[~info.index.duplicated()].reindex(delta.index)
    land = landing.set_index("rep_id")
    why_then = paid_statements.set_index("seg_key")
    why_now = new_statements.set_index("seg_key")
    rows = []
    for key, change in delta.items():
        src = info.loc[key]
        target = land.loc[src["rep_id"]]
        old, new = int(then.get(key, 0)), int(now.get(key, 0))
        reason = (
            f"{src['period']} {src['kind']} {src['deal']}: paid {format_money(old)}, "
            f"now {format_money(new)}"
        )
        seg = src["seg_key"]
        if src["kind"] in ("earnings", "cap") and seg in why_then.index and seg in why_now.index:
            a, b = why_then.loc[seg], why_now.loc[seg]
            reason += (
                f" (credited {format_money(a['credited_cents'])} -> "
                f"{format_money(b['credited_cents'])}, quota {format_money(a['quota_cents'])} "
                f"-> {format_money(b['quota_cents'])})"
            )
        rows.append(
            {
                "line_key": f"{target['seg_key']}|prior_period_adjustment|{key}",
                "seg_key": target["seg_key"],
                "period": target["period"],
                "rep_id": src["rep_id"],
                "plan": target["plan"],
                "kind": "prior_period_adjustment",
                "deal": src["deal"],
                "rule": f"prior-period adjustment of {src['kind']} in {src['period']}",
                "inputs": f"paid {format_money(old)} in run {period_runs[src['period']]}, "
                f"recomputed {format_money(new)}",
                "amount_cents": int(change),
                "ref_run": period_runs[src["period"]],
                "ref_period": src["period"],
                "ref_line_key": key,
                "reason": reason,
            }
        )
    return make_lines(pd.DataFrame(rows))
