"""spmlib: the sales performance management workbench's helper package.

Pure functions: validated DataFrames in, tidy DataFrames out. ``spmlib.load`` reads a dataset.
"""

from importlib.metadata import PackageNotFoundError, version

from spmlib.exceptions import DataValidationError, SpmError
from spmlib.io.schema import Dataset, DatasetConfig
from spmlib.sample.resolve import load

try:
    __version__ = version("spmlib")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["load", "Dataset", "DatasetConfig", "SpmError", "DataValidationError", "__version__"]
