"""Draws: a guaranteed advance per period, and the balance a rep owes back.

For each segment in order, with E = earnings + cap + SPIFs + clawbacks of the segment, D = the
plan's draw for the segment (prorated by active days, rounded to the cent once) and B the rep's
balance (what the rep owes back; 0 at the start of the fiscal year):

- **E < D** (earnings fall short): a ``draw`` line tops pay up to D (``draw_paid = D - E``). With a
  **recoverable** draw the whole top-up is owed back: ``B += D - E``. With a **non_recoverable**
  draw (or none, D = 0) the shortfall is forgiven, except negative earnings (clawbacks larger
  than earnings), which stay owed: ``B += max(-E, 0)``.
- **E >= D**: a ``draw_recovery`` line takes back ``min(B, E - D)`` and ``B`` falls by as much, so
  pay never drops below the draw.

So a recoverable draw pays ``max(E, D)`` and later earnings above the draw repay the shortfall; a
non-recoverable one pays ``max(E, D)`` with nothing to repay; and a period never pays less than
zero before adjustments. Adjustments (manual and prior-period) are paid on top, outside the draw.
The balance starts at zero each fiscal year (a balance left at year end is shown on the last
statement of the year and not carried into the next).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from spmlib.comp.lines import make_lines
from spmlib.comp.money import format_money, half_up_cents
from spmlib.comp.plan import Plan

__all__ = ["apply_draws", "draw_step"]


def draw_step(earned: int, draw: int, balance: int, recoverable: bool) -> tuple[int, int, int]:
    """One period of the draw rules: (draw_paid, recovered, new balance), all in cents.

    Examples
    --------
    >>> draw_step(3000, 5000, 0, True)       # short by 2,000: topped up, owed back
    (2000, 0, 2000)
    >>> draw_step(8000, 5000, 2000, True)    # 3,000 above the draw repays the 2,000
    (0, 2000, 0)
    >>> draw_step(3000, 5000, 0, False)      # forgiven
    (2000, 0, 0)
    >>> draw_step(-1000, 0, 0, False)        # a clawback larger than earnings stays owed
    (1000, 0, 1000)
    """
    if earned < draw:
        paid = draw - earned
        owed = paid if recoverable else max(-earned, 0)
        return paid, 0, balance + owed
    recovered = min(balance, earned - draw)
    return 0, recovered, balance - recovered


def apply_draws(
    segments: pd.DataFrame, earned_cents: np.ndarray, plans: Mapping[str, Plan]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the draw rules over segments (sorted by rep, then time).

    Parameters
    ----------
    segments : with ``seg_key``, ``rep_id``, ``plan``, ``period``, ``draw`` (exact amount).
    earned_cents : E of each segment (earnings + cap + SPIFs + clawbacks), aligned.
    plans : plans by name.

    Returns
    -------
    (lines, per segment)
        ``draw`` and ``draw_recovery`` lines; and a frame aligned with ``segments``:
        ``draw_cents`` (D), ``draw_paid_cents``, ``draw_recovered_cents``,
        ``draw_balance_cents`` (after the segment).
    """
    n = len(segments)
    earned = np.asarray(earned_cents, dtype="int64").tolist()
    draw_c = half_up_cents(segments["draw"])
    rec = segments["plan"].map({k: p.draw.type == "recoverable" for k, p in plans.items()})
    recoverable = rec.to_numpy(dtype=bool).tolist()
    reps = segments["rep_id"].to_numpy(dtype=object)
    paid, recovered, balance, before = ([0] * n for _ in range(4))
    owed: dict[str, int] = {}
    for i, (e, d, r, rep) in enumerate(zip(earned, draw_c.tolist(), recoverable, reps,
                                           strict=True)):  # fmt: skip
        b = owed.get(rep, 0)
        paid[i], recovered[i], b2 = draw_step(e, d, b, r)
        owed[rep] = balance[i] = b2
        before[i] = b
    per_seg = pd.DataFrame(
        {
            "draw_cents": draw_c,
            "draw_paid_cents": np.asarray(paid, dtype="int64"),
            "draw_recovered_cents": np.asarray(recovered, dtype="int64"),
            "draw_balance_cents": np.asarray(balance, dtype="int64"),
        },
        index=segments.index,
    )
    types = segments["plan"].map({k: p.draw.type for k, p in plans.items()}).to_numpy(dtype=object)
    parts = []
    for kind, amounts, pick in (
        ("draw", paid, np.flatnonzero(np.asarray(paid) != 0)),
        ("draw_recovery", recovered, np.flatnonzero(np.asarray(recovered) != 0)),
    ):
        if not len(pick):
            continue
        state = [
            f"earned {format_money(earned[i])}, draw {format_money(int(draw_c[i]))}, "
            f"balance {format_money(before[i])} -> {format_money(balance[i])}"
            for i in pick
        ]
        if kind == "draw":
            rule = [
                f"draw ({types[i]}): top-up to the draw"
                if draw_c[i]
                else "negative earnings carried as a balance"
                for i in pick
            ]
            key, sign = "|draw|draw", 1
        else:
            rule, key, sign = (
                "recovery of the balance from earnings above the draw",
                ("|draw_recovery|recovery"),
                -1,
            )
        rows = segments.iloc[pick]
        parts.append(
            make_lines(
                {
                    "line_key": (rows["seg_key"] + key).to_numpy(),
                    "seg_key": rows["seg_key"].to_numpy(),
                    "period": rows["period"].to_numpy(),
                    "rep_id": rows["rep_id"].to_numpy(),
                    "plan": rows["plan"].to_numpy(),
                    "kind": kind,
                    "deal": "period",
                    "rule": rule,
                    "inputs": state,
                    "amount_cents": sign * np.asarray(amounts, dtype="int64")[pick],
                }
            )
        )
    lines = pd.concat(parts, ignore_index=True) if parts else make_lines({"kind": []})
    return lines, per_seg
