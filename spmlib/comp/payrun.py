"""A pay run: the open periods up to a target period, worked out, checked and stored.

``pay_run(inputs, "FY2027-Q3", store)``:

1. works out the **chain**: every plan period of the fiscal year that holds the target's last
   day, from the year's first period to the target (:func:`spmlib.comp.engine.compute`), so draw
   balances and clawbacks see the whole year;
2. **pays** the chain's periods that no payroll export has paid yet (the target, and any earlier
   period of the year never paid: a first run of the year catches up); the target itself must
   be unpaid;
3. recomputes the **paid** periods and turns every difference from what was paid into a
   prior-period adjustment in the rep's last open segment (:mod:`spmlib.comp.corrections`);
4. runs the **checks** (:mod:`spmlib.comp.checks`) and builds the manifest: the plan files'
   hash, the data fingerprint, the inputs' hashes, the paid runs it builds on, the lines' hash.

``store_run`` writes it under ``outputs/comp/<run-id>/``; ``<run-id>`` is the target, the UTC
time and the first 8 hex digits of the inputs' hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

import spmlib
from spmlib.comp.checks import CHECK_COLUMNS, check_lines_match, check_row, checks_ok, lines_hash
from spmlib.comp.corrections import effective_paid_lines, prior_period_adjustments
from spmlib.comp.engine import STATEMENT_COLUMNS, CompInputs, compute
from spmlib.comp.ledger import RunStore
from spmlib.comp.lines import make_lines, order_lines
from spmlib.comp.money import format_money, units
from spmlib.core.periods import parse_period, period_start
from spmlib.exceptions import SpmError
from spmlib.io.validate import isin

__all__ = [
    "PayRun",
    "pay_run",
    "store_run",
    "target_range",
    "describe",
    "run_table",
    "RUN_COLUMNS",
]


@dataclass
class PayRun:
    """A worked-out run (see the module docstring); ``checks`` has check, ok, detail."""

    run_id: str
    target: str
    periods: list[str]
    statements: pd.DataFrame
    lines: pd.DataFrame
    checks: pd.DataFrame
    manifest: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return checks_ok(self.checks)


def target_range(target: str, fiscal_year_start_month: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(chain start, target end): the first day of the fiscal year holding the target's last
    day, and that last day.

    >>> [d.date().isoformat() for d in target_range("FY2027-Q3", 2)]
    ['2026-02-01', '2026-10-31']
    """
    _freq, _start, end = parse_period(target, fiscal_year_start_month)
    first = period_start(pd.Series([end]), "year", fiscal_year_start_month).iloc[0]
    return first, end


def _inputs_hash(inputs: CompInputs, target: str, paid: dict[str, str], fingerprint: str) -> str:
    payload = {"target": target, "data": fingerprint, **inputs.hashes, "paid": sorted(paid.items())}
    return "sha256:" + hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def pay_run(
    inputs: CompInputs,
    target: str,
    store: RunStore | None = None,
    verify: bool = True,
    now: datetime | None = None,
) -> PayRun:
    """Work out and check the run for ``target`` (see the module docstring); nothing is written.

    Parameters
    ----------
    inputs : from :func:`spmlib.comp.engine.load_inputs`.
    target : a period label (``FY2027-Q3``, ``2026-08``, ``FY2027``).
    store : the stored runs and paid ledger (default ``outputs/comp``).
    verify : work the run out a second time and compare (the "rerun identical" check).
    now : the run's time (default: now, UTC).

    Raises
    ------
    SpmError
        When the target was already paid, or no plan period ends in it.
    """
    store = store or RunStore()
    ds = inputs.dataset
    try:
        chain_start, end = target_range(target, ds.config.fiscal_year_start_month)
    except ValueError as exc:
        raise SpmError(str(exc)) from None
    paid = store.paid_periods()
    if target in paid:
        raise SpmError(
            f"{target} was paid by run {paid[target]}; a paid period is never rewritten. Run the "
            "next open period: changes to paid periods become prior-period adjustments there."
        )
    history = _PaidHistory(store)
    result = _work_out(inputs, target, chain_start, end, paid, history)
    fingerprint = inputs.fingerprint
    inputs_hash = _inputs_hash(inputs, target, paid, fingerprint)
    statements, lines, periods, builds_on, broken = result
    checks = [
        check_row(
            "split conservation",
            broken.empty,
            "owner and revenue credits add up to every won deal's amount"
            if broken.empty
            else f"{len(broken)} deal(s) whose credits do not add up to their amount (e.g. "
            f"{', '.join(broken['opp_id'].astype(str).head(3))})",
        ),
        check_lines_match(statements, lines),
    ]
    digest = lines_hash(lines)
    if verify:  # the paid runs' files are read once; everything is worked out again
        again = _work_out(inputs, target, chain_start, end, paid, history)
        same = again[1].equals(lines) and again[0].equals(statements)
        checks.append(
            check_row(
                "rerun identical",
                same,
                "worked out twice: identical lines to the cent"
                if same
                else "a second computation gave different lines",
            )
        )
    earlier = [r for r in store.run_ids() if _manifest(store, r).get("inputs_hash") == inputs_hash]
    if earlier:
        same = all(_manifest(store, r).get("lines_hash") == digest for r in earlier)
        checks.append(
            check_row(
                "rerun identical (stored)",
                same,
                f"same inputs as run {earlier[-1]}: identical lines"
                if same
                else f"run {earlier[-1]} had the same inputs and other lines",
            )
        )
    when = (now or datetime.now(UTC)).astimezone(UTC)
    run_id = f"{target}-{when:%Y%m%dT%H%M%S}-{inputs_hash[7:15]}"
    manifest = {
        "run_id": run_id,
        "created": when.isoformat(timespec="seconds"),
        "target": target,
        "periods": periods,
        "chain_start": chain_start.date().isoformat(),
        "currency": inputs.currency,
        "as_of": ds.as_of.date().isoformat(),
        "data_source": ds.source,
        "data_fingerprint": fingerprint,
        "plans_hash": inputs.hashes.get("plans", ""),
        "plans": {n: {"file": p.file, "sha256": p.sha256} for n, p in inputs.plans.items()},
        "assignments_hash": inputs.hashes.get("assignments", ""),
        "adjustments_hash": inputs.hashes.get("adjustments", ""),
        "builds_on": builds_on,
        "inputs_hash": inputs_hash,
        "lines_hash": digest,
        "total_payout_cents": int(statements["payout_cents"].sum()),
        "reps": int(statements["rep_id"].nunique()),
        "checks": checks,
        "spmlib_version": spmlib.__version__,
    }
    return PayRun(
        run_id,
        target,
        periods,
        statements,
        lines,
        pd.DataFrame(checks, columns=CHECK_COLUMNS),
        manifest,
    )


def _manifest(store: RunStore, run_id: str) -> dict:
    return json.loads((store.root / run_id / "manifest.json").read_text())


class _PaidHistory:
    """What the paid runs a run builds on hold (their paying lines, folded per original line,
    and their statements), read from the store once per set of runs."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._read: dict[tuple[str, ...], tuple[pd.DataFrame, pd.DataFrame]] = {}

    def get(self, runs: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        key = tuple(runs)
        if key not in self._read:
            lines = effective_paid_lines({r: self.store.paying_lines(r) for r in runs})
            st = pd.concat([self.store.statements(r) for r in runs], ignore_index=True)
            self._read[key] = (lines, st)
        return self._read[key]


def _work_out(inputs, target, chain_start, end, paid, history: _PaidHistory):
    comp = compute(inputs, chain_start, end, paid_periods=list(paid))
    st, lines = comp.statements, comp.lines
    open_mask = ~isin(st["period"], list(paid))
    if not open_mask.any():
        raise SpmError(f"no unpaid plan period ends in {target}; check the plans' `period`.")
    ends = st.groupby("period")["period_end"].max()
    periods = sorted(set(st.loc[open_mask, "period"]), key=lambda p: (ends[p], p))
    paid_here = sorted(set(st["period"]) - set(periods))
    open_st = st[open_mask].reset_index(drop=True)
    open_lines = lines[isin(lines["period"], periods)]
    builds_on = sorted({paid[p] for p in paid_here})
    if paid_here:
        old_lines, old_st = history.get(builds_on)
        landing = open_st.drop_duplicates("rep_id", keep="last")[
            ["rep_id", "seg_key", "period", "plan"]
        ]
        ppa = prior_period_adjustments(
            lines[isin(lines["period"], paid_here)],
            old_lines[isin(old_lines["period"], paid_here)],
            landing,
            old_st,
            st,
            {p: paid[p] for p in paid_here},
        )
        open_st, ppa = _land(open_st, ppa, target)
        open_lines = pd.concat([open_lines, ppa], ignore_index=True)
    return open_st, order_lines(make_lines(open_lines)), periods, builds_on, comp.conservation


def _land(st: pd.DataFrame, ppa: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add prior-period adjustments to their statements' adjustments and payout."""
    if ppa.empty:
        return st, ppa
    sums = ppa.groupby("seg_key")["amount_cents"].sum()
    add = st["seg_key"].map(sums).fillna(0).astype("int64")
    st = st.assign(
        adjustments_cents=st["adjustments_cents"] + add, payout_cents=st["payout_cents"] + add
    )
    return st[STATEMENT_COLUMNS], ppa


def store_run(run: PayRun, store: RunStore | None = None) -> Path:
    """Write ``run`` under the store (``outputs/comp/<run-id>/``) and return its folder.

    Raises
    ------
    SpmError
        When a check failed (nothing is stored: a run that does not reconcile is not payable).
    """
    if not run.ok:
        failed = run.checks[~run.checks["ok"]]
        raise SpmError(
            "the run does not reconcile, so it was not stored: "
            + "; ".join(f"{r.check}: {r.detail}" for r in failed.itertuples())
        )
    store = store or RunStore()
    base, n = run.run_id, 1
    while (store.root / run.run_id).exists():  # two runs in the same second
        n += 1
        run.run_id = f"{base}-{n}"
    run.manifest["run_id"] = run.run_id
    return store.write(run.run_id, run.manifest, run.statements, run.lines)


def describe(run: PayRun) -> str:
    """One line about a run: id, periods, reps, total."""
    total = int(run.statements["payout_cents"].sum())
    return (
        f"run {run.run_id}: {', '.join(run.periods)}, {run.statements['rep_id'].nunique()} reps, "
        f"payout {format_money(total, run.manifest.get('currency', ''))}"
    )


#: The columns of ``spm comp run`` (money in currency units).
RUN_COLUMNS = [
    "rep_id",
    "rep_name",
    "plan",
    "period",
    "credited",
    "quota",
    "attainment",
    "earnings",
    "spifs",
    "draw_paid",
    "draw_recovered",
    "draw_balance",
    "clawbacks",
    "adjustments",
    "payout",
]


def run_table(statements: pd.DataFrame) -> pd.DataFrame:
    """The statements as ``spm comp run`` prints them: :data:`RUN_COLUMNS`, money in currency
    units (float, exact to the cent for display), attainment as a ratio."""
    out = statements[["rep_id", "rep_name", "plan", "period", "attainment"]].copy()
    for col in RUN_COLUMNS:
        if f"{col}_cents" in statements.columns:
            out[col] = units(statements[f"{col}_cents"])
    out["quota"] = units(statements["quota_cents"])
    return out[RUN_COLUMNS]
