"""The computation of pay over a chain of plan periods: inputs in, lines and statements out.

:func:`compute` works out every segment (:mod:`spmlib.comp.segments`) of the plan periods ending
in [chain_start, end]: credits (:mod:`.credit`) attached to the segment holding their won date,
earnings and cap (:mod:`.rates`), SPIFs, clawbacks (:mod:`.clawback`), manual adjustments, then
draws in time order (:mod:`.draws`). Periods ending up to the longest clawback window before
``chain_start`` are worked out too, but only to know what a deal reversed later paid.

A **statement** is one row per segment: ``credited`` (sum of its credit lines), ``quota``,
``attainment`` = credited / quota, ``earnings`` (earnings + cap lines), ``spifs``, ``clawbacks``,
``draw_paid``, ``draw_recovered``, ``draw_balance`` (after the period), ``adjustments`` (manual and
prior-period) and ``payout`` = earnings + spifs + clawbacks + draw_paid - draw_recovered +
adjustments, computed from the rule outcomes and checked against the sum of its paying lines
(:mod:`spmlib.comp.checks`). Money columns are int64 cents (``*_cents``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from spmlib.comp.clawback import clawback_lines
from spmlib.comp.credit import TYPE_ORDER, CreditRows, credit_rows, unconserved_deals, won_deals
from spmlib.comp.draws import apply_draws
from spmlib.comp.inputs import (
    ADJUSTMENTS_FILE,
    ASSIGNMENTS_FILE,
    read_adjustments,
    read_assignments,
)
from spmlib.comp.lines import (
    adjustment_lines,
    attach_to_segments,
    credit_lines,
    earnings_lines,
    make_lines,
    seg_keys,
    spif_lines,
)
from spmlib.comp.money import half_up_cents
from spmlib.comp.plan import Plan, load_plans, plans_hash
from spmlib.comp.segments import build_segments
from spmlib.core.codes import sorted_codes
from spmlib.exceptions import PlanError
from spmlib.io.schema import Dataset
from spmlib.io.snapshot import data_fingerprint
from spmlib.io.validate import isin

__all__ = ["CompInputs", "Computation", "load_inputs", "compute", "STATEMENT_COLUMNS"]

log = logging.getLogger(__name__)

STATEMENT_COLUMNS = [
    "seg_key",
    "rep_id",
    "rep_name",
    "team",
    "manager",
    "plan",
    "period",
    "period_start",
    "period_end",
    "active_start",
    "active_end",
    "active_days",
    "period_days",
    "currency",
    "target_incentive_cents",
    "quota_cents",
    "credited_cents",
    "attainment",
    "earnings_cents",
    "spifs_cents",
    "clawbacks_cents",
    "draw_cents",
    "draw_paid_cents",
    "draw_recovered_cents",
    "draw_balance_cents",
    "adjustments_cents",
    "payout_cents",
]


@dataclass(frozen=True)
class CompInputs:
    """Everything a run reads: the dataset, the plans, assignments and manual adjustments, and
    the hashes that identify them."""

    dataset: Dataset
    plans: dict[str, Plan]
    assignments: pd.DataFrame
    adjustments: pd.DataFrame
    hashes: dict[str, str] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        return self.dataset.config.currency

    @cached_property
    def won(self) -> pd.DataFrame:
        """:func:`~spmlib.comp.credit.won_deals` of the dataset, worked out once per inputs (a
        year of monthly runs reads the same deals; callers never change the frame)."""
        return won_deals(self.dataset)

    @cached_property
    def fingerprint(self) -> str:
        """:func:`~spmlib.io.snapshot.data_fingerprint` of the dataset, hashed once per inputs."""
        return data_fingerprint(self.dataset)


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def load_inputs(ds: Dataset, plans_dir: str | Path) -> CompInputs:
    """Read and check the plans, ``assignments.csv`` and ``adjustments.csv`` of ``plans_dir``.

    Raises
    ------
    PlanError
        On a schema problem in any of them, or a plan whose currency is not the dataset's.
    MissingFileError
        When the folder, a plan file or the assignments are missing.
    """
    folder = Path(plans_dir)
    plans = load_plans(folder)
    for plan in plans.values():
        if plan.currency != ds.config.currency:
            msg = f"{plan.currency} is not the dataset's currency {ds.config.currency}"
            raise PlanError(plan.file, [("currency", msg)])
    rep_ids = ds.reps["rep_id"].astype(str)
    assignments = read_assignments(folder / ASSIGNMENTS_FILE, plans, rep_ids)
    adjustments = read_adjustments(
        folder / ADJUSTMENTS_FILE, ds.config.fiscal_year_start_month, rep_ids
    )
    hashes = {
        "plans": plans_hash(plans),
        "assignments": _sha(folder / ASSIGNMENTS_FILE),
        "adjustments": _sha(folder / ADJUSTMENTS_FILE),
    }
    return CompInputs(ds, plans, assignments, adjustments, hashes)


@dataclass
class Computation:
    """The outcome of :func:`compute`: statements (one row per segment of the chain), their
    lines, and the deals whose revenue credits do not add up (empty when conserved)."""

    statements: pd.DataFrame
    lines: pd.DataFrame
    conservation: pd.DataFrame


def compute(
    inputs: CompInputs,
    chain_start: pd.Timestamp,
    end: pd.Timestamp,
    paid_periods: list[str] | tuple[str, ...] = (),
) -> Computation:
    """Work out pay for the plan periods ending in [chain_start, end] (module docstring).

    Draw balances start at zero at ``chain_start``. Credit lines (information only) are left out
    for ``paid_periods`` (their statements were sent already; only their paying lines are
    compared).

    Reps and deals are integer codes while credits are worked out and attached to segments
    (rep codes sorted like the rep ids); texts are made only for the credits that become lines.
    """
    ds, plans = inputs.dataset, inputs.plans
    fy = ds.config.fiscal_year_start_month
    windows = [p.clawback.window_days for p in plans.values() if p.clawback is not None]
    context_start = chain_start - pd.Timedelta(days=max(windows, default=0))
    segs = build_segments(inputs.assignments, plans, ds.quotas, context_start, end, fy)
    segs["seg_key"] = seg_keys(segs) if len(segs) else pd.Series(dtype="string")
    in_chain = (segs["period_end"] >= chain_start).to_numpy(dtype=bool)
    won = inputs.won
    first = segs["active_start"].min() if len(segs) else end
    won = won[(won["won_date"] >= first) & (won["won_date"] <= end)].reset_index(drop=True)
    credits, rows = _credits(ds, won, segs, in_chain)
    segs["credited_cents"] = (
        np.bincount(credits["seg"][credits["seg"] >= 0], weights=rows.cents[credits["seg"] >= 0],
                    minlength=len(segs)).astype("int64")
        if len(segs)
        else np.zeros(0, "int64")
    )  # fmt: skip
    detailed = in_chain & ~isin(segs["period"], list(paid_periods)).to_numpy(dtype=bool)
    seg_of = credits["seg"].to_numpy()
    shown = (seg_of >= 0) & detailed[np.maximum(seg_of, 0)]
    credit = credit_lines(credits.iloc[np.flatnonzero(shown)], segs)
    earned = earnings_lines(segs, plans)
    spifs = spif_lines(credits, won, segs, plans)
    reversed_ = credits["reversed_date"].notna().to_numpy(dtype=bool) & (seg_of >= 0)
    claws = clawback_lines(
        credits.iloc[np.flatnonzero(reversed_)], segs, pd.concat([earned, spifs]), plans
    )
    adjust = _adjustments(inputs, segs[in_chain])
    chain = segs[in_chain].reset_index(drop=True)
    chain_keys = chain["seg_key"]
    lines = pd.concat(
        [credit, *(f[isin(f["seg_key"], chain_keys)] for f in (earned, spifs, claws)), adjust],
        ignore_index=True,
    )
    sums = _sums(lines, chain_keys)
    e = sums["earnings"] + sums["cap"] + sums["spif"] + sums["clawback"]
    draw_lines, draws = apply_draws(chain, e.to_numpy(), plans)
    lines = pd.concat([lines, draw_lines], ignore_index=True)
    statements = _statements(inputs, chain, sums, draws)
    return Computation(statements, make_lines(lines), unconserved_deals(rows, won))


def _credits(
    ds: Dataset, won: pd.DataFrame, segs: pd.DataFrame, in_chain: np.ndarray
) -> tuple[pd.DataFrame, CreditRows]:
    """The credits of the won deals (:func:`spmlib.comp.credit.credit_rows`, on rep codes),
    each attached to the segment holding its won date (``seg``) and, for a reversed deal, to
    the chain segment holding the reversal date (``rev_seg``); -1 when none."""
    splits = ds.splits
    (owner, seg_rep, split_rep), names = sorted_codes(
        won["rep_id"], segs["rep_id"], splits["rep_id"]
    )
    rows = credit_rows(won, owner, splits, split_rep)  # splits of won deals in the range
    won_day = won["won_date"].to_numpy(dtype="datetime64[D]")[rows.deal]
    rev_day = won["reversed_date"].to_numpy(dtype="datetime64[D]")[rows.deal]
    start = segs["active_start"].to_numpy(dtype="datetime64[D]")
    stop = segs["active_end"].to_numpy(dtype="datetime64[D]")
    seg = attach_to_segments(rows.rep, won_day, seg_rep, start, stop)
    rev = attach_to_segments(rows.rep, rev_day, seg_rep, start, stop)
    rev = np.where((rev >= 0) & in_chain[np.maximum(rev, 0)], rev, -1)
    _log_unassigned(seg, rows.rep)
    credits = pd.DataFrame(
        {
            "opp_id": won["opp_id"].astype("string").array.take(rows.deal),
            "rep_id": names.array.take(np.maximum(rows.rep, 0)),
            "type": pd.array(np.asarray(TYPE_ORDER, dtype=object)[rows.type], dtype="string"),
            "share": rows.share,
            "credit_cents": rows.cents,
            "amount_cents": won["amount_cents"].to_numpy(dtype="int64")[rows.deal],
            "won_date": won["won_date"].to_numpy()[rows.deal],
            "reversed_date": won["reversed_date"].to_numpy()[rows.deal],
            "deal": rows.deal,
            "seg": seg,
            "rev_seg": rev,
        }
    )
    return credits, rows


def _log_unassigned(seg: np.ndarray, rep: np.ndarray) -> None:
    lost = seg < 0
    if lost.any():
        log.info(
            "%d credit(s) of %d rep(s) fall on days without a plan assignment and pay nothing",
            int(lost.sum()),
            len(np.unique(rep[lost])),
        )


def _adjustments(inputs: CompInputs, chain: pd.DataFrame) -> pd.DataFrame:
    adj = inputs.adjustments
    adj = adj[isin(adj["period"], chain["period"])]
    try:
        return adjustment_lines(adj, chain)
    except ValueError as exc:
        raise PlanError(ADJUSTMENTS_FILE, [("rep_id", str(exc))]) from None


def _sums(lines: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    """Cents per segment and line kind (0 where none), aligned with ``keys``."""
    table = lines.pivot_table(
        index="seg_key", columns="kind", values="amount_cents", aggfunc="sum", fill_value=0
    )
    kinds = ["credit", "earnings", "cap", "spif", "clawback", "adjustment"]
    table = table.reindex(index=keys.to_numpy(), columns=kinds, fill_value=0).fillna(0)
    return table.astype("int64").reset_index(drop=True)


def _statements(
    inputs: CompInputs, chain: pd.DataFrame, sums: pd.DataFrame, draws: pd.DataFrame
) -> pd.DataFrame:
    reps = inputs.dataset.reps.set_index("rep_id")
    st = chain[
        [
            "seg_key",
            "rep_id",
            "plan",
            "period",
            "period_start",
            "period_end",
            "active_start",
            "active_end",
            "active_days",
            "period_days",
        ]
    ].copy()
    for col in ("rep_name", "team", "manager"):
        values = reps[col] if col in reps.columns else pd.Series(dtype="string")
        st[col] = st["rep_id"].map(values).astype("string")
    st["currency"] = inputs.currency
    st["target_incentive_cents"] = half_up_cents(chain["ti"])
    st["quota_cents"] = half_up_cents(chain["quota"])
    st["credited_cents"] = chain["credited_cents"].to_numpy()
    # credited / quota as the correctly rounded float of the exact ratio (int / int)
    st["attainment"] = [
        c * q.denominator / (100 * q.numerator)
        for c, q in zip(st["credited_cents"].tolist(), chain["quota"], strict=True)
    ]
    st["earnings_cents"] = (sums["earnings"] + sums["cap"]).to_numpy()
    st["spifs_cents"] = sums["spif"].to_numpy()
    st["clawbacks_cents"] = sums["clawback"].to_numpy()
    for col in draws.columns:
        st[col] = draws[col].to_numpy()
    st["adjustments_cents"] = sums["adjustment"].to_numpy()
    st["payout_cents"] = (
        st["earnings_cents"]
        + st["spifs_cents"]
        + st["clawbacks_cents"]
        + st["draw_paid_cents"]
        - st["draw_recovered_cents"]
        + st["adjustments_cents"]
    )
    for col in STATEMENT_COLUMNS:
        if col.endswith("_cents") or col in ("active_days", "period_days"):
            st[col] = st[col].astype("int64")
    return st[STATEMENT_COLUMNS].reset_index(drop=True)
