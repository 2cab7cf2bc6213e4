"""Forecasting methods for one series, each with 80% and 95% prediction intervals.

Every method takes a 1-D history ``y`` (oldest first), a horizon ``h`` and the seasonal period
``m`` (12 monthly, 4 quarterly, 52 weekly) and returns a :class:`MethodForecast`. Methods are
looked up by name in :data:`METHODS`; :func:`get_method` raises
:class:`~spmlib.exceptions.UnknownNameError` listing the valid names.

Short histories never crash: a method that cannot be fitted falls back to a simpler one and says
so in ``MethodForecast.note`` (for example "ets: 5 points < 8 needed; used naive").
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from spmlib.exceptions import ParameterError, UnknownNameError

__all__ = [
    "MethodForecast",
    "METHODS",
    "MODEL_METHODS",
    "get_method",
    "fit_method",
    "Z80",
    "Z95",
    "warning_counts",
]

log = logging.getLogger(__name__)

Z80 = 1.2815515655446004  # standard normal 90% quantile: two-sided 80% interval
Z95 = 1.959963984540054  # standard normal 97.5% quantile: two-sided 95% interval

#: Warnings raised by statsmodels during fits, counted by category name (not printed).
_WARNINGS: dict[str, int] = {}


def warning_counts(reset: bool = False) -> dict[str, int]:
    """How many statsmodels warnings (by category) were silenced since the last reset."""
    out = dict(_WARNINGS)
    if reset:
        _WARNINGS.clear()
    return out


@dataclass
class MethodForecast:
    """Point forecasts and interval bounds for h steps ahead (arrays of length h).

    ``method`` is the method actually used (after any fallback); ``note`` says why a fallback
    happened ("" when none). ``state`` carries fitted details that may be reused (e.g. the SARIMA
    order chosen), so a backtest does not repeat the order search at every origin.
    """

    method: str
    mean: np.ndarray
    lower_80: np.ndarray
    upper_80: np.ndarray
    lower_95: np.ndarray
    upper_95: np.ndarray
    note: str = ""
    state: dict = field(default_factory=dict)


def _normal(method: str, mean: np.ndarray, sd: np.ndarray, note: str = "") -> MethodForecast:
    mean = np.asarray(mean, dtype=float)
    sd = np.asarray(sd, dtype=float)
    return MethodForecast(
        method, mean, mean - Z80 * sd, mean + Z80 * sd, mean - Z95 * sd, mean + Z95 * sd, note
    )


def _rmse(resid: np.ndarray) -> float:
    resid = resid[np.isfinite(resid)]
    return float(np.sqrt(np.mean(resid**2))) if len(resid) else np.nan


def naive(y: np.ndarray, h: int, m: int) -> MethodForecast:
    """Last value carried forward; sd_h = sigma * sqrt(h), sigma the RMSE of one-step naive errors.

    Examples
    --------
    >>> f = naive(np.array([1.0, 3.0, 2.0]), 2, 12)
    >>> f.mean.tolist(), np.round(f.upper_80 - f.mean, 3).tolist()
    ([2.0, 2.0], [2.026, 2.866])
    """
    sigma = _rmse(np.diff(y)) if len(y) > 1 else np.nan
    return _normal("naive", np.repeat(y[-1], h), sigma * np.sqrt(np.arange(1, h + 1)))


def snaive(y: np.ndarray, h: int, m: int) -> MethodForecast:
    """Value of the same season last year; sd_h = sigma * sqrt(floor((h - 1) / m) + 1).

    Needs at least one full season plus one point; otherwise falls back to :func:`naive`.

    Examples
    --------
    >>> f = snaive(np.array([1.0, 5.0, 2.0, 6.0, 3.0]), 3, 2)
    >>> f.mean.tolist()
    [6.0, 3.0, 6.0]
    """
    if m <= 1 or len(y) < m + 1:
        out = naive(y, h, m)
        if m > 1:
            out.note = f"snaive: {len(y)} points < one season + 1 ({m + 1}); used naive"
        return out
    steps = np.arange(h)
    mean = y[len(y) - m + steps % m]
    sigma = _rmse(y[m:] - y[:-m])
    return _normal("snaive", mean, sigma * np.sqrt(steps // m + 1))


def drift(y: np.ndarray, h: int, m: int) -> MethodForecast:
    """Line from the first to the last value, extended; sd_h = sigma * sqrt(h (1 + h / (T - 1))).

    sigma is the RMSE of the one-step errors y_t - y_{t-1} - c, with c the mean change
    (FPP3 section 5.5, with T - 1 one-step differences).

    Examples
    --------
    >>> drift(np.array([1.0, 2.0, 3.0]), 2, 12).mean.tolist()
    [4.0, 5.0]
    """
    if len(y) < 3:
        out = naive(y, h, m)
        out.note = f"drift: {len(y)} points < 3 needed; used naive"
        return out
    d = np.diff(y)
    c = d.mean()
    steps = np.arange(1, h + 1)
    sigma = _rmse(d - c)
    sd = sigma * np.sqrt(steps * (1 + steps / len(d)))
    return _normal("drift", y[-1] + c * steps, sd)


def _constant(y: np.ndarray) -> bool:
    return len(y) > 0 and bool(np.all(y == y[0]))


def _guard(name: str, y: np.ndarray, h: int, m: int, min_len: int) -> MethodForecast | None:
    """A fallback forecast when a model cannot be fitted on ``y``, else None."""
    if _constant(y):
        out = naive(y, h, m)
        out.note = f"{name}: constant history; forecast is the constant"
        return out
    if len(y) < min_len:
        out = naive(y, h, m)
        out.note = f"{name}: {len(y)} points < {min_len} needed; used naive"
        return out
    if m > 1 and len(y) >= 2 * m and np.allclose(y[m:], y[:-m], rtol=0, atol=1e-12):
        # statsmodels' likelihoods degenerate on a noiseless seasonal pattern.
        out = snaive(y, h, m)
        out.note = f"{name}: exactly periodic history; forecast repeats the last season"
        return out
    return None


def _quiet(fn: Callable[[], MethodForecast]) -> MethodForecast:
    """Run a statsmodels fit, counting its warnings instead of printing them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    for w in caught:
        key = w.category.__name__
        _WARNINGS[key] = _WARNINGS.get(key, 0) + 1
    if caught:
        log.debug("%s: %d statsmodels warning(s) silenced", out.method, len(caught))
    return out


def _seasonal(y: np.ndarray, m: int) -> bool:
    """Seasonal models need at least two full seasons."""
    return m > 1 and len(y) >= 2 * m


def ets(y: np.ndarray, h: int, m: int) -> MethodForecast:
    """ETS(A, Ad, A): additive errors, additive damped trend, additive seasonality when the history
    holds at least two full seasons (else ETS(A, Ad, N)); analytic intervals (statsmodels ETSModel).

    Falls back to naive below 8 points (or on a constant history).
    """
    fallback = _guard("ets", y, h, m, 8)
    if fallback is not None:
        return fallback
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = _seasonal(y, m)

    def fit() -> MethodForecast:
        kw = {"seasonal": "add", "seasonal_periods": m} if seasonal else {}
        model = ETSModel(
            pd.Series(y),
            error="add",
            trend="add",
            damped_trend=True,
            # The heuristic start (fast, no 52 extra parameters) needs 10 points and 2 seasons.
            initialization_method="heuristic" if seasonal and m > 4 else "estimated",
            **kw,
        )
        res = model.fit(disp=False, maxiter=200)
        p80 = res.get_prediction(len(y), len(y) + h - 1).summary_frame(alpha=0.2)
        p95 = res.get_prediction(len(y), len(y) + h - 1).summary_frame(alpha=0.05)
        note = "" if seasonal or m <= 1 else f"ets: {len(y)} points < two seasons; no seasonality"
        return MethodForecast(
            "ets",
            p80["mean"].to_numpy(float),
            p80["pi_lower"].to_numpy(float),
            p80["pi_upper"].to_numpy(float),
            p95["pi_lower"].to_numpy(float),
            p95["pi_upper"].to_numpy(float),
            note,
        )

    return _finite(_quiet(fit), y, h, m)


def _ima_sigma2(x: np.ndarray, alpha: float) -> float:
    """Residual variance of the ARIMA(0,1,1) with drift equivalent to SES with ``alpha``:
    e_t = (x_t - x_{t-1}) - c - (alpha - 1) e_{t-1}, c the mean change, e_0 = 0.

    Examples
    --------
    >>> round(_ima_sigma2(np.array([1.0, 2.0, 3.0, 4.0]), 0.5), 6)  # constant changes
    0.0
    """
    d = np.diff(x)
    if len(d) == 0:
        return 0.0
    c, ma = d.mean(), alpha - 1.0
    e, total = 0.0, 0.0
    for v in d:
        e = v - c - ma * e
        total += e * e
    return float(total / len(d))


def theta(y: np.ndarray, h: int, m: int) -> MethodForecast:
    """Theta method (Assimakopoulos & Nikolopoulos 2000) as in statsmodels ``ThetaModel``:
    seasonally adjusted by classical decomposition when the history holds two full seasons
    (multiplicative when all values are positive, else additive), SES with drift, and its
    analytic intervals sigma^2 (1 + (h - 1)(1 + (alpha - 1)^2)), with sigma^2 the residual
    variance of the fitted SES's IMA(1,1) form (:func:`_ima_sigma2`). Falls back to naive
    below 4 points."""
    fallback = _guard("theta", y, h, m, 4)
    if fallback is not None:
        return fallback
    from statsmodels.tsa.forecasting.theta import ThetaModel

    seasonal = _seasonal(y, m)

    def fit() -> MethodForecast:
        method = "multiplicative" if np.all(y > 0) else "additive"
        model = ThetaModel(
            pd.Series(y),
            period=m if m > 1 else None,
            deseasonalize=seasonal,
            use_test=False,
            method=method,
        )
        res = model.fit(use_mle=False)
        if getattr(res, "_sigma2", 0.0) is None:
            # statsmodels would fit a SARIMAX(0,1,1) just for sigma2 (most of the fit time);
            # use the IMA(1,1) equivalent of the fitted SES instead (theta = alpha - 1).
            res._sigma2 = _ima_sigma2(np.asarray(model._y, dtype=float), float(res.params["alpha"]))
        mean = res.forecast(h).to_numpy(float)
        b80 = res.prediction_intervals(h, alpha=0.2)
        b95 = res.prediction_intervals(h, alpha=0.05)
        return MethodForecast(
            "theta",
            mean,
            b80["lower"].to_numpy(float),
            b80["upper"].to_numpy(float),
            b95["lower"].to_numpy(float),
            b95["upper"].to_numpy(float),
        )

    return _finite(_quiet(fit), y, h, m)


#: Small SARIMA search: (p, q) pairs tried, the best by AICc wins.
_ARMA_ORDERS = ((0, 0), (1, 0), (0, 1), (1, 1))


def arima(y: np.ndarray, h: int, m: int, order: tuple | None = None) -> MethodForecast:
    """SARIMA with a small automatic order search.

    With two full seasons plus two points the model is ARIMA(p,0,q)(0,1,0)_m with a constant:
    an ARMA(p, q) fitted to the seasonal differences z_t = y_t - y_{t-m}; otherwise
    ARIMA(p,1,q) with a drift. The orders (p, q) in {(0,0), (1,0), (0,1), (1,1)} are fitted
    and the one with the lowest AICc kept. ``order`` = ((p, d, q), (P, D, Q, m)) skips the
    search (used by the backtest, which reuses the order chosen at its first origin).

    Intervals: from statsmodels' forecast standard errors. In the seasonal case the forecasts
    are integrated back (y_{T+k} = y_{T+k-m} + z_{T+k}); beyond one season ahead the variance
    adds that of the value one season earlier, ignoring the covariance of the two z forecasts
    (an approximation; horizons up to one season are exact). Fitting the ARMA on z (instead of
    a state-space model with m extra states) keeps the fit fast. Falls back to naive below 8
    points.
    """
    fallback = _guard("arima", y, h, m, 8)
    if fallback is not None:
        return fallback
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    seasonal = m > 1 and len(y) >= 2 * m + 2
    data = y[m:] - y[:-m] if seasonal else y

    def fit_one(o: tuple, so: tuple):
        return SARIMAX(data, order=o, trend="c" if so[1] else "t").fit(disp=False, maxiter=50)

    def fit() -> MethodForecast:
        so = (0, 1, 0, m) if seasonal else (0, 0, 0, 0)
        d = 0 if seasonal else 1
        if order is not None and tuple(order[1]) == so and order[0][1] == d:
            best = (order, fit_one(order[0], so))
        else:
            best = None
            for p, q in _ARMA_ORDERS:
                try:
                    res = fit_one((p, d, q), so)
                except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - rare
                    continue
                if np.isfinite(res.aicc) and (best is None or res.aicc < best[1].aicc):
                    best = (((p, d, q), so), res)
        if best is None:  # pragma: no cover - every candidate failed
            return naive(y, h, m)
        chosen, res = best
        fc = res.get_forecast(h)
        mean = np.asarray(fc.predicted_mean, dtype=float)
        se = np.asarray(fc.se_mean, dtype=float)
        if seasonal:
            ymean, yvar = np.empty(h), np.empty(h)
            for k in range(h):
                base = y[len(y) - m + k] if k < m else ymean[k - m]
                ymean[k] = base + mean[k]
                yvar[k] = se[k] ** 2 + (yvar[k - m] if k >= m else 0.0)
            mean, se = ymean, np.sqrt(yvar)
        note = (
            "" if seasonal or m <= 1 else "arima: fewer than two seasons + 2 points; non-seasonal"
        )
        out = _normal("arima", mean, se, note)
        out.state = {"order": chosen}
        return out

    return _finite(_quiet(fit), y, h, m)


def _finite(out: MethodForecast, y: np.ndarray, h: int, m: int) -> MethodForecast:
    """Replace a fit that produced non-finite numbers by naive, saying so."""
    arrays = [out.mean, out.lower_80, out.upper_80, out.lower_95, out.upper_95]
    if all(np.all(np.isfinite(a)) for a in arrays):
        return out
    fb = naive(y, h, m)
    fb.note = f"{out.method}: the fit gave non-finite forecasts; used naive"
    return fb


def combo(y: np.ndarray, h: int, m: int, members: dict | None = None) -> MethodForecast:
    """Combination: the mean of the ETS, Theta and ARIMA point forecasts.

    Interval rule: each bound is the mean of the members' bounds (a simple, slightly
    conservative rule: the members' errors are positively correlated, so the combination's
    spread is close to their average spread). ``members`` may pass already fitted members.
    """
    members = dict(members or {})
    for name in ("ets", "theta", "arima"):
        if name not in members:
            members[name] = METHODS[name](y, h, m)
    fs = [members[k] for k in ("ets", "theta", "arima")]
    notes = "; ".join(f.note for f in fs if f.note)
    return MethodForecast(
        "combo",
        np.mean([f.mean for f in fs], axis=0),
        np.mean([f.lower_80 for f in fs], axis=0),
        np.mean([f.upper_80 for f in fs], axis=0),
        np.mean([f.lower_95 for f in fs], axis=0),
        np.mean([f.upper_95 for f in fs], axis=0),
        notes,
    )


#: The registry of forecasting methods by name.
METHODS: dict[str, Callable[..., MethodForecast]] = {
    "naive": naive,
    "snaive": snaive,
    "drift": drift,
    "ets": ets,
    "theta": theta,
    "arima": arima,
    "combo": combo,
}
#: The statistical models (fitted with statsmodels), as opposed to the simple benchmarks.
MODEL_METHODS = ("ets", "theta", "arima", "combo")


def get_method(name: str) -> Callable[..., MethodForecast]:
    """The method called ``name``; raises UnknownNameError listing the valid names.

    Examples
    --------
    >>> get_method("nope")
    Traceback (most recent call last):
    ...
    spmlib.exceptions.UnknownNameError: unknown forecast method 'nope'; valid: arima, combo, ...
    """
    try:
        return METHODS[name]
    except KeyError:
        raise UnknownNameError("forecast method", name, list(METHODS)) from None


def fit_method(
    name: str,
    y: np.ndarray | pd.Series,
    h: int,
    m: int,
    nonnegative: bool | None = None,
    cache: dict | None = None,
    hints: dict | None = None,
) -> MethodForecast:
    """Forecast ``h`` steps of ``y`` with method ``name``.

    Parameters
    ----------
    name : a key of :data:`METHODS`.
    y : the history, oldest first (NaN not allowed: fill gaps first).
    h : horizon (>= 1).
    m : seasonal period (1 = none).
    nonnegative : clip forecasts and bounds at 0; None = when the history has no negative value
        (bookings cannot be negative).
    cache : a dict shared between calls on the same (y, h): fitted members are reused by the
        combination.
    hints : fitted details to reuse, e.g. ``{"arima_order": ((1, 0, 0), (0, 1, 0, 12))}`` skips
        the SARIMA order search.

    Examples
    --------
    >>> fit_method("naive", [5.0, 5.0, 5.0], 2, 12).mean.tolist()
    [5.0, 5.0]
    """
    get_method(name)
    y = np.asarray(y, dtype=float)
    if len(y) == 0:
        raise ParameterError("cannot forecast an empty series; give at least one observation.")
    if not np.all(np.isfinite(y)):
        raise ParameterError("the series has missing or infinite values; fill gaps (e.g. with 0).")
    if h < 1:
        raise ParameterError(f"horizon must be at least 1, got {h}.")
    cache = {} if cache is None else cache
    hints = hints or {}

    def raw(key: str) -> MethodForecast:
        if key not in cache:
            if key == "combo":
                members = {k: raw(k) for k in ("ets", "theta", "arima")}
                cache[key] = combo(y, h, m, members=members)
            elif key == "arima" and hints.get("arima_order") is not None:
                cache[key] = arima(y, h, m, order=hints["arima_order"])
            else:
                cache[key] = METHODS[key](y, h, m)
        return cache[key]

    out = raw(name)
    if nonnegative is None:
        nonnegative = bool(np.all(y >= 0))
    if nonnegative:
        out = MethodForecast(
            out.method,
            np.clip(out.mean, 0, None),
            np.clip(out.lower_80, 0, None),
            np.clip(out.upper_80, 0, None),
            np.clip(out.lower_95, 0, None),
            np.clip(out.upper_95, 0, None),
            out.note,
            out.state,
        )
    return out
