"""``python -m spmlib.cli``."""

from spmlib.cli import app

app()
