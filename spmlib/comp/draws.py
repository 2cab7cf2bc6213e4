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
from spmlib.comp.money import format_money, to_cents
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
    paid, recovered, balance, draw_c = (np.zeros(n, dtype="int64") for _ in range(4))
    owed: dict[str, int] = {}
    rows = []
    for i, seg in enumerate(segments.itertuples(index=False)):
        plan = plans[seg.plan]
        d = to_cents(seg.draw)
        b = owed.get(seg.rep_id, 0)
        p, r, b2 = draw_step(int(earned_cents[i]), d, b, plan.draw.type == "recoverable")
        owed[seg.rep_id] = b2
        paid[i], recovered[i], balance[i], draw_c[i] = p, r, b2, d
        base = {
            "seg_key": seg.seg_key,
            "period": seg.period,
            "rep_id": seg.rep_id,
            "plan": seg.plan,
            "deal": "period",
        }
        state = (
            f"earned {format_money(int(earned_cents[i]))}, draw {format_money(d)}, "
            f"balance {format_money(b)} -> {format_money(b2)}"
        )
        if p:
            kind = plan.draw.type if d else "no draw"
            rows.append(
                {
                    **base,
                    "line_key": f"{seg.seg_key}|draw|draw",
                    "kind": "draw",
                    "rule": f"draw ({kind}): top-up to the draw"
                    if d
                    else "negative earnings carried as a balance",
                    "inputs": state,
                    "amount_cents": p,
                }
            )
        if r:
            rows.append(
                {
                    **base,
                    "line_key": f"{seg.seg_key}|draw_recovery|recovery",
                    "kind": "draw_recovery",
                    "rule": "recovery of the balance from earnings above the draw",
                    "inputs": state,
                    "amount_cents": -r,
                }
            )
    lines = make_lines(pd.DataFrame(rows)) if rows else make_lines({"kind": []})
    per_seg = pd.DataFrame(
        {
            "draw_cents": draw_c,
            "draw_paid_cents": paid,
            "draw_recovered_cents": recovered,
            "draw_balance_cents": balance,
        },
        index=segments.index,
    )
    return lines, per_seg
