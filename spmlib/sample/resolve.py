"""The bundled sample as the default dataset: ``data=None`` everywhere means the sample.

:func:`resolve_data` turns ``None`` into the sample folder (generated on first use);
:func:`load` is :func:`spmlib.io.load.load` with that default, exported as ``spmlib.load``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spmlib.config import SAMPLE_DATA_DIR
from spmlib.io import load as io_load
from spmlib.io.schema import Dataset
from spmlib.sample.generator import ensure_sample

__all__ = ["resolve_data", "load"]


def resolve_data(data: str | Path | None) -> str:
    """The dataset to load: ``data`` itself, or the sample dataset (generated on first use)."""
    if data is None or str(data) == "":
        return str(ensure_sample(SAMPLE_DATA_DIR))
    return str(data)


def load(data: str | Path | None = None, mapping: str | Path | Any | None = None) -> Dataset:
    """:func:`spmlib.io.load.load` of ``data``, or of the bundled sample when ``data`` is None."""
    return io_load.load(resolve_data(data), mapping=mapping)
