"""The shared vocabulary and fast helpers every analysis uses: statistics (Wilson intervals, tests,
shrinkage), the fiscal calendar and period names, groupings, date ranges, bucketing and codes.
Imports io (the model) and below."""
