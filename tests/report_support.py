"""Helpers for the report tests: what a reader sees of a report, and checks of its tables."""

from __future__ import annotations

import re

import pandas as pd

from spmlib.reports.report import Report

SNAKE_CASE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
RAW_FLOAT = re.compile(r"\d\.\d{5,}")
SCIENTIFIC = re.compile(r"\d(\.\d+)?[eE][+-]?\d+")
NOT_FOR_PEOPLE = {"True", "False", "nan", "NaN", "NaT", "<NA>", "None"}


def examine(report: Report) -> tuple[str, list[str]]:
    """What a reader sees of the report (title, headline, intros, text blocks and formatted
    tables, as one text), and the headers or cells of its tables not written for people
    (snake_case headers, raw floats, scientific notation, True/False, nan)."""
    parts = [report.title, report.scope_line(), *report.headline]
    problems = []
    for section in report.all_sections:
        parts += [section.title, section.intro]
        for block in section.blocks:
            parts += [getattr(block, "markdown", ""), getattr(block, "alt", "")]
        for table in section.tables:
            shown = table.formatted(report.currency)
            parts += [table.title, table.note, shown.to_csv()]
            for header in shown.columns:
                if SNAKE_CASE.match(header) or header != header.strip() or not header:
                    problems.append(f"{report.title}: header {header!r}")
            for value in pd.unique(shown.to_numpy().ravel()):
                if RAW_FLOAT.search(value) or SCIENTIFIC.search(value) or value in NOT_FOR_PEOPLE:
                    problems.append(f"{report.title}: cell {value!r}")
    return "\n".join(parts), problems


def leaks(text: str, reps: pd.DataFrame, keep: set[str]) -> list[str]:
    """Names, emails and ids of reps not in ``keep`` (rep ids) that appear in ``text``."""
    found = []
    for rep in reps.astype(str).itertuples(index=False):
        if rep.rep_id in keep:
            continue
        if rep.rep_name in text or (
            getattr(rep, "email", "") not in ("", "<NA>", "nan") and rep.email in text
        ):
            found.append(rep.rep_name)
        if re.search(rf"\b{re.escape(rep.rep_id)}\b", text):
            found.append(rep.rep_id)
    return found
