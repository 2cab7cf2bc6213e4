"""Batch runs of the report notebooks: parameters, specs and plans, warm kernels, the worker pool,
the runner and the run manifest. Imports reports and below."""
