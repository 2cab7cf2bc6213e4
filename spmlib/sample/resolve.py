"""The bundled sample as the default dataset: ``data=None`` everywhere means the sample.

:func:`resolve_data` turns ``None`` into the sample folder (generated on first use);
:func:`load` is :func:`spmlib.io.load.load` with that default, exported as ``spmlib.load``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from spmlib.config import SAMPLE_DATA_DIR
from spmlib.io import load as io_load
from spmlib.io.schema import Dataset
from spmlib.sample.generator import ensure_sample

__all__ = ["resolve_data", "load", "previous_sample", "PREVIOUS_SAMPLE_DAYS"]

#: The sample's previous extract is taken this many days before the sample's own as-of date.
PREVIOUS_SAMPLE_DAYS = 7


def resolve_data(data: str | Path | None) -> str:
    """The dataset to load: ``data`` itself, or the sample dataset (generated on first use)."""
    if data is None or str(data) == "":
        return str(ensure_sample(SAMPLE_DATA_DIR))
    return str(data)


def previous_sample(days: int = PREVIOUS_SAMPLE_DAYS) -> str:
    """The bundled sample's previous extract: the same world as it stood ``days`` days before
    the sample's as-of date (generated on first use beside the sample, in ``<sample>-previous``),
    for "what changed since last week"."""
    current = Path(resolve_data(None))
    as_of = pd.Timestamp(yaml.safe_load((current / "dataset.yml").read_text())["as_of"])
    day = (as_of - pd.Timedelta(days=int(days))).date().isoformat()
    return str(ensure_sample(current.parent / f"{current.name}-previous", as_of=day))


def load(data: str | Path | None = None, mapping: str | Path | Any | None = None) -> Dataset:
    """:func:`spmlib.io.load.load` of ``data``, or of the bundled sample when ``data`` is None."""
    return io_load.load(resolve_data(data), mapping=mapping)
