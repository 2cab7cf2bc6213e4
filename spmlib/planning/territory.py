"""Territory balancing: reassign accounts between a team's reps so that territories are even.

Each rep's *load* is the sum over the accounts they own of a metric: ``potential`` (yearly
revenue potential) and/or ``workload`` (hours a year). A plan is **balanced within a band b**
when every rep's load lies in ``[(1 - b) x mean, (1 + b) x mean]``, the mean being the team's
total load over its number of reps.

Exact method (:func:`balance_territories`), a mixed-integer program solved by HiGHS through
``scipy.optimize.milp``. With ``x[a, r] = 1`` when account a goes to rep r and ``o(a)`` its
current owner::

    minimise    sum_a (p_a + delta) (1 - x[a, o(a)])  +  tw x P / D0 x sum_{a,r} d[a, r] x[a, r]
    subject to  sum_r x[a, r] = 1                                      every account a
                (1 - b) mean_m <= sum_a m_a x[a, r] <= (1 + b) mean_m   every rep r, metric m
                sum_a (1 - x[a, o(a)]) <= N                             (with --max-moves N)
                x[a, o(a)] = 1                                          every locked account a

The first term is the **potential moved** (``delta``, one millionth of the mean account
potential, only breaks ties so that no account moves for nothing). The second, used when the
accounts have latitude and longitude and ``travel_weight`` tw > 0, is the travel distance
``d[a, r]`` (great-circle km from the account to rep r's base, the potential-weighted centre
of the accounts r owns now) relative to the current total ``D0``, priced so that cutting the
total distance by 1% is worth moving 1% of the team's potential ``P`` when tw = 1.

When no plan meets the band, :func:`tightest_band` finds the smallest feasible band by the
same program with b as a variable to minimise. :func:`tradeoff_curve` traces the frontier
between moves and imbalance by the epsilon-constraint method: for each limit on the share of
potential moved, the smallest band reachable. :func:`greedy_balance` is the baseline heuristic.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from spmlib.exceptions import DataValidationError, ParameterError, Problem, UnknownNameError

__all__ = [
    "BALANCE",
    "TerritoryPlan",
    "balance_territories",
    "greedy_balance",
    "tightest_band",
    "tradeoff_curve",
    "rep_balance",
    "haversine_km",
]

log = logging.getLogger(__name__)

#: What to balance.
BALANCE = ("potential", "workload", "both")
_STATUS = {0: "optimal", 1: "time limit", 2: "infeasible", 3: "unbounded", 4: "other"}
_ASSIGN_COLUMNS = ["account_id", "account_name", "potential", "rep_id_before", "rep_id_after"]


@dataclass(frozen=True)
class TerritoryPlan:
    """A territory plan and how it was found.

    Attributes
    ----------
    assignments : one row per account: ``account_id``, ``account_name``, ``potential``,
        ``rep_id_before``, ``rep_id_after``, ``moved`` (bool), ``locked`` (bool).
    balance : one row per rep (:func:`rep_balance`).
    summary : one row: ``method`` (milp | greedy), ``status`` (optimal, time limit,
        infeasible, not reached), ``balance``, ``band``, ``feasible``, ``tightest_band``
        (smallest feasible band when ``band`` is not, else NaN), ``accounts``, ``reps``,
        ``moves``, ``potential_moved``, ``share_moved`` (of the team's potential),
        ``max_deviation`` (largest |load / mean - 1| over reps and balanced metrics, after),
        ``max_deviation_before``, ``travel_km_before``, ``travel_km_after`` (NaN without
        coordinates), ``gap`` (relative MIP gap reported by HiGHS; 0 when proven optimal),
        ``solve_seconds``.
    """

    assignments: pd.DataFrame
    balance: pd.DataFrame
    summary: pd.DataFrame


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points given in decimal degrees (broadcasts).

    Examples
    --------
    >>> round(float(haversine_km(48.8566, 2.3522, 51.5074, -0.1278)), 0)  # Paris - London
    344.0
    """
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2)
    )
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _metrics(balance: str) -> tuple[str, ...]:
    if balance not in BALANCE:
        raise UnknownNameError("balance", balance, BALANCE)
    return ("potential", "workload") if balance == "both" else (balance,)


@dataclass
class _Problem:
    """Accounts and reps in arrays: the shared input of the exact and greedy methods."""

    accounts: pd.DataFrame
    reps: list[str]
    owner: np.ndarray  # index of the current owner in reps, -1 when not among them
    locked: np.ndarray
    metrics: dict[str, np.ndarray]
    dist: np.ndarray | None  # (accounts, reps) km, or None

    @property
    def n(self) -> int:
        return len(self.accounts)

    @property
    def k(self) -> int:
        return len(self.reps)


def _bad(column: str, rule: str, ids, hint: str):
    """Raise a :class:`DataValidationError` about the accounts table (first 5 ids shown)."""
    rows = tuple(str(v) for v in list(ids)[:5])
    raise DataValidationError([Problem("accounts", column, rule, rows, hint)], source="accounts")


def _prepare(accounts: pd.DataFrame, reps, balance: str, need_distance: bool) -> _Problem:
    metrics = _metrics(balance)
    acc = accounts.reset_index(drop=True).copy()
    missing = {"account_id", "rep_id", "potential"} - set(acc.columns)
    if missing:
        _bad(sorted(missing)[0], "required for territory balancing", (), "add the column")
    if "workload" in metrics and ("workload" not in acc or acc["workload"].isna().any()):
        rows = acc.loc[acc["workload"].isna(), "account_id"] if "workload" in acc else acc.iloc[:0]
        _bad(
            "workload",
            "balancing workload needs a workload (hours a year) for every account",
            rows,
            "fill the workload column or balance potential only",
        )
    rep_list = list(dict.fromkeys(reps if reps is not None else acc["rep_id"].dropna()))
    if len(rep_list) < 2:
        raise ParameterError(f"territory balancing needs at least 2 reps, got {len(rep_list)}")
    pos = {r: i for i, r in enumerate(rep_list)}
    owner = acc["rep_id"].map(pos).fillna(-1).to_numpy(int)
    locked = (
        acc["locked"].fillna(False).to_numpy(bool) if "locked" in acc else np.zeros(len(acc), bool)
    )
    orphan = locked & (owner < 0)
    if orphan.any():
        _bad(
            "locked",
            "locked accounts belong to a rep outside the team being balanced",
            acc.loc[orphan, "account_id"],
            "unlock them or include their owner",
        )
    values = {m: acc[m].fillna(0.0).to_numpy(float) for m in metrics}
    values.setdefault("potential", acc["potential"].fillna(0.0).to_numpy(float))
    dist = None
    if need_distance:
        coords = [c for c in ("latitude", "longitude") if c in acc.columns]
        if len(coords) < 2:
            _bad("latitude", "travel distance needs latitude and longitude", (), "add both")
        blank = acc[coords].isna().any(axis=1)
        if blank.any():
            _bad(
                "latitude",
                "travel distance needs latitude and longitude for every account of the team",
                acc.loc[blank, "account_id"],
                "fill them or drop --travel-weight",
            )
        dist = _distances(acc, owner, len(rep_list), values["potential"])
    return _Problem(acc, rep_list, owner, locked, values, dist)


def _distances(acc: pd.DataFrame, owner: np.ndarray, k: int, potential: np.ndarray) -> np.ndarray:
    """km from each account to each rep's base (potential-weighted centre of the rep's accounts;
    the team's centre for a rep without accounts)."""
    lat, lon = acc["latitude"].to_numpy(float), acc["longitude"].to_numpy(float)
    w = np.maximum(potential, 1e-9)
    base = np.tile([np.average(lat, weights=w), np.average(lon, weights=w)], (k, 1))
    for r in range(k):
        own = owner == r
        if own.any():
            base[r] = np.average(lat[own], weights=w[own]), np.average(lon[own], weights=w[own])
    return haversine_km(lat[:, None], lon[:, None], base[None, :, 0], base[None, :, 1])


def _loads(p: _Problem, assign: np.ndarray) -> dict[str, np.ndarray]:
    return {m: np.bincount(assign, v, minlength=p.k) for m, v in p.metrics.items()}


def _deviation(p: _Problem, assign: np.ndarray, metrics) -> float:
    worst = 0.0
    for m in metrics:
        load = np.bincount(assign, p.metrics[m], minlength=p.k)
        mean = load.sum() / p.k
        if mean > 0:
            worst = max(worst, float(np.abs(load / mean - 1).max()))
    return worst


def _build(p: _Problem, metrics, band, max_moves, travel_weight, free_band=False, max_moved=None):
    """The MILP over the unlocked accounts (locked ones are constant loads). Variables:
    x[a, r] for a in free accounts (row-major), then b when ``free_band``."""
    free = np.flatnonzero(~p.locked)
    nf, k = free.size, p.k
    nv = nf * k + (1 if free_band else 0)
    pot = p.metrics["potential"]
    delta = 1e-6 * max(float(pot.mean()), 1.0)
    own = p.owner[free]
    c = np.zeros(nv)
    cost = np.repeat((pot[free] + delta)[:, None], k, axis=1)
    cost[np.arange(nf)[own >= 0], own[own >= 0]] = 0.0
    if travel_weight and p.dist is not None:
        d0 = _travel(p, np.where(p.owner >= 0, p.owner, 0))
        if d0 > 0:
            cost = cost + travel_weight * pot.sum() / d0 * p.dist[free]
    if free_band:
        c[-1] = 1.0
        cost = cost * 1e-9 / max(pot.sum(), 1.0)  # lexicographic: the band first
    c[: nf * k] = cost.ravel()
    rows, cols, vals, lo, hi = [], [], [], [], []
    # each free account to exactly one rep
    idx = np.arange(nf * k)
    rows.append(idx // k)
    cols.append(idx)
    vals.append(np.ones(nf * k))
    lo.append(np.ones(nf))
    hi.append(np.ones(nf))
    r0 = nf
    locked_idx = np.flatnonzero(p.locked)
    for m in metrics:
        v = p.metrics[m]
        const = np.bincount(p.owner[locked_idx], v[locked_idx], minlength=k)
        mean = v.sum() / k
        rows.append(r0 + np.tile(np.arange(k), nf))
        cols.append(idx)
        vals.append(np.repeat(v[free], k))
        if free_band:  # load - b mean <= mean (upper) and load + b mean >= mean (lower)
            rows += [np.arange(r0, r0 + k), np.arange(r0 + k, r0 + 2 * k)]
            cols += [np.full(k, nv - 1), np.full(k, nv - 1)]
            vals += [np.full(k, -mean), np.full(k, mean)]
            rows.append(r0 + k + np.tile(np.arange(k), nf))
            cols.append(idx)
            vals.append(np.repeat(v[free], k))
            lo += [np.full(k, -np.inf), mean - const]
            hi += [mean - const, np.full(k, np.inf)]
            r0 += 2 * k
        else:
            lo.append((1 - band) * mean - const)
            hi.append((1 + band) * mean - const)
            r0 += k
    owned = np.flatnonzero(own >= 0)
    stay_cols = owned * k + own[owned]
    forced = int((own < 0).sum())
    if max_moves is not None:  # sum of stays >= owned - (N - forced)
        rows.append(np.full(owned.size, r0))
        cols.append(stay_cols)
        vals.append(np.ones(owned.size))
        lo.append(np.array([owned.size - (max_moves - forced)], float))
        hi.append(np.array([np.inf]))
        r0 += 1
    if max_moved is not None:  # potential moved <= limit
        total_free = float(pot[free].sum())
        rows.append(np.full(owned.size, r0))
        cols.append(stay_cols)
        vals.append(pot[free][owned])
        lo.append(np.array([total_free - max_moved]))
        hi.append(np.array([np.inf]))
        r0 += 1
    a = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r0, nv)
    )
    integrality = np.ones(nv)
    upper = np.ones(nv)
    if free_band:
        integrality[-1] = 0
        upper[-1] = np.inf
    constraint = LinearConstraint(a, np.concatenate(lo), np.concatenate(hi))
    return c, constraint, integrality, Bounds(np.zeros(nv), upper), free


def _solve(
    p,
    metrics,
    band,
    max_moves,
    travel_weight,
    time_limit,
    free_band=False,
    max_moved=None,
    incumbent=None,
):
    """Solve; return (assignment or None, status, gap, seconds, band value when free_band).

    Fixed-band problems go through :func:`_core_milp` (exact, with a proof); problems with the
    band as a variable (tightest band, trade-off curve) go to HiGHS whole.
    """
    c, cons, integ, bounds, free = _build(
        p, metrics, band, max_moves, travel_weight, free_band, max_moved
    )
    t0 = time.perf_counter()
    if free_band:
        res = milp(
            c,
            constraints=cons,
            integrality=integ,
            bounds=bounds,
            options={"time_limit": float(time_limit), "disp": False},
        )
        x, status, gap = res.x, _STATUS.get(res.status, "other"), getattr(res, "mip_gap", np.nan)
    else:
        xi = None
        if incumbent is not None:
            xi = np.zeros(c.size)
            xi[np.arange(free.size) * p.k + incumbent[free]] = 1.0
        x, status, gap = _core_milp(
            c, cons, bounds, xi, time_limit, rounding=_rounder(p, free, band, metrics)
        )
    seconds = time.perf_counter() - t0
    if x is None:
        return None, status, np.nan, seconds, np.nan
    k = p.k
    assign = np.where(p.owner >= 0, p.owner, 0).copy()
    assign[free] = x[: free.size * k].reshape(free.size, k).argmax(axis=1)
    b = float(x[-1]) if free_band else np.nan
    return assign, status, float(gap), seconds, b


def _shed_and_place(p: _Problem, band: float) -> np.ndarray | None:
    """A near-optimal plan for potential balance (the incumbent of the exact method), or None.

    1. Each rep above the band's ceiling sheds unlocked accounts whose potential just covers
       its excess: largest first while they fit in what is left to shed, then the smallest
       account that covers the rest (accounts of owners outside the team are shed too).
    2. Shed accounts, largest first, go to the least loaded rep that can take them.
    3. A rep still below the floor takes, from the rep with the most potential above the floor,
       the smallest account that covers its deficit (else the largest that fits), until none is.
    Its cost is close to the lower bound sum_r max(0, load_r - ceiling), the LP's value.
    """
    pot = p.metrics["potential"]
    assign = np.where(p.owner >= 0, p.owner, -1).copy()
    load = np.bincount(assign[assign >= 0], pot[assign >= 0], minlength=p.k)
    mean = pot.sum() / p.k
    lo, hi = (1 - band) * mean, (1 + band) * mean
    pool = list(np.flatnonzero(assign < 0))
    for r in np.flatnonzero(load > hi + 1e-9):
        cand = np.flatnonzero((assign == r) & ~p.locked)
        cand = cand[np.argsort(-pot[cand], kind="stable")]
        rest, chosen = load[r] - hi, []
        for a in cand:
            if pot[a] <= rest + 1e-9:
                chosen.append(a)
                rest -= pot[a]
                if rest <= 1e-9:
                    break
        if rest > 1e-9:
            left = np.setdiff1d(cand, chosen)
            cover = left[pot[left] >= rest - 1e-9]
            if not cover.size:
                return None
            chosen.append(cover[np.argmin(pot[cover])])
        chosen = np.asarray(chosen, dtype=int)
        load[r] -= pot[chosen].sum()
        assign[chosen] = -1
        pool += list(chosen)
    for a in sorted(pool, key=lambda i: -pot[i]):
        room = load + pot[a] <= hi + 1e-9
        if not room.any():
            return None
        r = int(np.flatnonzero(room)[np.argmin(load[room])])
        assign[a] = r
        load[r] += pot[a]
    for _ in range(p.n):
        r = int(load.argmin())
        if load[r] >= lo - 1e-9:
            return assign
        g = int((load - lo).argmax())
        cand = np.flatnonzero((assign == g) & ~p.locked)
        ok = cand[(load[g] - pot[cand] >= lo - 1e-9) & (load[r] + pot[cand] <= hi + 1e-9)]
        if not ok.size:
            return None
        cover = ok[pot[ok] >= lo - load[r] - 1e-9]
        a = cover[np.argmin(pot[cover])] if cover.size else ok[np.argmax(pot[ok])]
        assign[a] = r
        load[g] -= pot[a]
        load[r] += pot[a]
    return None


def _rounder(p: _Problem, free: np.ndarray, band: float, metrics):
    """The incumbent as a 0-1 vector over the free accounts (potential balance only)."""
    if tuple(metrics) != ("potential",):
        return None

    def plan(_x: np.ndarray):
        assign = _shed_and_place(p, band)
        if assign is None:
            return None
        out = np.zeros(_x.size)
        out[np.arange(free.size) * p.k + assign[free]] = 1.0
        return out

    return plan


def _core_milp(c, cons, bounds, incumbent, time_limit, core_size=20_000, rounding=None):
    """Exact solution of a 0-1 program by a core problem and reduced-cost fixing.

    1. Solve the LP relaxation: its value is a lower bound L, and each variable's reduced cost
       d_j says how much any solution that moves x_j away from its LP value costs above L.
    2. Solve the MILP over a *core*, the variables with the smallest reduced costs, the others
       fixed at their LP values: its solution is an incumbent of value U.
    3. No solution better than U can move a variable with d_j > U - L. If every fixed variable
       has d_j > U - L, the core optimum is the optimum; otherwise the core is widened to every
       variable with d_j <= U - L and solved again, which then is exact.

    Returns (x or None, status, gap); gap = (U - best lower bound) / U as HiGHS reports it for
    the core when the proof holds, else measured against L.
    """
    from scipy.optimize import linprog

    t0 = time.perf_counter()
    a, lo, hi = cons.A.tocsr(), cons.lb, cons.ub
    eq = lo == hi
    up, down = ~eq & np.isfinite(hi), ~eq & np.isfinite(lo)
    lp = linprog(
        c,
        A_ub=sparse.vstack([a[up], -a[down]]).tocsr(),
        b_ub=np.concatenate([hi[up], -lo[down]]),
        A_eq=a[eq],
        b_eq=lo[eq],
        bounds=np.column_stack([bounds.lb, bounds.ub]),
        method="highs",
    )
    if lp.status == 2:
        return None, "infeasible", np.nan
    if lp.status != 0:  # no usable relaxation: hand the whole problem to HiGHS
        res = milp(
            c,
            constraints=cons,
            integrality=np.ones(c.size),
            bounds=bounds,
            options={"time_limit": float(time_limit), "disp": False},
        )
        return res.x, _STATUS.get(res.status, "other"), getattr(res, "mip_gap", np.nan)
    lower = float(lp.fun)
    d = np.maximum(lp.lower.marginals, -lp.upper.marginals)
    at = np.round(lp.x)
    best, best_x, best_gap, proven = np.inf, None, np.nan, False
    candidates = [incumbent] + ([rounding(lp.x)] if rounding is not None else [])
    for xi in candidates:
        if xi is None:
            continue
        ax = a @ xi
        if (ax >= lo - 1e-6).all() and (ax <= hi + 1e-6).all() and c @ xi < best:
            best, best_x = float(c @ xi), xi
    size = min(c.size, core_size)
    tau = np.partition(d, size - 1)[size - 1]
    if np.isfinite(best):
        tau = min(tau, best - lower)
    for _ in range(4):
        fixed = d > tau
        lb, ub = bounds.lb.copy(), bounds.ub.copy()
        lb[fixed], ub[fixed] = at[fixed], at[fixed]
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0:
            break
        res = milp(
            c,
            constraints=cons,
            integrality=np.ones(c.size),
            bounds=Bounds(lb, ub),
            options={"time_limit": float(left), "disp": False},
        )
        if res.status == 2 and not fixed.any():
            return None, "infeasible", np.nan
        core_optimal = res.status == 0
        if res.x is not None and res.fun < best - 1e-9:
            best, best_x = float(res.fun), res.x
        if core_optimal:  # the incumbent is within the core's gap of the core's optimum
            best_gap = float(getattr(res, "mip_gap", 0.0))
        slack = best - lower + 1e-9 * max(abs(best), 1.0)
        if np.isfinite(best) and core_optimal and not (d[fixed] <= slack).any():
            proven = True
            break
        tau = slack if np.isfinite(best) else (np.inf if res.status == 2 else max(4 * tau, 1.0))
        log.debug("core widened to %d variables", int((d <= tau).sum()))
    if best_x is None:
        return None, "time limit", np.nan
    if proven:
        return best_x, "optimal" if best_gap <= 1e-4 else "time limit", best_gap
    return best_x, "time limit", (best - lower) / best if best else 0.0


def _repair(p: _Problem, assign: np.ndarray, band: float, max_steps=None) -> bool:
    """Move accounts (in place) from the most to the least loaded rep until every potential
    load is within the band; True when reached.

    The largest of the giver's unlocked accounts that fits moves (the greedy baseline).
    """
    pot = p.metrics["potential"]
    load = np.bincount(assign, pot, minlength=p.k)
    mean = pot.sum() / p.k
    lo, hi = (1 - band) * mean, (1 + band) * mean
    for _ in range(max_steps if max_steps is not None else 4 * p.n):
        if load.max() <= hi + 1e-9 and load.min() >= lo - 1e-9:
            return True
        giver, taker = int(load.argmax()), int(load.argmin())
        cand = np.flatnonzero((assign == giver) & ~p.locked)
        cand = cand[np.argsort(-pot[cand], kind="stable")]
        ok = (load[giver] - pot[cand] >= lo - 1e-9) & (load[taker] + pot[cand] <= hi + 1e-9)
        fits = cand[ok]
        pick = None
        if fits.size:
            pick = fits[0]
        else:
            smaller = cand[pot[cand] < load[giver] - load[taker]]
            pick = smaller[0] if smaller.size else None
        if pick is None:
            return False
        assign[pick] = taker
        load[giver] -= pot[pick]
        load[taker] += pot[pick]
    return bool(load.max() <= hi + 1e-9 and load.min() >= lo - 1e-9)


def _travel(p: _Problem, assign: np.ndarray) -> float:
    if p.dist is None:
        return float("nan")
    return float(p.dist[np.arange(p.n), assign].sum())


def _plan(p, assign, metrics, method, status, band, gap, seconds, tightest) -> TerritoryPlan:
    acc = p.accounts
    before = np.where(p.owner >= 0, p.owner, -1)
    reps = np.array(p.reps, dtype=object)
    after_ids = reps[assign] if assign is not None else acc["rep_id"].to_numpy(object)
    moved = acc["rep_id"].to_numpy(object) != after_ids
    assignments = pd.DataFrame(
        {
            "account_id": acc["account_id"].astype("string"),
            "account_name": (
                acc["account_name"] if "account_name" in acc else acc["account_id"]
            ).astype("string"),
            "potential": p.metrics["potential"],
            "rep_id_before": acc["rep_id"].astype("string"),
            "rep_id_after": pd.Series(after_ids, dtype="string"),
            "moved": moved,
            "locked": p.locked,
        }
    )
    feasible = assign is not None and _deviation(p, assign, metrics) <= band + 1e-9
    pot = p.metrics["potential"]
    summary = pd.DataFrame(
        [
            {
                "method": method,
                "status": status,
                "balance": "both" if len(metrics) == 2 else metrics[0],
                "band": float(band),
                "feasible": bool(feasible),
                "tightest_band": float(tightest),
                "accounts": p.n,
                "reps": p.k,
                "moves": int(moved.sum()),
                "potential_moved": float(pot[moved].sum()),
                "share_moved": float(pot[moved].sum() / pot.sum()) if pot.sum() else np.nan,
                "max_deviation": _deviation(p, assign, metrics) if assign is not None else np.nan,
                "max_deviation_before": _deviation(p, np.maximum(before, 0), metrics)
                if (before >= 0).all()
                else np.nan,
                "travel_km_before": _travel(p, np.maximum(before, 0)),
                "travel_km_after": _travel(p, assign) if assign is not None else np.nan,
                "gap": float(gap),
                "solve_seconds": float(seconds),
            }
        ]
    )
    return TerritoryPlan(assignments, rep_balance(assignments, p.reps, p.accounts), summary)


def rep_balance(
    assignments: pd.DataFrame, reps: list[str] | None = None, accounts: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Load per rep before and after a plan.

    Returns
    -------
    DataFrame, one row per rep: ``rep_id``, ``accounts_before``, ``accounts_after``,
    ``potential_before``, ``potential_after``, ``index_before`` and ``index_after``
    (potential / team mean: 1.0 is the mean), ``moved_in``, ``moved_out`` (accounts), and
    ``workload_before`` / ``workload_after`` when ``accounts`` carries workload.

    Examples
    --------
    >>> a = pd.DataFrame({"potential": [6.0, 2.0, 4.0], "rep_id_before": ["x", "x", "y"],
    ...                   "rep_id_after": ["x", "y", "y"], "account_id": ["1", "2", "3"]})
    >>> rep_balance(a)[["rep_id", "potential_before", "potential_after", "index_after"]]
      rep_id  potential_before  potential_after  index_after
    0      x               8.0              6.0          1.0
    1      y               4.0              6.0          1.0
    """
    reps = (
        list(reps)
        if reps is not None
        else sorted(
            set(assignments["rep_id_before"].dropna()) | set(assignments["rep_id_after"].dropna())
        )
    )
    out = pd.DataFrame({"rep_id": pd.Series(reps, dtype="string")})
    cols = {"potential": assignments["potential"]}
    if accounts is not None and "workload" in accounts and accounts["workload"].notna().any():
        cols["workload"] = accounts["workload"].fillna(0.0).to_numpy(float)
    for when in ("before", "after"):
        who = assignments[f"rep_id_{when}"]
        out[f"accounts_{when}"] = out["rep_id"].map(who.value_counts()).fillna(0).astype(int)
    for name, values in cols.items():
        v = pd.Series(np.asarray(values, float), index=assignments.index)
        for when in ("before", "after"):
            sums = v.groupby(assignments[f"rep_id_{when}"]).sum()
            out[f"{name}_{when}"] = out["rep_id"].map(sums).fillna(0.0).astype(float)
    mean = out["potential_after"].sum() / max(len(out), 1)
    for when in ("before", "after"):
        out[f"index_{when}"] = out[f"potential_{when}"] / mean if mean else np.nan
    moved = assignments["rep_id_before"] != assignments["rep_id_after"]
    out["moved_in"] = (
        out["rep_id"]
        .map(assignments.loc[moved, "rep_id_after"].value_counts())
        .fillna(0)
        .astype(int)
    )
    out["moved_out"] = (
        out["rep_id"]
        .map(assignments.loc[moved, "rep_id_before"].value_counts())
        .fillna(0)
        .astype(int)
    )
    order = [
        "rep_id",
        "accounts_before",
        "accounts_after",
        "potential_before",
        "potential_after",
        "index_before",
        "index_after",
        "moved_in",
        "moved_out",
    ]
    if "workload" in cols:
        order += ["workload_before", "workload_after"]
    return out[order]


def balance_territories(
    accounts: pd.DataFrame,
    reps: list[str] | None = None,
    balance: str = "potential",
    band: float = 0.10,
    max_moves: int | None = None,
    travel_weight: float = 0.0,
    time_limit: float = 60.0,
) -> TerritoryPlan:
    """The plan that balances the reps' territories within ``band`` with the least potential
    moved, exactly (mixed-integer program; see the module docstring for the formulation).

    Parameters
    ----------
    accounts : the accounts of one team: ``account_id``, ``rep_id`` (current owner),
        ``potential``; optional ``account_name``, ``workload``, ``locked``, ``latitude``,
        ``longitude``.
    reps : the reps to balance over (default: the current owners). A rep without accounts
        (a new hire) gets some; accounts of owners not listed must move.
    balance : ``potential``, ``workload`` or ``both`` (each within the band).
    band : the allowed relative deviation from the team mean (0.10 = +-10%).
    max_moves : at most this many accounts change owner (None: no limit).
    travel_weight : > 0 also minimises travel distance (needs latitude and longitude);
        1 prices a 1% cut of the total distance like 1% of the potential moved.
    time_limit : seconds given to HiGHS; past it the best plan found is returned with its gap.

    Returns
    -------
    TerritoryPlan
        When the band cannot be met, ``summary.status`` is ``infeasible``, the assignments are
        unchanged and ``tightest_band`` is the smallest band that can (:func:`tightest_band`).

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": list("abcd"), "rep_id": ["x", "x", "x", "y"],
    ...                     "potential": [5.0, 3.0, 2.0, 2.0]})
    >>> plan = balance_territories(acc, band=0.2)  # x: 10, y: 2; each must hold 4.8-7.2
    >>> plan.assignments.loc[plan.assignments["moved"], ["account_id", "rep_id_after"]]
      account_id rep_id_after
    1          b            y
    >>> plan.summary[["status", "moves", "potential_moved", "max_deviation"]]
        status  moves  potential_moved  max_deviation
    0  optimal      1              3.0       0.166667
    """
    if band < 0:
        raise ParameterError(f"band must be >= 0 (0.10 = +-10% of the team mean), got {band}")
    if max_moves is not None and max_moves < 0:
        raise ParameterError(f"max_moves must be >= 0, got {max_moves}")
    metrics = _metrics(balance)
    p = _prepare(accounts, reps, balance, travel_weight > 0)
    assign, status, gap, seconds, _ = _solve(p, metrics, band, max_moves, travel_weight, time_limit)
    tightest = np.nan
    if assign is None:
        tight = tightest_band(accounts, reps, balance, max_moves, time_limit)
        tightest = float(tight["band"].iloc[0])
        log.info("band %.3f infeasible; tightest feasible band %.4f", band, tightest)
    return _plan(p, assign, metrics, "milp", status, band, gap, seconds, tightest)


def tightest_band(
    accounts: pd.DataFrame,
    reps: list[str] | None = None,
    balance: str = "potential",
    max_moves: int | None = None,
    time_limit: float = 60.0,
    max_moved: float | None = None,
) -> pd.DataFrame:
    """The smallest band b for which a balanced plan exists (given locks and move limits).

    Returns
    -------
    DataFrame, one row: ``band`` (b rounded up to 1e-4, so that it is feasible), ``status``,
    ``gap``, ``moves``, ``potential_moved`` (of the plan reaching it), ``solve_seconds``.

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": list("abc"), "rep_id": ["x", "x", "y"],
    ...                     "potential": [6.0, 3.0, 1.0], "locked": [True, False, False]})
    >>> float(tightest_band(acc)["band"].iloc[0])  # x keeps 6 (locked): best is 6 vs 4, mean 5
    0.2
    """
    metrics = _metrics(balance)
    p = _prepare(accounts, reps, balance, False)
    assign, status, gap, seconds, b = _solve(
        p, metrics, 0.0, max_moves, 0.0, time_limit, free_band=True, max_moved=max_moved
    )
    if assign is None:
        return pd.DataFrame(
            [
                {
                    "band": np.nan,
                    "status": status,
                    "gap": np.nan,
                    "moves": 0,
                    "potential_moved": np.nan,
                    "solve_seconds": seconds,
                }
            ]
        )
    achieved = _deviation(p, assign, metrics)
    moved = assign != p.owner
    return pd.DataFrame(
        [
            {
                "band": float(np.ceil(max(achieved, b) * 1e4 - 1e-6) / 1e4),
                "status": status,
                "gap": gap,
                "moves": int(moved.sum()),
                "potential_moved": float(p.metrics["potential"][moved].sum()),
                "solve_seconds": seconds,
            }
        ]
    )


def tradeoff_curve(
    accounts: pd.DataFrame,
    reps: list[str] | None = None,
    balance: str = "potential",
    limits: tuple[float, ...] = (0.0, 0.02, 0.05, 0.10, 0.20, 0.30),
    time_limit: float = 30.0,
) -> pd.DataFrame:
    """Moves against imbalance by the epsilon-constraint method: for each limit on the share of
    the team's potential moved, the smallest band reachable.

    A larger limit can always keep a smaller limit's plan, so when a time-limited solve returns
    a wider band than the limit before it, that plan is kept (status "kept smaller limit"):
    the curve never rises.

    Returns
    -------
    DataFrame, one row per limit in increasing order: ``max_share_moved`` (the limit), ``band``
    (smallest reachable), ``share_moved`` and ``moves`` (of the plan reaching it), ``status``,
    ``gap``.
    """
    total = float(accounts["potential"].fillna(0).sum())
    rows: list[dict] = []
    for eps in sorted(limits):
        t = tightest_band(accounts, reps, balance, None, time_limit, max_moved=eps * total)
        row = t.iloc[0]
        point = {
            "max_share_moved": float(eps),
            "band": float(row["band"]),
            "share_moved": float(row["potential_moved"]) / total if total else np.nan,
            "moves": int(row["moves"]),
            "status": str(row["status"]),
            "gap": float(row["gap"]),
        }
        if rows and not point["band"] <= rows[-1]["band"]:  # a time-limited solve did worse
            point = {**rows[-1], "max_share_moved": float(eps), "status": "kept smaller limit"}
        rows.append(point)
    return pd.DataFrame(rows)


def greedy_balance(
    accounts: pd.DataFrame,
    reps: list[str] | None = None,
    band: float = 0.10,
    max_steps: int | None = None,
) -> TerritoryPlan:
    """Baseline heuristic: repeatedly give the most loaded rep's largest movable account to the
    rep with the least potential, until every rep is within ``band`` (potential only).

    At each step the largest unlocked account of the most loaded rep that fits (the giver stays
    at or above the band's floor and the receiver at or below its ceiling) moves to the least
    loaded rep; if none fits, the largest account smaller than the two reps' difference moves;
    if none is, the heuristic stops (``status`` "not reached").

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": list("abcd"), "rep_id": ["x", "x", "x", "y"],
    ...                     "potential": [5.0, 3.0, 2.0, 2.0]})
    >>> greedy_balance(acc, band=0.2).summary[["status", "moves", "potential_moved"]]
        status  moves  potential_moved
    0  reached      1              5.0

    (the exact plan of :func:`balance_territories` moves 3.0 instead).
    """
    p = _prepare(accounts, reps, "potential", False)
    t0 = time.perf_counter()
    pot = p.metrics["potential"]
    assign = np.where(p.owner >= 0, p.owner, 0).copy()
    orphans = np.flatnonzero(p.owner < 0)
    load = np.bincount(assign, pot, minlength=p.k)
    for a in orphans[np.argsort(-pot[orphans])]:  # accounts of absent owners go first
        load[assign[a]] -= pot[a]
        assign[a] = int(load.argmin())
        load[assign[a]] += pot[a]
    reached = _repair(p, assign, band, max_steps)
    status = "reached" if reached else "not reached"
    seconds = time.perf_counter() - t0
    return _plan(p, assign, ("potential",), "greedy", status, band, np.nan, seconds, np.nan)
