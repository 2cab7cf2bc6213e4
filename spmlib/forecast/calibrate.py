"""Calibrated prediction intervals and the ``auto`` choice, both from one short backtest.

A model's own intervals assume the model is right; on real series they are too narrow (on the
M3 monthly benchmark, 18 months ahead, the 80% intervals of ETS, ARIMA and Theta held 63-72% of
the actuals). Every forecast is therefore made in two steps (:func:`predict_series`):

1. **Fit** the method on the whole history (the ETS form, the ARIMA orders and Theta's alpha are
   chosen here).
2. **Backtest** it at K = :data:`CALIBRATION_ORIGINS` origins (:func:`calibration_origins`:
   spaced max(1, min(h, m) // 2) periods apart, each training part long enough for the
   seasonal forms, each scored on the next ``hb`` <= h points), refitting the forms chosen in
   step 1 without a new search. Each actual gives a standardized error |y - f| / s, with s the
   half-width of the origin's interval on the error's side divided by z (z = 1.2816 for 80%,
   1.96 for 95%).

**Calibration.** The half-widths of the 80% interval are multiplied by c80 = q80 / z80, q80
being the 80% quantile of the standardized errors, bounded to [:data:`FACTOR_MIN`,
:data:`FACTOR_MAX`] = [1, 4]: an interval is widened until it would have held 80% of the
backtest actuals, never narrowed. The 95% interval likewise, with c95 = max(q95 / z95, c80)
(the 95% quantile of a few dozen points is noisy; it never gets a smaller factor than the 80%).
With no origin (too short a history) the intervals are left as fitted, and the note says so.

**Selection rule of ``auto``.** The default is the combination (``combo``: mean of ETS, Theta,
ARIMA). Another candidate (:data:`CANDIDATES`) replaces it only on strong evidence: at least
:data:`SELECT_MIN_ORIGINS` (5) origins, a lower MASE than the combination at **every** origin
(a sign test at p = 1/32), and a mean MASE at least :data:`SELECT_MARGIN` (50%) lower, i.e. at
most half the combination's. Among the candidates that qualify the one with the lowest mean
MASE wins. MASE here is the origin's MAE over its ``hb`` points divided by the in-sample
seasonal naive MAE of its training part (as in :mod:`spmlib.forecast.scores`). On the 620 M3
monthly series, picking the lowest backtest MASE lost 12% to the combination (measured on 150
of them); with this rule a 30% margin still lost 0.9% (30 series left the combination), 40%
lost 0.05%, 50% gained 0.1% (3 series): with an 18-month horizon the backtest windows overlap,
so a backtest winner is mostly noise, and the margin was chosen on these (development) series.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from spmlib.forecast.methods import COMBO_MEMBERS, Z80, Z95, MethodForecast, fit_method, get_method
from spmlib.forecast.scores import ERROR_COLUMNS, accuracy, error_rows

__all__ = [
    "CALIBRATION_ORIGINS",
    "CANDIDATES",
    "SELECT_MIN_ORIGINS",
    "SELECT_MARGIN",
    "FACTOR_MIN",
    "FACTOR_MAX",
    "Prediction",
    "calibration_origins",
    "interval_factor",
    "apply_factors",
    "choose",
    "predict_series",
]

log = logging.getLogger(__name__)

#: Backtest origins used to calibrate intervals and to select for ``auto``.
CALIBRATION_ORIGINS = 5
#: Methods ``auto`` may choose instead of the combination.
CANDIDATES = ("naive", "snaive", "drift", "ets", "theta", "arima")
#: Fewest origins on which ``auto`` may leave the combination.
SELECT_MIN_ORIGINS = 5
#: How much lower (relative) a candidate's mean backtest MASE must be than the combination's.
SELECT_MARGIN = 0.5
#: Bounds of the interval width factor.
FACTOR_MIN, FACTOR_MAX = 1.0, 4.0
#: Fewest training points of a calibration origin without seasonality.
_MIN_FIT = 8


@dataclass(frozen=True)
class Prediction:
    """What :func:`predict_series` returns.

    Attributes
    ----------
    forecast : the calibrated forecast (clipped at 0 for a non-negative history).
    method : the method asked for (``"auto"`` or a name); ``forecast.method`` is the one used.
    selection : the calibration backtest per method scored (:func:`spmlib.forecast.scores.
        accuracy` columns, before calibration) and the bool ``chosen``; ``origins`` is 0 and the
        scores NaN when no origin fits the history.
    factor_80, factor_95 : the interval width factors applied (1.0 when not calibrated).
    """

    forecast: MethodForecast
    method: str
    selection: pd.DataFrame
    factor_80: float
    factor_95: float


def calibration_origins(n: int, h: int, m: int, origins: int = CALIBRATION_ORIGINS):
    """Training sizes of the calibration origins and the steps scored at each.

    Origins are ``step`` = max(1, min(h, m) // 2) apart, the last one ending on the last point;
    every training part keeps two seasons plus two points when the history has them (so the
    seasonal forms can be refitted), else 8 points. When the history is too short for K origins
    scored on h points, the scored steps ``hb`` shrink down to ``step`` (or h if smaller), then
    the number of origins; a single origin may be scored on fewer points.

    Returns
    -------
    (sizes, hb): training sizes, oldest first, and the points scored after each; ``([], 0)`` when
    not even one origin with one scored point fits.

    Examples
    --------
    >>> calibration_origins(126, 18, 12)  # 5 origins 6 months apart, each scored on 18
    ([84, 90, 96, 102, 108], 18)
    >>> calibration_origins(36, 6, 12)  # two seasons + 2 = 26 points of training at least
    ([26, 29, 32], 4)
    >>> calibration_origins(8, 3, 1)  # 8 points of training and none left to score
    ([], 0)
    """
    step = max(1, min(h, m) // 2) if m > 1 else max(1, h // 2)
    min_train = 2 * m + 2 if m > 1 and n >= 2 * m + 2 + 1 else _MIN_FIT
    for floor in (max(1, min(h, step)), 1):
        for k in range(origins, 0, -1):
            hb = min(h, n - min_train - (k - 1) * step)
            if hb >= floor:
                return [n - hb - (k - 1 - j) * step for j in range(k)], hb
    return [], 0


def interval_factor(errors: np.ndarray, half_widths: np.ndarray, z: float) -> float:
    """Width factor of one interval level: the ``level`` quantile of |error| / (half-width / z),
    divided by z, bounded to [FACTOR_MIN, FACTOR_MAX].

    ``level`` is 0.8 for z = Z80 and 0.95 for z = Z95. A point whose interval has zero width
    counts as 0 when its error is 0 and is dropped otherwise. No usable point gives 1.

    Examples
    --------
    >>> # Half-widths z * 1 (sd 1); errors 0.5, 1, 2, 3, 4: 80% quantile of |e| / 1 = 3.2.
    >>> round(interval_factor(np.array([0.5, -1, 2, -3, 4]), np.full(5, Z80), Z80), 4)
    2.497
    """
    level = 0.8 if abs(z - Z80) < 1e-9 else 0.95
    e, w = np.abs(np.asarray(errors, float)), np.asarray(half_widths, float)
    ok = (w > 0) | (e == 0)
    if not ok.any():
        return 1.0
    ratio = np.where(w[ok] > 0, e[ok] / np.where(w[ok] > 0, w[ok], 1) * z, 0.0)
    return float(np.clip(np.quantile(ratio, level) / z, FACTOR_MIN, FACTOR_MAX))


def apply_factors(f: MethodForecast, factor_80: float, factor_95: float) -> MethodForecast:
    """``f`` with each bound's distance to the forecast multiplied by its level's factor.

    Examples
    --------
    >>> one = np.array([10.0])
    >>> g = apply_factors(MethodForecast("x", one, one - 1, one + 2, one - 3, one + 3), 2.0, 1.5)
    >>> [float(b[0]) for b in (g.lower_80, g.upper_80, g.lower_95, g.upper_95)]
    [8.0, 14.0, 5.5, 14.5]
    """
    mean = f.mean
    return MethodForecast(
        f.method,
        mean,
        mean - factor_80 * (mean - f.lower_80),
        mean + factor_80 * (f.upper_80 - mean),
        mean - factor_95 * (mean - f.lower_95),
        mean + factor_95 * (f.upper_95 - mean),
        f.note,
        f.state,
    )


def choose(mase: pd.DataFrame) -> str:
    """The method ``auto`` uses, from per-origin MASE (module docstring's rule).

    Parameters
    ----------
    mase : one row per origin, one column per method (``combo`` among them).

    Examples
    --------
    >>> t = pd.DataFrame({"combo": [1.0] * 5, "snaive": [0.4, 0.45, 0.5, 0.5, 0.4],
    ...                   "ets": [0.2, 0.2, 0.2, 0.2, 1.1]})
    >>> choose(t)  # ets is lower on average but not at every origin; snaive: 0.45 <= 0.5
    'snaive'
    >>> choose(t.assign(snaive=[0.4, 0.45, 0.5, 0.5, 0.95]))  # mean 0.56: not 50% lower
    'combo'
    >>> choose(t.iloc[:4])  # four origins are not enough
    'combo'
    """
    if len(mase) < SELECT_MIN_ORIGINS or "combo" not in mase:
        return "combo"
    base = mase["combo"].to_numpy(float)
    best, best_mean = "combo", float(np.mean(base)) * (1 - SELECT_MARGIN)
    for name in mase.columns:
        v = mase[name].to_numpy(float)
        if name == "combo" or not np.all(np.isfinite(v)):
            continue
        if np.all(v < base) and float(np.mean(v)) <= best_mean:
            best, best_mean = name, float(np.mean(v))
    return best


def _origin_mase(errors: pd.DataFrame) -> pd.DataFrame:
    """Per-origin MASE (rows: origins; columns: methods) of a backtest detail."""
    e = errors.assign(abs_error=(errors["actual"] - errors["forecast"]).abs())
    g = e.groupby(["origin", "method"], sort=False).agg(
        mae=("abs_error", "mean"), scale=("scale", "first")
    )
    mase = np.where(g["scale"] > 0, g["mae"] / g["scale"].where(g["scale"] > 0, 1), np.nan)
    return pd.Series(mase, index=g.index).unstack("method")


def _standardized(errors: pd.DataFrame, level: str) -> tuple[np.ndarray, np.ndarray]:
    """(error, half-width on the error's side) of every backtest point at ``level`` 80 or 95."""
    err = (errors["actual"] - errors["forecast"]).to_numpy(float)
    up = (errors[f"upper_{level}"] - errors["forecast"]).to_numpy(float)
    down = (errors["forecast"] - errors[f"lower_{level}"]).to_numpy(float)
    return err, np.where(err >= 0, up, down)


def predict_series(
    y: np.ndarray,
    h: int,
    m: int,
    method: str = "auto",
    origins: int = CALIBRATION_ORIGINS,
    candidates: tuple[str, ...] | list[str] | None = None,
    nonnegative: bool | None = None,
) -> Prediction:
    """Forecast one series with calibrated intervals; ``method="auto"`` applies the selection
    rule (module docstring).

    Parameters
    ----------
    y : the history, oldest first.
    h, m : horizon and seasonal period.
    method : ``"auto"`` or a key of :data:`spmlib.forecast.methods.METHODS`.
    origins : calibration origins K (0 = no calibration, model intervals as fitted).
    candidates : the methods ``auto`` may choose instead of ``combo``; None = :data:`CANDIDATES`.
    nonnegative : clip at 0; None = when the history has no negative value.

    Examples
    --------
    >>> y = np.tile([10.0, 20.0, 30.0, 40.0], 6) + np.arange(24.0) % 3
    >>> p = predict_series(y, 4, 4, "snaive")
    >>> p.forecast.mean.tolist(), p.selection["origins"].tolist()
    ([12.0, 20.0, 31.0, 42.0], [5])
    """
    y = np.asarray(y, dtype=float)
    names = [method] if method != "auto" else ["combo", *(candidates or CANDIDATES)]
    for name in names:
        get_method(name)
    if nonnegative is None:
        nonnegative = bool(np.all(y >= 0))
    cache: dict = {}
    full = {k: fit_method(k, y, h, m, nonnegative=False, cache=cache) for k in names}
    hints: dict = {}
    for k in (*COMBO_MEMBERS, *names):
        if k in cache:
            hints.update(cache[k].state)
    sizes, hb = calibration_origins(len(y), h, m, origins) if origins > 0 else ([], 0)
    rows = []
    for i, size in enumerate(sizes, start=1):
        train, test, inner = y[:size], y[size : size + hb], {}
        for k in names:
            f = fit_method(k, train, hb, m, nonnegative=False, cache=inner, hints=hints)
            rows.append(error_rows(k, i, train, test, f, m))
    errors = pd.concat(rows, ignore_index=True) if rows else None
    chosen = method
    if method == "auto":
        chosen = choose(_origin_mase(errors)) if errors is not None else "combo"
    out, f80, f95 = full[chosen], 1.0, 1.0
    if errors is not None:
        mine = errors[errors["method"] == chosen]
        f80 = interval_factor(*_standardized(mine, "80"), Z80)
        f95 = max(interval_factor(*_standardized(mine, "95"), Z95), f80)
        out = apply_factors(out, f80, f95)
    elif origins > 0:
        note = "; ".join(x for x in (out.note, "intervals not calibrated: history too short") if x)
        out = replace(out, note=note)
    if nonnegative:
        bounds = ("mean", "lower_80", "upper_80", "lower_95", "upper_95")
        out = replace(out, **{b: np.clip(getattr(out, b), 0, None) for b in bounds})
    if errors is not None:
        selection = accuracy(errors, names)
    else:
        selection = accuracy(pd.DataFrame(columns=ERROR_COLUMNS), names)
    selection["chosen"] = selection["method"] == chosen
    return Prediction(out, method, selection, f80, f95)
