"""Processes that end when their parent dies: a batch's workers and their kernels.

A worker process is started by the batch's main process, a kernel by its worker. When the parent
is killed outright (``kill -9``, the out-of-memory killer), nothing runs its clean-up, and a
child that is waiting for work or running a report would go on: workers keep taking the reports
already queued, kernels keep their memory (about 1.2 GB for a batch). :func:`die_with_parent`
ties a child's life to its parent's in two independent ways:

1. **Linux**: ``prctl(PR_SET_PDEATHSIG, sig)`` through :mod:`ctypes`: the kernel sends ``sig``
   to the child the moment the parent (strictly: the parent *thread* that started it) ends.
2. **Everywhere**: a daemon thread checks every ``poll`` seconds that the parent is still the
   parent (``os.getppid()``: an orphan is re-parented at once); when it is not, it sends ``sig``
   to its own process, and ends the process outright (``os._exit``) if it is still alive
   ``grace`` seconds later.

A worker uses ``SIGTERM``, whose handler stops its report and shuts its kernel down; a kernel
uses ``SIGKILL`` (nothing to clean up). ipykernel's own parent poller (``JPY_PARENT_PID``, see
:mod:`spmlib.run.kernels`) is a third guard for kernels.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
import time

__all__ = ["die_with_parent", "parent_death_signal"]

log = logging.getLogger(__name__)

#: ``PR_SET_PDEATHSIG`` and ``PR_GET_PDEATHSIG`` of ``<linux/prctl.h>``.
_PR_SET_PDEATHSIG, _PR_GET_PDEATHSIG = 1, 2


def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):  # pragma: no cover - no libc (unusual Linux)
        return None


def parent_death_signal() -> int:
    """The signal this process gets when its parent dies (0: none, or not Linux)."""
    prctl = _prctl()
    if prctl is None:
        return 0
    value = ctypes.c_int(0)
    if prctl(_PR_GET_PDEATHSIG, ctypes.byref(value), 0, 0, 0) != 0:  # pragma: no cover
        return 0
    return value.value


def _end(sig: int, grace: float) -> None:
    """Send ``sig`` to this process; end it outright if it is still alive after ``grace``."""
    log.warning("parent process gone: ending process %d", os.getpid())
    os.kill(os.getpid(), sig)
    time.sleep(grace)
    os._exit(1)


def die_with_parent(
    parent_pid: int, sig: int = signal.SIGTERM, poll: float = 1.0, grace: float = 10.0
) -> None:
    """Make this process end when its parent ``parent_pid`` ends (see the module docstring).

    Parameters
    ----------
    parent_pid : the process that started this one (passed down by the parent itself, so a
        parent that died before this call is noticed: this process has been re-parented then).
    sig : the signal to end with (SIGTERM lets a handler clean up; SIGKILL does not wait).
    poll : seconds between two checks of the watchdog thread.
    grace : seconds the process has, after ``sig``, before it is ended outright.

    Notes
    -----
    When this process is not a direct child of ``parent_pid`` (a kernel started through a
    wrapper script), neither guard is installed: the parent-death signal would follow the
    wrapper, and ``getppid`` would never change.
    """
    if os.getppid() != parent_pid:
        if _pid_exists(parent_pid):
            return  # not a direct child: nothing sure to watch
        _end(sig, grace)  # the parent died before we got here
    prctl = _prctl()
    if prctl is not None and prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:  # pragma: no cover
        log.debug("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    if os.getppid() != parent_pid:  # it died between the check and prctl
        _end(sig, grace)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll)
        _end(sig, grace)

    threading.Thread(target=watch, name="spm-lifeline", daemon=True).start()


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True
