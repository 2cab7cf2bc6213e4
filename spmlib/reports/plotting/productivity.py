"""Charts of the productivity analyses.

Each ``plot_*`` takes a compute function's output and ``ax=None`` and returns the Axes; the look
(palette, sizes, axis units, legends) comes from :mod:`spmlib.reports.plotting.style`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from spmlib.productivity.leaderboard import METRICS
from spmlib.reports.columns import column
from spmlib.reports.plotting import style
from spmlib.reports.plotting.style import chart

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
    "strength": style.GOOD,
    "area to improve": style.BAD,
    "in line": style.PALETTE[5],
    "not enough data": "#dddddd",
}


def unit_axis(ax: Axes, kind: str, axis: str = "y", currency: str = "USD") -> Axes:
    """Format ``axis`` for values of a column kind (money, percent, counts, other numbers)."""
    if kind == "money":
        return style.money_axis(ax, axis, currency)
    if kind == "percent":
        return style.percent_axis(ax, axis)
    return style.count_axis(ax, axis, whole=kind in ("count", "days"))


@chart
def plot_pace(att: pd.DataFrame, label: str = "rep_name", ax: Axes | None = None) -> Axes:
    """Attainment per row of one period against the share of the period elapsed (pace).

    ``att``: rows of :func:`spmlib.productivity.attainment.attainment` for one period. Bars show
    attainment (green on pace, vermillion behind), the dashed line the elapsed share (a bar past
    it is ahead of pace), the solid line 100%. Rows without a quota are not drawn.
    """
    rows = att.dropna(subset=["attainment"]).sort_values("attainment")
    ax = style.new_axes(max(2.5, 0.3 * len(rows) + 1.4), ax)
    if rows.empty:
        ax.set_title("Attainment: no quota in this period")
        return ax
    colours = np.where(rows["on_pace"].fillna(False).astype(bool), style.GOOD, style.BAD)
    ax.barh(rows[label].astype(str), rows["attainment"], color=colours)
    elapsed = float(rows["elapsed_share"].iloc[0])
    ax.axvline(elapsed, color="#333333", linestyle="--", label=f"period elapsed ({elapsed:.0%})")
    ax.axvline(1.0, color="black", linewidth=1, label="quota (100%)")
    style.percent_axis(ax, "x")
    ax.set_xlabel("Attainment (bookings / quota)")
    ax.set_title(f"Attainment and pace, {rows['period'].iloc[0]}")
    handles, labels = ax.get_legend_handles_labels()
    handles += [plt.Rectangle((0, 0), 1, 1, color=c) for c in (style.GOOD, style.BAD)]
    style.legend_outside(ax, handles, [*labels, "on pace", "behind pace"])
    return ax


@chart
def plot_attainment_distribution(dist: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Reps per attainment band, from :func:`spmlib.productivity.attainment.attainment_distribution`
    (one bar group per period; best with a few periods)."""
    ax = style.new_axes(3.5, ax)
    if not dist.empty:
        periods = list(dict.fromkeys(dist["period"].astype(str)))
        sns.barplot(
            data=dist.assign(period=dist["period"].astype(str)),
            x="band", y="reps", hue="period", hue_order=periods,
            palette=list(style.PALETTE[: len(periods)]), ax=ax, legend=False,
        )  # fmt: skip
        handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in style.PALETTE[: len(periods)]]
        style.legend_outside(ax, handles, periods)
    style.count_axis(ax, "y")
    style.tilt_if_crowded(ax)
    ax.set_xlabel("Attainment band")
    ax.set_ylabel("Reps")
    ax.set_title("Distribution of attainment")
    return ax


@chart
def plot_activity_mix(mix: pd.DataFrame, label: str = "rep_name", ax: Axes | None = None) -> Axes:
    """Stacked bars of the share of activities by type.

    ``mix``: output of :func:`spmlib.productivity.activity.activity_mix`.
    """
    table = mix.pivot_table(index=label, columns="type", values="share", aggfunc="sum").fillna(0)
    ax = style.new_axes(max(2.5, 0.3 * len(table) + 1.4), ax)
    if not table.empty:
        colours = [style.PALETTE[i % len(style.PALETTE)] for i in range(table.shape[1])]
        table.plot.barh(stacked=True, ax=ax, width=0.8, color=colours, legend=False)
        style.legend_outside(ax, title="Activity type")
    style.percent_axis(ax, "x")
    ax.set_xlabel("Share of activities")
    ax.set_ylabel("")
    ax.set_title("Activity mix")
    return ax


@chart
def plot_ramp(curve: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Median productivity of new reps by month since hire, as a share of the tenured median,
    from :func:`spmlib.productivity.activity.ramp_curve`."""
    ax = style.new_axes(3.5, ax)
    if not curve.empty:
        ax.plot(
            curve["month_since_hire"], curve["median_share_of_tenured"], marker="o",
            color=style.MAIN, label="median new rep",
        )  # fmt: skip
    ax.axhline(1.0, color="black", linewidth=1, label="median tenured rep")
    style.percent_axis(ax, "y")
    style.count_axis(ax, "x")
    ax.set_xlabel("Month since hire")
    ax.set_ylabel("Share of the tenured median")
    ax.set_title("Ramp of new reps")
    style.legend_outside(ax)
    return ax


@chart
def plot_leaderboard(
    board: pd.DataFrame,
    label: str = "rep_name",
    metric: str | None = None,
    currency: str = "USD",
    ax: Axes | None = None,
) -> Axes:
    """Horizontal bars of a leaderboard's values in rank order.

    ``board``: output of :func:`spmlib.productivity.leaderboard.leaderboard`; ``metric``: its
    metric's name (a key of :data:`spmlib.productivity.leaderboard.METRICS`), which names the
    axis and its unit.
    """
    rows = board.dropna(subset=["value"]).iloc[::-1]
    ax = style.new_axes(max(2.5, 0.3 * len(rows) + 1), ax)
    if not rows.empty:
        ax.barh(rows[label].astype(str), rows["value"], color=style.MAIN)
        ax.set_title(f"Leaderboard, {rows['period'].iloc[0]}")
    known = METRICS.get(metric) if metric else None
    if known is not None:
        kind = {"amount": "money", "ratio": "percent", "rate": "percent"}.get(known.kind, "count")
        unit_axis(ax, kind, "x", currency)
        ax.set_xlabel(known.label)
    else:
        style.count_axis(ax, "x", whole=False)
        ax.set_xlabel("Leaderboard measure")
    return ax


@chart
def plot_scorecard(card: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """The rep's percentile in the team per KPI (higher is better), coloured by assessment,
    from :func:`spmlib.productivity.scorecard.scorecard`. KPIs without a percentile are not
    drawn (no bar for data that does not exist)."""
    rows = card.dropna(subset=["percentile"]).iloc[::-1]
    ax = style.new_axes(max(2.5, 0.35 * len(rows) + 1.4), ax)
    colours = [_ASSESSMENT_COLOURS.get(str(a), style.NEUTRAL) for a in rows["assessment"]]
    ax.barh(rows["label"].astype(str), rows["percentile"], color=colours)
    ax.axvline(50, color="black", linewidth=1)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Percentile in the team (50 = median; higher is better)")
    ax.set_title("KPIs against the team")
    shown = [a for a in _ASSESSMENT_COLOURS if a in set(rows["assessment"].astype(str))]
    handles = [plt.Rectangle((0, 0), 1, 1, color=_ASSESSMENT_COLOURS[a]) for a in shown]
    style.legend_outside(ax, handles, shown)
    return ax


def _trend_panel(rows: pd.DataFrame, kpi: str, ax: Axes, currency: str) -> None:
    periods = list(dict.fromkeys(rows["period"].astype(str)))
    x = np.arange(len(periods))
    ax.plot(x, rows["value"].to_numpy(dtype="float64"), marker="o", color=style.MAIN,
            label="you")  # fmt: skip
    if rows["team_median"].notna().any():
        ax.plot(
            x, rows["team_median"].to_numpy(dtype="float64"), marker="s", linestyle="--",
            color=style.ACCENT, label="team median",
        )  # fmt: skip
    style.category_axis(ax, periods, "x")
    unit_axis(ax, column(kpi).kind, "y", currency)
    ax.set_title(str(rows["label"].iloc[0]) if len(rows) else column(kpi).label)


@chart
def plot_scorecard_trend(
    trend: pd.DataFrame, kpi: str = "bookings", currency: str = "USD", ax: Axes | None = None
) -> Axes:
    """One KPI of :func:`spmlib.productivity.scorecard_trend.scorecard_trend`: the rep against
    the team median, in the KPI's unit."""
    ax = style.new_axes(3.0, ax)
    _trend_panel(trend[trend["kpi"] == kpi], kpi, ax, currency)
    style.legend_outside(ax)
    return ax


@chart
def plot_scorecard_trends(
    trend: pd.DataFrame,
    kpis: tuple[str, ...] = SCORECARD_TREND_KPIS,
    currency: str = "USD",
    axes=None,
) -> np.ndarray:
    """Several KPIs of :func:`spmlib.productivity.scorecard_trend.scorecard_trend`, one panel
    each (two side by side in a browser, one per row on a phone), one legend under them;
    KPIs without any value are left out. Returns the array of Axes."""
    kpis = tuple(k for k in kpis if trend.loc[trend["kpi"] == k, "value"].notna().any()) or kpis
    if axes is None:
        c = style.current()
        across = min(c.panels, len(kpis))
        down = (len(kpis) + across - 1) // across
        _, axes = plt.subplots(
            down, across, figsize=(c.width, c.height(2.6) * down + 0.6), squeeze=False,
            layout="constrained",
        )  # fmt: skip
    axes = np.asarray(axes)
    for name, ax in zip(kpis, axes.ravel(), strict=False):
        _trend_panel(trend[trend["kpi"] == name], name, ax, currency)
    for ax in axes.ravel()[len(kpis) :]:
        ax.set_visible(False)
    style.legend_outside(axes.ravel()[0])
    return axes
