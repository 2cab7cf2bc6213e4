"""Data in and out: the data model (schema), sources (CSV, Parquet, SQL), mappings of CRM exports
and the presets' stage inference (infer, infer_salesforce, infer_hubspot, mapping_init), typing,
validation rules (validate, validate_stages), loading, batch snapshots, atomic file writes and the
data overview. Imports only config and exceptions."""
