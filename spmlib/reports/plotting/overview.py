"""Charts of the data overview; each takes a compute function's output and ``ax=None``."""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import NullFormatter

from spmlib.reports.plotting import style
from spmlib.reports.plotting.style import chart

__all__ = ["plot_monthly_volumes"]


@chart
def plot_monthly_volumes(volumes: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Lines of rows per month and table, from :func:`spmlib.io.overview.monthly_volumes`.

    Activities are usually an order of magnitude more numerous, so the y axis is logarithmic.
    """
    ax = style.new_axes(3.5, ax)
    for i, (table, rows) in enumerate(volumes.groupby("table", sort=False)):
        ax.plot(rows["month"], rows["rows"], marker="o", markersize=3,
                color=style.PALETTE[i % len(style.PALETTE)], label=str(table))  # fmt: skip
    if not volumes.empty:
        ax.set_yscale("log")
        style.count_axis(ax, "y", whole=False)
        ax.yaxis.set_minor_formatter(NullFormatter())
        style.date_axis(ax, "x")
    ax.set_xlabel("")
    ax.set_ylabel("Rows per month (log scale)")
    ax.set_title("Monthly volumes")
    style.legend_outside(ax, title="Table")
    return ax
