"""The quota plan report of the company or one team: next year's quotas against potential, the
capacity gap, the simulated attainment against the 60-70% aim, the fairness checks, and the
territories before and after balancing (``notebooks/quota_plan.ipynb`` only shows it).

The plan is always made for the whole company (the target is the company's, split per team and
rep); a team's report shows that team's reps only, with the company's totals for context.
Formulas: ``docs/planning.md``.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from spmlib.config import PROJ_ROOT
from spmlib.core.periods import fiscal_year
from spmlib.exceptions import ParameterError
from spmlib.io.schema import Dataset
from spmlib.planning.allocation import QuotaPlan
from spmlib.planning.fairness import TARGET_SHARE
from spmlib.planning.quota_plan import check_plan, default_target, plan_quotas
from spmlib.planning.territory import TerritoryPlan, balance_territories, tradeoff_curve
from spmlib.reports import plotting
from spmlib.reports.params import QuotaPlanParams
from spmlib.reports.report import Figure, Report, Section, Table, Text, escape
from spmlib.reports.scope import Scope

__all__ = [
    "PlanTable",
    "PlanFigure",
    "PlanSection",
    "QuotaPlanReport",
    "build_quota_plan_report",
    "to_report",
    "show",
]

log = logging.getLogger(__name__)

#: Simulations of each rep's plan year.
N_SIMS = 2000
#: Limits on the share of a team's potential moved, of the trade-off curve.
TRADEOFF_LIMITS = (0.0, 0.02, 0.05, 0.10, 0.20)


@dataclass(frozen=True)
class PlanTable:
    """A table to show (raw values; formatted when shown) with a title and a note."""

    frame: pd.DataFrame
    title: str = ""
    note: str = ""


@dataclass(frozen=True)
class PlanFigure:
    """A chart drawn when shown: ``plot(data, **options)`` returns its Axes."""

    plot: Callable[..., Any]
    data: Any
    options: Mapping[str, Any] = field(default_factory=dict)
    alt: str = ""

    def draw(self):
        """Draw the chart; returns the matplotlib Figure (the caller closes it)."""
        return self.plot(self.data, **self.options).figure


@dataclass(frozen=True)
class PlanSection:
    """A titled part of the report: an intro (Markdown), then tables, figures and text."""

    title: str
    intro: str = ""
    blocks: tuple[PlanTable | PlanFigure | str, ...] = ()


@dataclass
class QuotaPlanReport:
    """The quota plan report: ``headline`` sentences first, then ``sections``; ``values`` are
    recorded in the notebook for tests and mail; the computed objects are kept for reuse."""

    title: str
    scope: Scope
    currency: str
    headline: list[str]
    sections: list[PlanSection]
    values: dict[str, Any]
    plan: QuotaPlan
    checks: dict[str, pd.DataFrame]
    territories: dict[str, TerritoryPlan]
    tradeoff: pd.DataFrame | None = None


def _money(value: float, currency: str) -> str:
    """12,345,678 -> '12.3M USD'; 54,321 -> '54k USD'."""
    v = abs(value)
    text = f"{v / 1e6:,.1f}M" if v >= 1e6 else f"{v / 1e3:,.0f}k" if v >= 1e3 else f"{v:,.0f}"
    return f"{'-' if value < 0 else ''}{text} {currency}"


def _hires_path(hires: str | None) -> Path | None:
    """A hires file as given, or relative to the project when it is not found as given."""
    if hires is None:
        return None
    path = Path(hires)
    return path if path.is_absolute() or path.exists() else PROJ_ROOT / path


def _status(row) -> str:
    if row["planned"]:
        return f"planned hire from {row['hire_date'].date()}"
    if pd.notna(row["end_date"]):
        return f"leaves {row['end_date'].date()}"
    return ""


def _rep_table(reps: pd.DataFrame, sim: pd.DataFrame) -> pd.DataFrame:
    sim = sim.set_index("rep_id")
    out = pd.DataFrame(
        {
            "rep_name": reps["rep_name"],
            "team": reps["team"],
            "status": reps.apply(_status, axis=1).astype("string"),
            "bookings_last_4_quarters": reps["history"],
            "potential": reps["potential"],
            "share_of_year": reps["year_share"],
            "quota": reps["quota"],
            "quota_rate_of_potential": reps["quota"]
            / reps["potential"].where(reps["potential"] > 0),
            "probability_at_quota": reps["rep_id"].map(sim["p_at_quota"]),
            "attainment_median": reps["rep_id"].map(sim["attainment_p50"]),
        }
    )
    return out.sort_values(["team", "quota"], ascending=[True, False]).reset_index(drop=True)


def _team_table(reps: pd.DataFrame) -> pd.DataFrame:
    g = reps.groupby("team", observed=True)
    out = pd.DataFrame(
        {
            "reps": g.size(),
            "potential": g["potential"].sum(),
            "capacity": g["capacity"].sum(),
            "quota": g["quota"].sum(),
        }
    ).reset_index()
    out["share_of_potential"] = out["potential"] / out["potential"].sum()
    out["share_of_quota"] = out["quota"] / out["quota"].sum()
    out["quota_rate_of_capacity"] = out["quota"] / out["capacity"]
    return out


def _period_table(plan: QuotaPlan, ids: set[str]) -> pd.DataFrame:
    rows = plan.quotas[plan.quotas["rep_id"].isin(ids)]
    out = rows.groupby(["period_start", "period_end"], as_index=False)["quota"].sum()
    out["reps"] = rows.groupby(["period_start", "period_end"])["rep_id"].nunique().to_numpy()
    out["share_of_year"] = out["quota"] / out["quota"].sum()
    return out


def _aim(share: float) -> str:
    lo, hi = TARGET_SHARE
    if share < lo:
        return "below the 60-70% aim: these quotas are on the hard side"
    if share > hi:
        return "above the 60-70% aim: these quotas are on the easy side"
    return "within the 60-70% aim"


def _fairness_sentences(checks: dict[str, pd.DataFrame]) -> tuple[list[str], pd.DataFrame]:
    gini = checks["gini"].iloc[0]
    corr = checks["correlation"].iloc[0]
    rt = checks["ratchet_test"].iloc[0]
    lines, rows = [], []
    g = gini["gini_quota_per_potential"]
    if pd.notna(g):
        spread = "little" if g < 0.1 else "noticeably" if g < 0.25 else "a lot"
        lines.append(
            f"Quota per unit of territory potential varies {spread} between reps "
            f"(Gini {g:.2f} over {int(gini['reps'])} reps; 0 = every rep the same)."
        )
        rows.append(("Gini of quota / potential", f"{g:.3f}", "0 = equal quota per potential"))
    if pd.notna(corr["pearson"]):
        r, lo, hi = corr["pearson"], corr["pearson_low"], corr["pearson_high"]
        ci = f"95% {lo:.2f} to {hi:.2f}" if pd.notna(lo) else "no interval under 4 reps"
        if pd.notna(lo) and lo > 0:
            reading = "reps with richer territories beat their past quotas more: past quotas "
            reading += "did not reflect how territories differ"
        elif pd.notna(hi) and hi < 0:
            reading = "reps with richer territories did worse against past quotas: those quotas "
            reading += "over-corrected for potential"
        else:
            reading = "no clear link between past attainment and territory potential, as it "
            reading += "should be"
        lines.append(f"{reading[0].upper()}{reading[1:]} (Pearson {r:.2f}, {ci}).")
        rows.append(("Past attainment vs potential (Pearson)", f"{r:.2f} ({ci})", "near 0"))
    if rt["transitions"]:
        verdict = "Quota ratcheting" if rt["ratchet"] else "No quota ratcheting"
        lines.append(
            f"{verdict}: past quotas rose {rt['mean_change_after_beat']:.1%} on average after a "
            f"beat and {rt['mean_change_after_miss']:.1%} after a miss "
            f"({int(rt['transitions'])} year-to-year changes)."
        )
        p = f"p {rt['p_value']:.3f}" if pd.notna(rt["p_value"]) else "not testable"
        rows.append(
            ("Ratchet: b_up - b_down", f"{rt['asymmetry']:.2f} ({p})", "<= 0, or p >= 0.05")
        )
    table = pd.DataFrame(rows, columns=["check", "value", "fair when"]).astype("string")
    return lines, table


def _territory_summary(team: str, plan: TerritoryPlan) -> dict[str, Any]:
    s = plan.summary.iloc[0]
    return {
        "team": team,
        "accounts": int(s["accounts"]),
        "moves": int(s["moves"]),
        "share_moved": s["share_moved"],
        "largest_deviation_before_rate": s["max_deviation_before"],
        "largest_deviation_after_rate": s["max_deviation"],
        "tightest_band_rate": s["tightest_band"],
        "status": str(s["status"]),
        "gap_rate": s["gap"],
        "solve_seconds": s["solve_seconds"],
    }


def _territory_sentence(label: str, plan: TerritoryPlan, band: float) -> str:
    s = plan.summary.iloc[0]
    if s["status"] == "infeasible":
        return (
            f"Territories of {label} cannot all be brought within +-{band:.0%} of the mean (locked "
            f"accounts); the tightest feasible band is +-{s['tightest_band']:.1%}."
        )
    proof = "proven optimal" if s["status"] == "optimal" else f"within {s['gap']:.2%} of the best"
    return (
        f"Balancing the territories of {label} within +-{band:.0%} moves {int(s['moves'])} of "
        f"{int(s['accounts'])} accounts ({s['share_moved']:.1%} of the potential, {proof}); the "
        f"largest deviation from the mean falls from {s['max_deviation_before']:.0%} to "
        f"{s['max_deviation']:.0%}."
    )


def _balance(ds: Dataset, team: str, params: QuotaPlanParams) -> TerritoryPlan:
    data = ds.scoped(team=team)
    return balance_territories(
        data.accounts,
        list(data.reps["rep_id"]),
        "potential",
        params.band,
        time_limit=params.time_limit,
    )


def _territory_section(ds: Dataset, scope: Scope, params: QuotaPlanParams, names: pd.Series):
    """(section, headline sentences, plans by team, trade-off curve or None)."""
    title = "Territories"
    if ds.accounts.empty:
        intro = "No accounts table: add accounts.csv (account_id, account_name, rep_id, potential)."
        return PlanSection(title, intro), [], {}, None
    intro = (
        "Each team's accounts reassigned so that every rep's potential lies within "
        f"+-{params.band:.0%} of the team mean, moving the least potential; locked accounts never "
        "move. Solved exactly (mixed-integer program, HiGHS); the gap says how far from the best "
        "plan the answer can be."
    )
    if scope.kind == "company":
        plans = {t: _balance(ds, t, params) for t in sorted(ds.reps["team"].dropna().unique())}
        table = pd.DataFrame([_territory_summary(t, p) for t, p in plans.items()])
        moved = int(table["moves"].sum())
        line = (
            f"Balancing every team's territories within +-{params.band:.0%} moves {moved} of "
            f"{int(table['accounts'].sum())} accounts; see each team's report for the moves."
        )
        section = PlanSection(title, intro, (PlanTable(table, "Balance per team"),))
        return section, [line], plans, None
    plan = _balance(ds, scope.team, params)
    data = ds.scoped(team=scope.team)
    curve = tradeoff_curve(
        data.accounts,
        list(data.reps["rep_id"]),
        "potential",
        TRADEOFF_LIMITS,
        time_limit=params.time_limit,
    )
    bal = plan.balance.assign(rep_name=plan.balance["rep_id"].map(names))
    shown = bal[
        [
            "rep_name",
            "accounts_before",
            "accounts_after",
            "potential_before",
            "potential_after",
            "index_before",
            "index_after",
            "moved_in",
            "moved_out",
        ]
    ]
    shown = shown.rename(
        columns={"index_before": "share_of_mean_before", "index_after": "share_of_mean_after"}
    )
    a = plan.assignments
    moves = a[a["moved"]].sort_values("potential", ascending=False)
    moves = pd.DataFrame(
        {
            "account_name": moves["account_name"],
            "potential": moves["potential"],
            "from_rep": moves["rep_id_before"].map(names),
            "to_rep": moves["rep_id_after"].map(names),
        }
    )
    trade = curve.rename(columns={"band": "largest_deviation_rate", "gap": "gap_rate"})
    blocks = (
        PlanFigure(
            plotting.plot_territory_balance,
            bal,
            {"band": params.band},
            "Each rep's potential against the team mean before and after.",
        ),
        PlanTable(shown, "Balance per rep"),
        PlanTable(moves, f"Accounts that change owner ({len(moves)})"),
        PlanFigure(
            plotting.plot_tradeoff,
            curve,
            {},
            "The smallest imbalance reachable for each limit on the potential moved.",
        ),
        PlanTable(
            trade,
            "Trade-off between moves and balance",
            "Each row: at most this share of the potential moved, the smallest largest "
            "deviation reachable (epsilon-constraint).",
        ),
    )
    section = PlanSection(title, intro, blocks)
    return section, [_territory_sentence(scope.label, plan, params.band)], {scope.team: plan}, curve


def build_quota_plan_report(ds: Dataset, scope: Scope, params: QuotaPlanParams) -> QuotaPlanReport:
    """The quota plan report of the company or one team (module docstring).

    Parameters
    ----------
    ds : the whole dataset (the company target is split over every team).
    scope : a company or team scope (:func:`spmlib.reports.scope.resolve_scope`).
    params : :class:`spmlib.reports.params.QuotaPlanParams`.

    Raises
    ------
    ParameterError : a rep or manager scope, or an ``end`` that is not the last day of the
        planned fiscal year.
    """
    if scope.kind not in ("company", "team"):
        raise ParameterError(
            "the quota plan report covers the company or one team; leave rep_id and manager "
            "empty (a rep's quota is in the team's report)."
        )
    fy0 = ds.config.fiscal_year_start_month
    year = None
    if params.plan_day is not None:
        year = int(fiscal_year(pd.Series([params.plan_day]), fy0).iloc[0])
    target = float(params.target) if params.target is not None else default_target(ds, year)
    weights, notes = params.weights, []
    if ds.accounts.empty and weights != "history":
        weights = "history"
        notes.append("The data have no accounts table, so quotas follow history only.")
    plan = plan_quotas(
        ds,
        target,
        year,
        params.method,
        weights,
        params.over_assignment,
        params.period,
        _hires_path(params.hires),
        params.beta,
    )
    s = plan.settings
    if params.end is not None and pd.Timestamp(params.end) != s["end"]:
        raise ParameterError(
            f"end {params.end!r}: a quota plan covers the whole fiscal year FY{s['year']} "
            f"({s['start'].date()} .. {s['end'].date()}); leave end empty."
        )
    reps = plan.reps if scope.kind == "company" else plan.reps[plan.reps["team"] == scope.team]
    ids = set(reps["rep_id"])
    checks = check_plan(plan, ds, n_sims=N_SIMS, rep_ids=ids)
    cur = ds.config.currency
    names = plan.reps.set_index("rep_id")["rep_name"]
    cap = s["capacity"].iloc[0]
    dist = checks["distribution"]
    share = dist.attrs["share_at_quota"]
    quota = float(reps["quota"].sum())
    total = float(plan.quotas["quota"].sum())

    label = html.escape(scope.label, quote=False)
    if scope.kind == "team":
        context = f", {quota / total:.0%} of the company's {_money(total, cur)}"
    elif total > target + 0.005:
        context = f", {total / target:.0%} of the {_money(target, cur)} target (over-assignment)"
    else:
        context = ""
    headline = [
        f"FY{s['year']} quota plan for {label}: {_money(quota, cur)} over {len(reps)} reps"
        f"{context}; {s['method']} allocation with {weights} weights.",
        f"The company's capacity at today's productivity is {_money(cap['capacity'], cur)} "
        + (
            f"against the {_money(target, cur)} target: {int(cap['hires_needed'])} more hire(s) "
            f"or {cap['productivity_gain_needed']:.1%} more productivity would close the gap."
            if cap["gap"] > 0
            else f"against the {_money(target, cur)} target: no gap."
        ),
        f"{share:.0%} of the reps are expected at or above quota (80% range "
        f"{dist.attrs['share_at_quota_p10']:.0%}-{dist.attrs['share_at_quota_p90']:.0%}), "
        f"{_aim(share)}.",
    ]
    fair_lines, fair_table = _fairness_sentences(checks)
    headline += fair_lines + notes
    terr_section, terr_lines, territories, curve = _territory_section(ds, scope, params, names)
    headline += terr_lines

    rep_table = _rep_table(reps, checks["simulated"])
    quota_blocks: list[PlanTable | PlanFigure | str] = [
        PlanFigure(
            plotting.plot_quota_vs_potential,
            reps,
            {"currency": cur},
            "Each rep's quota against their territory's potential.",
        ),
    ]
    if scope.kind == "company":
        quota_blocks.append(PlanTable(_team_table(plan.reps), "Quotas per team"))
    quota_blocks += [
        PlanTable(rep_table, "Quotas per rep", "Probability and median attainment: simulated."),
        PlanTable(
            _period_table(plan, ids),
            f"Quota per {s['period']} (seasonality {s['seasonality_years']})",
        ),
    ]
    capacity = s["capacity"].rename(columns={"productivity_gain_needed": "productivity_gain_rate"})
    ramp = s["ramp"][["month_since_hire", "factor", "reps"]].rename(
        columns={"factor": "ramp_rate", "reps": "new_hires_measured"}
    )
    sections = [
        PlanSection(
            "Quotas",
            f"Fiscal year {s['start'].date()} to {s['end'].date()}; history "
            f"{s['history_start'].date()} to {s['history_end'].date()}. A rep's quota follows "
            "their share (history, potential or both) times their share of the year (ramp of new "
            "hires, months employed); periods follow the seasonality of past years; every level "
            "sums to the cent.",
            tuple(quota_blocks),
        ),
        PlanSection(
            "Capacity",
            "What the reps can deliver: each team's median monthly bookings of ramped reps x 12 x "
            "each rep's share of the year; the ramp of new hires is measured from the data's own "
            f"hires ({s['ramp_source']}).",
            (
                PlanTable(capacity, "Company capacity against the target"),
                PlanTable(s["productivity"].dropna(subset=["team"]), "Monthly productivity"),
                PlanTable(ramp, "Ramp: share of a ramped rep's bookings by month since hire"),
            ),
        ),
        PlanSection(
            "Will reps make it?",
            f"Each rep's plan year simulated {N_SIMS:,} times from their own deal rate and "
            "deal sizes (the team's for new reps), grown at the company's recent growth, against "
            "the proposed quota. Practitioners aim for 60-70% of reps at or above quota.",
            (
                PlanFigure(
                    plotting.plot_simulated_attainment,
                    dist,
                    {"target": TARGET_SHARE},
                    "Expected share of reps per attainment band.",
                ),
                PlanTable(dist.drop(columns="at_quota"), "Expected share of reps per band"),
            ),
        ),
        PlanSection(
            "Fairness",
            "Checks before publishing: quota per unit of potential (Gini), past attainment "
            "against territory potential (correlation with its 95% interval), and whether past "
            "quotas rose more after a beat than they fell after a miss (ratchet regression).",
            (PlanTable(fair_table),),
        ),
        terr_section,
    ]
    values = {
        "year": s["year"],
        "target": target,
        "scope_quota": quota,
        "company_quota": total,
        "reps": len(reps),
        "capacity": float(cap["capacity"]),
        "share_at_quota": share,
        "gini": float(checks["gini"].iloc[0]["gini_quota_per_potential"]),
        "territory_moves": {t: int(p.summary.iloc[0]["moves"]) for t, p in territories.items()},
    }
    title = f"Quota plan FY{s['year']}: {scope.label}"
    return QuotaPlanReport(
        title, scope, cur, headline, sections, values, plan, checks, territories, curve
    )


def to_report(report: QuotaPlanReport) -> Report:
    """The quota plan as a :class:`~spmlib.reports.report.Report` of the one report layer, so it
    is shown, formatted and mailed as every other report (tables through the one formatter,
    charts drawn for the browser and the phone)."""
    sections = []
    for section in report.sections:
        blocks: list = []
        for block in section.blocks:
            if isinstance(block, str):
                blocks.append(Text(block))
            elif isinstance(block, PlanFigure):
                blocks.append(Figure(block.plot, block.data, block.options, block.alt))
            elif len(block.frame):
                title = f"**{escape(block.title)}**" if block.title else ""
                note = f"*{escape(block.note)}*" if block.note else ""
                blocks.append(Table(block.frame, title=title, note=note))
            else:
                blocks.append(Text(f"**{escape(block.title)}**: none." if block.title else "None."))
        sections.append(Section(section.title, section.intro, tuple(blocks)))
    return Report(
        kind="quota_plan",
        title=report.title,
        scope=report.scope,
        headline=list(report.headline),
        sections=sections,
        values=dict(report.values),
        currency=report.currency,
    )


def show(report: QuotaPlanReport) -> None:
    """Display the report in a notebook (:func:`spmlib.reports.notebook.show` of
    :func:`to_report`): headline, contents, each section; records its title, headline and
    values."""
    from spmlib.reports.notebook import show as show_report

    show_report(to_report(report))
