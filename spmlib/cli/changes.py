"""``spm changes``: what changed between two extracts of the same CRM, deal by deal."""

from __future__ import annotations

from typing import Annotated

import typer

from spmlib.cli.common import (
    FormatOpt,
    MappingOpt,
    OutputFormat,
    app,
    emit,
    fail,
    load_or_exit,
)


@app.command("changes")
def changes_command(
    previous: Annotated[
        str, typer.Argument(help="The earlier extract: dataset folder or SQLAlchemy URL.")
    ],
    current: Annotated[
        str, typer.Argument(help="The later extract of the same CRM (folder or URL).")
    ],
    team: Annotated[
        str | None, typer.Option("--team", "-t", help="Only the deals of this team.")
    ] = None,
    rep: Annotated[
        str | None, typer.Option("--rep", "-r", help="Only the deals of this rep (rep_id).")
    ] = None,
    mapping: MappingOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """List every deal that changed between two extracts, one row per deal and change: new,
    won, lost, advanced, moved back, slipped (expected close moved out of the quarter of the
    current extract), pulled in, amount changed, newly stale, removed.

    With --format table a count and amount per change follows; csv and json give the rows only
    (columns: change, opp_id, rep_id, rep_name, team, account, stage_before, stage_after,
    close_date_before, close_date_after, amount_before, amount_after). Definitions:
    docs/reports.md ("What changed since the last extract").
    """
    from spmlib.funnel.changes import changes_summary, extract_changes

    before = load_or_exit(previous, mapping)
    after = load_or_exit(current, mapping)
    if before.as_of > after.as_of:
        fail(
            f"PREVIOUS ({previous}, as of {before.as_of.date()}) is later than CURRENT "
            f"({current}, as of {after.as_of.date()}); give the earlier extract first."
        )
    changes = extract_changes(before, after)
    reps = after.reps
    if team is not None:
        if not (reps["team"] == team).any():
            fail(
                f"team {team!r} is not in {current}; teams: {', '.join(sorted(set(reps['team'])))}"
            )
        changes = changes[changes["team"] == team]
    if rep is not None:
        if not (reps["rep_id"] == rep).any() and not (changes["rep_id"] == rep).any():
            fail(f"rep {rep!r} is not in {current}; `spm kpis {current} --by rep` lists them")
        changes = changes[changes["rep_id"] == rep]
    changes = changes.reset_index(drop=True)
    currency = after.config.currency
    span = f"{before.as_of.date()} to {after.as_of.date()}"
    if fmt is not OutputFormat.table:
        emit(changes, fmt, currency=currency)
        return
    emit(changes, fmt, title=f"Changes from {span}: {len(changes):,} rows", currency=currency)
    summary = changes_summary(changes)
    totals = summary[summary["level"] == "all"][["change", "deals", "amount", "amount_change"]]
    emit(totals.reset_index(drop=True), fmt, title="Per change", currency=currency)
