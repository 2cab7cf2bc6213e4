"""Charts of the data overview; each takes a compute function's output and ``ax=None``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

__all__ = ["plot_monthly_volumes"]


def plot_monthly_volumes(volumes: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Lines of rows per month and table, from :func:`spmlib.io.overview.monthly_volumes`.

    Activities are usually an order of magnitude more numerous, so the y axis is logarithmic.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    if not volumes.empty:
        sns.lineplot(data=volumes, x="month", y="rows", hue="table", marker="o", ax=ax)
        ax.set_yscale("log")
    ax.set_xlabel("")
    ax.set_ylabel("rows per month (log scale)")
    ax.set_title("Monthly volumes")
    return ax
