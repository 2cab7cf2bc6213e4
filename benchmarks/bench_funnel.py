"""Benchmark: the full stage funnel for 1,000,000 opportunities with stage history.

Generates the data with ``spmlib.sample.generator.generate(opportunities=N, activities=False)``, then times
``stage_funnel`` (all-time and period views, with median days in stage) and ``time_in_stage``.
Baselines measured in the same run:

- the same code on N / 10 opportunities (ratio ~10 = scales linearly);
- a naive per-opportunity Python loop (what the vectorised code replaces) on 10,000
  opportunities, extrapolated to N.

Run: ``.venv/bin/python benchmarks/bench_funnel.py [--opportunities N]``.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from spmlib.funnel.conversion import stage_funnel
from spmlib.funnel.velocity import time_in_stage
from spmlib.sample.generator import generate


def _timed(fn, *args, **kwargs):
    """(result, CPU seconds of this process); the wall seconds are kept in ``_timed.wall``.

    CPU time is what the ratios use: on a shared machine wall time depends on the neighbours.
    """
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(*args, **kwargs)
    _timed.wall = time.perf_counter() - t0
    return out, time.process_time() - c0


def _full_funnel(opps, hist, cfg, reps):
    stage_funnel(opps, hist, config=cfg)
    stage_funnel(opps, hist, config=cfg, by="team", reps=reps)
    stage_funnel(opps, hist, config=cfg, start="2025-11-01", end="2026-04-30")


def _naive_funnel(opps: pd.DataFrame, hist: pd.DataFrame, cfg) -> dict:
    """Per-opportunity loop: furthest stage from each deal's history, then counts."""
    rank = {s: i for i, s in enumerate(cfg.funnel_stages)}
    by_opp = {k: g for k, g in hist.groupby("opp_id")}
    counts = {s: [0, 0, 0, 0] for s in cfg.funnel_stages}
    for row in opps.itertuples(index=False):
        rows = by_opp.get(row.opp_id)
        stages = [] if rows is None else [rank[s] for s in rows["stage"] if s in rank]
        if row.status == "open" and row.stage in rank:
            stages.append(rank[row.stage])
        if row.status == "won":
            stages.append(len(cfg.open_stages))
        furthest = max(stages) if stages else 0
        for s, k in rank.items():
            if furthest >= k:
                counts[s][0] += 1
            if furthest > k:
                counts[s][1] += 1
            if furthest == k and row.status == "lost":
                counts[s][2] += 1
            if furthest == k and row.status == "open":
                counts[s][3] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.opportunities

    big, gen_s = _timed(generate, opportunities=n, activities=False)
    t = big.tables
    opps, hist, reps, cfg = t["opportunities"], t["stage_history"], t["reps"], big.config
    print(f"data: {len(opps):,} opportunities, {len(hist):,} stage-history rows "
          f"(generated in {gen_s:.1f} s CPU)")  # fmt: skip

    _, full_s = _timed(_full_funnel, opps, hist, cfg, reps)
    _, one_s = _timed(stage_funnel, opps, hist, config=cfg)
    one_wall = _timed.wall
    _, tis_s = _timed(time_in_stage, opps, hist, config=cfg)
    print(f"stage_funnel, all-time, one group: {one_s:.2f} s CPU ({one_wall:.2f} s wall)")
    print(f"stage_funnel x3 (all-time, by team, period): {full_s:.2f} s CPU")
    print(f"time_in_stage: {tis_s:.2f} s CPU")

    tenth = opps.iloc[: n // 10]
    tenth_hist = hist[hist["opp_id"].isin(set(tenth["opp_id"]))]
    _, tenth_s = _timed(_full_funnel, tenth, tenth_hist, cfg, reps)
    print(f"baseline 1, same code on {len(tenth):,} opportunities: {tenth_s:.2f} s "
          f"-> ratio {full_s / tenth_s:.1f} for 10x the data")  # fmt: skip

    small = opps.iloc[:10_000]
    small_hist = hist[hist["opp_id"].isin(set(small["opp_id"]))]
    naive_counts, naive_s = _timed(_naive_funnel, small, small_hist, cfg)
    fast = stage_funnel(small, small_hist, config=cfg).set_index("stage")
    agree = all(naive_counts[s][0] == fast.loc[s, "reached"] for s in cfg.funnel_stages)
    naive_n = naive_s * len(opps) / len(small)
    print(f"baseline 2, per-opportunity loop on {len(small):,}: {naive_s:.2f} s, extrapolated "
          f"to {len(opps):,}: {naive_n:.0f} s -> vectorised one-group funnel is "
          f"{naive_n / one_s:.0f}x faster (reached counts agree: {agree})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
