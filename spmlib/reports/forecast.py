"""Narrative of the forecast report: short sentences built from the computed numbers.

Used by ``notebooks/forecast.ipynb``; the sentences go in a Markdown cell and in the
``headline`` glue (plain-text part of the email).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spmlib.forecast.backtest import skill_vs_snaive

__all__ = ["money", "scope_name", "forecast_sentences", "forecast_markdown"]

log = logging.getLogger(__name__)


def money(value: float, currency: str = "") -> str:
    """Compact amount: ``1.2 M``, ``850 k``, ``420``; ``n/a`` for NaN.

    Examples
    --------
    >>> money(1234567.0), money(850400.0, "USD"), money(420.0)
    ('1.2 M', '850 k USD', '420')
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    a = abs(value)
    if a >= 1e6:
        text = f"{value / 1e6:.1f} M"
    elif a >= 1e3:
        text = f"{value / 1e3:.0f} k"
    else:
        text = f"{value:.0f}"
    return f"{text} {currency}".strip()


def scope_name(team: str | None = None, rep_name: str | None = None) -> str:
    """``"Team Atlas"``, the rep's name, or ``"The company"``."""
    if rep_name:
        return str(rep_name)
    if team:
        return f"Team {team}"
    return "The company"


def forecast_sentences(
    scope: str,
    pipeline_row: pd.Series | None,
    selection: pd.DataFrame | None,
    chosen: str,
    next_forecast: pd.Series | None = None,
    currency: str = "",
    replay_summary: pd.Series | None = None,
) -> list[str]:
    """Headline sentences of the forecast report.

    Parameters
    ----------
    scope : who the report is about (:func:`scope_name`).
    pipeline_row : the scope's row of :func:`spmlib.forecast.pipeline.pipeline_forecast`.
    selection : the backtest table with per-method ``mase`` and ``origins`` (snaive included).
    chosen : the method used for the time-series forecast.
    next_forecast : the first row of :func:`spmlib.forecast.predict.forecast` (next period).
    currency : appended to amounts.
    replay_summary : the row of :func:`spmlib.forecast.pipeline.replay_accuracy`.

    Examples
    --------
    >>> row = pd.Series({"period": "FY2027-Q1", "p10": 1.0e6, "p50": 1.2e6, "p90": 1.4e6,
    ...                  "p_quota": 0.64})
    >>> sel = pd.DataFrame({"method": ["snaive", "ets"], "mase": [1.0, 0.82], "origins": [12, 12]})
    >>> forecast_sentences("Team Atlas", row, sel, "ets")  # doctest: +NORMALIZE_WHITESPACE
    ['Team Atlas will most likely book 1.2 M in FY2027-Q1 (80%: 1.0–1.4 M), a 64% chance of
      reaching quota.', 'The chosen forecasting method (ets) beat seasonal naive by 18% in 12
      backtests.']
    """
    out = []
    if pipeline_row is not None:
        low, high = money(pipeline_row["p10"]), money(pipeline_row["p90"], currency)
        if low.endswith(" M") and high.split(" ")[-1 if not currency else -2] == "M":
            low = low[:-2]
        text = (
            f"{scope} will most likely book {money(pipeline_row['p50'], currency)} in "
            f"{pipeline_row['period']} (80%: {low}–{high})"
        )
        pq = pipeline_row.get("p_quota", np.nan)
        if pq is not None and np.isfinite(pq):
            text += f", a {pq:.0%} chance of reaching quota."
        else:
            text += "; no quota is set for that period."
        out.append(text)
    if selection is not None and not selection.empty:
        skill = skill_vs_snaive(selection, chosen)
        n = int(selection.loc[selection["method"] == chosen, "origins"].max())
        if chosen == "snaive" and n > 0:
            out.append(
                f"Seasonal naive (the same period a year earlier) was the most accurate method "
                f"in {n} backtests."
            )
        elif np.isfinite(skill) and skill > 0:
            out.append(
                f"The chosen forecasting method ({chosen}) beat seasonal naive by "
                f"{skill:.0%} in {n} backtests."
            )
        elif np.isfinite(skill):
            out.append(
                f"The chosen forecasting method ({chosen}) did not beat seasonal naive in {n} "
                f"backtests (MASE {-skill:.0%} higher)."
            )
        else:
            out.append(f"Forecast method: {chosen} (too little history to backtest it).")
    if next_forecast is not None:
        point = money(next_forecast["forecast"], currency)
        low, high = money(next_forecast["lower_95"]), money(next_forecast["upper_95"], currency)
        out.append(f"Time-series forecast for the next period: {point} (95%: {low}–{high}).")
    if replay_summary is not None and replay_summary["periods"] > 0:
        out.append(
            f"Replayed on {int(replay_summary['periods'])} past periods, the pipeline forecast's "
            f"80% range held the actual {replay_summary['coverage_80']:.0%} of the time "
            f"(median error {replay_summary['mape']:.0f}%)."
        )
    return out


def forecast_markdown(sentences: list[str]) -> str:
    """The sentences as a Markdown bullet list (ready for ``IPython.display.Markdown``)."""
    return "\n".join(f"- {s}" for s in sentences)
