"""Compensation charts: the payout curve of a plan with a rep's point on it, and several plans'
curves side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from spmlib.reports.plotting import style
from spmlib.reports.plotting.style import chart

__all__ = ["plot_payout_curve", "plot_payout_curves"]


@chart
def plot_payout_curve(
    curve: pd.DataFrame,
    point: tuple[float, float] | None = None,
    label: str | None = None,
    currency: str = "USD",
    title: str = "Earnings by attainment",
    ax: Axes | None = None,
) -> Axes:
    """Earnings against attainment (from :func:`spmlib.comp.curve.payout_curve`), jumps drawn
    as gaps with the cliffs marked; ``point`` = (attainment, earnings) marks a rep's period,
    named ``label`` in the legend."""
    ax = style.new_axes(3.5, ax)
    x, y = curve["attainment"].to_numpy(), curve["earnings"].to_numpy()
    jumps = np.flatnonzero(curve["cliff"].to_numpy())
    breaks = np.split(np.arange(len(x)), jumps)
    for part in breaks:
        if len(part):
            ax.plot(x[part], y[part], color=style.MAIN, lw=2)
    for j in jumps:
        ax.plot([x[j], x[j]], [y[j - 1] if j else 0, y[j]], ls=":", color=style.BAD, lw=1)
        ax.annotate(
            "cliff",
            (x[j], y[j]),
            textcoords="offset points",
            xytext=(4, 4),
            color=style.BAD,
        )
    if point is not None:
        ax.scatter(
            [point[0]],
            [point[1]],
            s=60,
            color=style.ACCENT,
            zorder=3,
            label=label or "this period",
        )
        style.legend_outside(ax)
    ax.axvline(1.0, color=style.NEUTRAL, lw=0.8, ls="--")
    ax.set_xlabel("Attainment")
    ax.set_ylabel(f"Earnings ({currency})")
    style.percent_axis(ax, "x")
    style.money_axis(ax, "y", currency)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


@chart
def plot_payout_curves(curves: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Several plans' payout curves (:func:`spmlib.comp.curve.payout_curve` rows with a
    ``plan`` column): earnings as a multiple of the target incentive against attainment."""
    ax = style.new_axes(3.5, ax)
    for i, (name, c) in enumerate(curves.groupby("plan", sort=False)):
        ax.plot(c["attainment"], c["multiple"], label=str(name),
                color=style.PALETTE[i % len(style.PALETTE)])  # fmt: skip
    style.percent_axis(ax, "x")
    style.count_axis(ax, "y", whole=False)
    ax.set_xlabel("Attainment")
    ax.set_ylabel("Earnings / target incentive")
    ax.set_title("Payout curves")
    ax.grid(alpha=0.3)
    style.legend_outside(ax, title="Plan")
    return ax
