"""Reports for people: one builder per report kind (``build_<kind>_report(dataset, scope,
params)`` in :mod:`~spmlib.reports.builders`) returning a :class:`~spmlib.reports.report.Report`,
the typed parameters, the scope resolver, the one column vocabulary and table formatter, charts
(plotting), showing a report in a notebook, browser HTML, mail HTML and the templates. Imports
the analyses and below."""
