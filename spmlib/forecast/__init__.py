"""Forecasting: bookings series, forecast methods with intervals (ETS and ARIMA via statsforecast),
calibrated intervals and the ``auto`` rule, rolling-origin backtests and their scores,
hierarchies, the pipeline Monte Carlo and the replay that measures its calibration, native
thread limits. Imports core and io."""
