"""Charts of quota and territory planning.

Each ``plot_*`` takes a compute function's output and ``ax=None`` and returns the Axes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from spmlib.reports.plotting import style
from spmlib.reports.plotting.style import chart

__all__ = [
    "plot_quota_vs_potential",
    "plot_simulated_attainment",
    "plot_territory_balance",
    "plot_tradeoff",
]


@chart
def plot_quota_vs_potential(
    reps: pd.DataFrame, currency: str = "USD", ax: Axes | None = None
) -> Axes:
    """Each rep's yearly quota against the potential of their accounts, one colour per team.

    ``reps``: rows of :attr:`spmlib.planning.allocation.QuotaPlan.reps` (``potential``,
    ``quota``, ``team``). The dashed line is the overall quota per unit of potential: a rep
    above it carries more quota than their territory's share.
    """
    ax = style.new_axes(4.5, ax)
    rows = reps[reps["potential"].gt(0) & reps["quota"].gt(0)]
    if rows.empty:
        ax.set_title("Quota against potential: no rep with accounts")
        return ax
    for i, (team, g) in enumerate(rows.groupby("team")):
        ax.scatter(g["potential"], g["quota"], label=str(team), alpha=0.8,
                   color=style.PALETTE[i % len(style.PALETTE)])  # fmt: skip
    ratio = rows["quota"].sum() / rows["potential"].sum()
    top = float(rows["potential"].max()) * 1.05
    ax.plot([0, top], [0, ratio * top], color="#333333", linestyle="--", linewidth=1,
            label=f"{ratio:.2f}× potential (overall)")  # fmt: skip
    style.money_axis(ax, "x", currency)
    style.money_axis(ax, "y", currency)
    ax.set_xlabel(f"Territory potential ({currency} a year)")
    ax.set_ylabel(f"Yearly quota ({currency})")
    ax.set_title("Quota against territory potential")
    style.legend_outside(ax, title="Team")
    return ax


@chart
def plot_simulated_attainment(
    distribution: pd.DataFrame, target: tuple[float, float] = (0.6, 0.7), ax: Axes | None = None
) -> Axes:
    """The expected share of reps in each attainment band under the proposed quotas.

    ``distribution``: the ``distribution`` table of :func:`spmlib.planning.quota_plan.check_plan`
    (``band``, ``at_quota``, ``expected_share``; ``attrs`` hold ``share_at_quota`` and its 80%
    range). Bands at or above 100% are green; the title compares the share at quota with the
    target range.
    """
    ax = style.new_axes(3.5, ax)
    at = distribution.attrs
    colours = np.where(distribution["at_quota"].to_numpy(bool), style.GOOD, style.BAD)
    ax.bar(distribution["band"].astype(str), distribution["expected_share"], color=colours)
    style.percent_axis(ax, "y")
    style.tilt_if_crowded(ax)
    ax.set_ylabel("Expected share of reps")
    ax.set_xlabel("Simulated attainment of the plan year")
    share = at.get("share_at_quota", np.nan)
    lo, hi = at.get("share_at_quota_p10", np.nan), at.get("share_at_quota_p90", np.nan)
    ax.set_title(
        f"{share:.0%} of reps expected at quota\n(80%: {lo:.0%}–{hi:.0%}; "
        f"aim {target[0]:.0%}–{target[1]:.0%})"
    )
    return ax


@chart
def plot_territory_balance(
    balance: pd.DataFrame, band: float, label: str = "rep_name", ax: Axes | None = None
) -> Axes:
    """Each rep's potential as a share of the team mean, before and after balancing.

    ``balance``: :func:`spmlib.planning.territory.rep_balance` (``index_before``,
    ``index_after``) with a ``label`` column. The shaded area is the allowed band.
    """
    rows = balance.sort_values("index_before")
    ax = style.new_axes(max(2.5, 0.35 * len(rows) + 1.4), ax)
    y = np.arange(len(rows))
    ax.axvspan(1 - band, 1 + band, color=style.GOOD, alpha=0.12, label=f"±{band:.0%} band")
    ax.barh(y + 0.2, rows["index_before"], height=0.4, color=style.NEUTRAL, label="before")
    ax.barh(y - 0.2, rows["index_after"], height=0.4, color=style.MAIN, label="after")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(y, rows[label].astype(str))
    style.percent_axis(ax, "x")
    ax.set_xlabel("Potential as a share of the team mean")
    ax.set_title("Territory balance before and after")
    style.legend_outside(ax)
    return ax


@chart
def plot_tradeoff(curve: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """The trade-off between the share of potential moved and the imbalance left.

    ``curve``: :func:`spmlib.planning.territory.tradeoff_curve` (``share_moved``, ``band``).
    """
    ax = style.new_axes(3.5, ax)
    ax.plot(curve["share_moved"], curve["band"], marker="o", color=style.MAIN)
    style.percent_axis(ax, "x")
    style.percent_axis(ax, "y")
    ax.set_xlabel("Share of the team's potential moved")
    ax.set_ylabel("Largest deviation from the mean")
    ax.set_title("Moving more potential buys balance")
    return ax
