"""Quota and capacity planning, fairness checks and territory balancing: next year's quotas
and territories from the measured history, ramp, productivity, pipeline and account potential.

Modules (flat): ``plan_inputs`` (plan year, history window, planned hires and leavers, ramp
factors), ``allocation`` (top-down quotas), ``capacity`` (bottom-up capacity), ``fairness``
(simulated attainment, Gini, correlation, ratchet), ``territory`` (exact MILP and greedy
balancing). Imports io, core and the analyses (productivity, forecast); never reports or above.
"""
