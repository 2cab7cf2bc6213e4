"""Forecasting: bookings series, forecast methods with intervals, rolling-origin backtests and
selection, hierarchies, the pipeline Monte Carlo. Imports core and io."""
