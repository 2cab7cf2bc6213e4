"""Loading datasets: a folder of CSV or Parquet files (plus ``dataset.yml``), or an SQLAlchemy URL.

``load`` returns a typed, validated :class:`~spmlib.schema.Dataset`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import yaml

from spmlib.schema import TABLES, Dataset, DatasetConfig, empty_table

__all__ = ["load", "read_tables", "coerce_table", "derive_status", "resolve_data"]

log = logging.getLogger(__name__)


def resolve_data(data: str | Path | None) -> str:
    """The dataset to load: ``data`` itself, or the sample dataset (generated on first use)."""
    if data is None or str(data) == "":
        from spmlib.config import SAMPLE_DATA_DIR
        from spmlib.sample import ensure_sample

        return str(ensure_sample(SAMPLE_DATA_DIR))
    return str(data)


def read_tables(path: str | Path) -> tuple[dict[str, pd.DataFrame], dict, dict[str, str]]:
    """Read the raw tables of a dataset folder, without typing or validation.

    Returns (tables by name, the parsed dataset.yml, the file each table came from).
    For each table ``X`` the folder may hold ``X.parquet`` or ``X.csv`` (Parquet wins).
    """
    folder = Path(path)
    config_path = folder / "dataset.yml"
    raw_config = yaml.safe_load(config_path.read_text()) if config_path.exists() else {}
    tables, files = {}, {}
    for name in TABLES:
        for ext in ("parquet", "csv"):
            f = folder / f"{name}.{ext}"
            if f.exists():
                tables[name] = pd.read_parquet(f) if ext == "parquet" else pd.read_csv(f, dtype=str)
                files[name] = str(f)
                break
    return tables, raw_config or {}, files


def coerce_table(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Give each known column of table ``name`` its model dtype (ids and text as strings,
    dates as datetime64 at midnight, amounts as float). Unknown columns are kept as they are."""
    out = frame.copy()
    for col, kind in TABLES[name].columns.items():
        if col not in out.columns:
            continue
        s = out[col]
        if kind in ("id", "str"):
            out[col] = s.astype("string").str.strip()
        elif kind == "date":
            out[col] = pd.to_datetime(s, errors="coerce", format="mixed").dt.normalize()
            if getattr(out[col].dt, "tz", None) is not None:
                out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
            out[col] = out[col].astype("datetime64[ns]")
        elif kind == "float":
            out[col] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif kind == "int":
            out[col] = pd.to_numeric(s, errors="coerce").astype("Int64")
    return out


def derive_status(opportunities: pd.DataFrame, config: DatasetConfig) -> pd.DataFrame:
    """Copy of ``opportunities`` with ``status`` = won | lost | open derived from ``stage``."""
    out = opportunities.copy()
    status = pd.Series("open", index=out.index, dtype="string")
    status[out["stage"] == config.won_stage] = "won"
    status[out["stage"] == config.lost_stage] = "lost"
    out["status"] = status
    return out


def load(path_or_url: str | Path | None = None, mapping: str | Path | None = None) -> Dataset:
    """Load, type and validate a dataset.

    Parameters
    ----------
    path_or_url : a folder of CSV/Parquet files with ``dataset.yml``; None = the sample data.
    mapping : a mapping preset name or YAML file translating a CRM export onto the model.

    Returns
    -------
    Dataset
    """
    location = resolve_data(path_or_url)
    tables, raw_config, _files = read_tables(location)
    config = DatasetConfig.from_dict(raw_config)
    typed = {name: coerce_table(name, frame) for name, frame in tables.items()}
    typed["opportunities"] = derive_status(typed["opportunities"], config)
    for name in TABLES:
        typed.setdefault(name, empty_table(name))
    return Dataset(config=config, source=location, **typed)
