"""Time the activity and attainment tables on 10,000,000 activities and 1,000,000 opportunities.

The data are synthesised with NumPy (2,000 reps in 50 teams over three years, monthly quotas),
typed like ``spmlib.load`` types them (ids and text as pandas ``string``). Each table is timed
on the full data and, as the baseline of the same run, on a tenth of it: a ratio near 10 means
the cost grows linearly with the rows.

Run: ``.venv/bin/python benchmarks/bench_productivity.py [--scale 0.1]`` (``make bench`` runs
every benchmark). Memory: about 4 GB at full scale.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from spmlib.io.schema import Dataset, DatasetConfig
from spmlib.productivity.activity import activity_outcomes, activity_volume
from spmlib.productivity.attainment import attainment

START = np.datetime64("2023-11-01")
DAYS = 3 * 365
TYPES = np.array(["call", "email", "meeting", "demo", "proposal", "referral", "event"])


def synthesise(n_opps: int, n_acts: int, n_reps: int = 2000, seed: int = 1) -> Dataset:
    rng = np.random.default_rng(seed)
    ids = np.array([f"R{i:05d}" for i in range(n_reps)])
    reps = pd.DataFrame(
        {
            "rep_id": pd.array(ids, dtype="string"),
            "rep_name": pd.array([f"Rep {i}" for i in range(n_reps)], dtype="string"),
            "team": pd.array([f"Team {i % 50}" for i in range(n_reps)], dtype="string"),
            "hire_date": START + rng.integers(-2000, DAYS, n_reps).astype("timedelta64[D]"),
        }
    )
    reps["hire_date"] = reps["hire_date"].astype("datetime64[ns]")
    created = START + rng.integers(0, DAYS - 30, n_opps).astype("timedelta64[D]")
    close = created + rng.integers(5, 120, n_opps).astype("timedelta64[D]")
    status = rng.choice(np.array(["won", "lost", "open"]), n_opps, p=[0.25, 0.65, 0.10])
    opps = pd.DataFrame(
        {
            "opp_id": pd.array(np.char.add("O", np.arange(n_opps).astype(str)), dtype="string"),
            "rep_id": pd.Categorical.from_codes(rng.integers(0, n_reps, n_opps), ids).astype(
                "string"
            ),
            "created_date": created.astype("datetime64[ns]"),
            "close_date": close.astype("datetime64[ns]"),
            "stage": pd.array(status, dtype="string"),
            "amount": rng.lognormal(9.5, 0.8, n_opps),
            "status": pd.array(status, dtype="string"),
        }
    )
    kinds = rng.choice(TYPES, n_acts, p=[0.35, 0.35, 0.15, 0.07, 0.05, 0.02, 0.01])
    outcome = np.where(
        kinds == "proposal", rng.choice(np.array(["accepted", "rejected"]), n_acts), None
    )
    acts = pd.DataFrame(
        {
            "activity_id": pd.RangeIndex(n_acts).astype(str).astype("string"),
            "rep_id": pd.Categorical.from_codes(rng.integers(0, n_reps, n_acts), ids).astype(
                "string"
            ),
            "type": pd.Categorical(kinds).astype("string"),
            "date": (START + rng.integers(0, DAYS, n_acts).astype("timedelta64[D]")).astype(
                "datetime64[ns]"
            ),
            "outcome": pd.Categorical(outcome).astype("string"),
            "duration_minutes": rng.integers(1, 90, n_acts).astype(float),
        }
    )
    months = pd.date_range("2023-11-01", periods=36, freq="MS")
    quotas = pd.DataFrame(
        {
            "rep_id": pd.array(np.repeat(ids, len(months)), dtype="string"),
            "period_start": np.tile(months.to_numpy(), n_reps),
            "period_end": np.tile((months + pd.offsets.MonthEnd(0)).to_numpy(), n_reps),
            "quota": 60000.0,
        }
    )
    cfg = DatasetConfig(
        ("Open",), "won", "lost", fiscal_year_start_month=2, as_of=pd.Timestamp("2026-10-15")
    )
    return Dataset(cfg, reps, opps, activities=acts, quotas=quotas)


def timed(fn, *args, **kwargs) -> tuple[float, pd.DataFrame]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of 1M opps / 10M activities"
    )
    args = parser.parse_args()
    n_opps, n_acts = int(1_000_000 * args.scale), int(10_000_000 * args.scale)
    t0 = time.perf_counter()
    full = synthesise(n_opps, n_acts)
    tenth = synthesise(n_opps // 10, n_acts // 10, seed=2)
    print(
        f"synthesised {n_acts:,} activities and {n_opps:,} opportunities in {time.perf_counter() - t0:.1f} s"
    )
    tables = [
        ("activity volume (rep x month x type)", activity_volume, {"freq": "month"}),
        ("activity volume (rep x week x type)", activity_volume, {"freq": "week"}),
        ("activity to outcome (per rep)", activity_outcomes, {}),
        ("attainment (rep x fiscal quarter)", attainment, {"period": "quarter"}),
        ("attainment (rep x month)", attainment, {"period": "month"}),
        ("attainment (team x fiscal quarter)", attainment, {"period": "quarter", "by": "team"}),
    ]
    print(f"{'table':40s} {'rows':>9s} {'full s':>8s} {'tenth s':>8s} {'ratio':>6s}")
    for name, fn, kwargs in tables:
        base, _ = timed(fn, tenth, **kwargs)
        secs, out = timed(fn, full, **kwargs)
        print(f"{name:40s} {len(out):9,d} {secs:8.2f} {base:8.2f} {secs / base:6.1f}")


if __name__ == "__main__":
    main()
