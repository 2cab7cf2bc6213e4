"""spmlib: the sales performance management workbench's helper package.

Pure functions: validated DataFrames in, tidy DataFrames out. ``spmlib.load`` reads a dataset.
"""

from importlib.metadata import PackageNotFoundError, version

from spmlib.exceptions import DataValidationError, SpmError
from spmlib.io.schema import Dataset, DatasetConfig

try:
    __version__ = version("spmlib")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["load", "Dataset", "DatasetConfig", "SpmError", "DataValidationError", "__version__"]


def __getattr__(name: str):
    """``spmlib.load``, imported on first use: the loader and the sample generator are not
    needed by commands that read a dataset through the engine (``spm kpis``)."""
    if name == "load":
        from spmlib.sample.resolve import load

        return load
    raise AttributeError(f"module 'spmlib' has no attribute {name!r}")
