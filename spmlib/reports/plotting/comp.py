"""Compensation charts: the payout curve of a plan, with a rep's point on it."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

__all__ = ["plot_payout_curve"]


def plot_payout_curve(
    curve: pd.DataFrame,
    point: tuple[float, float] | None = None,
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Earnings against attainment (from :func:`spmlib.comp.curve.payout_curve`), jumps drawn
    as gaps with the cliffs marked; ``point`` = (attainment, earnings) marks a rep's period."""
    if ax is None:
        _fig, ax = plt.subplots(figsize=(7, 3.5))
    x, y = curve["attainment"].to_numpy(), curve["earnings"].to_numpy()
    jumps = np.flatnonzero(curve["cliff"].to_numpy())
    breaks = np.split(np.arange(len(x)), jumps)
    for part in breaks:
        if len(part):
            ax.plot(x[part], y[part], color="#1f4e79", lw=2)
    for j in jumps:
        ax.plot([x[j], x[j]], [y[j - 1] if j else 0, y[j]], ls=":", color="#c00000", lw=1)
        ax.annotate(
            "cliff",
            (x[j], y[j]),
            textcoords="offset points",
            xytext=(4, 4),
            color="#c00000",
            fontsize=8,
        )
    if point is not None:
        ax.scatter(
            [point[0]], [point[1]], s=60, color="#e36c09", zorder=3, label=label or "this period"
        )
        ax.legend(loc="upper left", frameon=False)
    ax.axvline(1.0, color="#999999", lw=0.8, ls="--")
    ax.set_xlabel("attainment")
    ax.set_ylabel("earnings")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: f"{v:.0%}"))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    ax.grid(alpha=0.3)
    return ax
