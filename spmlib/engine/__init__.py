"""Engines: the heavy first steps of an analysis run where the data is, in SQL.

An :class:`~spmlib.engine.base.Engine` runs one SQL text on the tables of a dataset and hands back
a small pandas frame: DuckDB embedded in this process (:mod:`spmlib.engine.embedded`, the
default) or Apache Spark (:mod:`spmlib.engine.spark`). :func:`spmlib.engine.tables.open_tables`
opens a dataset for an engine: Parquet read in place (only the columns a query reads, with its
filters pushed down), CSV and mapped exports converted once to a cached Parquet copy keyed by the
source fingerprint, validation run once per fingerprint in the engine
(:mod:`spmlib.engine.validate`) and then trusted. The analyses keep their statistics in pandas
on the aggregates. Imports io, config and exceptions only.
"""
