"""spmlib: the sales performance management workbench's helper package.

Pure functions: validated DataFrames in, tidy DataFrames out. ``spmlib.load`` reads a dataset.
"""

from importlib.metadata import PackageNotFoundError, version

from spmlib.data import load
from spmlib.exceptions import DataValidationError, SpmError
from spmlib.schema import Dataset, DatasetConfig

try:
    __version__ = version("spmlib")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["load", "Dataset", "DatasetConfig", "SpmError", "DataValidationError", "__version__"]
