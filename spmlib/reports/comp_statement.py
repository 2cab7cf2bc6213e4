"""The pay statement: a rep's own pay, line by line, or the pay summary of a team or a
manager's reps (for their manager), or of every rep (the company scope, for finance).

:func:`build_comp_statement_report` works out (or reads) the pay run, cuts it to the scope and
lays it out; ``notebooks/comp_statement.ipynb`` only shows the result. Rules and formulas:
``docs/compensation.md``.

Privacy: pay is computed on the whole company (a split deal credits several reps) and then cut
to the scope before anything is shown: a rep's statement holds that rep's statements and lines
only, a team or manager summary that team's reps only. Who receives which report is the mail's
rule (``params/email.yml``: a rep's statement to that rep, a team summary to its manager).
Text from the data (names, accounts, reasons) is escaped in sentences and in tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from spmlib.comp.checks import CHECK_COLUMNS
from spmlib.comp.curve import payout_curve
from spmlib.comp.engine import CompInputs, load_inputs
from spmlib.comp.ledger import RunStore
from spmlib.comp.money import units
from spmlib.comp.payrun import pay_run
from spmlib.comp.statement import what_if_open_deals
from spmlib.config import PARAMS_DIR
from spmlib.core.periods import period_label, period_start
from spmlib.io.schema import Dataset
from spmlib.reports import plotting
from spmlib.reports.available import missing, unavailable_report
from spmlib.reports.formatter import format_count, format_money, format_percent
from spmlib.reports.params import CompStatementParams
from spmlib.reports.report import Figure, Report, Section, Table, Text, bullets, escape
from spmlib.reports.scope import Scope, scope_as_of

__all__ = [
    "build_comp_statement_report",
    "PayRunView",
    "pay_run_view",
    "pay_money",
    "account_names",
]

#: The statement columns of the team summary, money in currency units.
SUMMARY_COLUMNS = [
    "rep_name",
    "period",
    "credited",
    "quota",
    "attainment",
    "earnings",
    "spifs",
    "clawbacks",
    "draw_paid",
    "draw_recovered",
    "adjustments",
    "payout",
]

_METHOD = [
    "**Attainment** = credited / quota of the period; a deal is credited on its won date, to "
    "its owner or shared by its revenue splits (overlay credit comes on top).",
    "**Earnings**: each tier of the rate table pays its multiplier x the target incentive on "
    "the slice of attainment it covers (graduated), or on all of it (retroactive); nothing "
    "below the threshold; at most the cap.",
    "**SPIFs** pay a fixed amount per matching deal (shared by split) or a rate of its credit; "
    "a deal reversed within the clawback window takes back what it paid.",
    "**Draws** top earnings up to the draw; a recoverable draw is repaid from later earnings "
    "above it (the balance owed). Adjustments carry their reason.",
    "**Money** is exact: amounts in whole cents, rates as exact fractions, each line rounded to "
    "the cent once, half up; quota and target incentive are shown rounded and used exactly. "
    "A rep who joins or leaves mid-period has quota, target incentive and draw prorated by "
    "days on the plan. Every rule and formula: `docs/compensation.md`.",
]


def pay_money(cents: int, currency: str) -> str:
    """Pay in a sentence: to the cent, in the dataset's currency.

    Examples
    --------
    >>> pay_money(1234567, "USD")
    '$12,345.67'
    """
    return format_money(int(cents) / 100, currency, decimals=2)


@dataclass(frozen=True)
class PayRunView:
    """The pay run a statement shows: its inputs, statements, lines, id (None for a draft
    worked out now) and checks."""

    inputs: CompInputs
    statements: pd.DataFrame
    lines: pd.DataFrame
    run_id: str | None
    checks: pd.DataFrame

    def cut(self, rep_ids: set[str]) -> PayRunView:
        """The same run restricted to ``rep_ids`` (statements and lines; checks stay whole)."""
        st = self.statements[self.statements["rep_id"].astype(str).isin(rep_ids)]
        lines = self.lines[self.lines["rep_id"].astype(str).isin(rep_ids)]
        return PayRunView(
            self.inputs,
            st.reset_index(drop=True),
            lines.reset_index(drop=True),
            self.run_id,
            self.checks,
        )


def pay_run_view(ds: Dataset, params: CompStatementParams) -> PayRunView:
    """The stored run ``params.run``, or a draft run of ``params.period`` (default: the fiscal
    quarter holding the data's as-of date) worked out now, for the whole company."""
    inputs = load_inputs(ds, params.plans or PARAMS_DIR / "comp")
    store = RunStore(params.outputs)
    if params.run:
        stored = store.load(params.run)
        checks = pd.DataFrame(stored.manifest["checks"], columns=CHECK_COLUMNS)
        return PayRunView(inputs, stored.statements, stored.lines, stored.run_id, checks)
    fy = ds.config.fiscal_year_start_month
    period = params.period or str(
        period_label(period_start(pd.Series([ds.as_of]), "quarter", fy), "quarter", fy).iloc[0]
    )
    run = pay_run(inputs, period, store, verify=False)
    return PayRunView(inputs, run.statements, run.lines, None, run.checks)


def _run_sentence(view: PayRunView) -> str:
    what = (
        f"Run {escape(view.run_id)}" if view.run_id else "A draft worked out now, not a stored run"
    )
    if view.checks["ok"].all():
        return f"{what}: every check passed (see the end)."
    return f"{what}: **a check FAILED** (see the end); do not pay from it."


def account_names(ds: Dataset, accounts: pd.Series) -> pd.Series:
    """Accounts by name: an account id of the accounts table becomes its ``account_name``;
    other values (names already, or ids not in the table) stay as they are."""
    table = ds.accounts
    if table.empty or "account_name" not in table.columns:
        return accounts
    names = table.set_index(table["account_id"].astype(str))["account_name"]
    return accounts.astype("string").map(names).fillna(accounts.astype("string"))


def _line_table(view: PayRunView, kinds: tuple[str, ...], amount: str = "pay") -> pd.DataFrame:
    """The lines of ``kinds`` for people: period, deal and its account, rule, how it is worked
    out, reason, and the amount in currency units."""
    lines = view.lines[view.lines["kind"].isin(kinds)]
    ds = view.inputs.dataset
    opps = ds.opportunities
    accounts = (
        account_names(ds, opps.set_index("opp_id")["account"])
        if "account" in opps.columns
        else pd.Series(dtype="string")
    )
    out = pd.DataFrame(
        {
            "period": lines["period"],
            "deal": lines["deal"].where(lines["deal"] != "period"),
            "account": lines["deal"].map(accounts),
            "rule": lines["rule"],
            "inputs": lines["inputs"],
            "reason": lines["reason"],
            amount: units(lines["amount_cents"]),
        }
    ).reset_index(drop=True)
    keep = [c for c in out.columns if c == amount or out[c].notna().any()]
    return out[keep]


def _table_or_none(frame: pd.DataFrame, none: str, **kw) -> Table | Text:
    return Table(frame, **kw) if len(frame) else Text(none)


def _method(view: PayRunView, scope: Scope) -> Section:
    """Rules, and the checks of the whole run: their details (company totals, deal ids) only
    in the company scope, which is finance's."""
    checks = view.checks.rename(columns={"ok": "passed"})
    shown = ["check", "passed", "detail"] if scope.kind == "company" else ["check", "passed"]
    return Section(
        "How this is worked out",
        bullets(_METHOD),
        (
            Table(
                checks[shown],
                title="**Checks of the whole run** (every rep's pay, not only this report's):",
                note=""
                if scope.kind == "company"
                else "Their details (company totals) are in the run's manifest, for finance.",
            ),
        ),
    )


def _rep_report(view: PayRunView, scope: Scope, currency: str) -> Report:
    st, name = view.statements, escape(scope.rep_name)
    last = st.iloc[-1]
    total = int(st["payout_cents"].sum())
    periods = list(dict.fromkeys(st["period"].astype(str)))
    headline = [
        f"**{name}** is paid **{pay_money(total, currency)}** for {escape(', '.join(periods))}.",
        f"{escape(last['period'])}: credited {pay_money(last['credited_cents'], currency)} "
        f"against a quota of {format_money(units(int(last['quota_cents'])), currency)}, "
        f"attainment {format_percent(last['attainment'], 1)}.",
    ]
    values = {
        "rep_id": str(scope.rep_id),
        "periods": periods,
        "payout_cents": total,
        "payout_by_period_cents": {
            p: int(v) for p, v in st.groupby("period", sort=False)["payout_cents"].sum().items()
        },
    }
    plan = view.inputs.plans[str(last["plan"])]
    curve = payout_curve(plan)
    ti = int(last["target_incentive_cents"])
    curve = curve.assign(earnings=curve["multiple"] * units(ti))
    point = (float(last["attainment"]), units(int(last["earnings_cents"])))
    draw = plan.draw
    draw_text = (
        f"Draw: {draw.type.replace('_', ' ')}, {pay_money(int(draw.amount * 100), currency)} "
        f"per {plan.period} (prorated by days on the plan)."
        if draw.amount
        else "No draw on this plan."
    )
    earned = st["earnings_cents"] + st["spifs_cents"] + st["clawbacks_cents"]
    balance = pd.DataFrame(
        {
            "period": st["period"],
            "earned": units(earned),
            "draw": units(st["draw_cents"]),
            "draw_paid": units(st["draw_paid_cents"]),
            "draw_recovered": units(st["draw_recovered_cents"]),
            "draw_balance": units(st["draw_balance_cents"]),
            "adjustments": units(st["adjustments_cents"]),
            "payout": units(st["payout_cents"]),
        }
    )
    sections = [
        Section(
            "Earnings by tier",
            "Each tier of the rate table pays its multiplier times the target incentive on the "
            "attainment it covers; the dot is your latest period on the plan's curve.",
            (
                Figure(
                    plotting.plot_payout_curve,
                    curve,
                    {
                        "point": point,
                        "label": str(last["period"]),
                        "title": f"{plan.name}: earnings by attainment ({currency})",
                    },
                    "Earnings by attainment on your plan, with your latest period.",
                ),
                _table_or_none(
                    _line_table(view, ("earnings", "cap")), "No earnings in these periods."
                ),
            ),
        ),
        Section(
            "Your deals",
            "Every deal credited to you, with the rule (your own deal, a revenue split or an "
            "overlay credit) and your share.",
            (
                _table_or_none(
                    _line_table(view, ("credit",), "credit"), "No deal credited in these periods."
                ),
            ),
        ),
        Section(
            "SPIFs and clawbacks",
            "One-off bonuses on matching deals, and what reversed deals take back.",
            (
                _table_or_none(
                    _line_table(view, ("spif", "clawback")), "No SPIF or clawback in these periods."
                ),
            ),
        ),
        Section(
            "Draws and balance",
            draw_text,
            (Table(balance, note="Earned = earnings + SPIFs + clawbacks."),),
        ),
        Section(
            "Adjustments",
            "Manual adjustments and corrections of periods already paid, each with its reason.",
            (
                _table_or_none(
                    _line_table(view, ("adjustment", "prior_period_adjustment")),
                    "No adjustment in these periods.",
                ),
            ),
        ),
    ]
    summary, deals = what_if_open_deals(view.inputs, str(scope.rep_id))
    if len(summary):
        s = summary.iloc[0]
        when = escape(s["period"])
        sentence = (
            f"If your {format_count(int(s['open_deals']), 'open deal')} expected to close in "
            f"{when} "
            f"({pay_money(s['open_amount_cents'], currency)}) close, you earn "
            f"**{pay_money(s['earned_if_cents'], currency)}** for {when} (attainment "
            f"{format_percent(s['attainment_if'], 1)}), against "
            f"{pay_money(s['earned_now_cents'], currency)} so far."
        )
        headline.append(sentence)
        values["what_if_cents"] = int(s["earned_if_cents"])
        sections.append(
            Section(
                "If your open deals close",
                sentence + " Earnings and SPIFs only: draws, clawbacks and adjustments left out.",
                (
                    _table_or_none(
                        deals.assign(account=account_names(view.inputs.dataset, deals["account"]))
                        if "account" in deals.columns
                        else deals,
                        "No open deal expected to close in the period.",
                    ),
                ),
            )
        )
    if last["active_days"] < last["period_days"]:
        days = f"{int(last['active_days'])} of the {int(last['period_days'])} days"
        sections.append(
            Section(
                "Proration",
                f"You were on the plan {days} of {escape(last['period'])}: quota, target "
                "incentive and draw are prorated by that share.",
            )
        )
    headline.append(_run_sentence(view))
    return Report(
        kind="comp_statement",
        title=f"Pay statement: {scope.rep_name}",
        scope=scope,
        headline=headline,
        sections=sections,
        method=_method(view, scope),
        values=values,
        currency=currency,
        as_of=view.inputs.dataset.as_of,
    )


def _summary_report(view: PayRunView, scope: Scope, currency: str) -> Report:
    st = view.statements
    total = int(st["payout_cents"].sum())
    periods = list(dict.fromkeys(st["period"].astype(str)))
    latest = st[st["period"] == periods[-1]]
    at_quota = int((latest["attainment"] >= 1).sum())
    headline = [
        f"{escape(scope.subject)}: {st['rep_id'].nunique()} reps are paid "
        f"**{pay_money(total, currency)}** for {escape(', '.join(periods))}.",
        f"{escape(periods[-1])}: {at_quota} of {len(latest)} at or above quota; median "
        f"attainment {format_percent(latest['attainment'].median(), 1)}; "
        f"{pay_money(int(latest['payout_cents'].sum()), currency)} paid.",
        _run_sentence(view),
    ]
    table = st[["rep_name", "period", "attainment"]].copy()
    for col in SUMMARY_COLUMNS:
        if f"{col}_cents" in st.columns:
            table[col] = units(st[f"{col}_cents"])
    table = table[SUMMARY_COLUMNS].sort_values(["rep_name", "period"], kind="stable")
    by_period = (
        st.groupby("period", sort=False)
        .agg(reps=("rep_id", "nunique"), payout_cents=("payout_cents", "sum"))
        .reset_index()
    )
    by_period = by_period.assign(payout=units(by_period.pop("payout_cents")))
    sections = [
        Section("Pay by period", blocks=(Table(by_period),)),
        Section(
            "Pay by rep and period",
            "Each rep's statement: credit, attainment and every part of the payout. Each rep "
            "receives their own statement, line by line.",
            (Table(table.reset_index(drop=True), shade=("attainment",)),),
        ),
    ]
    title = "Pay summary" if scope.kind == "company" else "Team pay summary"
    return Report(
        kind="comp_statement",
        title=f"{title}: {scope.name}",
        scope=scope,
        headline=headline,
        sections=sections,
        method=_method(view, scope),
        values={
            "payout_cents": total,
            "reps": int(st["rep_id"].nunique()),
            "periods": periods,
        },
        currency=currency,
        as_of=view.inputs.dataset.as_of,
    )


def build_comp_statement_report(ds: Dataset, scope: Scope, params: CompStatementParams) -> Report:
    """A rep's pay statement, or the pay summary of a team, a manager's reps or the company.

    Parameters
    ----------
    ds : the whole company's data (pay depends on deals shared across reps).
    scope : whose pay (:func:`spmlib.reports.scope.resolve_scope`).
    params : the run to show (stored, or a draft of a period), the plans and the run store.

    Returns
    -------
    Report
        ``values``: ``payout_cents`` (total of the scope), ``periods``; for a rep also
        ``rep_id``, ``payout_by_period_cents`` and ``what_if_cents`` (earnings if the open
        deals close), for a summary ``reps``.
    """
    ds, scope = scope_as_of(ds, scope, params.as_of)
    if missing(ds, ["quotas"]):  # pay follows attainment of quota
        return unavailable_report(
            ds, "comp_statement", f"Pay statement: {scope.name}", scope, "Pay", ["quotas"]
        )
    currency = ds.config.currency
    view = pay_run_view(ds, params).cut({str(r) for r in scope.data.reps["rep_id"]})
    if view.statements.empty:
        return Report(
            kind="comp_statement",
            title=f"Pay statement: {scope.name}",
            scope=scope,
            headline=[f"No pay for {escape(scope.label)} in this run.", _run_sentence(view)],
            sections=[],
            method=_method(view, scope),
            values={"payout_cents": 0, "periods": []},
            currency=currency,
            as_of=ds.as_of,
        )
    if scope.is_rep:
        return _rep_report(view, scope, currency)
    return _summary_report(view, scope, currency)
