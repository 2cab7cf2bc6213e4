"""Charts of the forecast analyses; each takes a compute function's output and ``ax=None``,
returns the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

__all__ = ["plot_forecast_fan", "plot_backtest", "plot_pipeline", "plot_replay"]


def _axes(ax: Axes | None, size=(8, 3.5)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def plot_forecast_fan(series: pd.DataFrame, forecast: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """History (line), the incomplete current period (hollow marker), and the forecast with its
    80% and 95% bands, for one series of :func:`spmlib.forecast.series.bookings_series` and its
    :func:`spmlib.forecast.predict.forecast` rows."""
    ax = _axes(ax)
    done = series[series["complete"]]
    partial = series[~series["complete"]]
    ax.plot(done["period_start"], done["value"], color="0.2", marker=".", label="actual")
    if not partial.empty:
        ax.plot(
            partial["period_start"],
            partial["value"],
            linestyle="none",
            marker="o",
            mfc="white",
            color="0.2",
            label="current period so far",
        )
    if not forecast.empty:
        x = forecast["period"]
        ax.fill_between(
            x, forecast["lower_95"], forecast["upper_95"], alpha=0.15, color="C0", label="95%"
        )
        ax.fill_between(
            x, forecast["lower_80"], forecast["upper_80"], alpha=0.3, color="C0", label="80%"
        )
        method = str(forecast["method"].iloc[0])
        ax.plot(x, forecast["forecast"], color="C0", marker=".", label=f"forecast ({method})")
    ax.set_xlabel("")
    ax.set_ylabel("bookings")
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title("Bookings: history and forecast")
    return ax


def plot_backtest(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Horizontal bars of backtest MASE per method (from :func:`spmlib.forecast.backtest.backtest`
    or :func:`spmlib.forecast.backtest.select_method`); the chosen method (column ``chosen``, if
    any) is highlighted and seasonal naive's MASE drawn as a dashed line."""
    ax = _axes(ax, (6, 3))
    t = table.sort_values("mase", ascending=False)
    chosen = t["chosen"] if "chosen" in t.columns else pd.Series(False, index=t.index)
    colors = ["C1" if c else "C0" for c in chosen]
    ax.barh(t["method"].astype(str), t["mase"], color=colors)
    base = t.loc[t["method"] == "snaive", "mase"]
    if not base.empty:
        ax.axvline(float(base.iloc[0]), color="0.3", linestyle="--", linewidth=1)
    ax.set_xlabel("MASE (lower is better; dashed = seasonal naive)")
    ax.set_title("Backtest accuracy by method")
    return ax


def plot_pipeline(pipeline: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """P10-P90 range and P50 of period bookings per row of
    :func:`spmlib.forecast.pipeline.pipeline_forecast` or
    :func:`spmlib.reports.outlook.scope_outlook` (pass the rows to show), with quota marks
    where set; reps are labelled by name when the rows carry it."""
    ax = _axes(ax, (7, max(2.0, 0.45 * len(pipeline) + 1)))

    def label(r) -> str:
        if r.level == "rep":
            name = getattr(r, "rep_name", None)
            return str(name) if name is not None and not pd.isna(name) else str(r.rep_id)
        if r.level in ("team", "manager"):
            return str(getattr(r, r.level))
        return "company"

    labels = [label(r) for r in pipeline.itertuples()]
    y = range(len(pipeline))
    ax.hlines(
        y, pipeline["p10"], pipeline["p90"], color="C0", linewidth=6, alpha=0.5, label="P10-P90"
    )
    ax.plot(pipeline["p50"], y, "o", color="C0", label="P50")
    ax.plot(pipeline["booked"], y, "|", color="0.2", markersize=14, label="booked so far")
    if pipeline["quota"].notna().any():
        ax.plot(pipeline["quota"], y, "D", color="C3", label="quota")
    ax.set_yticks(list(y), labels)
    ax.set_xlabel("period bookings")
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title("Pipeline forecast for the current period")
    return ax


def plot_replay(replay: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Past periods: what the pipeline forecast said on day N (P10-P90 band and P50) against the
    actual bookings, from :func:`spmlib.forecast.pipeline.pipeline_replay`."""
    ax = _axes(ax)
    x = replay["period"].astype(str)
    if "day" in replay.columns:  # outlook replays: several days per period
        x = x + " day " + replay["day"].astype(str)
    ax.fill_between(x, replay["p10"], replay["p90"], alpha=0.25, color="C0", label="P10-P90")
    ax.plot(x, replay["p50"], marker=".", color="C0", label="P50")
    ax.plot(x, replay["actual"], marker="o", color="0.2", linestyle="none", label="actual")
    ax.tick_params(axis="x", rotation=45)
    ax.set_ylabel("bookings")
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title("Pipeline forecast replayed on past periods")
    return ax
