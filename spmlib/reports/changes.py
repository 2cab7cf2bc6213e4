"""What changed since the previous extract, for one report scope ("Since last week").

:func:`changes_since` loads the previous extract a report is given (its ``compare_to``
parameter: a dataset folder; in a batch, the previous run's data snapshot), compares it with the
current data (:func:`spmlib.funnel.changes.extract_changes`) and keeps the scope's deals;
:func:`changes_section` lays the result out for a report.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from spmlib.exceptions import ParameterError
from spmlib.funnel.changes import CHANGES, changes_summary, extract_changes
from spmlib.io.schema import Dataset
from spmlib.reports.formatter import format_money
from spmlib.reports.report import Section, Table, Text, escape
from spmlib.reports.scope import Scope

__all__ = ["Changes", "changes_since", "changes_section", "MAX_CHANGE_ROWS"]

#: Rows of the change list a report shows (the note says how many there are).
MAX_CHANGE_ROWS = 15


@dataclass(frozen=True)
class Changes:
    """The changes of a scope between two extracts.

    Attributes
    ----------
    previous_as_of, as_of : the reference dates of the previous and the current extract.
    changes : :func:`spmlib.funnel.changes.extract_changes` rows of the scope's deals.
    summary : :func:`spmlib.funnel.changes.changes_summary` of them.
    """

    previous_as_of: pd.Timestamp
    as_of: pd.Timestamp
    changes: pd.DataFrame
    summary: pd.DataFrame


def changes_since(ds: Dataset, scope: Scope, compare_to: str | None) -> Changes | None:
    """The changes of the scope's deals since the extract at ``compare_to`` (None: none).

    Parameters
    ----------
    ds : the current (whole) dataset.
    scope : the report's scope; a rep sees their own deals only, a team or a manager theirs.
    compare_to : a dataset folder (or URL) of an earlier extract of the same CRM, in the
        native model (a batch passes the previous run's snapshot).

    Raises
    ------
    ParameterError : the previous extract is not earlier than the current one.
    """
    if not compare_to:
        return None
    from spmlib.sample.resolve import load

    previous = load(compare_to)
    if previous.as_of >= ds.as_of:
        raise ParameterError(
            f"compare_to {compare_to!r} is as of {previous.as_of.date()}, not before the data's "
            f"{ds.as_of.date()}; give an earlier extract"
        )
    changes = extract_changes(previous, ds)
    if scope.kind != "company":
        mine = set(scope.data.reps["rep_id"].astype(str))
        changes = changes[changes["rep_id"].astype(str).isin(mine)].reset_index(drop=True)
    return Changes(previous.as_of, ds.as_of, changes, changes_summary(changes))


def changes_section(changes: Changes | None, currency: str = "USD") -> Section:
    """A report section "Since <previous date>": one sentence of totals, then the changes that
    matter most to act on (won, lost, slipped, pulled in, newly stale, new), largest first."""
    if changes is None:
        return Section(
            "Since the last extract",
            "No earlier extract was given (the `compare_to` parameter; `spm batch` passes the "
            "previous run's data), so changes cannot be listed.",
        )
    totals = changes.summary[changes.summary["level"] == "all"].set_index("change")
    said = []
    for kind in CHANGES:
        n = int(totals.loc[kind, "deals"])
        if n:
            said.append(f"{n} {kind} ({format_money(totals.loc[kind, 'amount'], currency)})")
    lead = (
        f"From {changes.previous_as_of.date()} to {changes.as_of.date()}: " + "; ".join(said) + "."
        if said
        else f"No deal changed from {changes.previous_as_of.date()} to {changes.as_of.date()}."
    )
    order = ["won", "lost", "slipped", "pulled in", "newly stale", "new", "moved back"]
    rows = changes.changes[changes.changes["change"].isin(order)]
    rows = rows.assign(_o=rows["change"].map({c: i for i, c in enumerate(order)}))
    rows = rows.sort_values("_o", kind="stable").drop(columns="_o")
    shown = rows.head(MAX_CHANGE_ROWS)
    cols = ["change", "rep_name", "account", "stage_after", "close_date_before",
            "close_date_after", "amount_after"]  # fmt: skip
    blocks: tuple = (Text(escape(lead)),)
    if len(shown):
        note = (
            f"{len(shown)} of {len(rows)} shown (won, lost, slipped, pulled in, newly stale, "
            "new and moved back, in that order, largest first)"
            if len(rows) > len(shown)
            else ""
        )
        blocks += (Table(shown[cols].reset_index(drop=True), note=note),)
    return Section(
        f"Since {changes.previous_as_of.date()}",
        "Deals compared with the previous extract by id. Slipped: the expected close date moved "
        "out of this quarter; pulled in: into it; newly stale: in its stage longer than 90% of "
        "past deals, which it was not before.",
        blocks,
    )
