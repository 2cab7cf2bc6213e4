"""``spm quota plan`` and ``spm territory``: next year's quotas and balanced territories."""

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
    emit,
    err_console,
    fail,
    load_or_exit,
)
from spmlib.core.periods import PERIODS
from spmlib.exceptions import SpmError
from spmlib.planning.allocation import METHODS, QUOTA_PERIODS, WEIGHTS
from spmlib.planning.territory import BALANCE

quota_app = typer.Typer(
    help="Quota planning: next fiscal year's quotas with capacity and fairness checks.",
    no_args_is_help=True,
)
app.add_typer(quota_app, name="quota")

#: ``--method``: :data:`spmlib.planning.allocation.METHODS`.
QuotaMethod = choices("QuotaMethod", METHODS)
#: ``--weights``: :data:`spmlib.planning.allocation.WEIGHTS`.
QuotaWeights = choices("QuotaWeights", WEIGHTS)
#: ``--period``: the period kinds a quota plan is cut in (:data:`QUOTA_PERIODS`), or their codes.
QuotaPeriod = choices("QuotaPeriod", [*QUOTA_PERIODS, *(PERIODS[p].code for p in QUOTA_PERIODS)])
#: ``--balance``: :data:`spmlib.planning.territory.BALANCE`.
Balance = choices("Balance", BALANCE)


def _say(text: str) -> None:
    err_console.print(text, highlight=False, markup=False, soft_wrap=True)


@quota_app.command("plan")
def quota_plan_command(
    path: PathArg,
    target: Annotated[
        float, typer.Option("--target", help="Company bookings target for the year.")
    ],
    year: Annotated[
        int | None,
        typer.Option("--year", help="Fiscal year (named by the year it ends in); default next."),
    ] = None,
    mapping: MappingOpt = None,
    method: Annotated[
        QuotaMethod, typer.Option("--method", help="top-down, capacity (bottom-up) or blend.")
    ] = QuotaMethod["top-down"],
    weights: Annotated[
        QuotaWeights,
        typer.Option("--weights", help="history, potential or blend (beta x history + rest)."),
    ] = QuotaWeights.history,
    beta: Annotated[
        float, typer.Option("--beta", min=0, max=1, help="History weight of --weights blend.")
    ] = 0.5,
    over_assign: Annotated[
        str | None, typer.Option("--over-assign", help="Over-assignment, e.g. team=1.05,rep=1.10.")
    ] = None,
    period: Annotated[
        QuotaPeriod,
        typer.Option("--period", help="Quota rows per month (M) or fiscal quarter (Q)."),
    ] = QuotaPeriod.month,
    hires: Annotated[
        str | None,
        typer.Option(
            "--hires", help="Planned hires and leavers (YAML or CSV, e.g. params/plan/hires.yml)."
        ),
    ] = None,
    out: Annotated[
        str | None, typer.Option("--out", help="Write the quota rows to this CSV file.")
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Next fiscal year's quotas as rows of the quotas table (rep_id, period_start, period_end,
    quota), summing to the target (x over-assignment) to the cent at every level.

    Prints the rows (or writes them with --out) and, on stderr, the capacity gap, the hires
    that would close it, the simulated share of reps at quota, the Gini of quota / potential,
    the attainment-potential correlation and the ratchet test. Formulas: docs/planning.md.
    """
    from spmlib.io.files import atomic_write_text, csv_text
    from spmlib.planning.quota_plan import check_plan, parse_over_assign, plan_quotas

    ds = load_or_exit(path, mapping)
    try:
        plan = plan_quotas(
            ds,
            target,
            year,
            method=method.value,
            weights=weights.value,
            over_assign=parse_over_assign(over_assign),
            period=period.value,
            hires=hires,
            beta=beta,
        )
        checks = check_plan(plan, ds)
    except SpmError as exc:
        fail(str(exc))
    for line in _plan_notes(plan, checks, ds.config.currency):
        _say(line)
    if out:
        atomic_write_text(out, csv_text(plan.quotas, date_format="%Y-%m-%d"))
        _say(f"wrote {len(plan.quotas):,} quota rows to {out}")
        return
    emit(plan.quotas, fmt, title=f"Quotas FY{plan.settings['year']}")


def _plan_notes(plan, checks, currency: str) -> list[str]:
    """The plan's headline figures, one sentence each."""
    s, cap = plan.settings, plan.settings["capacity"].iloc[0]
    dist = checks["distribution"].attrs
    corr, gini = checks["correlation"].iloc[0], checks["gini"].iloc[0]
    rt = checks["ratchet_test"].iloc[0]
    if cap["gap"] > 0:
        closing = (
            f"{cap['hires_needed']} more hire(s) or {cap['productivity_gain_needed']:.1%} "
            "more productivity would close it"
        )
    else:
        closing = f"capacity exceeds the target by {-cap['gap']:,.0f}"
    return [
        f"FY{s['year']} ({s['start'].date()} .. {s['end'].date()}): target {s['target']:,.2f} "
        f"{currency}, {s['method']} with {s['weights']} weights, history "
        f"{s['history_start'].date()} .. {s['history_end'].date()}",
        f"capacity {cap['capacity']:,.0f} {currency} ({int(cap['reps'])} reps, "
        f"{int(cap['planned_hires'])} planned hires): gap {cap['gap']:,.0f}; {closing}",
        f"simulated share of reps at quota {dist['share_at_quota']:.0%} "
        f"(80%: {dist['share_at_quota_p10']:.0%}-{dist['share_at_quota_p90']:.0%}; "
        "target 60-70%)",
        f"Gini of quota / potential {gini['gini_quota_per_potential']:.3f} "
        f"({int(gini['reps'])} reps with accounts)",
        f"past attainment vs potential: Pearson {corr['pearson']:.2f} "
        f"(95% {corr['pearson_low']:.2f} .. {corr['pearson_high']:.2f}, n {int(corr['n'])}); "
        "near 0 is fair",
        f"ratchet: quotas rose {rt['mean_change_after_beat']:.1%} after beats and "
        f"{rt['mean_change_after_miss']:.1%} after misses; "
        + ("ratcheting detected" if rt["ratchet"] else "no ratcheting detected")
        + f" (b_up - b_down {rt['asymmetry']:.2f}, p {rt['p_value']:.3f})",
    ]


@app.command("territory")
def territory_command(
    path: PathArg,
    team: Annotated[str | None, typer.Option("--team", help="The team to balance.")] = None,
    mapping: MappingOpt = None,
    balance: Annotated[
        Balance, typer.Option("--balance", help="Balance potential, workload or both.")
    ] = Balance.potential,
    band: Annotated[
        float, typer.Option("--band", min=0, help="Allowed deviation from the team mean.")
    ] = 0.10,
    max_moves: Annotated[
        int | None, typer.Option("--max-moves", min=0, help="At most N accounts change owner.")
    ] = None,
    travel_weight: Annotated[
        float,
        typer.Option(
            "--travel-weight",
            min=0,
            help="Also minimise travel (needs latitude/longitude); 1 prices 1% less distance "
            "like 1% of the potential moved.",
        ),
    ] = 0.0,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=1, help="Seconds for the solver.")
    ] = 60.0,
    out: Annotated[
        str | None, typer.Option("--out", help="Write the assignments to this CSV file.")
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Reassign accounts between a team's reps so that each rep's potential (and/or workload)
    lies within +-band of the team mean, moving the least potential; locked accounts never move.

    Solved exactly (mixed-integer program, HiGHS); the summary on stderr gives the optimality
    gap and the solve time, or says the band is infeasible and gives the tightest feasible band
    (exit code 1). Columns: account_id, account_name, potential, rep_id_before, rep_id_after,
    moved.
    """
    from spmlib.io.files import atomic_write_text, csv_text
    from spmlib.planning.territory import balance_territories
    from spmlib.reports.scope import resolve_scope

    ds = load_or_exit(path, mapping)
    if ds.accounts.empty:
        fail(
            "the dataset has no accounts table; add accounts.csv (account_id, account_name, "
            "rep_id, potential) to balance territories"
        )
    teams = sorted(set(ds.reps["team"].dropna()))
    if team is None and len(teams) > 1:
        fail(f"say which team to balance with --team (one of {', '.join(teams)})")
    try:
        scope = resolve_scope(ds, team=team or teams[0])
        plan = balance_territories(
            scope.data.accounts,
            list(scope.data.reps["rep_id"]),
            balance.value,
            band,
            max_moves,
            travel_weight,
            time_limit,
        )
    except SpmError as exc:
        fail(str(exc))
    s = plan.summary.iloc[0]
    infeasible = s["status"] == "infeasible"
    if infeasible:
        limits = "the locked accounts" + (" and --max-moves" if max_moves is not None else "")
        _say(
            f"{scope.label}: infeasible, no plan keeps every rep within +-{band:.2%} of the "
            f"mean; the tightest feasible band (given {limits}) is +-{s['tightest_band']:.2%}. "
            "Rerun with that --band or a larger one. Assignments unchanged."
        )
    else:
        _say(
            f"{scope.label}: {s['status']}, {s['moves']} of {s['accounts']} accounts move "
            f"({s['share_moved']:.1%} of the potential, {s['potential_moved']:,.0f}); largest "
            f"deviation {s['max_deviation_before']:.1%} -> {s['max_deviation']:.1%}; gap "
            f"{s['gap']:.2%}; solved in {s['solve_seconds']:.1f} s"
        )
    table = plan.assignments.drop(columns=["locked"])
    if out:
        atomic_write_text(out, csv_text(table))
        _say(f"wrote {len(table):,} assignments to {out}")
    else:
        emit(table, fmt, title=f"Territories of {scope.label}")
    if infeasible:
        raise typer.Exit(1)
