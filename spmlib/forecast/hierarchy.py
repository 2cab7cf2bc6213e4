"""Reconciled forecasts for reps, teams and the company: the levels add up.

Each node (company, every team, every rep) is first forecast on its own (base forecasts, any
method of :mod:`spmlib.forecast.series`); the base forecasts are then reconciled so that, at every
period, rep forecasts sum to their team's and team forecasts to the company's.

Reconciliation methods:

- ``"ols"`` (default): the least-squares projection of Hyndman et al. (2011):
  y~ = S (S'S)^-1 S' y^, where S is the summing matrix (nodes x reps). It moves every node's
  base forecast as little as possible (in squared error) to make them add up.
- ``"bottom_up"``: rep forecasts are kept; teams and the company are their sums.

Intervals: each node's base bounds are shifted by the same amount as its point forecast
(reconciled - base), so they keep their base width. (Exact reconciled intervals would need the
joint error covariance; this shift is a documented approximation.)
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spmlib.exceptions import UnknownNameError
from spmlib.forecast.calibrate import CALIBRATION_ORIGINS
from spmlib.forecast.predict import forecast
from spmlib.forecast.series import bookings_series
from spmlib.io.schema import Dataset

__all__ = ["RECONCILIATIONS", "summing_matrix", "reconcile", "hierarchical_forecast"]

log = logging.getLogger(__name__)

RECONCILIATIONS = ("ols", "bottom_up")
_BOUNDS = ["lower_80", "upper_80", "lower_95", "upper_95"]


def summing_matrix(reps: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """The summing matrix S of the company > team > rep hierarchy.

    Returns
    -------
    (S, nodes): S has one row per node and one column per rep (1 where the rep belongs to the
    node); ``nodes`` lists the rows with ``level``, ``team``, ``rep_id`` (company first, then
    teams, then reps, each sorted).

    Examples
    --------
    >>> reps = pd.DataFrame({"rep_id": ["a", "b", "c"], "team": ["X", "X", "Y"]})
    >>> S, nodes = summing_matrix(reps)
    >>> S.tolist()
    [[1, 1, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    """
    reps = reps.sort_values("rep_id")
    teams = sorted(reps["team"].dropna().unique())
    ids = list(reps["rep_id"])
    rows = [np.ones(len(ids), dtype=int)]
    nodes = [("company", pd.NA, pd.NA)]
    for t in teams:
        rows.append((reps["team"] == t).to_numpy().astype(int))
        nodes.append(("team", t, pd.NA))
    for i, r in enumerate(ids):
        row = np.zeros(len(ids), dtype=int)
        row[i] = 1
        rows.append(row)
        nodes.append(("rep", reps["team"].iloc[i], r))
    frame = pd.DataFrame(nodes, columns=["level", "team", "rep_id"]).astype("string")
    return np.vstack(rows), frame


def reconcile(base: np.ndarray, S: np.ndarray, method: str = "ols") -> np.ndarray:
    """Coherent forecasts from base forecasts ``base`` (nodes x periods).

    Examples
    --------
    >>> S = np.array([[1, 1], [1, 0], [0, 1]])
    >>> reconcile(np.array([[12.0], [4.0], [5.0]]), S).round(3).ravel().tolist()
    [11.0, 5.0, 6.0]
    """
    if method not in RECONCILIATIONS:
        raise UnknownNameError("reconciliation", method, RECONCILIATIONS)
    base = np.asarray(base, dtype=float)
    if method == "bottom_up":
        bottom = base[-S.shape[1] :]
        return S @ bottom
    proj = S @ np.linalg.pinv(S.T @ S) @ S.T
    return proj @ base


def hierarchical_forecast(
    ds: Dataset,
    freq: str = "M",
    horizon: int | None = None,
    method: str = "ets",
    reconciliation: str = "ols",
    origins: int = CALIBRATION_ORIGINS,
) -> pd.DataFrame:
    """Reconciled bookings forecasts for the company, each team and each rep.

    Parameters
    ----------
    ds : the dataset (scope it first for one team).
    freq, horizon, method, origins : as in :func:`spmlib.forecast.predict.forecast` (``"auto"``
        selects per node by backtest, which is slow for many reps).
    reconciliation : ``"ols"`` or ``"bottom_up"`` (module docstring).

    Returns
    -------
    DataFrame with ``level``, ``team``, ``rep_id``, ``period``, ``method`` (each node's base
    method), ``reconciliation``, ``base_forecast``, ``forecast``, ``lower_80``, ``upper_80``,
    ``lower_95``, ``upper_95``. At every period the rep forecasts sum to their team's and the
    teams' to the company's.
    """
    if reconciliation not in RECONCILIATIONS:
        raise UnknownNameError("reconciliation", reconciliation, RECONCILIATIONS)
    S, nodes = summing_matrix(ds.reps[["rep_id", "team"]])
    company = forecast(bookings_series(ds, freq), horizon, method, freq, origins).table
    teams = forecast(bookings_series(ds, freq, by="team"), horizon, method, freq, origins).table
    reps = forecast(bookings_series(ds, freq, by="rep"), horizon, method, freq, origins).table
    company = company.assign(level="company", team=pd.NA, rep_id=pd.NA)
    teams = teams.assign(level="team", rep_id=pd.NA)
    reps = reps.merge(ds.reps[["rep_id", "team"]], on="rep_id").assign(level="rep")
    allf = pd.concat([company, teams, reps], ignore_index=True)
    for c in ("level", "team", "rep_id"):
        allf[c] = allf[c].astype("string")
    key = ["level", "team", "rep_id"]
    allf = nodes.merge(allf, on=key, how="left", sort=False)
    periods = sorted(allf["period"].unique())
    wide = allf.pivot_table(index=key, columns="period", values="forecast", dropna=False)
    wide = wide.reindex(pd.MultiIndex.from_frame(nodes))[periods]
    base = wide.to_numpy(float)
    tilde = reconcile(base, S, reconciliation)
    # Drop floating-point dust (1e-16) so that unchanged nodes stay exactly unchanged.
    diff = np.where(np.abs(tilde - base) < 1e-9 * (1 + np.abs(base)), 0.0, tilde - base)
    shift = pd.DataFrame(diff, index=wide.index, columns=periods)
    long = shift.stack().rename("shift").reset_index().rename(columns={"level_3": "period"})
    long.columns = [*key, "period", "shift"]
    out = allf.merge(long, on=[*key, "period"], how="left")
    out["base_forecast"] = out["forecast"]
    out["forecast"] = out["forecast"] + out["shift"]
    for b in _BOUNDS:
        out[b] = out[b] + out["shift"]
    out["reconciliation"] = reconciliation
    cols = [*key, "period", "method", "reconciliation", "base_forecast", "forecast", *_BOUNDS]
    out = out[cols].reset_index(drop=True)
    out["reconciliation"] = out["reconciliation"].astype("string")
    return out
