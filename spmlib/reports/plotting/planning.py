"""Charts of quota and territory planning.

Each ``plot_*`` takes a compute function's output and ``ax=None`` and returns the Axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

__all__ = [
    "plot_quota_vs_potential",
    "plot_simulated_attainment",
    "plot_territory_balance",
    "plot_tradeoff",
]

_PERCENT = plt.FuncFormatter(lambda v, _: f"{v:.0%}")
_THOUSANDS = plt.FuncFormatter(lambda v, _: f"{v / 1e3:,.0f}k")


def _axes(ax: Axes | None, height: float = 4.0) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(8, height))
    return ax


def plot_quota_vs_potential(
    reps: pd.DataFrame, currency: str = "USD", ax: Axes | None = None
) -> Axes:
    """Each rep's yearly quota against the potential of their accounts, one colour per team.

    ``reps``: rows of :attr:`spmlib.planning.allocation.QuotaPlan.reps` (``potential``,
    ``quota``, ``team``). The dashed line is the overall quota per unit of potential: a rep
    above it carries more quota than their territory's share.
    """
    ax = _axes(ax, 4.5)
    rows = reps[reps["potential"].gt(0) & reps["quota"].gt(0)]
    if rows.empty:
        ax.set_title("Quota against potential: no rep with accounts")
        return ax
    for team, g in rows.groupby("team"):
        ax.scatter(g["potential"], g["quota"], label=str(team), alpha=0.8)
    ratio = rows["quota"].sum() / rows["potential"].sum()
    top = float(rows["potential"].max()) * 1.05
    ax.plot([0, top], [0, ratio * top], color="#264653", linestyle="--", linewidth=1,
            label=f"{ratio:.2f} x potential")  # fmt: skip
    ax.xaxis.set_major_formatter(_THOUSANDS)
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_xlabel(f"territory potential ({currency} a year)")
    ax.set_ylabel(f"yearly quota ({currency})")
    ax.set_title("Quota against territory potential")
    ax.legend(loc="upper left", fontsize="small", ncol=2)
    return ax


def plot_simulated_attainment(
    distribution: pd.DataFrame, target: tuple[float, float] = (0.6, 0.7), ax: Axes | None = None
) -> Axes:
    """The expected share of reps in each attainment band under the proposed quotas.

    ``distribution``: the ``distribution`` table of :func:`spmlib.planning.quota_plan.check_plan`
    (``band``, ``at_quota``, ``expected_share``; ``attrs`` hold ``share_at_quota`` and its 80%
    range). Bands at or above 100% are green; the title compares the share at quota with the
    target range.
    """
    ax = _axes(ax, 3.5)
    at = distribution.attrs
    colours = np.where(distribution["at_quota"].to_numpy(bool), "#2a9d8f", "#e76f51")
    ax.bar(distribution["band"].astype(str), distribution["expected_share"], color=colours)
    ax.yaxis.set_major_formatter(_PERCENT)
    ax.set_ylabel("expected share of reps")
    ax.set_xlabel("simulated attainment of the plan year")
    share = at.get("share_at_quota", np.nan)
    lo, hi = at.get("share_at_quota_p10", np.nan), at.get("share_at_quota_p90", np.nan)
    ax.set_title(
        f"{share:.0%} of reps expected at quota (80%: {lo:.0%}-{hi:.0%}; "
        f"aim {target[0]:.0%}-{target[1]:.0%})"
    )
    return ax


def plot_territory_balance(
    balance: pd.DataFrame, band: float, label: str = "rep_name", ax: Axes | None = None
) -> Axes:
    """Each rep's potential as a share of the team mean, before and after balancing.

    ``balance``: :func:`spmlib.planning.territory.rep_balance` (``index_before``,
    ``index_after``) with a ``label`` column. The shaded area is the allowed band.
    """
    rows = balance.sort_values("index_before")
    ax = _axes(ax, max(2.5, 0.35 * len(rows) + 1))
    y = np.arange(len(rows))
    ax.axvspan(1 - band, 1 + band, color="#2a9d8f", alpha=0.12, label=f"+-{band:.0%} band")
    ax.barh(y + 0.2, rows["index_before"], height=0.4, color="#b0b7c3", label="before")
    ax.barh(y - 0.2, rows["index_after"], height=0.4, color="#264653", label="after")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(y, rows[label].astype(str))
    ax.xaxis.set_major_formatter(_PERCENT)
    ax.set_xlabel("potential as a share of the team mean")
    ax.set_title("Territory balance before and after")
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_tradeoff(curve: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """The trade-off between the share of potential moved and the imbalance left.

    ``curve``: :func:`spmlib.planning.territory.tradeoff_curve` (``share_moved``, ``band``).
    """
    ax = _axes(ax, 3.5)
    ax.plot(curve["share_moved"], curve["band"], marker="o", color="#264653")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    ax.yaxis.set_major_formatter(_PERCENT)
    ax.set_xlabel("share of the team's potential moved")
    ax.set_ylabel("largest deviation from the mean")
    ax.set_title("Moving more potential buys balance")
    return ax
