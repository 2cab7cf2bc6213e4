"""Benchmark: the engine-backed commands on large Parquet samples, as whole processes.

On the sample of N opportunities (default 1,000,000; written once with ``spm sample --format
parquet``, with proportional stage history, activities and leads) it times, as separate whole
processes measured by ``/usr/bin/time -v`` (wall seconds, peak memory and CPU seconds, median
of ``--repeat`` runs; the load average is printed too: on a shared machine the CPU seconds are
steadier than the wall time):

- ``spm kpis PATH --by rep``, against the baseline measured in the same run: a DuckDB query
  computing won, lost and bookings per rep from the same Parquet file, as a whole Python
  process (the issue's reference; target: within 6x, peak under 1 GB);
- ``spm funnel PATH`` and ``spm validate PATH`` (target: under 2 s and 1 GB each on 1M;
  ``spm kpis`` and ``spm funnel`` under 60 s and 2 GB on 100M, validate has no target there).
  The funnel's first run is shown apart from the median of the later ones. On data split into
  slices (over 5M deals) validation writes each deal's stage summary to the cache, once per
  fingerprint, and every funnel reads it (:mod:`spmlib.engine.derived`); validate's time
  includes writing them;
- ``spm activity PATH --format csv`` (every activity counted by rep, month and type),
  ``spm pipeline PATH`` and ``spm flow PATH --start --end`` (a year), held to the funnel's
  targets (the issue names none for them).

Each line says whether its target is met (the 1M targets up to 10M opportunities, the 100M
ones above). ``spm validate`` runs first, each run with a fresh cache (cold, every rule); it
records the data as valid, so the kpis and funnel runs (in the last run's cache) trust it, as
validation is once per source fingerprint.

On 100M opportunities (about 16 GB of Parquet, written in about 11 minutes on idle cores when absent) use
``--repeat 1``: a cold validate alone takes many minutes there.

Run: ``.venv/bin/python benchmarks/bench_scale.py [--opportunities N] [--repeat K] [--data DIR]
[--assume-valid]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
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


#: The range of ``spm flow``: a year of the sample's data.
FLOW = ("2025-01-01", "2025-12-31")


class Failed(Exception):
    """A measured command failed: its wall seconds, peak MB and last error line."""


ASSUME_VALID = """
from spmlib.engine.locations import open_tables
from spmlib.engine.validate import _key
from spmlib.io.snapshot import mark_validated
mark_validated(_key(open_tables('{path}', validate=False)), [])
"""


def measure(cmd: list[str], env: dict) -> tuple[float, float, float]:
    """(wall seconds, peak MB, CPU seconds: user + system) of one whole process;
    :class:`Failed` when it fails."""
    done = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    h, m, s = wall.groups()
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "Error" in line] or ["?"]
        raise Failed(seconds, peak / 1024, errors[-1].strip()[:200])
    cpu = sum(
        float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", done.stderr)
    )
    return seconds, peak / 1024, cpu


def median_of(cmd, env, repeat, fresh_cache: str = "") -> tuple[float, float, float, dict]:
    """Median (wall seconds, peak MB, CPU seconds) of ``repeat`` runs, and the environment of
    the last; each run with a new cache folder inside ``fresh_cache`` when given."""
    runs = []
    for _ in range(repeat):
        if fresh_cache:
            env = {**env, "SPM_CACHE_DIR": tempfile.mkdtemp(dir=fresh_cache)}
        runs.append(measure(cmd, env))
    return (*(statistics.median(r[i] for r in runs) for i in range(3)), env)


def verdict(seconds: float, mb: float, target: tuple[float, float] | None) -> str:
    """``OK`` or ``MISSED`` against (seconds, MB), with the target."""
    if target is None:
        return ""
    ok = seconds <= target[0] and mb <= target[1]
    return f"  {'OK' if ok else 'MISSED'} (target {target[0]:.0f} s, {target[1]:,.0f} MB)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", help="an existing sample folder (else written to a temp folder)")
    parser.add_argument(
        "--assume-valid",
        action="store_true",
        help="when spm validate fails (out of memory on 100M: 1.2 billion activity ids), record "
        "the generated sample as valid so kpis and funnel can be measured; said in the output",
    )
    args = parser.parse_args()
    caches = tempfile.mkdtemp(prefix="spm-bench-cache-")  # removed at the end (GBs on 100M)
    try:
        return run(args, caches)
    finally:
        shutil.rmtree(caches, ignore_errors=True)


def run(args: argparse.Namespace, caches: str) -> int:
    n = args.opportunities
    env = {**os.environ, "SPM_CACHE_DIR": tempfile.mkdtemp(dir=caches)}
    data = Path(args.data or Path(tempfile.gettempdir()) / f"spm-bench-{n}")
    if not (data / "dataset.yml").exists():
        secs, peak, _ = measure([str(BIN / "spm"), "sample", str(data), "--format", "parquet",
                              "--opportunities", str(n)], env)  # fmt: skip
        print(f"sample: {n:,} opportunities written in {secs:.0f} s, peak {peak:.0f} MB")
    opps = data / "opportunities.parquet"
    opps = opps if opps.exists() else data / "opportunities" / "*.parquet"
    rows = _rows(opps)
    large = rows > 10_000_000
    spm = str(BIN / "spm")
    try:
        *val, env = median_of([spm, "validate", str(data)], env, args.repeat, fresh_cache=caches)
    except Failed as exc:
        secs, peak, error = exc.args
        print(f"spm validate FAILED after {secs:.0f} s at {peak:.0f} MB: {error}")
        if not args.assume_valid:
            return 1
        env = {**env, "SPM_CACHE_DIR": tempfile.mkdtemp(dir=caches)}
        subprocess.run([sys.executable, "-c", ASSUME_VALID.format(path=data)], env=env, check=True)
        print("  (--assume-valid: the sample recorded as valid without checking it)")
        val = None
    ref = median_of([sys.executable, "-c", REFERENCE.format(path=opps)], env, args.repeat)
    kp = median_of([spm, "kpis", str(data), "--by", "rep"], env, args.repeat)
    first = measure([spm, "funnel", str(data)], env)  # the first after validation
    fu = median_of([spm, "funnel", str(data)], env, args.repeat)
    others = {
        "spm activity:": [spm, "activity", str(data), "--format", "csv"],
        "spm pipeline:": [spm, "pipeline", str(data)],
        "spm flow (a year):": [spm, "flow", str(data), "--start", FLOW[0], "--end", FLOW[1]],
    }
    others = {label: median_of(cmd, env, args.repeat) for label, cmd in others.items()}
    load = os.getloadavg()[0]
    print(f"{rows:,} opportunities, medians of {args.repeat} whole-process runs (wall s, peak MB, "
          f"CPU s = user + system; load average {load:.1f} on {os.cpu_count()} cores):")  # fmt: skip
    print(
        f"  reference DuckDB query (baseline):  {ref[0]:6.2f} s  {ref[1]:6.0f} MB  {ref[2]:6.2f} s"
    )
    print(f"  spm kpis --by rep:                  {kp[0]:6.2f} s  {kp[1]:6.0f} MB  {kp[2]:6.2f} s  "
          f"= {kp[0] / ref[0]:.1f}x the reference's time ({kp[2] / ref[2]:.1f}x its CPU), "
          f"{kp[1] / ref[1]:.1f}x its memory"
          + (verdict(*kp[:2], (60, 2048)) if large else
             verdict(kp[0], kp[1], (6 * ref[0], 1024))))  # fmt: skip
    for label, run in (("spm funnel, first run:", first), ("spm funnel, later runs:", fu)):
        print(f"  {label:35s} {run[0]:6.2f} s  {run[1]:6.0f} MB  {run[2]:6.2f} s  "
              f"= {run[0] / ref[0]:.1f}x the reference's time"
              + verdict(*run[:2], (60, 2048) if large else (2, 1024)))  # fmt: skip
    if large:
        writer = "the first funnel" if val is None else "validation"  # (--assume-valid: none)
        print(
            f"  ({writer} wrote each deal's stage summary to the cache, once for these files; "
            "the funnels after it read it)"
        )
    for label, run in others.items():
        print(f"  {label:35s} {run[0]:6.2f} s  {run[1]:6.0f} MB  {run[2]:6.2f} s  "
              f"= {run[0] / ref[0]:.1f}x the reference's time"
              + verdict(*run[:2], (60, 2048) if large else (2, 1024)))  # fmt: skip
    if val is not None:
        print(f"  spm validate (cold, every rule):    {val[0]:6.2f} s  {val[1]:6.0f} MB  "
              f"{val[2]:6.2f} s  = {val[0] / ref[0]:.1f}x the reference's time"
              + verdict(*val[:2], None if large else (2, 1024)))  # fmt: skip
    return 0


def _rows(opps: Path) -> int:
    """Rows of the opportunities (from the Parquet footers)."""
    import pyarrow.parquet as pq

    files = sorted(opps.parent.glob(opps.name))
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


if __name__ == "__main__":
    raise SystemExit(main())
