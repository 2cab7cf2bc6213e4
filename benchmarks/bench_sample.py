"""Benchmark: sample data generation at 1,000,000 opportunities (target: under 60 s).

Prints the seconds for the default sample (6 teams x 8 reps x 36 months, the baseline measured
in this run), for 1M opportunities with stage history and activities, and for writing those as
Parquet, with rows per second and the ratio to the baseline's rate (1.0 = scales linearly).

Run: ``.venv/bin/python benchmarks/bench_sample.py [--opportunities N]``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from spmlib.sample.generator import generate, write_sample

TARGET_SECONDS = 60.0


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _rows(sample) -> int:
    return sum(len(frame) for frame in sample.tables.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    args = parser.parse_args()

    base, base_s = _timed(generate)
    base_rate = _rows(base) / base_s
    n_base = len(base.tables["opportunities"])
    print(f"baseline: default sample, {n_base:,} opportunities, {_rows(base):,} rows: "
          f"{base_s:.2f} s ({base_rate:,.0f} rows/s)")  # fmt: skip
    del base

    big, big_s = _timed(generate, opportunities=args.opportunities)
    rows = _rows(big)
    rate = rows / big_s
    counts = ", ".join(f"{len(f):,} {name}" for name, f in big.tables.items())
    print(f"generate: {args.opportunities:,} opportunities ({counts}): {big_s:.2f} s "
          f"({rate:,.0f} rows/s, {rate / base_rate:.2f}x the baseline rate)")  # fmt: skip
    del big

    with tempfile.TemporaryDirectory() as tmp:
        _, write_s = _timed(
            write_sample, Path(tmp) / "big", format="parquet", opportunities=args.opportunities
        )
    print(f"write_sample (parquet, generation included): {write_s:.2f} s "
          f"({write_s / big_s:.2f}x generation alone)")  # fmt: skip
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak memory: {peak_gb:.2f} GB")
    ok = big_s < TARGET_SECONDS
    print(f"{'OK' if ok else 'TOO SLOW'}: {big_s:.1f} s vs target {TARGET_SECONDS:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
