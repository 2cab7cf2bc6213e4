"""The payout curve of a plan: earnings against attainment, with its cliffs flagged.

:func:`payout_curve` samples the rate table from 0 to ``upto`` (250% by default) and adds a point
on each side of every tier edge and threshold, so a plot shows jumps as jumps. Earnings are
``multiple x TI`` (:func:`spmlib.comp.rates.earnings_multiple`); a row is flagged ``cliff`` at the
attainments :func:`spmlib.comp.rates.cliffs` lists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spmlib.comp.plan import Plan
from spmlib.comp.rates import cliffs, earnings_multiple

__all__ = ["payout_curve", "curve_table"]


def payout_curve(plan: Plan, upto: float = 2.5, points: int = 251) -> pd.DataFrame:
    """Earnings against attainment for the plan's rate table at its target incentive.

    Returns
    -------
    DataFrame ``attainment``, ``multiple`` (earnings / TI), ``earnings`` (currency units at the
    plan's TI), ``cliff`` (True at an attainment where pay jumps), sorted by attainment.

    Examples
    --------
    >>> from spmlib.comp.plan import parse_plan
    >>> plan = parse_plan({"plan": "P", "currency": "USD", "period": "quarter",
    ...     "credit": "bookings", "target_incentive": 1000, "rate_table": {"type": "retroactive",
    ...     "tiers": [{"from": 0, "to": 1, "multiplier": 1}, {"from": 1, "multiplier": 2}]}})
    >>> c = payout_curve(plan, upto=2, points=5)
    >>> c[c["cliff"]][["attainment", "earnings"]].to_dict("records")
    [{'attainment': 1.0, 'earnings': 2000.0}]
    """
    table = plan.rate_table
    edges = [float(t.start) for t in table.tiers[1:]] + [float(table.threshold)]
    grid = np.linspace(0.0, upto, points)
    near = [np.nextafter(e, -np.inf) for e in edges if 0 < e <= upto]
    x = np.unique(np.concatenate([grid, near, [e for e in edges if 0 <= e <= upto]]))
    multiple = earnings_multiple(table, x)
    jumps = set(cliffs(table)["attainment"])
    return pd.DataFrame(
        {
            "attainment": x,
            "multiple": multiple,
            "earnings": multiple * float(plan.target_incentive),
            "cliff": [v in jumps for v in x],
        }
    )


def curve_table(plan: Plan, step: float = 0.1, upto: float = 2.5) -> pd.DataFrame:
    """The curve at every ``step`` of attainment and at every edge, for printing: columns
    ``attainment``, ``multiple``, ``earnings``, ``note`` (the cliff and its jump, the cap, the
    threshold).

    Examples
    --------
    >>> from spmlib.comp.plan import parse_plan
    >>> plan = parse_plan({"plan": "P", "currency": "USD", "period": "quarter",
    ...     "credit": "bookings", "target_incentive": 1000, "rate_table": {"type": "graduated",
    ...     "threshold": 0.5, "tiers": [{"from": 0, "multiplier": 1}], "cap": 1.2}})
    >>> curve_table(plan, step=0.5, upto=1.5)[["attainment", "earnings", "note"]]
       attainment  earnings                                     note
    0         0.0       0.0
    1         0.5     500.0  cliff: threshold, pay jumps by 0.5 x TI
    2         1.0    1000.0
    3         1.5    1200.0                                   capped
    """
    table = plan.rate_table
    cl = cliffs(table).set_index("attainment")
    edges = [float(t.start) for t in table.tiers] + [float(table.threshold)]
    x = np.unique(np.round(np.concatenate([np.arange(0, upto + step / 2, step), edges]), 10))
    x = x[x <= upto + 1e-12]
    multiple = np.round(earnings_multiple(table, x), 10)
    notes = []
    for a, m in zip(x, multiple, strict=True):
        note = ""
        if a in cl.index:
            note = f"cliff: {cl.loc[a, 'kind']}, pay jumps by {cl.loc[a, 'jump']:g} x TI"
        elif table.cap is not None and np.isclose(m, float(table.cap)) and a > 0:
            note = "capped"
        notes.append(note)
    return pd.DataFrame(
        {
            "attainment": x,
            "multiple": multiple,
            "earnings": np.round(multiple * float(plan.target_incentive), 2),
            "note": pd.Series(notes, dtype="string"),
        }
    )
