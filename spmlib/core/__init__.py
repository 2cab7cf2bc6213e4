"""The shared vocabulary and fast helpers every analysis uses: statistics (Wilson intervals, tests,
shrinkage), the fiscal calendar and period names, groupings, date ranges, bucketing and codes,
and the per-pipeline runner of stage analyses. Imports io (the model) and below."""
