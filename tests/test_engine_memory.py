"""Memory: a command's peak must not grow with the size of a table it does not use.

Two copies of one small dataset differ only in their activities: a handful, or 1,000,000 rows
(over 100 MB once loaded into pandas). ``spm kpis`` and ``spm funnel`` read neither, so their
peak memory (whole processes, after ``spm validate`` has recorded both as valid) must be the
same within a small margin; loading every table, as the commands once did, fails this.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spmlib.sample.generator import write_sample

pytestmark = pytest.mark.slow
#: Allowed growth of the peak, in MB (noise of the allocator and of DuckDB's buffers).
MARGIN_MB = 40

_PEAK = (
    "import resource, sys\n"
    "from spmlib.cli import app\n"
    "try:\n    app(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
    "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)


def _peak_mb(args, env) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, *args], capture_output=True, text=True, env=env, check=False
    )
    lines = [x for x in done.stderr.splitlines() if x.startswith("PEAK")]
    assert lines and done.returncode == 0, done.stderr[-2000:]
    return int(lines[-1].split()[1]) / 1024


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    base = tmp_path_factory.mktemp("memory")
    small = write_sample(base / "small", format="parquet", teams=1, reps_per_team=4, months=12)
    big = base / "big"
    write_sample(big, format="parquet", teams=1, reps_per_team=4, months=12)
    n = 1_000_000
    reps = pq.read_table(small / "reps.parquet").column("rep_id").to_pylist()
    rng = np.random.default_rng(1)
    table = pa.table(
        {
            "activity_id": pa.array([f"X{i:08d}" for i in range(n)]),
            "rep_id": pa.array(np.array(reps)[rng.integers(0, len(reps), n)]),
            "type": pa.array(np.array(["call", "email", "meeting"])[rng.integers(0, 3, n)]),
            "date": pa.array(
                np.datetime64("2026-01-01") + rng.integers(0, 200, n).astype("timedelta64[D]")
            ),
        }
    )
    pq.write_table(table, big / "activities.parquet")
    env = {**os.environ, "SPM_CACHE_DIR": str(base / "cache")}
    for folder in (small, big):
        subprocess.run([sys.executable, "-m", "spmlib.cli", "validate", str(folder)],
                       env=env, check=True, capture_output=True)  # fmt: skip
    return small, big, env


@pytest.mark.parametrize("command", [["kpis", "--by", "rep"], ["funnel", "--by", "team"]])
def test_peak_does_not_grow_with_an_unused_table(pair, command):
    small, big, env = pair
    peaks = [_peak_mb([command[0], str(folder), *command[1:]], env) for folder in (small, big)]
    assert peaks[1] - peaks[0] < MARGIN_MB, f"peak {peaks[0]:.0f} MB -> {peaks[1]:.0f} MB"
