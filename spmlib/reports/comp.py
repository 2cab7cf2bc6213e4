"""Compensation reports: a rep's pay statement (or a manager's team summary) and the plan
comparison. Each ``build_*_report(dataset, scope, params)`` returns a :class:`CompReport` that the
notebook only displays.

Privacy: a rep's statement holds that rep's lines and statements only (pay is computed on the
whole company, since split deals credit several reps, then cut to the rep); a team or manager
scope shows that team's reps; only the company scope shows everyone (finance). Text from data
(names, accounts, reasons) is escaped when rendered.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from spmlib.comp.checks import CHECK_COLUMNS
from spmlib.comp.cost import plan_cost_forecast, plan_cost_history
from spmlib.comp.curve import payout_curve
from spmlib.comp.engine import load_inputs
from spmlib.comp.ledger import RunStore
from spmlib.comp.money import format_money
from spmlib.comp.payrun import pay_run
from spmlib.comp.plan import load_plan, load_plans
from spmlib.comp.statement import what_if_open_deals
from spmlib.config import PARAMS_DIR
from spmlib.core.periods import parse_period, period_label, period_start
from spmlib.io.schema import Dataset
from spmlib.reports.available import gap_line, missing
from spmlib.reports.plotting.comp import plot_payout_curve, plot_payout_curves
from spmlib.reports.report import Figure, Report, Table, Text, escape
from spmlib.reports.report import Section as ReportSection
from spmlib.reports.scope import Scope

__all__ = ["Section", "CompReport", "build_comp_statement_report", "build_comp_plan_report"]


@dataclass
class Section:
    """One part of a report: a title, a paragraph, and optionally a table and a figure (drawn
    when shown)."""

    title: str
    text: str = ""
    table: pd.DataFrame | None = None
    figure: Figure | None = None


@dataclass
class CompReport:
    """A report ready to display: title, headline sentences (HTML-safe), sections; ``scope``
    and ``currency`` say whose it is and in which money."""

    title: str
    headline: list[str]
    sections: list[Section] = field(default_factory=list)
    values: dict = field(default_factory=dict)
    scope: Scope | None = None
    currency: str = "USD"

    def to_report(self) -> Report:
        """The report as a :class:`~spmlib.reports.report.Report` of the one report layer
        (tables through the one formatter, charts drawn for the browser and the phone). The
        values stay with :attr:`values` (the notebook records them)."""
        sections = []
        for s in self.sections:
            blocks: list = []
            if s.table is not None:
                blocks.append(Text("_None._") if s.table.empty else Table(s.table))
            if s.figure is not None:
                blocks.append(s.figure)
            sections.append(ReportSection(escape(s.title), s.text, tuple(blocks)))
        return Report("comp", self.title, self.scope, list(self.headline), sections,
                      currency=self.currency)  # fmt: skip

    def display(self) -> None:
        """Show it in a notebook (:func:`spmlib.reports.notebook.show`)."""
        from spmlib.reports.notebook import show

        show(self.to_report())


def _m(cents, currency: str = "") -> str:
    return format_money(int(cents), currency)


def _pct(x: float) -> str:
    return "" if pd.isna(x) else f"{x:.1%}"


def _run(dataset: Dataset, params) -> tuple:
    """(inputs, statements, lines, run id or None, checks) of the run the report shows."""
    inputs = load_inputs(dataset, params.plans or PARAMS_DIR / "comp")
    if params.run:
        stored = RunStore(params.outputs).load(params.run)
        checks = pd.DataFrame(stored.manifest["checks"], columns=CHECK_COLUMNS)
        return inputs, stored.statements, stored.lines, stored.run_id, checks
    fy = dataset.config.fiscal_year_start_month
    period = (
        params.period
        or period_label(
            period_start(pd.Series([dataset.as_of]), "quarter", fy), "quarter", fy
        ).iloc[0]
    )
    run = pay_run(inputs, period, RunStore(params.outputs), verify=False)
    return inputs, run.statements, run.lines, None, run.checks


def _lines_table(lines: pd.DataFrame, kinds: tuple[str, ...], currency: str) -> pd.DataFrame:
    sel = lines[lines["kind"].isin(kinds)]
    return pd.DataFrame(
        {
            "period": sel["period"],
            "deal": sel["deal"],
            "rule": sel["rule"],
            "how": sel["inputs"],
            "reason": sel["reason"].fillna(""),
            f"amount ({currency})": sel["amount_cents"].map(_m),
        }
    ).reset_index(drop=True)


def _statement_sections(inputs, st, lines, currency, run_id, checks) -> tuple[list, list, dict]:
    rep = st.iloc[-1]
    name = html.escape(str(rep["rep_name"]))
    total = int(st["payout_cents"].sum())
    periods = ", ".join(st["period"].unique())
    headline = [
        f"**{name}**: pay for {html.escape(periods)}: **{_m(total, currency)}**.",
        f"{html.escape(str(rep['period']))}: credited {_m(rep['credited_cents'], currency)} of a "
        f"quota of {_m(rep['quota_cents'], currency)}, attainment {_pct(rep['attainment'])}.",
        ("Run " + html.escape(run_id) if run_id else "Draft (not a stored run)")
        + (": every check passed." if checks["ok"].all() else ": a check FAILED, see below."),
    ]
    plan = inputs.plans[str(rep["plan"])]
    curve = payout_curve(plan)
    scale = rep["target_incentive_cents"] / 100 / float(plan.target_incentive)
    curve = curve.assign(earnings=curve["earnings"] * scale)
    figure = Figure(
        plot_payout_curve,
        curve,
        {
            "point": (float(rep["attainment"]), rep["earnings_cents"] / 100),
            "label": str(rep["period"]),
            "currency": currency,
            "title": f"{plan.name}: earnings by attainment",
        },
        alt="Earnings by attainment on the plan, with this period marked",
    )
    sections = [
        Section(
            "Earnings by tier",
            "Each tier of the rate table pays its multiplier times the target incentive on the "
            "attainment it covers; the dot is your period on the plan's curve.",
            _lines_table(lines, ("earnings", "cap"), currency),
            figure,
        ),
        Section(
            "Your deals",
            "Every deal credited to you, with the rule (your own deal, a revenue split or an "
            "overlay credit) and its share.",
            _lines_table(lines, ("credit",), currency).drop(columns="reason"),
        ),
        Section("SPIFs and clawbacks", "", _lines_table(lines, ("spif", "clawback"), currency)),
        Section(
            "Draws and balance",
            f"Draw plan: {plan.draw.type.replace('_', ' ')}"
            + (
                f", {_m(int(plan.draw.amount * 100), currency)} per {plan.period}."
                if plan.draw.amount
                else "."
            ),
            pd.DataFrame(
                {
                    "period": st["period"],
                    "earned": (
                        st["earnings_cents"] + st["spifs_cents"] + st["clawbacks_cents"]
                    ).map(_m),
                    "draw": st["draw_cents"].map(_m),
                    "draw paid": st["draw_paid_cents"].map(_m),
                    "recovered": st["draw_recovered_cents"].map(_m),
                    "balance owed": st["draw_balance_cents"].map(_m),
                    "adjustments": st["adjustments_cents"].map(_m),
                    "payout": st["payout_cents"].map(_m),
                }
            ),
        ),
        Section(
            "Adjustments",
            "Manual adjustments and corrections of periods already paid, each with its reason.",
            _lines_table(lines, ("adjustment", "prior_period_adjustment"), currency),
        ),
    ]
    values = {
        "payout_cents": total,
        "rep_id": str(rep["rep_id"]),
        "periods": list(st["period"].unique()),
    }
    return headline, sections, values


def _without_quotas(title: str, what: str, scope: Scope, currency: str) -> CompReport:
    """The report when the data has no quotas: pay follows attainment, so there is none to
    work out (one line says what data would enable it)."""
    return CompReport(
        title,
        [
            f"No pay is worked out for {escape(scope.label)}: pay follows quota attainment, and "
            "the data has no quotas."
        ],  # fmt: skip
        [Section("Not in this report", gap_line(what, ["quotas"]))],
        scope=scope,
        currency=currency,
    )


def build_comp_statement_report(dataset: Dataset, scope: Scope, params) -> CompReport:
    """A rep's pay statement, or the team summary for a team or manager scope (the company
    scope lists every rep, for finance).

    ``dataset`` is the whole company's (pay depends on deals shared across reps); ``scope``
    says whose statement it is; ``params`` is a
    :class:`spmlib.reports.params.CompStatementParams`.
    """
    currency = dataset.config.currency
    if missing(dataset, ["quotas"]):
        return _without_quotas(f"Pay statement: {scope.label}", "Pay", scope, currency)
    inputs, st, lines, run_id, checks = _run(dataset, params)
    ids = set(scope.data.reps["rep_id"].astype(str))
    st = st[st["rep_id"].astype(str).isin(ids)].reset_index(drop=True)
    lines = lines[lines["rep_id"].astype(str).isin(ids)].reset_index(drop=True)
    how = Section(
        "How this is worked out",
        "Rules and formulas: docs/compensation.md. Every amount is a line rounded to the cent "
        "once; the checks below ran on the whole run.",
        checks.assign(ok=checks["ok"].map({True: "ok", False: "FAILED"})),
    )
    if st.empty:
        return CompReport(
            f"Pay statement: {scope.label}",
            [f"No pay for {html.escape(scope.label)} in this run."],
            [how],
            scope=scope,
            currency=currency,
        )
    if scope.is_rep:
        headline, sections, values = _statement_sections(
            inputs, st, lines, currency, run_id, checks
        )
        summary, deals = what_if_open_deals(inputs, scope.rep_id)
        if len(summary):
            s = summary.iloc[0]
            when = html.escape(str(s["period"]))
            text = (
                f"If your {int(s['open_deals'])} open deal(s) expected to close in "
                f"{when} ({_m(s['open_amount_cents'], currency)}) close, "
                f"you earn **{_m(s['earned_if_cents'], currency)}** for {when} "
                f"(attainment {_pct(s['attainment_if'])}), against "
                f"{_m(s['earned_now_cents'], currency)} so far."
            )
            values["what_if_cents"] = int(s["earned_if_cents"])
            headline.append(text)
            sections.append(
                Section(
                    "If your open deals close",
                    text,
                    deals.assign(amount=deals["amount"].map(lambda v: f"{v:,.2f}")),
                )
            )
        active = st.iloc[-1]
        if active["active_days"] < active["period_days"]:
            days = f"{int(active['active_days'])} of the {int(active['period_days'])} days"
            sections.append(
                Section(
                    "Proration",
                    f"You were on the plan {days} of {html.escape(str(active['period']))}: "
                    "quota, target incentive and draw are prorated by that share.",
                )
            )
        return CompReport(
            f"Pay statement: {scope.label}", headline, [*sections, how], values, scope, currency
        )
    table = pd.DataFrame(
        {
            "rep": st["rep_name"],
            "period": st["period"],
            "credited": st["credited_cents"].map(_m),
            "attainment": st["attainment"].map(_pct),
            "earnings": st["earnings_cents"].map(_m),
            "SPIFs": st["spifs_cents"].map(_m),
            "clawbacks": st["clawbacks_cents"].map(_m),
            "draw paid": st["draw_paid_cents"].map(_m),
            "recovered": st["draw_recovered_cents"].map(_m),
            "adjustments": st["adjustments_cents"].map(_m),
            "payout": st["payout_cents"].map(_m),
        }
    )
    total = int(st["payout_cents"].sum())
    last = st[st["period"] == st["period"].iloc[-1]]
    headline = [
        f"{html.escape(scope.label)}: {st['rep_id'].nunique()} reps paid "
        f"**{_m(total, currency)}** for {html.escape(', '.join(st['period'].unique()))}.",
        f"{html.escape(str(last['period'].iloc[0]))}: {int((last['attainment'] >= 1).sum())} of "
        f"{len(last)} at or above quota; median attainment {_pct(last['attainment'].median())}.",
    ]
    values = {"payout_cents": total, "reps": int(st["rep_id"].nunique())}
    return CompReport(
        f"Team pay summary: {scope.label}",
        headline,
        [Section("Pay by rep and period", "", table), how],
        values,
        scope,
        currency,
    )


def _plans(spec: str | None) -> dict:
    """Plan files from a comma-separated list of files or folders (default: params/comp and
    params/comp/designs)."""
    paths = (
        [Path(p.strip()) for p in spec.split(",")]
        if spec
        else [PARAMS_DIR / "comp", PARAMS_DIR / "comp" / "designs"]
    )
    plans = {}
    for p in paths:
        found = load_plans(p) if p.is_dir() else {(pl := load_plan(p)).name: pl}
        plans.update(found)
    return plans


def build_comp_plan_report(dataset: Dataset, scope: Scope, params) -> CompReport:
    """Plans side by side: cost last fiscal year (everyone on each plan, the engine's rules)
    and next period's cost from the pipeline Monte Carlo (P10/P50/P90), as a share of bookings.
    ``params`` is a :class:`spmlib.reports.params.CompPlanParams`."""
    ds = scope.data
    currency = ds.config.currency
    if missing(dataset, ["quotas"]):
        return _without_quotas("Compensation plans compared", "Plan costs", scope, currency)
    plans = _plans(params.plans)
    fy = ds.config.fiscal_year_start_month
    year = (
        params.history_year
        or period_label(
            period_start(pd.Series([ds.as_of - pd.DateOffset(years=1)]), "year", fy), "year", fy
        ).iloc[0]
    )
    _f, start, end = parse_period(year, fy)
    past = plan_cost_history(ds, plans, start, end)
    ahead = plan_cost_forecast(ds, plans, n_sims=params.n_sims, seed=0)
    past_table = pd.DataFrame(
        {
            "plan": past["plan"],
            "reps": past["reps"],
            f"cost ({currency})": past["cost_cents"].map(_m),
            "of which SPIFs": past["spifs_cents"].map(_m),
            f"bookings ({currency})": past["bookings_cents"].map(_m),
            "cost / bookings": past["cost_share"].map(_pct),
            "rep periods above TI": past["reps_paid_over_ti"],
        }
    )
    ahead_table = pd.DataFrame(
        {
            "plan": ahead["plan"],
            "cost P10": ahead["cost_p10"].map(lambda v: f"{v:,.0f}"),
            "cost P50": ahead["cost_p50"].map(lambda v: f"{v:,.0f}"),
            "cost P90": ahead["cost_p90"].map(lambda v: f"{v:,.0f}"),
            "bookings P50": ahead["bookings_p50"].map(lambda v: f"{v:,.0f}"),
            "cost / bookings P10": ahead["share_p10"].map(_pct),
            "cost / bookings P50": ahead["share_p50"].map(_pct),
            "cost / bookings P90": ahead["share_p90"].map(_pct),
        }
    )
    curves = pd.concat(
        [payout_curve(plan).assign(plan=name) for name, plan in plans.items()], ignore_index=True
    )
    fig = Figure(plot_payout_curves, curves, alt="Earnings by attainment, one line per plan")
    cheapest = past.sort_values("cost_share").iloc[0]
    nxt = ahead.iloc[0] if len(ahead) else None
    headline = [
        f"{len(plans)} plans on {html.escape(year)}'s results ({int(past['reps'].max())} reps): "
        "cost "
        f"from {_pct(past['cost_share'].min())} to {_pct(past['cost_share'].max())} of bookings; "
        f"cheapest: {html.escape(str(cheapest['plan']))}.",
    ]
    if nxt is not None:
        headline.append(
            f"Next period ({nxt['period_start'].date()} to {nxt['period_end'].date()}): "
            "median cost "
            + ", ".join(
                f"{html.escape(r.plan)} {r.cost_p50:,.0f} {currency}" for r in ahead.itertuples()
            )
            + " (pipeline Monte Carlo; SPIFs not included)."
        )
    sections = [
        Section("Payout curves", "Earnings as a multiple of the target incentive.", None, fig),
        Section(
            f"Cost in {year}",
            "Every rep with a quota on each plan for the whole year "
            "(new hires from their hire date); cost = earnings + SPIFs + clawbacks.",
            past_table,
        ),
        Section(
            "Next period",
            "Each plan applied to every simulated period of the pipeline "
            "forecast (booked so far, open deals by win probability, new deals at the run "
            "rate); P10/P50/P90 over the simulations.",
            ahead_table,
        ),
    ]
    values = {"history": past.to_dict("records"), "forecast": ahead.to_dict("records")}
    return CompReport("Compensation plans compared", headline, sections, values, scope, currency)
