"""Sample data, part 1: the sales organisation (teams, managers, reps and their true skills).

Used by :mod:`spmlib.sample.generator`. Each rep gets a win skill (multiplier on every stage's
advance
odds), a deal size, an activity level, a proposal acceptance rate and a cycle factor (multiplier
on time in stage), drawn around the base values with mild random variation. In each team about a
third of the tenured reps get a deliberate strength and about a third a weakness (one rep may
have both, never two that cancel out): the KPI's driver is then set to exactly ``STRENGTH[kpi]``
or ``WEAKNESS[kpi]``. With 3+ reps per team, the team's last rep is a new hire (6-9 months
before the end) who ramps up over 3-6 months.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from spmlib.sample import deals as sd

__all__ = ["KPI_NAMES", "STRENGTH", "WEAKNESS", "TEAM_NAMES", "make_reps", "reps_frame"]

log = logging.getLogger(__name__)

KPI_NAMES = ("win_rate", "avg_deal_size", "activity_volume", "proposal_acceptance", "cycle_days")
#: Effect of a deliberate strength / weakness on each KPI's driver.
STRENGTH = {"win_rate": 1.6, "avg_deal_size": 1.6, "activity_volume": 1.6,
            "proposal_acceptance": 0.25, "cycle_days": 0.6}  # fmt: skip
WEAKNESS = {"win_rate": 0.6, "avg_deal_size": 0.6, "activity_volume": 0.6,
            "proposal_acceptance": -0.25, "cycle_days": 1.6}  # fmt: skip
BASE_DEAL_SIZE = 20000.0
BASE_ACCEPTANCE = 0.55
TEAM_NAMES = ("Atlas", "Borealis", "Cascade", "Delta", "Equinox", "Fjord", "Glacier", "Horizon",
              "Ion", "Juniper", "Kestrel", "Lumen")  # fmt: skip
REGIONS = ("North America East", "North America West", "EMEA", "APAC", "LATAM")
FIRST_NAMES = (
    "Ava Ben Chloe Daniel Elena Felix Grace Hugo Isla Jonas Kara Liam Maya Noah Olivia Pablo "
    "Quinn Rosa Samir Tara Umar Vera Wes Xenia Yusuf Zoe Aiko Bruno Carmen Dev Emeka Fatima "
    "Gustav Hana Ivan Jada Kenji Lena Mateo Nadia Omar Priya Rafael Sofia Tomas Uma Victor Wanda"
).split()
LAST_NAMES = (
    "Adler Baptiste Chen Dubois Eriksen Fischer Garcia Haddad Ito Jensen Kowalski Larsen "
    "Moreau Nakamura Okafor Petrov Quintero Rossi Silva Tanaka Ueda Varga Weber Xu Yilmaz "
    "Zimmermann Abara Bianchi Costa Dahl Evans Ferreira Gallo Horvat Ibrahim Jovanovic Kim "
    "Lindqvist Mendes Novak Olsen Patel Reyes Schmidt Torres Usman Vos Wong"
).split()


def _names(rng, n: int) -> list[tuple[str, str]]:
    """``n`` distinct (first, last) name pairs, deterministic for the generator state."""
    pairs = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES))
    out = [(FIRST_NAMES[i // len(LAST_NAMES)], LAST_NAMES[i % len(LAST_NAMES)]) for i in pairs[:n]]
    for i in range(len(pairs), n):  # more people than name pairs: number the rest
        f, last = out[i % len(pairs)]
        out.append((f, f"{last}{i // len(pairs) + 1}"))
    return out


def _conflict(a: str, b: str) -> bool:
    """Same KPI, or win rate vs proposal acceptance (accepted proposals raise the win rate)."""
    return a == b or {a, b} == {"win_rate", "proposal_acceptance"}


def _email(first: str, last: str) -> str:
    return f"{first.lower()}.{last.lower()}@example.com"


def make_reps(rng, teams: int, reps_per_team: int, start_day: int, end_day: int) -> dict[str, Any]:
    """Rep and team attributes, including the deliberate strengths and weaknesses."""
    n = teams * reps_per_team
    team_names = [TEAM_NAMES[t] if t < len(TEAM_NAMES) else f"Team {t + 1}" for t in range(teams)]
    people = _names(rng, n + teams)
    team = np.repeat(np.arange(teams), reps_per_team)
    team_win = np.exp(rng.normal(0, 0.12, teams))
    team_size = np.exp(rng.normal(0, 0.15, teams))
    win_skill = np.exp(rng.normal(0, 0.15, n))
    deal_size = BASE_DEAL_SIZE * team_size[team] * np.exp(rng.normal(0, 0.12, n))
    activity = np.exp(rng.normal(0, 0.12, n))
    acceptance = BASE_ACCEPTANCE + rng.normal(0, 0.04, n)
    cycle = np.exp(rng.normal(0, 0.1, n))
    new_hire = np.zeros(n, dtype=bool)
    if reps_per_team >= 3:
        new_hire[team * reps_per_team + reps_per_team - 1 == np.arange(n)] = True
    hire_day = np.where(
        new_hire,
        end_day - rng.integers(180, 271, n),
        start_day - rng.integers(120, 2500, n),
    ).astype(np.int64)
    ramp_months = np.where(new_hire, rng.integers(3, 7, n), 0).astype(np.int64)
    strengths: list[list[str]] = [[] for _ in range(n)]
    weaknesses: list[list[str]] = [[] for _ in range(n)]
    kpi_order = [KPI_NAMES[i] for i in rng.permutation(len(KPI_NAMES))]
    s_turn, w_turn = 0, 2  # two rotations over the KPIs, so every KPI gets both kinds
    for t in range(teams):
        tenured = [i for i in range(t * reps_per_team, (t + 1) * reps_per_team) if not new_hire[i]]
        tenured = [tenured[i] for i in rng.permutation(len(tenured))]
        k = max(1, round(len(tenured) / 3))
        for i in tenured[:k]:
            strengths[i].append(kpi_order[s_turn % 5])
            s_turn += 1
        for i in tenured[k - 1 : 2 * k - 1]:
            for j in range(len(KPI_NAMES)):  # a weakness must not cancel the rep's strength
                kpi = kpi_order[(w_turn + j) % 5]
                if not any(_conflict(kpi, s) for s in strengths[i]):
                    break
            if j:  # swap so the skipped KPI comes next
                a, b = (w_turn) % 5, (w_turn + j) % 5
                kpi_order[a], kpi_order[b] = kpi_order[b], kpi_order[a]
            weaknesses[i].append(kpi)
            w_turn += 1
    t_of = team
    for i in range(n):
        for kpi, effect in [(k, STRENGTH[k]) for k in strengths[i]] + [
            (k, WEAKNESS[k]) for k in weaknesses[i]
        ]:
            # the KPI's driver is set to exactly the effect (no random part) so it stands out
            if kpi == "win_rate":
                win_skill[i] = effect
            elif kpi == "avg_deal_size":
                deal_size[i] = BASE_DEAL_SIZE * team_size[t_of[i]] * effect
            elif kpi == "activity_volume":
                activity[i] = effect
            elif kpi == "proposal_acceptance":
                acceptance[i] = BASE_ACCEPTANCE + effect
            else:
                cycle[i] = effect
    managers = people[n:]
    return {
        "rep_id": [f"R{i + 1:03d}" for i in range(n)],
        "first": [p[0] for p in people[:n]],
        "last": [p[1] for p in people[:n]],
        "team": team,
        "team_names": team_names,
        "managers": managers,
        "regions": [REGIONS[t % len(REGIONS)] for t in range(teams)],
        "team_win": team_win,
        "team_size": team_size,
        "win_skill": win_skill,
        "win_odds": win_skill * team_win[team],
        "deal_size": np.round(deal_size, -2),
        "activity_level": activity,
        "proposal_acceptance": np.clip(acceptance, 0.05, 0.95),
        "cycle_factor": cycle,
        "new_hire": new_hire,
        "hire_day": hire_day,
        "ramp_months": np.maximum(ramp_months, 1),
        "strengths": strengths,
        "weaknesses": weaknesses,
    }


def reps_frame(reps: dict) -> pd.DataFrame:
    team = reps["team"]
    mgr = [reps["managers"][t] for t in team]
    return pd.DataFrame(
        {
            "rep_id": sd.str_series(np.array(reps["rep_id"], dtype=object)),
            "rep_name": sd.str_series(
                np.array([f"{f} {la}" for f, la in zip(reps["first"], reps["last"], strict=True)])
            ),
            "team": sd.take_labels(reps["team_names"], team),
            "email": sd.str_series(
                np.array([_email(f, la) for f, la in zip(reps["first"], reps["last"], strict=True)])
            ),
            "manager": sd.str_series(np.array([f"{f} {la}" for f, la in mgr])),
            "manager_email": sd.str_series(np.array([_email(f, la) for f, la in mgr])),
            "region": sd.take_labels(reps["regions"], team),
            "hire_date": sd.days_to_datetime(reps["hire_day"]),
        }
    )
