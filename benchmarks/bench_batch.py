"""Batch throughput, three ways, in one run on the sample data and the default spec.

1. **plain loop**: ``papermill`` CLI then ``jupyter nbconvert --to html --no-input`` per report,
   one after the other. Measured on one report of each (notebook, scope type) of the batch and
   extrapolated to the batch's mix of reports (a forecast costs more than a scorecard).
2. **this batch**: :func:`spmlib.run.batch.run_batch` with the default spec, ``--workers`` processes
   (default: the machine's cores), end to end: data load and snapshot, worker and kernel start,
   every report executed and exported to HTML. Probe reports (``tests/notebooks/ok.ipynb``,
   one per team, run between the real ones on the same reused kernels) check that every report
   starts from a clean namespace; their time is charged to the batch, not subtracted.
3. **warm in-process floor**: every report's code (the same parameters) run with ``exec`` in one
   already warm Python process, each in a fresh namespace, figures rendered to PNG as the inline
   backend does; no kernel, no HTML.

Prints seconds per report for each and the ratios: batch vs plain loop (goal >= 8x) and batch
vs floor (goal: within 2x). Run: ``.venv/bin/python benchmarks/bench_batch.py`` (``make bench``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

# spmlib from this checkout, even if the editable install resolves it as a namespace package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spmlib.config import PROJ_ROOT
from spmlib.reports.notebook import read_glued
from spmlib.run.batch import BatchOptions, run_batch
from spmlib.run.spec import DEFAULT_SPEC

BIN = Path(sys.executable).parent


def _spec_with_probes(folder: Path) -> Path:
    """The default spec, plus one probe report per team inserted after every real entry."""
    spec = yaml.safe_load(DEFAULT_SPEC.read_text())
    probe = {"notebook": str(PROJ_ROOT / "tests" / "notebooks" / "ok.ipynb"), "for_each": "team"}
    spec["reports"].insert(len(spec["reports"]) // 2, probe)
    for key, default in (
        ("defaults", "defaults.yml"),
        ("teams_dir", "teams"),
        ("reps_dir", "reps"),
    ):
        spec[key] = str(DEFAULT_SPEC.parent / spec.get(key, default))
    path = folder / "batch_with_probes.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _group(report: dict) -> tuple[str, str]:
    scope = report["scope"]
    kind = (
        "rep"
        if "rep_id" in scope
        else "team"
        if "team" in scope
        else "company"
        if not scope
        else "manager"
    )
    return report["kind"], kind


def plain_loop(reports: list[dict], workdir: Path) -> dict[tuple[str, str], float]:
    """Seconds of papermill + nbconvert for one report of each (notebook, scope type)."""
    seconds: dict[tuple[str, str], float] = {}
    for report in reports:
        group = _group(report)
        if group in seconds:
            continue
        nb = PROJ_ROOT / report["notebook_path"]
        out = workdir / f"{report['id']}.ipynb"
        params = workdir / f"{report['id']}.yml"
        params.write_text(yaml.safe_dump(report["parameters"]))
        started = time.perf_counter()
        subprocess.run(
            [
                str(BIN / "papermill"),
                str(nb),
                str(out),
                "-k",
                "spm",
                "-f",
                str(params),
                "--no-progress-bar",
            ],
            check=True,
            cwd=PROJ_ROOT,
            capture_output=True,
        )
        subprocess.run(
            [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(out)],
            check=True,
            cwd=PROJ_ROOT,
            capture_output=True,
        )
        seconds[group] = time.perf_counter() - started
        print(f"  plain loop {report['id']}: {seconds[group]:.2f} s", flush=True)
    return seconds


def warm_floor(reports: list[dict]) -> float:
    """Total seconds to run every report's code in this (warmed) process, fresh namespaces."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from spmlib.run.kernels import DEFAULT_WARM_IMPORTS

    # warm up: the heavy imports a worker kernel has already done
    for module in DEFAULT_WARM_IMPORTS:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    cells: dict[str, list] = {}
    total = 0.0
    for report in reports:
        path = str(PROJ_ROOT / report["notebook_path"])
        nb = parameterize_notebook(
            load_notebook_node(path), report["parameters"], kernel_name="spm", language="python"
        )
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        cells[report["id"]] = code
        namespace: dict = {"__name__": "__main__"}
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            for source in code:
                exec(compile(source, report["id"], "exec"), namespace)  # noqa: S102
                for num in plt.get_fignums():  # what the inline backend does after each cell
                    plt.figure(num).savefig(io.BytesIO(), format="png")
                plt.close("all")
        total += time.perf_counter() - started
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", action="store_true", help="keep the output folder")
    args = parser.parse_args()
    import spmlib

    spmlib.load(None)  # make sure the sample exists (not timed)
    tmp = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    spec = _spec_with_probes(tmp)

    print(f"== this batch: default spec + probes, {args.workers} workers", flush=True)
    started = time.perf_counter()
    result = run_batch(
        spec, options=BatchOptions(workers=args.workers), outputs_dir=tmp / "outputs"
    )
    batch_seconds = time.perf_counter() - started
    reports = result.manifest.to_dict()["reports"]
    probes = [r for r in reports if r["kind"] == "ok"]
    real = [r for r in reports if r["kind"] != "ok"]
    bad = [r["id"] for r in reports if r["status"] != "ok"]
    if bad:
        print(f"  reports not ok: {bad}")
    glued = [
        read_glued(result.run_dir / r["outputs"]["ipynb"]) for r in probes if r["status"] == "ok"
    ]
    clean = sum(g["leaked"] is False and g["foreign_names"] == [] for g in glued)
    kernels = len({g["pid"] for g in glued})
    print(f"  {len(real)} reports (+{len(probes)} probes) in {batch_seconds:.1f} s", flush=True)
    print(
        f"  clean namespace: {clean}/{len(probes)} probe reports, run on {kernels} reused kernel(s) "
        "after real reports, saw no name defined by an earlier report"
    )

    print("== warm in-process floor (same reports, one warm process, exec)", flush=True)
    floor_total = warm_floor(real)

    print(
        "== plain loop (papermill CLI + jupyter nbconvert), one report per notebook and scope type",
        flush=True,
    )
    per_group = plain_loop(real, tmp)
    mix = Counter(_group(r) for r in real)
    plain_total = sum(per_group[g] * n for g, n in mix.items())

    n = len(real)
    plain, batch, floor = plain_total / n, batch_seconds / n, floor_total / n
    print()
    print(
        f"Batch of {n} reports ({', '.join(f'{k}: {v}' for k, v in sorted(Counter(r['kind'] for r in real).items()))}),"
        f" {args.workers} workers, {os.cpu_count()} cores"
    )
    print(
        f"  plain loop (papermill + nbconvert) : {plain:6.2f} s/report  (measured on {len(per_group)} reports,"
        " extrapolated to the batch's mix)"
    )
    print(
        f"  this batch (spm batch)             : {batch:6.2f} s/report  (wall time / reports, end to end)"
    )
    print(f"  warm in-process floor (exec)       : {floor:6.2f} s/report")
    print(f"  batch vs plain loop: {plain / batch:5.1f}x faster (goal >= 8x)")
    print(f"  batch vs floor     : {batch / floor:5.2f}x the floor (goal <= 2x)")
    (tmp / "results.json").write_text(
        json.dumps(
            {
                "reports": n,
                "workers": args.workers,
                "plain_s_per_report": plain,
                "batch_s_per_report": batch,
                "floor_s_per_report": floor,
            },
            indent=1,
        )
    )
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"outputs kept in {tmp}")


if __name__ == "__main__":
    main()
