"""Productivity analyses: the foundation KPIs, quota attainment and pace, activity volume and
activity-to-outcome ratios, leaderboards, ramp of new hires, rep scorecards. Imports core and
io."""
