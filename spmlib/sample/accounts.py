"""Sample data, part 4: the accounts (territories) and which account each deal belongs to.

Used by :mod:`spmlib.sample.generator`, after the deals, from its own random stream (so the
deals, activities, quotas and leads are the same as without accounts).

Model
-----
* **Rep potential.** A tenured rep's yearly territory potential is
  ``POTENTIAL_RATIO x B_r^s x B_team^(1-s) x exp(e_r)``, where ``B_r`` is the rep's bookings
  over the last four complete fiscal quarters of the data (:func:`bookings_window`: the
  history a quota plan measures, also when the data end inside a quarter), ``B_team`` the
  median of the team's tenured reps,
  ``s = BOOKINGS_ELASTICITY`` and ``e_r ~ Normal(0, POTENTIAL_NOISE)``. So a rep's potential
  explains part of the spread of bookings between reps (the rest is skill, activity and luck);
  ``ground_truth.yml`` records the realised correlation and R^2 of log potential and log
  bookings. A new hire inherits a territory of the team's median tenured potential x exp(e_r).
* **Accounts.** Each rep owns ``ACCOUNTS_PER_REP`` +- a few accounts whose potentials are
  lognormal shares (sigma ``ACCOUNT_SIGMA``: a few large accounts, many small ones) of the rep's
  potential, rounded to 100. About ``LOCKED_SHARE`` of accounts are locked (strategic: the owner
  must not change). Segment from potential (Enterprise: top 10%, Mid-Market: next 30%, SMB);
  workload (hours a year) grows with the square root of potential; latitude/longitude scatter
  around the rep's base in the team's region.
* **Deals.** Each of a rep's deals belongs to one of the rep's accounts, chosen with probability
  proportional to the account's potential (the uniform draw made for it by the deal generator).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spmlib.sample.deals import Deals, make_ids, quarter_position, str_series, take_labels

__all__ = [
    "POTENTIAL_RATIO",
    "BOOKINGS_ELASTICITY",
    "POTENTIAL_NOISE",
    "ACCOUNTS_PER_REP",
    "LOCKED_SHARE",
    "Accounts",
    "bookings_window",
    "generate_accounts",
]

#: Yearly potential of a typical territory over its yearly bookings (reps win about a third).
POTENTIAL_RATIO = 3.0
#: Elasticity s of rep potential on rep bookings (0: unrelated, 1: proportional).
BOOKINGS_ELASTICITY = 0.6
#: Standard deviation of the log-normal noise e_r on rep potential.
POTENTIAL_NOISE = 0.2
ACCOUNTS_PER_REP = 30
ACCOUNT_SIGMA = 1.0
LOCKED_SHARE = 0.05
#: (latitude, longitude) of each region's centre.
REGION_CENTRES = {
    "North America East": (40.7, -74.0),
    "North America West": (37.8, -122.4),
    "EMEA": (50.1, 8.7),
    "APAC": (1.35, 103.8),
    "LATAM": (-23.5, -46.6),
}


@dataclass
class Accounts:
    """The accounts table, each deal's account id, each rep's potential and the ground truth."""

    table: pd.DataFrame
    deal_account: pd.Series
    rep_potential: np.ndarray
    truth: dict


_COMPANY_A = (
    "Acme Aster Beacon Bluefin Brightway Cobalt Crescent Driftwood Elmstone Everline Foxglove "
    "Granite Harbor Ironleaf Juniper Keystone Lakeside Larkspur Meridian Northwind Oakridge "
    "Pinecrest Quarry Redwood Riverbend Sagebrush Silverline Summit Tidewater Trailhead Upland "
    "Vantage Westfield Willow Yellowstone Zephyr"
).split()
_COMPANY_B = (
    "Analytics Bank Biotech Capital Consulting Dynamics Energy Foods Health Industries "
    "Insurance Labs Logistics Manufacturing Media Partners Retail Robotics Software Systems"
).split()


def _names(rng, n: int) -> list[str]:
    """``n`` distinct company names (numbered once the word pairs run out)."""
    base = [f"{a} {b}" for a in _COMPANY_A for b in _COMPANY_B]
    base = [base[i] for i in rng.permutation(len(base))]
    return [base[i % len(base)] + (f" {i // len(base) + 1}" if i >= len(base) else "")
            for i in range(n)]  # fmt: skip


def bookings_window(end_day: int, fy_start: int) -> tuple[int, int]:
    """(first day, last day) of the last four complete fiscal quarters on ``end_day`` (day
    numbers since 1970-01-01): the quarter holding ``end_day`` counts only if it ends that day.

    With a February fiscal year, on Monday 2026-12-14 (six weeks into the Nov-Jan quarter) and on
    2026-10-31 (a quarter's last day) alike, the window is 2025-11-01 .. 2026-10-31:

    >>> def days(*d):
    ...     return np.array(d, dtype="datetime64[D]").astype(np.int64)
    >>> for end in days("2026-12-14", "2026-10-31"):
    ...     window = np.array(bookings_window(int(end), fy_start=2)).astype("datetime64[D]")
    ...     print(window.astype(str).tolist())
    ['2025-11-01', '2026-10-31']
    ['2025-11-01', '2026-10-31']
    """
    moq, qend = quarter_position(np.array([end_day]), fy_start)
    month = np.datetime64(int(end_day), "D").astype("datetime64[M]") - int(moq[0])
    q_first = int(month.astype("datetime64[D]").astype(np.int64))
    last = end_day if end_day == int(qend[0]) else q_first - 1
    first = np.datetime64(last + 1, "D").astype("datetime64[M]") - 12
    return int(first.astype("datetime64[D]").astype(np.int64)), int(last)


def generate_accounts(seed: int, reps: dict, deals: Deals, end_day: int, fy_start: int) -> Accounts:
    """Accounts of every rep and the account of every deal (see the module docstring)."""
    rng = np.random.default_rng([seed, 2])
    n_reps = len(reps["rep_id"])
    close = deals.entry[:, 5]
    first, last = bookings_window(end_day, fy_start)
    recent = deals.won & (close >= first) & (close <= last)
    bookings = np.bincount(deals.rep[recent], deals.amount[recent], minlength=n_reps)
    team, new_hire = reps["team"], reps["new_hire"]
    noise = rng.normal(0.0, POTENTIAL_NOISE, n_reps)
    log_pot = np.zeros(n_reps)
    for t in np.unique(team):  # a handful of teams
        members = team == t
        tenured = members & ~new_hire & (bookings > 0)
        ref = np.median(bookings[tenured]) if tenured.any() else max(bookings[members].max(), 1.0)
        b = np.where(tenured, bookings, ref)
        log_pot[members] = (
            np.log(POTENTIAL_RATIO)
            + BOOKINGS_ELASTICITY * np.log(b[members])
            + (1 - BOOKINGS_ELASTICITY) * np.log(ref)
        )
    potential = np.exp(log_pot + noise)

    count = np.maximum(ACCOUNTS_PER_REP + rng.integers(-8, 9, n_reps), 5)
    owner = np.repeat(np.arange(n_reps), count)
    n = owner.size
    raw = np.exp(rng.normal(0.0, ACCOUNT_SIGMA, n))
    share = raw / np.bincount(owner, raw, minlength=n_reps)[owner]
    acc_pot = np.maximum(np.round(share * potential[owner], -2), 0.0)
    # a deal's account: inverse CDF of its rep's account potentials at the deal's uniform draw
    weight = np.maximum(acc_pot, 1.0)
    cum = np.cumsum(weight)
    rep_total = np.bincount(owner, weight, minlength=n_reps)
    before = np.concatenate([[0.0], np.cumsum(rep_total)[:-1]])
    within = (cum - before[owner]) / rep_total[owner]  # in (0, 1], 1 at each rep's last account
    key = owner + within
    deal_key = deals.rep + np.clip(deals.account_u, 0.0, 1.0 - 1e-12)
    deal_account = np.searchsorted(key, deal_key, side="left")

    rank = pd.Series(acc_pot).rank(pct=True, method="first").to_numpy()
    segment = np.where(rank > 0.9, 0, np.where(rank > 0.6, 1, 2))
    workload = np.round(20.0 + 0.5 * np.sqrt(acc_pot) * np.exp(rng.normal(0, 0.2, n)), 1)
    locked = rng.random(n) < LOCKED_SHARE
    region = np.array(reps["regions"])[team]
    centre = np.array([REGION_CENTRES.get(r, (0.0, 0.0)) for r in region])
    base = centre + rng.normal(0.0, 2.0, (n_reps, 2))
    coords = base[owner] + rng.normal(0.0, 0.8, (n, 2))
    ids = make_ids("A", n, 5)
    table = pd.DataFrame(
        {
            "account_id": str_series(ids),
            "account_name": str_series(np.array(_names(rng, n), dtype=object)),
            "rep_id": take_labels(reps["rep_id"], owner),
            "potential": acc_pot.astype("float64"),
            "region": take_labels(reps["regions"], team[owner]),
            "segment": take_labels(("Enterprise", "Mid-Market", "SMB"), segment),
            "workload": workload.astype("float64"),
            "latitude": np.round(np.clip(coords[:, 0], -89.9, 89.9), 4),
            "longitude": np.round((coords[:, 1] + 180.0) % 360.0 - 180.0, 4),
            "locked": pd.array(locked, dtype="boolean"),
        }
    )
    rep_potential = np.bincount(owner, acc_pot, minlength=n_reps)
    fit = ~new_hire & (bookings > 0)
    lp, lb = np.log(rep_potential[fit]), np.log(bookings[fit])
    r = _corr(lp, lb)
    team_fit = team[fit]
    r_within = _corr(_demean(lp, team_fit), _demean(lb, team_fit))
    truth = {
        "potential_ratio": POTENTIAL_RATIO,
        "bookings_elasticity": BOOKINGS_ELASTICITY,
        "potential_noise": POTENTIAL_NOISE,
        "bookings_window": [_iso(first), _iso(last)],
        "log_potential_log_bookings_correlation": round(r, 4) if r == r else None,
        "r_squared": round(r * r, 4) if r == r else None,
        "within_team_correlation": round(r_within, 4) if r_within == r_within else None,
        "locked_share": LOCKED_SHARE,
    }
    deal_ids = str_series(pc.take(ids, pa.array(deal_account)))
    return Accounts(table, deal_ids, rep_potential, truth)


def _iso(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x, y)[0, 1]) if x.size > 2 else float("nan")


def _demean(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``x`` minus its group's mean."""
    sums = np.bincount(group, x)
    counts = np.maximum(np.bincount(group), 1)
    return x - (sums / counts)[group]
