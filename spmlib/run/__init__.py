"""Batch runs of the report notebooks: the spec, parameter layers, the plan and its checks, jobs,
the worker pool, warm kernels, the papermill engine and runner, and the run manifest.
Imports spmlib.reports and below (never spmlib.mail or spmlib.cli)."""
