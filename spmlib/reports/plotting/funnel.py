"""Charts of the funnel analyses: each takes a compute function's output and ``ax=None``.

No statistics here: every number drawn comes from :mod:`spmlib.funnel.conversion`,
:mod:`spmlib.funnel.velocity` or :mod:`spmlib.funnel.pipeline`. The look (palette, sizes, axis
units, legends) comes from :mod:`spmlib.reports.plotting.style`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from spmlib.reports.columns import column
from spmlib.reports.formatter import format_compact, format_number
from spmlib.reports.plotting import style
from spmlib.reports.plotting.style import chart

__all__ = [
    "plot_funnel",
    "plot_rate_forest",
    "plot_time_in_stage",
    "plot_pipeline_flow",
    "plot_cohort_heatmap",
]


def _pct(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.0%}"


@chart
def plot_funnel(funnel: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Horizontal bars of deals reaching each stage, labelled with the next-step conversion (and
    its 95% interval on a wide canvas); from :func:`spmlib.funnel.conversion.stage_funnel` for
    one group (or no grouping)."""
    ax = style.new_axes(0.5 * max(len(funnel), 3) + 1, ax)
    wide = style.current().name != "phone"
    y = np.arange(len(funnel))
    reached = funnel["reached"].astype("float64").fillna(0).to_numpy()
    ax.barh(y, reached, color=style.MAIN)
    ax.set_yticks(y, funnel["stage"].astype(str).tolist())
    ax.invert_yaxis()
    top = reached.max() if len(reached) and reached.max() > 0 else 1
    for i, row in enumerate(funnel.itertuples(index=False)):
        text = format_number(reached[i], 0)
        if pd.notna(row.conversion):
            text += f" → {_pct(row.conversion)}"
            if wide:
                text += f" advance ({_pct(row.conversion_low)}–{_pct(row.conversion_high)})"
        elif pd.notna(row.cumulative_conversion) and i == len(funnel) - 1:
            text += f" (win rate {_pct(row.cumulative_conversion)})" if wide else ""
        ax.text(reached[i] + top * 0.01, i, text, va="center")
    ax.set_xlim(0, top * (1.6 if wide else 1.45))
    style.count_axis(ax, "x")
    ax.set_xlabel("Deals that reached the stage")
    ax.set_title("Stage funnel")
    return ax


@chart
def plot_rate_forest(
    rates: pd.DataFrame,
    rate: str = "win_rate",
    label: str | list[str] = "rep_id",
    reference: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Forest plot: each group's rate with its Wilson interval (bars) and, when present, its
    shrunken rate (open diamond); a dashed line at ``reference`` (e.g. the team rate).

    Takes :func:`spmlib.funnel.conversion.win_rates` (rate="win_rate") or
    :func:`spmlib.funnel.conversion.compare_stages`
    for one stage (rate="conversion"); rows are drawn in the order given. The legend sits
    under the chart.
    """
    labels = [label] if isinstance(label, str) else list(label)
    ax = style.new_axes(0.3 * max(len(rates), 4) + 1.4, ax)
    y = np.arange(len(rates))
    value = rates[rate].to_numpy(dtype="float64")
    low = rates[f"{rate}_low"].to_numpy(dtype="float64")
    high = rates[f"{rate}_high"].to_numpy(dtype="float64")
    err = np.clip(np.nan_to_num(np.vstack([value - low, high - value])), 0, None)
    ax.errorbar(value, y, xerr=err, fmt="o", color=style.MAIN, capsize=3, label="observed")
    if f"{rate}_shrunk" in rates.columns:
        ax.plot(
            rates[f"{rate}_shrunk"],
            y,
            "D",
            mfc="none",
            color=style.ACCENT,
            label="shrunken (used for ranking)",
        )
    if reference is not None and pd.notna(reference):
        ax.axvline(reference, ls="--", color=style.NEUTRAL, label=f"reference {_pct(reference)}")
    names = (
        rates[labels].astype(str).agg(" ".join, axis=1) if labels else pd.Series([""] * len(rates))
    )
    ax.set_yticks(y, names.tolist())
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    style.percent_axis(ax, "x")
    ax.set_xlabel(f"{column(rate).label} (95% interval)")
    style.legend_outside(ax)
    return ax


@chart
def plot_time_in_stage(stays: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Box plots of completed days in each stage, from :func:`spmlib.funnel.velocity.stage_stays`
    (stages in the order they first appear; running stays are not drawn). Stages run down the
    side on a phone, along the bottom otherwise."""
    done = stays[stays["completed"]]
    order = list(dict.fromkeys(stays["stage"].astype(str)))
    across = style.current().name == "phone"
    ax = style.new_axes(0.45 * max(len(order), 3) + 1 if across else 3.5, ax)
    if not done.empty:
        days = done["days"].astype("float64").groupby(done["stage"].astype(str))
        boxes = [days.get_group(s).to_numpy() if s in days.groups else [] for s in order]
        ax.boxplot(
            boxes, orientation="horizontal" if across else "vertical", showfliers=False,
            tick_labels=order, patch_artist=True, widths=0.6,
            boxprops={"facecolor": style.MAIN, "edgecolor": "#333333"},
            medianprops={"color": "white", "linewidth": 1.5},
        )  # fmt: skip
        if across:
            ax.invert_yaxis()
    ax.set_xlabel("Days in the stage (completed stays)" if across else "")
    ax.set_ylabel("" if across else "Days in the stage (completed stays)")
    style.count_axis(ax, "x" if across else "y")
    ax.set_title("Time in stage")
    return ax


_FLOW_STEPS = ("Open at\nstart", "Created", "Won", "Lost", "Open at\nend")


@chart
def plot_pipeline_flow(
    flow: pd.DataFrame, measure: str = "amount", currency: str = "USD", ax: Axes | None = None
) -> Axes:
    """Waterfall from open pipeline at start, + created, - won, - lost, to open at end; from
    :func:`spmlib.funnel.flow.pipeline_flow` for one group (``measure`` "amount", in
    ``currency``, or "count")."""
    ax = style.new_axes(3.5, ax)
    row = flow[flow["measure"] == measure].iloc[0]
    steps = [
        (0.0, row["open_start"]),
        (row["open_start"], row["created"]),
        (row["open_start"] + row["created"] - row["won"], row["won"]),
        (row["open_end"], row["lost"]),
        (0.0, row["open_end"]),
    ]
    colors = [style.MAIN, style.GOOD, style.PALETTE[4], style.BAD, style.MAIN]
    money = measure == "amount"
    for i, (bottom, height) in enumerate(steps):
        ax.bar(i, height, bottom=bottom, color=colors[i])
        sign = {1: "+", 2: "−", 3: "−"}.get(i, "")
        text = format_compact(height, currency) if money else format_number(height, 0)
        ax.text(i, bottom + height, f"{sign}{text}", ha="center", va="bottom")
    ax.set_xticks(range(len(steps)), list(_FLOW_STEPS))
    if money:
        style.money_axis(ax, "y", currency)
        ax.set_ylabel(f"Pipeline ({currency})")
    else:
        style.count_axis(ax, "y")
        ax.set_ylabel("Deals")
    ax.margins(y=0.12)
    ax.set_title("Pipeline flow")
    return ax


@chart
def plot_cohort_heatmap(
    cohorts: pd.DataFrame, value: str = "cumulative_conversion", ax: Axes | None = None
) -> Axes:
    """Heat map of ``value`` by creation cohort (rows) and stage (columns), from
    :func:`spmlib.funnel.conversion.cohort_funnel` for one group; recent cohorts are immature (see
    ``share_open``). Missing cells stay blank (never coloured)."""
    ax = style.new_axes(0.28 * max(cohorts["cohort"].nunique(), 4) + 1.8, ax)
    stages = list(dict.fromkeys(cohorts["stage"].astype(str)))
    grid = cohorts.pivot_table(
        index="cohort", columns="stage", values=value, aggfunc="first", observed=True, dropna=False
    )
    grid = grid.reindex(columns=stages)
    phone = style.current().name == "phone"
    sns.heatmap(
        grid.astype("float64"),
        annot=len(grid) <= 24 and (not phone or len(stages) <= 4),
        fmt=".0%",
        cmap=style.SEQUENTIAL,
        vmin=0,
        vmax=1,
        cbar_kws={"label": column(value).label, "format": plt.FuncFormatter(
            lambda v, _: f"{v:.0%}")},
        ax=ax,
    )  # fmt: skip
    if phone:
        ax.tick_params(axis="x", labelrotation=90)
    ax.set_xlabel("")
    ax.set_ylabel("Created")
    ax.set_title("Conversion by creation cohort")
    return ax
