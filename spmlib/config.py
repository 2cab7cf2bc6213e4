"""Paths of the project, built in one place from this file's location.

Notebooks, the CLI and tests import these instead of hard-coding relative paths.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PROJ_ROOT",
    "PARAMS_DIR",
    "OUTPUTS_DIR",
    "NOTEBOOKS_DIR",
    "DATA_DIR",
    "SAMPLE_DATA_DIR",
    "SHARED_DATA_DIR",
    "KERNEL_NAME",
    "CACHE_DIR",
]

PROJ_ROOT = Path(__file__).resolve().parents[1]
PARAMS_DIR = PROJ_ROOT / "params"
OUTPUTS_DIR = PROJ_ROOT / "outputs"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
DATA_DIR = PROJ_ROOT / "data"
#: Where the default sample dataset is generated on first use (git-ignored).
SAMPLE_DATA_DIR = Path(os.environ.get("SPM_SAMPLE_DATA", DATA_DIR / "sample"))
#: Public data sets used by tests and benchmarks when present (never committed).
SHARED_DATA_DIR = Path(os.environ.get("SPM_SHARED_DATA", PROJ_ROOT.parent / "shared" / "data"))
#: The Jupyter kernel that `make setup` registers inside .venv; papermill always runs this one.
KERNEL_NAME = "spm"
#: Typed Parquet copies of CSV sources, validation results and derived tables (the deal
#: summaries of a funnel in slices: :mod:`spmlib.engine.derived`), keyed by source fingerprint
#: (``SPM_CACHE_DIR``; default ``$XDG_CACHE_HOME/spm`` or ``~/.cache/spm``). Safe to delete.
CACHE_DIR = Path(
    os.environ.get("SPM_CACHE_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spm"
)
