"""Reports adapt to the data that exists.

Real extracts often lack the optional tables (quotas, activities, stage history, leads, …). A
report then leaves out the parts that need them rather than showing zeros for data that does not
exist, and says in one line per part what data would enable it, in a closing "Not in this
report" section (:func:`gaps_section`). Whether a table exists is decided on the whole dataset,
not the scope: a rep without quota rows in a dataset with quotas has no quota, which the report
says as such.

Examples
--------
>>> print(gap_line("Quota attainment", ["quotas"]))
**Quota attainment** needs a quotas table (each rep's quota per period).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from spmlib.io.schema import Dataset
from spmlib.reports.report import Report, Section, Text, bullets, escape
from spmlib.reports.scope import Scope

__all__ = [
    "OPTIONAL_TABLES",
    "KPI_TABLES",
    "missing",
    "gap_line",
    "gaps_section",
    "keep_available",
    "unavailable_report",
]

#: Each optional table, in words, for the line saying what would enable a part of a report.
OPTIONAL_TABLES: dict[str, str] = {
    "quotas": "a quotas table (each rep's quota per period)",
    "activities": "an activities table (calls, meetings and other activities by rep and date)",
    "stage_history": "a stage history table (when each deal entered each stage)",
    "leads": "a leads table (leads by source and whether they became deals)",
    "accounts": "an accounts table (accounts with their owner and potential)",
    "splits": "a splits table (deals credited to several reps)",
}

#: The optional tables each KPI needs (the others need only reps and opportunities).
KPI_TABLES: dict[str, tuple[str, ...]] = {
    "activity_volume": ("activities",),
    "activities": ("activities",),
    "activities_per_month": ("activities",),
    "proposal_acceptance": ("activities",),
    "attainment": ("quotas",),
}


def missing(ds: Dataset, tables: Iterable[str]) -> list[str]:
    """The tables among ``tables`` that the dataset does not have (empty)."""
    return [t for t in tables if getattr(ds, t).empty]


def gap_line(what: str, tables: Sequence[str]) -> str:
    """One Markdown line: ``what`` needs the ``tables`` it lacks."""
    needs = " and ".join(OPTIONAL_TABLES.get(t, f"a {t} table") for t in tables)
    return f"**{what}** needs {needs}."


def gaps_section(lines: Sequence[str]) -> list[Section]:
    """The closing "Not in this report" section listing ``lines`` (none when there are none),
    to add after the body."""
    if not lines:
        return []
    return [
        Section(
            "Not in this report",
            "These parts are left out because the data does not have what they need:",
            (Text(bullets(lines)),),
        )
    ]


def keep_available(
    ds: Dataset,
    sections: Sequence[Section],
    needs: Mapping[str, Sequence[str]],
    parts: Mapping[str, Sequence[str]] | None = None,
) -> list[Section]:
    """The sections whose tables exist, then :func:`gaps_section` for the others.

    ``needs`` maps a section's title to the optional tables it needs; ``parts`` names other
    parts the builder left out (rows of a table, panels of a chart) and the tables they need,
    to list in the same closing section when those tables are missing.

    Raises
    ------
    ValueError : a title of ``needs`` is not a section's (a renamed section).
    """
    titles = {s.title for s in sections}
    unknown = [t for t in needs if t not in titles]
    if unknown:
        raise ValueError(f"no section titled {', '.join(map(repr, unknown))}")
    kept, lines = [], []
    for section in sections:
        lacking = missing(ds, needs.get(section.title, ()))
        if lacking:
            lines.append(gap_line(section.title, lacking))
        else:
            kept.append(section)
    for what, tables in (parts or {}).items():
        lacking = missing(ds, tables)
        if lacking:
            lines.append(gap_line(what, lacking))
    return kept + gaps_section(lines)


def unavailable_report(
    ds: Dataset, kind: str, title: str, scope: Scope, what: str, tables: Sequence[str]
) -> Report:
    """The whole report when it cannot be worked out without ``tables`` (pay without quotas):
    one headline saying so, and the line saying what data would enable it."""
    return Report(
        kind=kind,
        title=title,
        scope=scope,
        headline=[
            f"No {what.lower()} is worked out for {escape(scope.label)}: the data has no "
            f"{' and '.join(tables)}."
        ],
        sections=gaps_section([gap_line(what, tables)]),
        currency=ds.config.currency,
        as_of=ds.as_of,
    )
