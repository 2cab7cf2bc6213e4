"""Data in and out: the data model (schema), sources (CSV, Parquet, SQL), mappings of CRM exports,
typing, validation rules, loading, batch snapshots, atomic file writes and the data overview.
Imports only config and exceptions."""
