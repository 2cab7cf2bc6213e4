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

# statsforecast imports tqdm.autonotebook, which warns "IProgress not found" in a kernel without
# ipywidgets: that line would reach a report's stderr (no progress bar is ever shown here).
warnings.filterwarnings("ignore", message="IProgress not found", category=Warning)

__all__ = [
    "MethodForecast",
    "METHODS",
    "MODEL_METHODS",
    "COMBO_MEMBERS",
    "get_method",
    "fit_method",
    "Z80",
    "Z95",
    "warning_counts",
]

log = logging.getLogger(__name__)

Z80 = 1.2815515655446004  # standard normal 90% quantile: two-sided 80% interval
Z95 = 1.959963984540054  # standard normal 97.5% quantile: two-sided 95% interval

#: Warnings raised by the model libraries during fits, counted by category name (not printed).
_WARNINGS: dict[str, int] = {}


def warning_counts(reset: bool = False) -> dict[str, int]:
    """How many library warnings (by category) were silenced since the last reset."""
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
        # Likelihoods degenerate on a noiseless seasonal pattern.
        out = snaive(y, h, m)
        out.note = f"{name}: exactly periodic history; forecast repeats the last season"
        return out
    return None


def _quiet(fn: Callable[[], MethodForecast]) -> MethodForecast:
    """Run a library fit, counting its warnings instead of printing them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    for w in caught:
        key = w.category.__name__
        _WARNINGS[key] = _WARNINGS.get(key, 0) + 1
    if caught:
        log.debug("%s: %d library warning(s) silenced", out.method, len(caught))
    return out


def _seasonal(y: np.ndarray, m: int) -> bool:
    """Seasonal models need at least two full seasons."""
    return m > 1 and len(y) >= 2 * m


def _from_statsforecast(method: str, out: dict, note: str, state: dict) -> MethodForecast:
    """A MethodForecast from a statsforecast ``predict(h, level=[80, 95])`` dict."""
    return MethodForecast(
        method,
        np.asarray(out["mean"], dtype=float),
        np.asarray(out["lo-80"], dtype=float),
        np.asarray(out["hi-80"], dtype=float),
        np.asarray(out["lo-95"], dtype=float),
        np.asarray(out["hi-95"], dtype=float),
        note,
        state,
    )


def ets(y: np.ndarray, h: int, m: int, form: str | None = None) -> MethodForecast:
    """Exponential smoothing (ETS) with the form chosen by AICc, and its analytic intervals.

    statsforecast's ``AutoETS`` (a port of R ``forecast::ets``; Hyndman et al. 2008) fits every
    admissible combination of error (A, M), trend (N, A, Ad = damped) and seasonality (N, A, M)
    and keeps the lowest AICc; multiplicative forms only for positive data, seasonal forms only
    with two full seasons. ``form`` is statsforecast's 4-letter code (error, trend, season, then
    D for damped or N, e.g. ``"MADM"`` = ETS(M,Ad,M)): that form only is fitted (the calibration
    backtest reuses the form chosen on the whole history). ``state`` holds ``ets_form`` (the
    code) and ``model`` (e.g. ``"ETS(M,Ad,M)"``). Falls back to naive below 8 points.
    """
    fallback = _guard("ets", y, h, m, 8)
    if fallback is not None:
        return fallback
    from statsforecast.models import AutoETS

    seasonal = _seasonal(y, m)
    if form is not None and form[2] != "N" and not seasonal:
        form = None  # a seasonal form cannot be fitted on less than two seasons
    note = "" if seasonal or m <= 1 else f"ets: {len(y)} points < two seasons; no seasonality"

    def fit() -> MethodForecast:
        kw = {"model": form[:3], "damped": form[3] == "D"} if form else {}
        model = AutoETS(season_length=m if seasonal else 1, **kw).fit(y)
        state = {"ets_form": model.model_["components"], "model": model.model_["method"]}
        return _from_statsforecast("ets", model.predict(h, level=[80, 95]), note, state)

    return _attempt("ets", fit, y, h, m)


def _ses(x: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """Simple exponential smoothing started at ``x[0]``: (last level, one-step errors x_t - l_{t-1}
    for t = 1..n-1), with l_t = l_{t-1} + alpha (x_t - l_{t-1}).

    Examples
    --------
    >>> level, e = _ses(np.array([2.0, 4.0, 3.0]), 0.5)
    >>> float(level), e.tolist()
    (3.0, [2.0, 0.0])
    """
    level, errors = float(x[0]), np.empty(len(x) - 1)
    for t in range(1, len(x)):
        errors[t - 1] = x[t] - level
        level += alpha * errors[t - 1]
    return level, errors


def _seasonality_test(y: np.ndarray, m: int) -> bool:
    """The Theta method's test (as in R ``forecast::thetaf``): seasonal when the lag-m
    autocorrelation r_m exceeds 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n), with n > 2m."""
    n = len(y)
    if m <= 1 or n <= 2 * m:
        return False
    x = y - y.mean()
    denom = float(x @ x)
    if denom == 0:
        return False
    r = np.array([float(x[k:] @ x[:-k]) / denom for k in range(1, m + 1)])
    return abs(r[-1]) > 1.6448536269514722 * np.sqrt((1 + 2 * np.sum(r[:-1] ** 2)) / n)


def _seasonal_indices(y: np.ndarray, m: int, multiplicative: bool) -> np.ndarray:
    """Classical decomposition's seasonal indices (m values, starting at the season of ``y[0]``):
    the mean ratio (or difference) of y to its centred 2 x m moving average, normalized to mean 1
    (or 0)."""
    weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.convolve(y, weights, mode="valid")
    half = (len(weights) - 1) // 2
    part = y[half : half + len(trend)]
    detr = part / trend if multiplicative else part - trend
    season = (np.arange(len(detr)) + half) % m
    idx = np.array([detr[season == j].mean() for j in range(m)])
    return idx / idx.mean() if multiplicative else idx - idx.mean()


def theta(y: np.ndarray, h: int, m: int, alpha: float | None = None) -> MethodForecast:
    """The Theta method (Assimakopoulos & Nikolopoulos 2000) in its SES-with-drift form
    (Hyndman & Billah 2003), as R ``forecast::thetaf``, with SES's analytic intervals.

    1. Seasonal adjustment when :func:`_seasonality_test` says so: classical decomposition,
       multiplicative for positive data, else additive.
    2. SES on the adjusted series x (level started at x_1, ``alpha`` in [0.01, 0.99] minimizing
       the squared one-step errors unless given), drift b = half the least-squares slope of x.
    3. Forecast x^_{n+h} = l_n + b ((h - 1) + 1/alpha - (1 - alpha)^n / alpha).
    4. Interval: x^ +- z sigma sqrt(1 + (h - 1) alpha^2), the variance of SES (ETS(A,N,N)) h
       steps ahead, sigma^2 the mean squared one-step error; then the seasonal index is put back
       on the forecast and both bounds.

    ``state["alpha"]`` holds alpha. Falls back to naive below 4 points.

    Examples
    --------
    >>> f = theta(np.array([10.0, 12.0, 11.0, 13.0, 12.0]), 2, 1, alpha=0.5)
    >>> f.mean.round(3).tolist()
    [12.484, 12.734]
    """
    fallback = _guard("theta", y, h, m, 4)
    if fallback is not None:
        return fallback
    from scipy.optimize import minimize_scalar

    n, steps = len(y), np.arange(1, h + 1)
    seasonal = _seasonality_test(y, m)
    positive = bool(np.all(y > 0))
    if seasonal:
        idx = _seasonal_indices(y, m, positive)
        past, future = idx[np.arange(n) % m], idx[(n + steps - 1) % m]
        x = y / past if positive else y - past
    else:
        x = y
    if alpha is None:
        alpha = float(
            minimize_scalar(
                lambda a: float(np.sum(_ses(x, a)[1] ** 2)), bounds=(0.01, 0.99), method="bounded"
            ).x
        )
    level, errors = _ses(x, alpha)
    b = np.polyfit(np.arange(n, dtype=float), x, 1)[0] / 2
    mean = level + b * ((steps - 1) + 1 / alpha - (1 - alpha) ** n / alpha)
    sd = np.sqrt(np.mean(errors**2)) * np.sqrt(1 + (steps - 1) * alpha**2)
    out = _normal("theta", mean, sd)
    if seasonal:
        for attr in ("mean", "lower_80", "upper_80", "lower_95", "upper_95"):
            v = getattr(out, attr)
            setattr(out, attr, v * future if positive else v + future)
    out.state = {"alpha": alpha, "seasonal": seasonal}
    return _finite(out, y, h, m)


def _arima_spec(model: dict) -> dict:
    """The fixed-order ``ARIMA`` arguments that refit the model AutoARIMA chose."""
    p, q, sp, sq, period, d, sd = model["arma"]
    return {
        "order": (p, d, q),
        "seasonal_order": (sp, sd, sq),
        "season_length": period,
        "include_mean": "intercept" in model["coef"],
        "include_drift": "drift" in model["coef"],
    }


def _arima_name(spec: dict) -> str:
    p, d, q = spec["order"]
    text = f"ARIMA({p},{d},{q})"
    if spec["season_length"] > 1:
        sp, sd, sq = spec["seasonal_order"]
        text += f"({sp},{sd},{sq})[{spec['season_length']}]"
    if spec["include_drift"]:
        text += " with drift"
    elif spec["include_mean"]:
        text += " with mean"
    return text


def arima(y: np.ndarray, h: int, m: int, order: dict | None = None) -> MethodForecast:
    """ARIMA with orders chosen as auto-ARIMA does (statsforecast ``AutoARIMA``, a port of R
    ``forecast::auto.arima``; Hyndman & Khandakar 2008).

    The number of differences d is chosen by repeated KPSS tests, the seasonal difference D by
    the seasonal-strength test (only with two full seasons); then a stepwise search over
    (p, q)(P, Q) keeps the lowest AICc. A constant is allowed only when d + D = 0 (a mean) and a
    drift only when d + D = 1, so a twice-differenced series never gets an exploding constant.
    Like auto.arima, orders are selected on a conditional-sum-of-squares approximation when the
    series has more than 150 points or m > 12 (then the chosen model is fitted by maximum
    likelihood), else on the exact likelihood. ``order`` (a
    ``state["arima_spec"]`` of an earlier fit) refits that model only. ``state`` holds
    ``arima_spec`` and ``model`` (e.g. ``"ARIMA(1,0,0)(0,1,1)[12] with drift"``). Falls back to
    naive below 8 points.
    """
    fallback = _guard("arima", y, h, m, 8)
    if fallback is not None:
        return fallback
    from statsforecast.models import ARIMA, AutoARIMA

    seasonal = _seasonal(y, m)
    if order is not None and order["season_length"] > 1 and not seasonal:
        order = None
    note = "" if seasonal or m <= 1 else f"arima: {len(y)} points < two seasons; non-seasonal"

    def fit() -> MethodForecast:
        if order is not None:
            model, spec = ARIMA(**order).fit(y), order
        else:
            approximate = len(y) > 150 or m > 12  # as auto.arima decides
            model = AutoARIMA(season_length=m if seasonal else 1, approximation=approximate)
            model = model.fit(y)
            spec = _arima_spec(model.model_)
        state = {"arima_spec": spec, "model": _arima_name(spec)}
        return _from_statsforecast("arima", model.predict(h, level=[80, 95]), note, state)

    return _attempt("arima", fit, y, h, m)


def _attempt(name: str, fit: Callable[[], MethodForecast], y, h, m) -> MethodForecast:
    """Run a library fit quietly; a fit that fails or gives non-finite numbers falls back to
    naive, saying why."""
    try:
        out = _quiet(fit)
    except (ValueError, ArithmeticError, RuntimeError, np.linalg.LinAlgError) as exc:
        fb = naive(y, h, m)
        fb.note = f"{name}: the fit failed ({type(exc).__name__}: {exc}); used naive"
        return fb
    return _finite(out, y, h, m)


def _finite(out: MethodForecast, y: np.ndarray, h: int, m: int) -> MethodForecast:
    """Replace a fit that produced non-finite numbers by naive, saying so."""
    arrays = [out.mean, out.lower_80, out.upper_80, out.lower_95, out.upper_95]
    if all(np.all(np.isfinite(a)) for a in arrays):
        return out
    fb = naive(y, h, m)
    fb.note = f"{out.method}: the fit gave non-finite forecasts; used naive"
    return fb


#: The members of the combination.
COMBO_MEMBERS = ("ets", "theta", "arima")


def combo(y: np.ndarray, h: int, m: int, members: dict | None = None) -> MethodForecast:
    """Combination: the mean of the ETS, Theta and ARIMA point forecasts.

    Interval rule (an equal-weight mixture of the members, as in Bayesian model averaging,
    Raftery et al. 2005): on each side, the distance from the combined forecast to the bound is

        d = sqrt(mean_i d_i^2 + z^2 var_i(f_i))

    with d_i the member's distance from its own forecast to that bound, z = 1.2816 (80%) or
    1.96 (95%) and var_i(f_i) the variance (over the three members, divided by 3) of their
    point forecasts: the within-model variance plus the between-model variance. When the
    members agree this is the root mean square of their half-widths; when they disagree the
    interval widens, since they cannot all be right. (Averaging the bounds instead ignored the
    disagreement and held 15 of 24 shampoo-sales actuals in a 95% interval.) The calibration
    (:mod:`spmlib.forecast.calibrate`) then widens it to the coverage measured on the history.
    ``members`` may pass already fitted members.

    Examples
    --------
    >>> y = np.array([10.0, 12.0, 11.0, 13.0, 12.0, 14.0, 13.0, 15.0, 14.0, 16.0])
    >>> f = combo(y, 2, 1)
    >>> members = [METHODS[k](y, 2, 1) for k in COMBO_MEMBERS]
    >>> bool(np.all(f.upper_80 - f.mean >= np.mean([g.upper_80 - g.mean for g in members], 0)))
    True
    """
    members = dict(members or {})
    for name in COMBO_MEMBERS:
        if name not in members:
            members[name] = METHODS[name](y, h, m)
    fs = [members[k] for k in COMBO_MEMBERS]
    notes = "; ".join(f.note for f in fs if f.note)
    mean = np.mean([f.mean for f in fs], axis=0)

    spread = np.var([f.mean for f in fs], axis=0)

    def bound(attr: str) -> np.ndarray:
        z = Z80 if attr.endswith("80") else Z95
        d2 = np.mean([(getattr(f, attr) - f.mean) ** 2 for f in fs], axis=0)
        sign = -1.0 if attr.startswith("lower") else 1.0
        return mean + sign * np.sqrt(d2 + z**2 * spread)

    state = {
        "members": {k: members[k].state.get("model", members[k].method) for k in COMBO_MEMBERS}
    }
    return MethodForecast(
        "combo",
        mean,
        bound("lower_80"),
        bound("upper_80"),
        bound("lower_95"),
        bound("upper_95"),
        notes,
        state,
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
#: The statistical models, as opposed to the simple benchmarks.
MODEL_METHODS = ("ets", "theta", "arima", "combo")


#: Per model, the ``state`` key whose value fixes the model when refitted, and the argument.
_HINTED = {"ets": ("ets_form", "form"), "arima": ("arima_spec", "order")}


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
    hints : the ``state`` of fits on a longer history to reuse: ``ets_form`` fixes the ETS form
        and ``arima_spec`` the ARIMA orders (no search), ``alpha`` Theta's smoothing weight.

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
                members = {k: raw(k) for k in COMBO_MEMBERS}
                cache[key] = combo(y, h, m, members=members)
            elif key in _HINTED and hints.get(_HINTED[key][0]) is not None:
                arg, value = _HINTED[key][1], hints[_HINTED[key][0]]
                cache[key] = METHODS[key](y, h, m, **{arg: value})
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
