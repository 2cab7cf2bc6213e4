"""Charts of the forecast analyses; each takes a compute function's output and ``ax=None``,
returns the Axes. The look comes from :mod:`spmlib.reports.plotting.style`; amounts are in
``currency``, or plain numbers for a series read from a file (``currency=None``)."""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from spmlib.reports.plotting import style
from spmlib.reports.plotting.style import chart

__all__ = ["plot_forecast_fan", "plot_backtest", "plot_pipeline", "plot_replay"]


def _amount_axis(ax: Axes, axis: str, currency: str | None) -> None:
    if currency:
        style.money_axis(ax, axis, currency)
    else:
        style.count_axis(ax, axis, whole=False)


@chart
def plot_forecast_fan(
    series: pd.DataFrame,
    forecast: pd.DataFrame,
    currency: str | None = "USD",
    ax: Axes | None = None,
) -> Axes:
    """History (line), the incomplete current period (hollow marker), and the forecast with its
    80% and 95% bands, for one series of :func:`spmlib.forecast.series.bookings_series` and its
    :func:`spmlib.forecast.predict.forecast` rows."""
    ax = style.new_axes(3.5, ax)
    done = series[series["complete"]]
    partial = series[~series["complete"]]
    ax.plot(done["period_start"], done["value"], color="#222222", marker=".", label="actual")
    if not partial.empty:
        ax.plot(
            partial["period_start"], partial["value"], linestyle="none", marker="o",
            mfc="white", color="#222222", label="current period so far",
        )  # fmt: skip
    if not forecast.empty:
        x = forecast["period"]
        ax.fill_between(x, forecast["lower_95"], forecast["upper_95"], alpha=0.15,
                        color=style.MAIN, label="95% interval")  # fmt: skip
        ax.fill_between(x, forecast["lower_80"], forecast["upper_80"], alpha=0.3,
                        color=style.MAIN, label="80% interval")  # fmt: skip
        method = str(forecast["method"].iloc[0])
        ax.plot(x, forecast["forecast"], color=style.MAIN, marker=".",
                label=f"forecast ({method})")  # fmt: skip
    style.date_axis(ax, "x")
    _amount_axis(ax, "y", currency)
    ax.set_xlabel("")
    ax.set_ylabel("Bookings per period" + (f" ({currency})" if currency else ""))
    ax.set_title("Bookings: history and forecast")
    style.legend_outside(ax)
    return ax


@chart
def plot_backtest(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Horizontal bars of backtest MASE per method (from :func:`spmlib.forecast.backtest.backtest`
    or :func:`spmlib.forecast.backtest.select_method`); the chosen method (column ``chosen``, if
    any) is highlighted and seasonal naive's MASE drawn as a dashed line."""
    t = table.sort_values("mase", ascending=False)
    ax = style.new_axes(max(2.5, 0.3 * len(t) + 1.2), ax)
    chosen = t["chosen"] if "chosen" in t.columns else pd.Series(False, index=t.index)
    colors = [style.ACCENT if c else style.MAIN for c in chosen]
    ax.barh(t["method"].astype(str), t["mase"], color=colors)
    base = t.loc[t["method"] == "snaive", "mase"]
    if not base.empty:
        ax.axvline(float(base.iloc[0]), color="#333333", linestyle="--", linewidth=1)
    style.count_axis(ax, "x", whole=False)
    ax.set_xlabel("MASE (lower is better; dashed line = seasonal naive)")
    ax.set_title("Backtest accuracy by method")
    return ax


def _row_label(row) -> str:
    """A rep by name when the row carries it, a team or manager by theirs, else "company"."""
    if row.level == "rep":
        name = getattr(row, "rep_name", None)
        return str(name) if name is not None and not pd.isna(name) else str(row.rep_id)
    if row.level in ("team", "manager"):
        return str(getattr(row, row.level))
    return "company"


@chart
def plot_pipeline(pipeline: pd.DataFrame, currency: str = "USD", ax: Axes | None = None) -> Axes:
    """P10-P90 range and P50 of period bookings per row of
    :func:`spmlib.forecast.pipeline.pipeline_forecast` or
    :func:`spmlib.reports.outlook.scope_outlook` (pass the rows to show), with quota marks
    where set; reps are labelled by name when the rows carry it."""
    ax = style.new_axes(max(2.2, 0.45 * len(pipeline) + 1.4), ax)
    labels = [_row_label(r) for r in pipeline.itertuples()]
    y = range(len(pipeline))
    ax.hlines(y, pipeline["p10"], pipeline["p90"], color=style.MAIN, linewidth=6, alpha=0.5,
              label="P10 to P90")  # fmt: skip
    ax.plot(pipeline["p50"], y, "o", color=style.MAIN, label="P50 (most likely)")
    ax.plot(pipeline["booked"], y, "|", color="#222222", markersize=14, label="booked so far")
    if pipeline["quota"].notna().any():
        ax.plot(pipeline["quota"], y, "D", color=style.BAD, label="quota")
    ax.set_yticks(list(y), labels)
    ax.invert_yaxis()
    style.money_axis(ax, "x", currency)
    ax.set_xlabel(f"Bookings of the period ({currency})")
    ax.set_title("Pipeline forecast for the current period")
    style.legend_outside(ax)
    return ax


@chart
def plot_replay(replay: pd.DataFrame, currency: str = "USD", ax: Axes | None = None) -> Axes:
    """Past periods: what the pipeline forecast said on day N (P10-P90 band and P50) against the
    actual bookings, from :func:`spmlib.forecast.pipeline.pipeline_replay`."""
    ax = style.new_axes(3.5, ax)
    periods = replay["period"].astype(str)
    if "day" in replay.columns:  # outlook replays: several days per period
        periods = periods + " day " + replay["day"].astype(str)
    periods = periods.tolist()
    x = range(len(periods))
    ax.fill_between(x, replay["p10"], replay["p90"], alpha=0.25, color=style.MAIN,
                    label="P10 to P90")  # fmt: skip
    ax.plot(x, replay["p50"], marker=".", color=style.MAIN, label="P50")
    ax.plot(x, replay["actual"], marker="o", color="#222222", linestyle="none", label="actual")
    style.category_axis(ax, periods, "x")
    style.money_axis(ax, "y", currency)
    ax.set_ylabel(f"Bookings ({currency})")
    ax.set_title("Pipeline forecast replayed on past periods")
    style.legend_outside(ax)
    return ax
