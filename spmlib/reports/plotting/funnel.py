"""Charts of the funnel analyses: each takes a compute function's output and ``ax=None``.

No statistics here: every number drawn comes from :mod:`spmlib.funnel.conversion`,
:mod:`spmlib.funnel.velocity`
or :mod:`spmlib.funnel.pipeline`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

__all__ = [
    "plot_funnel",
    "plot_rate_forest",
    "plot_time_in_stage",
    "plot_pipeline_flow",
    "plot_cohort_heatmap",
]


def _pct(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.0%}"


def plot_funnel(funnel: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Horizontal bars of deals reaching each stage, labelled with the next-step conversion and
    its 95% interval; from :func:`spmlib.funnel.conversion.stage_funnel` for one group (or no
    grouping)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.6 * max(len(funnel), 3) + 1))
    y = np.arange(len(funnel))
    reached = funnel["reached"].astype("float64").fillna(0).to_numpy()
    ax.barh(y, reached, color=sns.color_palette()[0])
    ax.set_yticks(y, funnel["stage"].astype(str).tolist())
    ax.invert_yaxis()
    top = reached.max() if len(reached) and reached.max() > 0 else 1
    for i, row in enumerate(funnel.itertuples(index=False)):
        text = f"{int(reached[i]):,}"
        if pd.notna(row.conversion):
            text += (
                f"  → {_pct(row.conversion)} advance "
                f"({_pct(row.conversion_low)}–{_pct(row.conversion_high)})"
            )
        elif pd.notna(row.cumulative_conversion) and i == len(funnel) - 1:
            text += f"  (win rate {_pct(row.cumulative_conversion)})"
        ax.text(reached[i] + top * 0.01, i, text, va="center", fontsize=9)
    ax.set_xlim(0, top * 1.6)
    ax.set_xlabel("opportunities that reached the stage")
    ax.set_title("Stage funnel")
    return ax


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
    for one stage (rate="conversion"); rows are drawn in the order given.
    """
    labels = [label] if isinstance(label, str) else list(label)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.35 * max(len(rates), 4) + 1))
    y = np.arange(len(rates))
    value = rates[rate].to_numpy(dtype="float64")
    low = rates[f"{rate}_low"].to_numpy(dtype="float64")
    high = rates[f"{rate}_high"].to_numpy(dtype="float64")
    err = np.clip(np.nan_to_num(np.vstack([value - low, high - value])), 0, None)
    ax.errorbar(
        value, y, xerr=err, fmt="o", color=sns.color_palette()[0], capsize=3, label="observed"
    )
    if f"{rate}_shrunk" in rates.columns:
        ax.plot(
            rates[f"{rate}_shrunk"],
            y,
            "D",
            mfc="none",
            color=sns.color_palette()[1],
            label="shrunken (used for ranking)",
        )
    if reference is not None and pd.notna(reference):
        ax.axvline(reference, ls="--", color="grey", label=f"reference {_pct(reference)}")
    names = [" ".join(map(str, row)) for row in rates[labels].itertuples(index=False)]
    ax.set_yticks(y, names if labels else [""] * len(rates))
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel(f"{rate.replace('_', ' ')} (95% interval)")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_time_in_stage(stays: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Box plots of completed days in each stage, from :func:`spmlib.funnel.velocity.stage_stays`
    (stages in the order they first appear; running stays are not drawn)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    done = stays[stays["completed"]]
    order = list(dict.fromkeys(stays["stage"].astype(str)))
    if not done.empty:
        data = pd.DataFrame({"stage": done["stage"].astype(str), "days": done["days"]})
        sns.boxplot(
            data=data,
            x="stage",
            y="days",
            order=order,
            showfliers=False,
            ax=ax,
            color=sns.color_palette()[0],
        )
    ax.set_xlabel("")
    ax.set_ylabel("days in stage (completed)")
    ax.set_title("Time in stage")
    return ax


def plot_pipeline_flow(flow: pd.DataFrame, measure: str = "amount", ax: Axes | None = None) -> Axes:
    """Waterfall from open pipeline at start, + created, - won, - lost, to open at end; from
    :func:`spmlib.funnel.flow.pipeline_flow` for one group (``measure`` "amount" or "count")."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    row = flow[flow["measure"] == measure].iloc[0]
    steps = [
        ("open at start", 0.0, row["open_start"]),
        ("created", row["open_start"], row["created"]),
        ("won", row["open_start"] + row["created"] - row["won"], row["won"]),
        ("lost", row["open_end"], row["lost"]),
        ("open at end", 0.0, row["open_end"]),
    ]
    colors = ["#4c72b0", "#55a868", "#8172b2", "#c44e52", "#4c72b0"]
    for i, (name, bottom, height) in enumerate(steps):
        ax.bar(i, height, bottom=bottom, color=colors[i])
        sign = {"created": "+", "won": "−", "lost": "−"}.get(name, "")
        ax.text(i, bottom + height, f"{sign}{height:,.0f}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(range(len(steps)), [s[0] for s in steps])
    ax.set_ylabel(measure)
    ax.set_title("Pipeline flow")
    return ax


def plot_cohort_heatmap(
    cohorts: pd.DataFrame, value: str = "cumulative_conversion", ax: Axes | None = None
) -> Axes:
    """Heat map of ``value`` by creation cohort (rows) and stage (columns), from
    :func:`spmlib.funnel.conversion.cohort_funnel` for one group; recent cohorts are immature (see
    ``share_open``)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.28 * max(cohorts["cohort"].nunique(), 4) + 1.5))
    stages = list(dict.fromkeys(cohorts["stage"].astype(str)))
    grid = cohorts.pivot_table(
        index="cohort", columns="stage", values=value, aggfunc="first", observed=True, dropna=False
    )
    grid = grid.reindex(columns=stages)
    sns.heatmap(
        grid.astype("float64"),
        annot=len(grid) <= 24,
        fmt=".0%",
        cmap="viridis",
        vmin=0,
        vmax=1,
        cbar_kws={"label": value.replace("_", " ")},
        ax=ax,
    )
    ax.set_xlabel("")
    ax.set_ylabel("created")
    ax.set_title("Conversion by creation cohort")
    return ax
