"""Benchmark: the engine-backed commands on large Parquet samples, as whole processes.

On the sample of N opportunities (default 1,000,000; written once with ``spm sample --format
parquet``, with proportional stage history, activities and leads) it times, as separate whole
processes measured by ``/usr/bin/time -v`` (wall seconds, peak memory and CPU seconds, median
of ``--repeat`` runs; on a busy machine the CPU seconds say more than the wall time):

- ``spm kpis PATH --by rep``, against the baseline measured in the same run: a DuckDB query
  computing won, lost and bookings per rep from the same Parquet file, as a whole Python
  process (the issue's reference; target: within 6x, peak under 1 GB);
- ``spm funnel PATH`` and ``spm validate PATH`` (target: under 2 s and 1 GB each on 1M;
  ``spm kpis`` and ``spm funnel`` under 60 s and 2 GB on 100M).

``spm validate`` records the data as valid, so the kpis and funnel runs trust it (validation
is once per source fingerprint); the validate runs use a fresh cache each time.

Run: ``.venv/bin/python benchmarks/bench_scale.py [--opportunities N] [--repeat K] [--data DIR]``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent
REFERENCE = """
import duckdb
duckdb.sql('''SELECT rep_id, count(*) FILTER (WHERE status = 'won') AS won,
  count(*) FILTER (WHERE status = 'lost') AS lost,
  sum(amount) FILTER (WHERE status = 'won') AS bookings
  FROM read_parquet('{path}') GROUP BY rep_id ORDER BY rep_id''').fetchall()
"""


def measure(cmd: list[str], env: dict) -> tuple[float, float, float]:
    """(wall seconds, peak MB, CPU seconds: user + system) of one whole process."""
    done = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{done.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    h, m, s = wall.groups()
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    cpu = sum(
        float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", done.stderr)
    )
    return seconds, peak / 1024, cpu


def median_of(cmd, env, repeat, fresh_cache=False) -> tuple[float, float, float]:
    runs = []
    for _ in range(repeat):
        if fresh_cache:
            env = {**env, "SPM_CACHE_DIR": tempfile.mkdtemp(prefix="spm-bench-cache-")}
        runs.append(measure(cmd, env))
    return tuple(statistics.median(r[i] for r in runs) for i in range(3))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", help="an existing sample folder (else written to a temp folder)")
    args = parser.parse_args()
    n = args.opportunities
    env = {**os.environ, "SPM_CACHE_DIR": tempfile.mkdtemp(prefix="spm-bench-cache-")}
    data = Path(args.data or Path(tempfile.gettempdir()) / f"spm-bench-{n}")
    if not (data / "dataset.yml").exists():
        secs, peak, _cpu = measure([str(BIN / "spm"), "sample", str(data), "--format", "parquet",
                              "--opportunities", str(n)], env)  # fmt: skip
        print(f"sample: {n:,} opportunities written in {secs:.0f} s, peak {peak:.0f} MB")
    opps = data / "opportunities.parquet"
    opps = opps if opps.exists() else data / "opportunities" / "*.parquet"
    spm = str(BIN / "spm")
    val = median_of([spm, "validate", str(data)], env, args.repeat, fresh_cache=True)
    measure([spm, "validate", str(data)], env)  # record it as valid for the runs below
    ref = median_of([sys.executable, "-c", REFERENCE.format(path=opps)], env, args.repeat)
    kp = median_of([spm, "kpis", str(data), "--by", "rep"], env, args.repeat)
    fu = median_of([spm, "funnel", str(data)], env, args.repeat)
    load = os.getloadavg()[0]
    print(f"{n:,} opportunities, medians of {args.repeat} whole-process runs (wall s, peak MB, "
          f"CPU s = user + system; load average {load:.1f} on {os.cpu_count()} cores):")  # fmt: skip
    print(
        f"  reference DuckDB query (baseline):  {ref[0]:6.2f} s  {ref[1]:6.0f} MB  {ref[2]:5.2f} s"
    )
    print(f"  spm kpis --by rep:                  {kp[0]:6.2f} s  {kp[1]:6.0f} MB  {kp[2]:5.2f} s  "
          f"= {kp[0] / ref[0]:.1f}x the reference's time ({kp[2] / ref[2]:.1f}x its CPU), "
          f"{kp[1] / ref[1]:.1f}x its memory")  # fmt: skip
    print(f"  spm funnel:                         {fu[0]:6.2f} s  {fu[1]:6.0f} MB  {fu[2]:5.2f} s  "
          f"= {fu[0] / ref[0]:.1f}x the reference's time")  # fmt: skip
    print(f"  spm validate (cold, every rule):    {val[0]:6.2f} s  {val[1]:6.0f} MB  {val[2]:5.2f} s  "
          f"= {val[0] / ref[0]:.1f}x the reference's time")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
