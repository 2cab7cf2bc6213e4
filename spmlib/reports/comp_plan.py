"""The plan comparison: what each compensation plan would have cost on last year's results and
what it would cost next period on the pipeline forecast, as a share of bookings.

:func:`build_comp_plan_report` costs every plan on the scope's reps and lays the comparison
out; ``notebooks/comp_plan.ipynb`` only shows it. Formulas: ``docs/compensation.md`` and
:mod:`spmlib.comp.cost`. The report shows plan totals, never one rep's pay, and is meant for
finance and sales leadership (``params/email.yml`` does not send it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from spmlib.comp.cost import plan_cost_forecast, plan_cost_history
from spmlib.comp.curve import payout_curve
from spmlib.comp.money import units
from spmlib.comp.plan import Plan, load_plan, load_plans
from spmlib.config import PARAMS_DIR
from spmlib.core.periods import parse_period, period_label, period_start
from spmlib.exceptions import ParameterError
from spmlib.io.schema import Dataset
from spmlib.reports import plotting
from spmlib.reports.available import missing, unavailable_report
from spmlib.reports.columns import column
from spmlib.reports.formatter import format_compact, format_percent
from spmlib.reports.params import CompPlanParams
from spmlib.reports.report import Figure, Report, Section, Table, bullets, escape
from spmlib.reports.scope import Scope, scope_as_of

__all__ = ["build_comp_plan_report", "plans_from"]

_METHOD = [
    "**Cost in the past year**: every rep with a quota put on each plan for the whole fiscal "
    "year (new hires from their hire date), worked out by the same engine and rules as a pay "
    "run: cost = earnings + SPIFs + clawbacks (draws and adjustments left out, they move cash, "
    "not cost). **Bookings**: won amounts closed in the year.",
    "**Next period**: the pipeline Monte Carlo of each rep's bookings (booked so far, open deals "
    "won with their win probability, new deals at the run rate); each plan's rate table applied "
    "to every simulation; P10/P50/P90 are the 10th, 50th and 90th percentiles over the "
    "simulations. SPIFs are not simulated.",
    "**Cost / bookings** is worked out per simulation, so its percentiles are not the ratio of "
    "the cost and bookings percentiles.",
]


def plans_from(spec: str | None) -> dict[str, Plan]:
    """Plan files from a comma-separated list of files or folders (default: ``params/comp``
    and ``params/comp/designs``), by plan name."""
    paths = (
        [Path(p.strip()) for p in spec.split(",") if p.strip()]
        if spec
        else [PARAMS_DIR / "comp", PARAMS_DIR / "comp" / "designs"]
    )
    plans: dict[str, Plan] = {}
    for p in paths:
        if p.is_dir():
            plans.update(load_plans(p))
        else:
            plan = load_plan(p)
            plans[plan.name] = plan
    return plans


def _history_year(ds: Dataset, params: CompPlanParams) -> str:
    if params.history_year:
        return params.history_year
    fy = ds.config.fiscal_year_start_month
    day = pd.Series([ds.as_of - pd.DateOffset(years=1)])
    return str(period_label(period_start(day, "year", fy), "year", fy).iloc[0])


def build_comp_plan_report(ds: Dataset, scope: Scope, params: CompPlanParams) -> Report:
    """Plans side by side on the scope's reps (the company, a team or a manager's reps).

    Parameters
    ----------
    ds : the loaded dataset.
    scope : a company, team or manager scope (plans are compared on a group of reps).
    params : the plan files, the fiscal year costed on real results, the simulations.

    Returns
    -------
    Report
        ``values``: ``history`` (one record per plan: cost, SPIFs, bookings in cents, cost
        share, reps) and ``forecast`` (one record per plan: cost and bookings percentiles in
        currency units, cost share percentiles).

    Raises
    ------
    ParameterError : a rep scope, or a ``history_year`` that is not a fiscal year.
    """
    if scope.is_rep:
        raise ParameterError(
            "the plan comparison covers the company, a team or a manager's reps; leave rep_id "
            "empty (a rep's pay is in their pay statement)."
        )
    ds, scope = scope_as_of(ds, scope, params.as_of)
    if missing(ds, ["quotas"]):  # pay follows attainment of quota
        return unavailable_report(
            ds, "comp_plan", "Compensation plans compared", scope, "Plan costs", ["quotas"]
        )
    data, cur = scope.data, ds.config.currency
    plans = plans_from(params.plans)
    year = _history_year(ds, params)
    try:
        _freq, start, end = parse_period(year, ds.config.fiscal_year_start_month)
    except ValueError as exc:
        raise ParameterError(f"history_year {year!r}: {exc}") from None
    past = plan_cost_history(data, plans, start, end)
    ahead = plan_cost_forecast(data, plans, n_sims=params.n_sims, seed=0)
    curves = pd.concat(
        [payout_curve(p).assign(plan=name) for name, p in plans.items()], ignore_index=True
    )
    history = pd.DataFrame(
        {
            "plan": past["plan"],
            "reps": past["reps"],
            "cost": units(past["cost_cents"]),
            "spifs": units(past["spifs_cents"]),
            "bookings": units(past["bookings_cents"]),
            "cost_share": past["cost_share"],
            "reps_paid_over_ti": past["reps_paid_over_ti"],
        }
    )
    shares = past["cost_share"].dropna()
    reps = int(past["reps"].max()) if len(past) and pd.notna(past["reps"].max()) else 0
    if len(shares):
        cheapest = past.loc[shares.idxmin(), "plan"]
        cost = (
            f"from {format_percent(shares.min(), 1)} to {format_percent(shares.max(), 1)} of "
            f"bookings; the cheapest is **{escape(cheapest)}**."
        )
    else:
        cost = "no bookings in that year, so no cost as a share of bookings to compare."
    headline = [
        f"{len(plans)} plans costed on {escape(scope.label)}'s results of {escape(year)} "
        f"({reps} reps): {cost}",
    ]
    sections = [
        Section(
            "Payout curves",
            "Earnings as a multiple of the target incentive, by attainment.",
            (Figure(plotting.plot_payout_curves, curves, alt="The plans' payout curves"),),
        ),
        Section(
            f"Cost in {escape(year)}",
            "Every rep on each plan for the whole year, on the year's real results.",
            (Table(history, columns={"spifs": column("spifs").relabel("SPIFs", decimals=0)}),),
        ),
    ]
    if len(ahead):
        nxt = ahead.iloc[0]
        headline.append(
            f"Next period ({nxt['period_start'].date()} to {nxt['period_end'].date()}), median "
            "cost: "
            + "; ".join(
                f"{escape(r.plan)} {format_compact(r.cost_p50, cur)} "
                f"({format_percent(r.share_p50, 1)} of bookings)"
                for r in ahead.itertuples()
            )
            + " (pipeline Monte Carlo, SPIFs not included)."
        )
        forecast = ahead[
            ["plan", "cost_p10", "cost_p50", "cost_p90", "bookings_p50",
             "share_p10", "share_p50", "share_p90"]
        ]  # fmt: skip
        sections.append(
            Section(
                "Next period",
                f"Each plan applied to {params.n_sims:,} simulated periods of the pipeline "
                "forecast; the 80% range runs from P10 to P90.",
                (Table(forecast),),
            )
        )
    title = "Compensation plans compared"
    return Report(
        kind="comp_plan",
        title=title if scope.kind == "company" else f"{title}: {scope.name}",
        scope=scope,
        headline=headline,
        sections=sections,
        method=Section("How this is worked out", bullets(_METHOD)),
        values={"history": past.to_dict("records"), "forecast": ahead.to_dict("records")},
        currency=cur,
        as_of=ds.as_of,
    )
