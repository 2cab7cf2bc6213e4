"""Planning benchmark: exact territory balancing against the greedy baseline, and the time of a
quota plan (with its fairness checks) for 1,000 reps.

Run: ``.venv/bin/python benchmarks/bench_planning.py [--instances 3] [--time-limit 45]``.

1. **Territories.** ``--instances`` random teams of 5,000 accounts and 50 reps (account
   potential lognormal, mu 10, sigma 1, rounded to 100; owners drawn with rep weights
   exp(N(0, 0.3)), so the largest territory is about 1.7x the mean; 5% of accounts locked),
   balanced within +-10% of the mean. Baseline: the greedy heuristic
   (:func:`spmlib.planning.territory.greedy_balance`: the most loaded rep's largest account that
   fits goes to the rep with the least potential) on the same instance. Reported per instance:
   potential moved and moves by each, the ratio greedy / exact (above 1: the exact plan moves
   less), the exact plan's optimality gap (against the LP bound) and the wall time of the whole
   call (LP, core MILP, checks), which must stay under 60 s.
2. **Quotas.** A sample dataset of 1,000 reps (20 teams of 50, 24 months, no activities) is
   generated (not timed); then, ``--repeats`` times, ``plan_quotas`` (weights blend, ramp
   measured from the data) and ``check_plan`` (2,000 simulations of every rep's year, Gini,
   correlation, ratchet). Baselines of the same run: the spreadsheet plan (each rep's quota =
   target x their share of last year's bookings, split evenly over 12 months, one pandas
   group-by) and the KPI table per rep (``kpis(ds, by="rep")``). Medians are printed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from spmlib.io.schema import Dataset
from spmlib.planning.quota_plan import check_plan, plan_quotas
from spmlib.planning.territory import balance_territories, greedy_balance
from spmlib.productivity.kpis import kpis
from spmlib.sample.generator import generate

LIMIT_SECONDS = 60.0


def territory_instance(seed: int, n: int = 5000, k: int = 50) -> pd.DataFrame:
    """One random team: ``n`` accounts over ``k`` reps (module docstring)."""
    rng = np.random.default_rng(seed)
    weight = np.exp(rng.normal(0.0, 0.3, k))
    owner = rng.choice(k, size=n, p=weight / weight.sum())
    return pd.DataFrame(
        {
            "account_id": [f"A{i:05d}" for i in range(n)],
            "rep_id": [f"R{r:02d}" for r in owner],
            "potential": np.round(np.exp(rng.normal(10.0, 1.0, n)), -2),
            "locked": rng.random(n) < 0.05,
        }
    )


def bench_territory(instances: int, band: float, time_limit: float) -> pd.DataFrame:
    rows = []
    for seed in range(instances):
        acc = territory_instance(seed)
        t0 = time.perf_counter()
        greedy = greedy_balance(acc, band=band).summary.iloc[0]
        greedy_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        exact = balance_territories(acc, band=band, time_limit=time_limit).summary.iloc[0]
        exact_s = time.perf_counter() - t0
        rows.append(
            {
                "instance": seed,
                "greedy_status": greedy["status"],
                "greedy_moves": int(greedy["moves"]),
                "greedy_moved": greedy["potential_moved"],
                "greedy_s": greedy_s,
                "exact_status": exact["status"],
                "exact_moves": int(exact["moves"]),
                "exact_moved": exact["potential_moved"],
                "exact_deviation": exact["max_deviation"],
                "gap": exact["gap"],
                "exact_s": exact_s,
                "ratio_moved": greedy["potential_moved"] / exact["potential_moved"],
            }
        )
        r = rows[-1]
        print(
            f"instance {seed}: exact {r['exact_s']:.1f} s ({r['exact_status']}, gap "
            f"{r['gap']:.3%}), greedy / exact potential moved {r['ratio_moved']:.3f}",
            flush=True,
        )
    table = pd.DataFrame(rows)
    print(table.round(4).to_string(index=False))
    return table


def spreadsheet_plan(ds: Dataset, target: float, start: pd.Timestamp) -> pd.DataFrame:
    """The baseline: quota = target x share of last year's bookings, 12 even months."""
    opp = ds.opportunities
    year_ago = ds.as_of - pd.DateOffset(years=1)
    won = opp[(opp["status"] == "won") & (opp["close_date"] > year_ago)]
    share = won.groupby("rep_id")["amount"].sum() / won["amount"].sum()
    months = pd.date_range(start, periods=12, freq="MS")
    return pd.DataFrame(
        {
            "rep_id": np.repeat(share.index.to_numpy(), 12),
            "period_start": np.tile(months, len(share)),
            "quota": np.repeat((target * share / 12).round(2).to_numpy(), 12),
        }
    )


def bench_quotas(repeats: int) -> pd.DataFrame:
    t0 = time.perf_counter()
    sample = generate(teams=20, reps_per_team=50, months=24, activities=False)
    ds = Dataset(sample.config, **sample.tables)
    print(
        f"dataset: {len(ds.reps):,} reps, {len(ds.opportunities):,} opportunities, "
        f"{len(ds.accounts):,} accounts (generated in {time.perf_counter() - t0:.1f} s)"
    )
    target = 500_000_000.0
    times: dict[str, list[float]] = {"spreadsheet": [], "kpis": [], "plan": [], "checks": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        plan = plan_quotas(ds, target, weights="blend")
        times["plan"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        checks = check_plan(plan, ds)
        times["checks"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        spreadsheet_plan(ds, target, plan.settings["start"])
        times["spreadsheet"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        kpis(ds, by="rep")
        times["kpis"].append(time.perf_counter() - t0)
    share = checks["distribution"].attrs["share_at_quota"]
    print(
        f"plan FY{plan.settings['year']}: {len(plan.reps):,} reps, {len(plan.quotas):,} quota "
        f"rows summing to {plan.quotas['quota'].sum():,.2f}; simulated share at quota {share:.0%}"
    )
    median = {k: statistics.median(v) for k, v in times.items()}
    median["plan + checks"] = median["plan"] + median["checks"]
    return pd.DataFrame(
        {
            "step": list(median),
            "median_s": list(median.values()),
            "x_spreadsheet": [v / median["spreadsheet"] for v in median.values()],
            "x_kpis": [v / median["kpis"] for v in median.values()],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=3, help="territory instances")
    parser.add_argument("--band", type=float, default=0.10, help="territory band")
    parser.add_argument(
        "--time-limit", type=float, default=45.0, help="seconds for the exact solver"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed quota plans")
    parser.add_argument("--skip-territory", action="store_true")
    parser.add_argument("--skip-quotas", action="store_true")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    ok = True
    if not args.skip_territory:
        print(f"== territory: 5,000 accounts x 50 reps within +-{args.band:.0%} ==")
        t = bench_territory(args.instances, args.band, args.time_limit)
        beaten = bool((t["exact_moved"] < t["greedy_moved"]).all())
        under = bool((t["exact_s"] < LIMIT_SECONDS).all())
        print(
            f"median: exact {t['exact_s'].median():.1f} s (limit {LIMIT_SECONDS:.0f} s: "
            f"{'met' if under else 'MISSED'}), gap {t['gap'].median():.3%}; greedy moves "
            f"{t['ratio_moved'].median():.3f}x the potential of the exact plan "
            f"({'beaten on every instance' if beaten else 'NOT beaten everywhere'}); greedy "
            f"{t['greedy_s'].median():.2f} s"
        )
        ok = ok and beaten and under
    if not args.skip_quotas:
        print("\n== quota plan for 1,000 reps (medians; x = ratio to each baseline) ==")
        print(bench_quotas(args.repeats).round(3).to_string(index=False))
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
