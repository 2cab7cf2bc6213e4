"""The quota plan report of the company or one team: next year's quotas against potential, the
capacity gap, the simulated attainment against the 60-70% aim, the fairness checks, and the
territories before and after balancing (``notebooks/quota_plan.ipynb`` only shows it).

:func:`work_out_quota_plan` computes (the plan, its checks, the territory solves) and
:func:`quota_plan_report` lays the result out; :func:`build_quota_plan_report` does both.
The plan is always made for the whole company (the target is the company's, split per team and
rep); a team's report shows that team's reps only, with the company's totals for context.
Formulas: ``docs/planning.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
from spmlib.reports import quota_plan_tables as qt
from spmlib.reports.formatter import format_compact, format_percent
from spmlib.reports.params import QuotaPlanParams
from spmlib.reports.report import Figure, Report, Section, Table, Text, bullets, escape
from spmlib.reports.scope import Scope, scope_as_of

__all__ = [
    "N_SIMS",
    "QuotaPlanWork",
    "work_out_quota_plan",
    "quota_plan_report",
    "build_quota_plan_report",
]

#: Simulations of each rep's plan year.
N_SIMS = 2000
#: Limits on the share of a team's potential moved, of the trade-off curve.
TRADEOFF_LIMITS = (0.0, 0.02, 0.05, 0.10, 0.20)

_METHOD = [
    "**Quotas**: the company target is split company -> team -> rep in proportion to weights "
    "(history: last four quarters' bookings; potential: the accounts' potential; blend: beta x "
    "history + (1 - beta) x potential), times each rep's share of the year (ramp of new hires, "
    "months employed), with the over-assignment of each level; periods follow the seasonality "
    "of past years; every level sums to the cent (largest remainder).",
    "**Capacity** = each team's median monthly bookings of ramped reps x 12 x each rep's share "
    "of the year; **hires needed** = the gap / what one hire adds; **productivity gain "
    "needed** = target / capacity - 1.",
    "**Chance of making quota**: each rep's plan year simulated from their own monthly deal "
    "rate and deal sizes (the team's for new reps), grown at the company's recent growth.",
    "**Gini** of quota per unit of potential (0: every rep the same); **Pearson r** of past "
    "attainment against potential with its Fisher-z 95% interval; **ratchet**: regression of "
    "the yearly change of past quotas on beating or missing them (one-sided p-value).",
    "**Territories**: a mixed-integer program (HiGHS) moves the least potential so that every "
    "rep's potential lies within the band of the team mean; locked accounts never move; the "
    "optimality gap bounds how far the plan found can be from the best one within the time "
    "limit. The trade-off curve solves it again for each limit on the potential moved "
    "(epsilon-constraint). Every formula: `docs/planning.md`.",
]


@dataclass(frozen=True)
class QuotaPlanWork:
    """What the quota plan report shows, computed.

    Attributes
    ----------
    plan : the company's plan (:class:`spmlib.planning.allocation.QuotaPlan`).
    reps : the scope's rows of ``plan.reps``.
    checks : :func:`spmlib.planning.quota_plan.check_plan` on the scope's reps.
    territories : the territory plan of each team balanced (every team for the company).
    tradeoff : the trade-off curve of a team's territories (None for the company).
    target : the company target used.
    weights : the weighting used (``history`` when the data has no accounts).
    notes : sentences about choices made for the reader.
    """

    plan: QuotaPlan
    reps: pd.DataFrame
    checks: dict[str, pd.DataFrame]
    territories: dict[str, TerritoryPlan]
    tradeoff: pd.DataFrame | None
    target: float
    weights: str
    notes: tuple[str, ...] = ()


def _hires_path(hires: str | None) -> Path | None:
    """A hires file as given, or relative to the project when it is not found as given."""
    if hires is None:
        return None
    path = Path(hires)
    return path if path.is_absolute() or path.exists() else PROJ_ROOT / path


def _balance(ds: Dataset, team: str, params: QuotaPlanParams) -> TerritoryPlan:
    data = ds.scoped(team=team)
    return balance_territories(
        data.accounts, list(data.reps["rep_id"]), "potential", params.band,
        time_limit=params.time_limit,
    )  # fmt: skip


def work_out_quota_plan(ds: Dataset, scope: Scope, params: QuotaPlanParams) -> QuotaPlanWork:
    """The plan, its checks on the scope's reps and the territory solves.

    Raises
    ------
    ParameterError : a rep or manager scope, an ``end`` that is not the last day of the
        planned fiscal year, or no ``target`` when the data have no bookings to derive one.
    """
    ds, scope = scope_as_of(ds, scope, params.as_of)
    if scope.kind not in ("company", "team"):
        raise ParameterError(
            "the quota plan report covers the company or one team; leave rep_id and manager "
            "empty (a rep's quota is in the team's report)."
        )
    year = None
    if params.plan_day is not None:
        fy0 = ds.config.fiscal_year_start_month
        year = int(fiscal_year(pd.Series([params.plan_day]), fy0).iloc[0])
    target = float(params.target) if params.target is not None else default_target(ds, year)
    if params.target is None and target <= 0:
        raise ParameterError(
            "the data have no won deals in the year before the plan, so there is no default "
            "target (last year's bookings x their growth) to plan quotas from; give the "
            "company's target as the parameter target (e.g. target: 24000000)."
        )
    weights, notes = params.weights, []
    if ds.accounts.empty and weights != "history":
        weights = "history"
        notes.append("The data have no accounts table, so quotas follow history only.")
    plan = plan_quotas(
        ds, target, year, params.method, weights, params.over_assignment, params.period,
        _hires_path(params.hires), params.beta,
    )  # fmt: skip
    s = plan.settings
    if params.end is not None and pd.Timestamp(params.end) != s["end"]:
        raise ParameterError(
            f"end {params.end!r}: a quota plan covers the whole fiscal year FY{s['year']} "
            f"({s['start'].date()} .. {s['end'].date()}); leave end empty."
        )
    reps = plan.reps if scope.kind == "company" else plan.reps[plan.reps["team"] == scope.team]
    checks = check_plan(plan, ds, n_sims=N_SIMS, rep_ids=set(reps["rep_id"]))
    territories, curve = {}, None
    if not ds.accounts.empty:
        teams = sorted(ds.reps["team"].dropna().unique()) if scope.team is None else [scope.team]
        territories = {t: _balance(ds, t, params) for t in teams}
        if scope.team is not None:
            data = ds.scoped(team=scope.team)
            curve = tradeoff_curve(
                data.accounts, list(data.reps["rep_id"]), "potential", TRADEOFF_LIMITS,
                time_limit=params.time_limit,
            )  # fmt: skip
    return QuotaPlanWork(plan, reps, checks, territories, curve, target, weights, tuple(notes))


def _headline(work: QuotaPlanWork, scope: Scope, cur: str) -> list[str]:
    s, reps, target = work.plan.settings, work.reps, work.target
    cap = s["capacity"].iloc[0]
    dist = work.checks["distribution"]
    share = dist.attrs["share_at_quota"]
    quota = float(reps["quota"].sum())
    total = float(work.plan.quotas["quota"].sum())
    if scope.kind == "team":
        context = f", {format_percent(quota / total)} of the company's {format_compact(total, cur)}"
    elif total > target + 0.005:
        context = (
            f", {format_percent(total / target)} of the {format_compact(target, cur)} target "
            "(over-assignment)"
        )
    else:
        context = ""
    gap = (
        f"{int(cap['hires_needed'])} more hire(s) or "
        f"{format_percent(cap['productivity_gain_needed'], 1)} more productivity would close "
        "the gap."
        if cap["gap"] > 0
        else "no gap."
    )
    return [
        f"FY{s['year']} quota plan for {escape(scope.label)}: **{format_compact(quota, cur)}** "
        f"over {len(reps)} reps{context}; {s['method']} allocation with {work.weights} weights.",
        f"The company's capacity at today's productivity is {format_compact(cap['capacity'], cur)}"
        f" against the {format_compact(target, cur)} target: {gap}",
        f"{format_percent(share)} of the reps are expected at or above quota (80% range "
        f"{format_percent(dist.attrs['share_at_quota_p10'])}-"
        f"{format_percent(dist.attrs['share_at_quota_p90'])}), {qt.aim_sentence(share)}.",
    ]


def _territory_section(
    work: QuotaPlanWork, scope: Scope, params: QuotaPlanParams, names: pd.Series
) -> tuple[Section, list[str]]:
    """(section, headline sentences)."""
    title = "Territories"
    if not work.territories:
        intro = "No accounts table: add accounts.csv (account_id, account_name, rep_id, potential)."
        return Section(title, intro), []
    band = format_percent(params.band)
    intro = (
        f"Each team's accounts reassigned so that every rep's potential lies within +-{band} of "
        "the team mean, moving the least potential; locked accounts never move."
    )
    if scope.team is None:
        table = qt.territory_summary(work.territories)
        line = (
            f"Balancing every team's territories within +-{band} moves "
            f"{int(table['moves'].sum())} of {int(table['accounts'].sum())} accounts; each "
            "team's report lists the moves."
        )
        shown = table.drop(columns=["status", "solver_gap", "solve_seconds"])
        return Section(title, intro, (Table(shown, title="**Balance per team**"),)), [line]
    plan = work.territories[scope.team]
    bal = plan.balance.assign(rep_name=plan.balance["rep_id"].map(names))
    moves = qt.moves_table(plan, names)
    blocks = (
        Figure(
            plotting.plot_territory_balance, bal, {"band": params.band},
            "Each rep's potential against the team mean before and after.",
        ),
        Table(qt.balance_table(bal), title="**Balance per rep**"),
        Table(moves, title=f"**Accounts that change owner** ({len(moves)})")
        if len(moves)
        else Text("No account changes owner."),
        Figure(
            plotting.plot_tradeoff, work.tradeoff, {},
            "The smallest imbalance reachable for each limit on the potential moved.",
        ),
        Table(
            qt.tradeoff_table(work.tradeoff),
            title="**Trade-off between moves and balance**",
            note="Each row: at most this share of the potential moved, and the smallest "
            "largest deviation from the mean reachable with it.",
        ),
    )  # fmt: skip
    line = qt.territory_sentence(escape(scope.label), plan, params.band)
    return Section(title, intro, blocks), [line]


def _method(work: QuotaPlanWork, statistics: pd.DataFrame) -> Section:
    solves = qt.territory_summary(work.territories)
    blocks: list = [Table(statistics, title="**Fairness statistics**")]
    if len(solves):
        blocks.append(
            Table(
                solves[["team", "status", "solver_gap", "solve_seconds"]],
                title="**Territory solves**",
            )
        )
    if work.tradeoff is not None:
        solved = work.tradeoff.rename(columns={"gap": "solver_gap"})
        blocks.append(
            Table(
                solved[["max_share_moved", "status", "solver_gap"]],
                title="**Trade-off solves**",
            )
        )
    return Section("How this is worked out", bullets(_METHOD), tuple(blocks))


def quota_plan_report(
    work: QuotaPlanWork, ds: Dataset, scope: Scope, params: QuotaPlanParams
) -> Report:
    """The report of a worked-out quota plan (:func:`work_out_quota_plan`).

    Returns
    -------
    Report
        ``values``: ``year``, ``target``, ``scope_quota``, ``company_quota``, ``reps``,
        ``capacity``, ``share_at_quota``, ``gini``, ``territory_moves`` (per team).
    """
    cur, plan, reps, s = ds.config.currency, work.plan, work.reps, work.plan.settings
    names = plan.reps.set_index("rep_id")["rep_name"]
    dist = work.checks["distribution"]
    fair_lines, statistics = qt.fairness(work.checks)
    territory, territory_lines = _territory_section(work, scope, params, names)
    headline = _headline(work, scope, cur) + fair_lines + list(work.notes) + territory_lines
    quota_blocks: list = [
        Figure(
            plotting.plot_quota_vs_potential, reps, {"currency": cur},
            "Each rep's quota against their territory's potential.",
        ),
    ]  # fmt: skip
    if scope.kind == "company":
        quota_blocks.append(Table(qt.team_table(plan.reps), title="**Quotas per team**"))
    quota_blocks += [
        Table(
            qt.rep_table(reps, work.checks["simulated"]),
            title="**Quotas per rep**",
            note="Chance of making quota and median attainment: simulated.",
        ),
        Table(
            qt.period_table(plan, set(reps["rep_id"])),
            title=f"**Quota per {s['period']}** (seasonality of {s['seasonality_years']})",
        ),
    ]
    capacity = s["capacity"]
    productivity = s["productivity"].dropna(subset=["team"])
    productivity = productivity.rename(columns={"source": "measured_on"})
    ramp = s["ramp"][["month_since_hire", "factor", "reps"]].rename(
        columns={"factor": "ramp_share", "reps": "new_hires_measured"}
    )
    sections = [
        Section(
            "Quotas",
            f"Fiscal year {s['start'].date()} to {s['end'].date()}; history "
            f"{s['history_start'].date()} to {s['history_end'].date()}. A rep's quota follows "
            "their share (history, potential or both) times their share of the year; periods "
            "follow the seasonality of past years; every level sums to the cent.",
            tuple(quota_blocks),
        ),
        Section(
            "Capacity",
            "What the reps can deliver at today's productivity; the ramp of new hires is "
            f"measured from the data's own hires ({s['ramp_source']}).",
            (
                Table(capacity, title="**Company capacity against the target**"),
                Table(productivity, title="**Monthly productivity per team**"),
                Table(ramp, title="**Ramp**: share of a ramped rep's bookings by month since hire"),
            ),
        ),
        Section(
            "Will reps make it?",
            f"Each rep's plan year simulated {N_SIMS:,} times against the proposed quota. "
            "Practitioners aim for 60-70% of reps at or above quota.",
            (
                Figure(
                    plotting.plot_simulated_attainment,
                    dist,
                    {"target": TARGET_SHARE},
                    "Expected share of reps per attainment band.",
                ),
                Table(
                    dist[["band", "expected_share"]].rename(columns={"band": "attainment_band"}),
                    title="**Share of reps per band**",
                ),
            ),  # fmt: skip
        ),
        Section(
            "Fairness",
            "Checks before publishing: quota per unit of potential, past attainment against "
            "territory potential, and whether past quotas rose more after a beat than they fell "
            "after a miss (the statistics are at the end).",
            (Text(bullets(fair_lines) or "Not enough history to check."),),
        ),
        territory,
    ]
    values = {
        "year": s["year"],
        "target": work.target,
        "scope_quota": float(reps["quota"].sum()),
        "company_quota": float(plan.quotas["quota"].sum()),
        "reps": len(reps),
        "capacity": float(s["capacity"].iloc[0]["capacity"]),
        "share_at_quota": float(dist.attrs["share_at_quota"]),
        "gini": float(work.checks["gini"].iloc[0]["gini_quota_per_potential"]),
        "territory_moves": {
            t: int(p.summary.iloc[0]["moves"]) for t, p in work.territories.items()
        },
    }
    return Report(
        kind="quota_plan",
        title=f"Quota plan FY{s['year']}: {scope.name}",
        scope=scope,
        headline=headline,
        sections=sections,
        method=_method(work, statistics),
        values=values,
        currency=cur,
        as_of=ds.as_of,
    )


def build_quota_plan_report(ds: Dataset, scope: Scope, params: QuotaPlanParams) -> Report:
    """The quota plan report of the company or one team (module docstring).

    Parameters
    ----------
    ds : the whole dataset (the company target is split over every team).
    scope : a company or team scope (:func:`spmlib.reports.scope.resolve_scope`).
    params : :class:`spmlib.reports.params.QuotaPlanParams`.

    Raises
    ------
    ParameterError : a rep or manager scope, an ``end`` that is not the last day of the
        planned fiscal year, or no ``target`` when the data have no bookings to derive one.
    """
    return quota_plan_report(work_out_quota_plan(ds, scope, params), ds, scope, params)
