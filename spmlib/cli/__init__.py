"""The ``spm`` command line: each command is a thin shell over spmlib functions, one module per
group of commands, imported only when its command runs (:mod:`spmlib.cli.lazy`). Data problems
are printed as a list (file, column, rule, rows, what to fix) with exit code 1, never as a
traceback. Imports every layer below."""

from spmlib.cli.common import app

__all__ = ["app"]
