"""Cache folders written whole: into a temporary folder beside them, renamed into place.

A command stopped part-way (killed, out of disk space) leaves no folder that a later run would
read as complete; two processes writing the same copy at once keep the first one renamed.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["written_whole"]

log = logging.getLogger(__name__)


@contextmanager
def written_whole(folder: Path, prefix: str) -> Iterator[Path]:
    """A new temporary folder (named ``prefix...``) beside ``folder`` to write into, renamed
    to ``folder`` when the block ends without error; removed in every other case. When
    another process renamed its copy into place first, that copy is kept (the same content).

    Raises
    ------
    OSError
        When the folder cannot be written or renamed (and no other process wrote it).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=folder.parent))
    try:
        yield tmp
        try:
            tmp.rename(folder)
        except OSError:
            if not folder.is_dir():
                raise
            log.info("%s was written by another process first", folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
