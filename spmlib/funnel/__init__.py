"""Funnel analyses: stage conversion and win rates, deal progress, time in stage and stale deals,
pipeline, coverage and velocity, pipeline flow, leads. Imports core and io."""
