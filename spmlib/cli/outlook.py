"""``spm outlook``: this quarter for the company, each team or each rep."""

from __future__ import annotations

from typing import Annotated

import typer

from spmlib.cli.common import (
    FormatOpt,
    MappingOpt,
    OutputFormat,
    PathArg,
    app,
    choices,
    console,
    emit,
    fail,
    load_or_exit,
    parse_date,
)
from spmlib.exceptions import SpmError
from spmlib.forecast.outlook import (
    COVERAGE_TARGET,
    OUTLOOK_BY,
    OUTLOOK_COLUMNS,
    OUTLOOK_METHOD,
)

#: ``--by``: the groupings the outlook is given for.
OutlookBy = choices("OutlookBy", OUTLOOK_BY)
_TEAM = OutlookBy("team")
#: The columns the table shows (csv and json give every column).
_SHOWN = ["booked", "quota", "attainment", "pace", "p10", "p50", "p90", "p_quota",
          "open_pipeline", "coverage", "replay_coverage_80"]  # fmt: skip


@app.command("outlook")
def outlook_command(
    path: PathArg,
    by: Annotated[
        OutlookBy, typer.Option("--by", help="One row for the company, per team or per rep.")
    ] = _TEAM,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="Reference date: the quarter containing it, with the data as it stood that "
            "day (default: the data's as-of date).",
        ),
    ] = None,
    n_sims: Annotated[
        int, typer.Option("--sims", min=100, help="Simulated quarters of the Monte Carlo.")
    ] = 5000,
    replay: Annotated[
        bool,
        typer.Option(
            "--replay/--no-replay",
            help="Measure the 80% coverage by replaying past quarters (tens of seconds).",
        ),
    ] = True,
    mapping: MappingOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """This quarter's outlook: booked so far against quota and pace (on selling days), the
    P10/P50/P90 of quarter-end bookings and the chance of reaching quota, the open pipeline due
    against what is left to book (target 3x), and how often the 80% range held in past quarters.

    The same numbers as the team brief and the forecast report (one simulation of the whole
    data, seed 0). With --format table the method is printed below the table.
    """
    from spmlib.forecast.outlook import quarter_outlook

    ds = load_or_exit(path, mapping)
    day = parse_date(as_of, "--as-of")
    try:
        out = quarter_outlook(ds, by.value, day, n_sims=n_sims, calibration=replay or None)
    except SpmError as exc:
        fail(str(exc))
    if fmt is not OutputFormat.table:
        emit(out, fmt, currency=ds.config.currency)
        return
    keys = [c for c in out.columns if c not in OUTLOOK_COLUMNS]
    first = out.iloc[0] if len(out) else None
    title = "Outlook"
    if first is not None:
        title = (
            f"Outlook {first['period']} as of {first['as_of'].date()}: "
            f"{int(first['selling_days_elapsed'])} of {int(first['selling_days'])} selling days "
            "elapsed"
        )
    emit(out[[*keys, *_SHOWN]], fmt, title=title, currency=ds.config.currency)
    console.print(
        OUTLOOK_METHOD.format(n_sims=n_sims, target=COVERAGE_TARGET),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
