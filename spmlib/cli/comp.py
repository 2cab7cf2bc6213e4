"""``spm comp``: pay runs from plan files, their diffs, payroll files and payout curves
(:mod:`spmlib.comp`; rules and formulas in docs/compensation.md)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape

from spmlib.cli.common import (
    FormatOpt,
    MappingOpt,
    OutputFormat,
    PathArg,
    app,
    console,
    emit,
    err_console,
    fail,
    load_or_exit,
)
from spmlib.exceptions import SpmError

comp_app = typer.Typer(
    help="Incentive compensation: pay runs from plan files, diffs, payroll files, payout curves. "
    "Rules and formulas: docs/compensation.md.",
    no_args_is_help=True,
)
app.add_typer(comp_app, name="comp")

PlansOpt = Annotated[
    str | None,
    typer.Option(
        "--plans",
        help="Folder of plan files (`*.yml`), assignments.csv and adjustments.csv "
        "(default params/comp).",
    ),
]
OutputsOpt = Annotated[
    str | None,
    typer.Option(
        "--outputs", help="Folder of stored runs and the paid ledger (default outputs/comp)."
    ),
]


def _store(outputs: str | None):
    from spmlib.comp.ledger import RunStore

    return RunStore(outputs)


def _print_checks(checks: pd.DataFrame) -> None:
    for row in checks.itertuples(index=False):
        tag = "[green]ok[/]" if row.ok else "[bold red]FAILED[/]"
        err_console.print(
            f"  {tag} {escape(row.check)}: {escape(row.detail)}", highlight=False, soft_wrap=True
        )


@comp_app.command("run")
def comp_run_command(
    path: PathArg,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="Target period: FY2027-Q3 (fiscal quarter), 2026-08 (month) or FY2027 (fiscal "
            "year); default: the fiscal quarter holding the data's as-of date.",
        ),
    ] = None,
    plans: PlansOpt = None,
    mapping: MappingOpt = None,
    outputs: OutputsOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Work it out and print it; store nothing.")
    ] = False,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Work out pay for the open periods up to --period, check it and store the run.

    One row per rep and period. The year's periods not paid yet are paid too; periods already
    paid (`spm comp payroll`) are recomputed and their changes paid as prior-period
    adjustments. The run is stored immutably in `outputs/comp/<run-id>/` (manifest with the plan
    hash and data fingerprint, statements and lines as Parquet). Exit 1 if a check fails.
    """
    from spmlib.comp.engine import load_inputs
    from spmlib.comp.payrun import describe, pay_run, run_table, store_run
    from spmlib.config import PARAMS_DIR
    from spmlib.core.periods import period_label, period_start

    ds = load_or_exit(path, mapping)
    fy = ds.config.fiscal_year_start_month
    if period is None:
        start = period_start(pd.Series([ds.as_of]), "quarter", fy)
        period = period_label(start, "quarter", fy).iloc[0]
    store = _store(outputs)
    try:
        inputs = load_inputs(ds, plans or PARAMS_DIR / "comp")
        run = pay_run(inputs, period, store)
        folder = None if dry_run or not run.ok else store_run(run, store)
    except SpmError as exc:
        fail(str(exc))
    table = run_table(run.statements)
    emit(
        table,
        fmt,
        f"Pay run {period} ({inputs.currency})",
        currency=inputs.currency,
    )
    err_console.print(escape(describe(run)), highlight=False, soft_wrap=True)
    _print_checks(run.checks)
    if not run.ok:
        fail("the run does not reconcile, so it was not stored; see the failed checks above.")
    if folder is not None:
        err_console.print(f"stored in {folder}", highlight=False, markup=False)


@comp_app.command("runs")
def comp_runs_command(outputs: OutputsOpt = None, fmt: FormatOpt = OutputFormat.table) -> None:
    """List the stored runs: id, target, periods, reps, total payout, and the run that paid."""
    store = _store(outputs)
    paid = {r["run_id"]: r["paid_at"] for r in store.paid()}
    rows = []
    for run_id in store.run_ids():
        m = store.load(run_id).manifest
        rows.append(
            {
                "run_id": run_id,
                "target": m["target"],
                "periods": ", ".join(m["periods"]),
                "reps": m["reps"],
                "payout": m["total_payout_cents"] / 100,
                "currency": m["currency"],
                "paid_at": paid.get(run_id, ""),
            }
        )
    cols = ["run_id", "target", "periods", "reps", "payout", "currency", "paid_at"]
    emit(pd.DataFrame(rows, columns=cols), fmt, f"Runs in {store.root}")


@comp_app.command("diff")
def comp_diff_command(
    run_a: Annotated[str, typer.Argument(help="The earlier run: id, unique prefix or 'latest'.")],
    run_b: Annotated[str, typer.Argument(help="The later run.")],
    lines: Annotated[
        bool, typer.Option("--lines", help="Show every changed line instead of one row per rep.")
    ] = False,
    outputs: OutputsOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """What changed between two runs and why: per rep and period, the payouts and the changed
    credits, quotas, SPIFs, clawbacks, draws and adjustments; the inputs that differ first."""
    from spmlib.comp.diff import diff_lines, diff_runs, input_changes

    store = _store(outputs)
    try:
        a, b = store.load(run_a), store.load(run_b)
    except SpmError as exc:
        fail(str(exc))
    changes = input_changes(a, b)
    currency = b.manifest.get("currency", "USD")
    err_console.print(
        f"{a.run_id} -> {b.run_id}: " + ("; ".join(changes) if changes else "same inputs"),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if lines:
        table = diff_lines(a, b)
        for col in ("amount_a", "amount_b", "change"):
            table[col] = table.pop(f"{col}_cents") / 100
        emit(table.drop(columns=["line_key"]), fmt, "Changed lines", currency)
        return
    table = diff_runs(a, b)
    for col in ("payout_a", "payout_b", "change", "credited_a", "credited_b"):
        table[col] = table.pop(f"{col}_cents") / 100
    cols = [
        "rep_id",
        "rep_name",
        "period",
        "payout_a",
        "payout_b",
        "change",
        "credited_a",
        "credited_b",
        "why",
    ]
    emit(table[cols], fmt, "Changes by rep and period", currency)


@comp_app.command("payroll")
def comp_payroll_command(
    run: Annotated[str, typer.Argument(help="Run id (or unique prefix, or 'latest').")],
    out: Annotated[str, typer.Option("--out", help="The payroll file: NAME.csv or NAME.xlsx.")],
    outputs: OutputsOpt = None,
) -> None:
    """Write the payroll file of a run (rep_id, rep_name, period, payout, currency), check it
    against the statements and lines to the cent, and record the run's periods as paid.

    A paid period is never paid again: later runs settle its changes as prior-period
    adjustments. Exporting the same run again rewrites the file and records nothing new.
    """
    from spmlib.comp.checks import check_lines_match
    from spmlib.comp.payroll import check_payroll, write_payroll

    store = _store(outputs)
    try:
        stored = store.load(run)
        path = write_payroll(stored.statements, out)
        checks = pd.DataFrame(
            [
                check_lines_match(stored.statements, stored.lines),
                check_payroll(stored.statements, path),
            ]
        )
        _print_checks(checks)
        if not checks["ok"].all():
            fail(
                f"{path} does not reconcile with run {stored.run_id}; it was not recorded as paid."
            )
        record = store.mark_paid(stored, str(path), int(stored.statements["payout_cents"].sum()))
    except SpmError as exc:
        fail(str(exc))
    console.print(
        f"Wrote {path}: {len(stored.statements)} statement(s), "
        f"{', '.join(record['periods'])} paid by run {stored.run_id}",
        highlight=False,
        markup=False,
    )


@comp_app.command("curve")
def comp_curve_command(
    plan_file: Annotated[str, typer.Argument(help="A plan file (YAML).")],
    step: Annotated[float, typer.Option("--step", min=0.01, help="Attainment step.")] = 0.1,
    upto: Annotated[float, typer.Option("--upto", min=0.1, help="Highest attainment.")] = 2.5,
    plot: Annotated[
        str | None, typer.Option("--plot", help="Also draw the curve into this PNG file.")
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """The payout curve of a plan from 0 to 250% attainment, with its cliffs flagged.

    A cliff is an attainment where pay jumps: the threshold, and with a retroactive rate table
    every tier edge (a deal pushed across 100% re-rates the whole period).
    """
    from spmlib.comp.curve import curve_table, payout_curve
    from spmlib.comp.plan import load_plan
    from spmlib.comp.rates import cliffs

    try:
        plan = load_plan(plan_file)
    except SpmError as exc:
        fail(str(exc))
    emit(
        curve_table(plan, step, upto),
        fmt,
        title=f"{plan.name}: earnings at TI "
        f"{plan.target_incentive:,} {plan.currency} per {plan.period}",
    )
    found = cliffs(plan.rate_table)
    if found.empty:
        err_console.print("no cliff: pay rises continuously with attainment", highlight=False)
    for c in found.itertuples(index=False):
        jump = c.jump * float(plan.target_incentive)
        err_console.print(
            f"[yellow]cliff[/] at {c.attainment:.0%} ({c.kind}): pay jumps from "
            f"{c.multiple_below:g} to {c.multiple_at:g} x TI ({jump:,.2f} {plan.currency})",
            highlight=False,
        )
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        from spmlib.reports.plotting.comp import plot_payout_curve

        ax = plot_payout_curve(payout_curve(plan, upto))
        ax.figure.savefig(plot, dpi=120, bbox_inches="tight")
        err_console.print(f"wrote {plot}", highlight=False, markup=False)
