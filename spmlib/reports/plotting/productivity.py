"""Charts of the productivity analyses.

Each ``plot_*`` takes a compute function's output and ``ax=None`` and returns the Axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

__all__ = [
    "plot_pace",
    "plot_attainment_distribution",
    "plot_activity_mix",
    "plot_ramp",
    "plot_leaderboard",
    "plot_scorecard",
    "plot_scorecard_trend",
    "plot_scorecard_trends",
    "SCORECARD_TREND_KPIS",
]

#: The KPIs of the scorecard's "recent results" panels.
SCORECARD_TREND_KPIS = ("bookings", "win_rate", "avg_deal_size", "activity_volume")

_ASSESSMENT_COLOURS = {
    "strength": "#2a9d8f",
    "area to improve": "#e76f51",
    "in line": "#8d99ae",
    "not enough data": "#d9d9d9",
    "": "#b0b7c3",
}


def _axes(ax: Axes | None, height: float = 4.0) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(8, height))
    return ax


def plot_pace(att: pd.DataFrame, label: str = "rep_name", ax: Axes | None = None) -> Axes:
    """Attainment per row of one period against the share of the period elapsed (pace).

    ``att``: rows of :func:`spmlib.productivity.attainment.attainment` for one period. Bars show
    attainment,
    the dashed line the elapsed share (a bar past it is ahead of pace), the solid line 100%.
    """
    rows = att.dropna(subset=["attainment"]).sort_values("attainment")
    ax = _axes(ax, max(2.5, 0.3 * len(rows) + 1))
    if rows.empty:
        ax.set_title("Attainment: no quota in this period")
        return ax
    colours = np.where(rows["on_pace"], "#2a9d8f", "#e76f51")
    ax.barh(rows[label].astype(str), rows["attainment"], color=colours)
    elapsed = float(rows["elapsed_share"].iloc[0])
    ax.axvline(elapsed, color="#264653", linestyle="--", label=f"elapsed {elapsed:.0%}")
    ax.axvline(1.0, color="black", linewidth=1, label="quota")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("attainment")
    ax.set_title(f"Attainment and pace, {rows['period'].iloc[0]}")
    ax.legend(loc="lower right")
    return ax


def plot_attainment_distribution(dist: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Reps per attainment band, from :func:`spmlib.productivity.attainment.attainment_distribution`
    (one bar group per period; best with a few periods)."""
    ax = _axes(ax, 3.5)
    if not dist.empty:
        sns.barplot(data=dist, x="band", y="reps", hue="period", ax=ax)
    ax.set_xlabel("attainment band")
    ax.set_ylabel("reps")
    ax.set_title("Distribution of attainment")
    return ax


def plot_activity_mix(mix: pd.DataFrame, label: str = "rep_name", ax: Axes | None = None) -> Axes:
    """Stacked bars of the share of activities by type.

    ``mix``: output of :func:`spmlib.productivity.activity.activity_mix`.
    """
    table = mix.pivot_table(index=label, columns="type", values="share", aggfunc="sum").fillna(0)
    ax = _axes(ax, max(2.5, 0.3 * len(table) + 1))
    if not table.empty:
        table.plot.barh(stacked=True, ax=ax, width=0.8, colormap="tab10")
        ax.legend(title="type", bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("share of activities")
    ax.set_ylabel("")
    ax.set_title("Activity mix")
    return ax


def plot_ramp(curve: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Median productivity of new reps by month since hire, as a share of the tenured median,
    from :func:`spmlib.productivity.activity.ramp_curve`."""
    ax = _axes(ax, 3.5)
    if not curve.empty:
        ax.plot(curve["month_since_hire"], curve["median_share_of_tenured"], marker="o")
    ax.axhline(1.0, color="black", linewidth=1, label="tenured median")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("month since hire")
    ax.set_ylabel("share of tenured median")
    ax.set_title("Ramp of new reps")
    ax.legend(loc="upper left")
    return ax


def plot_leaderboard(board: pd.DataFrame, label: str = "rep_name", ax: Axes | None = None) -> Axes:
    """Horizontal bars of a leaderboard's values in rank order.

    ``board``: output of :func:`spmlib.productivity.leaderboard.leaderboard`.
    """
    rows = board.dropna(subset=["value"]).iloc[::-1]
    ax = _axes(ax, max(2.5, 0.3 * len(rows) + 1))
    if not rows.empty:
        ax.barh(rows[label].astype(str), rows["value"], color="#457b9d")
        ax.set_title(f"Leaderboard, {rows['period'].iloc[0]}")
    ax.set_xlabel("value")
    return ax


def plot_scorecard(card: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """The rep's percentile in the team per KPI (higher is better), coloured by assessment,
    from :func:`spmlib.productivity.scorecard.scorecard`."""
    rows = card.iloc[::-1]
    ax = _axes(ax, max(2.5, 0.35 * len(rows) + 1))
    colours = [_ASSESSMENT_COLOURS.get(str(a), "#b0b7c3") for a in rows["assessment"]]
    ax.barh(rows["label"].astype(str), rows["percentile"].fillna(0), color=colours)
    ax.axvline(50, color="black", linewidth=1)
    ax.set_xlim(0, 100)
    ax.set_xlabel("percentile in the team (50 = team median; higher is better)")
    ax.set_title("KPIs against the team")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in list(_ASSESSMENT_COLOURS.values())[:4]]
    ax.legend(
        handles,
        list(_ASSESSMENT_COLOURS)[:4],
        bbox_to_anchor=(1.01, 1),
        loc="upper left",
        fontsize="small",
    )
    return ax


def plot_scorecard_trend(
    trend: pd.DataFrame, kpi: str = "bookings", ax: Axes | None = None
) -> Axes:
    """One KPI of :func:`spmlib.productivity.scorecard.scorecard_trend`: the rep against the team
    median."""
    rows = trend[trend["kpi"] == kpi]
    ax = _axes(ax, 3.0)
    ax.plot(rows["period"].astype(str), rows["value"], marker="o", label="you")
    if rows["team_median"].notna().any():
        ax.plot(
            rows["period"].astype(str),
            rows["team_median"],
            marker="s",
            linestyle="--",
            label="team median",
        )
    ax.set_title(str(rows["label"].iloc[0]) if len(rows) else kpi)
    ax.legend(loc="best")
    return ax


def plot_scorecard_trends(
    trend: pd.DataFrame, kpis: tuple[str, ...] = SCORECARD_TREND_KPIS, axes=None
) -> np.ndarray:
    """Several KPIs of :func:`spmlib.productivity.scorecard.scorecard_trend`, one panel each
    (two columns); returns the array of Axes."""
    if axes is None:
        rows = (len(kpis) + 1) // 2
        _, axes = plt.subplots(rows, 2, figsize=(10, 3 * rows), squeeze=False)
    axes = np.asarray(axes)
    for name, ax in zip(kpis, axes.ravel(), strict=False):
        plot_scorecard_trend(trend, name, ax=ax)
    for ax in axes.ravel()[len(kpis) :]:
        ax.set_visible(False)
    axes.ravel()[0].figure.tight_layout()
    return axes
