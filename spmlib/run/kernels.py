"""Warm Jupyter kernels for the report runner: started once, reused with a clean namespace.

Starting a kernel and importing pandas, statsmodels and seaborn costs seconds; running a report
notebook costs a fraction of that. A :class:`WarmKernel` is started once (with bounded retries,
see below), imports the heavy libraries, and then runs report after report. Before every report
:meth:`WarmKernel.reset` clears the user namespace (``%reset -f``), closes every figure and
restores the working directory, so each report starts from a clean namespace while the imported
modules stay in ``sys.modules``.

The kernel is always this interpreter's ``spm`` kernel: its spec is read from
``<sys.prefix>/share/jupyter/kernels/spm`` (where ``make setup`` registers it) and, when that is
missing, built from ``sys.executable``. A kernel of the same name in the user's
``~/.local/share/jupyter`` can therefore never shadow it.

Known failure modes handled here:

* **port collisions** when many kernels start at once: kernels talk over Unix-domain sockets
  (``transport="ipc"``) on POSIX, so no TCP port is ever picked; a start that still fails
  (``ZMQError``, a kernel that dies at start) is retried with backoff.
* **kernels that never become ready**: ``wait_for_ready`` has a timeout; the half-started
  kernel is killed and the start retried (bounded).
* **another checkout's code**: a kernel imports from its working folder first, so it is
  started in this spmlib's project folder and never picks up the ``spmlib`` of the folder the
  batch was started from.
* **a shared IPython history database**: kernels start with the history manager disabled
  (:data:`KERNEL_ARGUMENTS`), so no report shows "Session/line number was not unique".
* **leftover kernel processes**: :meth:`WarmKernel.shutdown` kills the kernel and reaps it,
  every kernel still alive at interpreter exit is killed by an ``atexit`` hook, and a kernel
  whose parent process dies (a killed worker) ends by itself: its parent-death signal is
  SIGKILL and a watchdog thread checks its parent (:func:`spmlib.run.lifeline.die_with_parent`,
  set when it warms up), and ipykernel's own poller watches ``JPY_PARENT_PID``.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import sys
import tempfile
import time
import uuid
import weakref
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from jupyter_core.utils import run_sync

from spmlib.config import KERNEL_NAME, PROJ_ROOT
from spmlib.exceptions import KernelStartError

__all__ = [
    "DEFAULT_WARM_IMPORTS",
    "KERNEL_ARGUMENTS",
    "WarmKernel",
    "kernel_spec",
    "kill_and_reap",
]

log = logging.getLogger(__name__)

#: Modules a warm kernel imports before its first report (missing ones are skipped).
DEFAULT_WARM_IMPORTS: tuple[str, ...] = (
    "numpy",
    "pandas",
    "scipy.stats",
    "statsmodels.api",
    "matplotlib.pyplot",
    "seaborn",
    "IPython.display",
    "spmlib",
    "spmlib.reports.notebook",
    "spmlib.reports.plotting",
    "spmlib.productivity.kpis",
    "spmlib.io.overview",
    "spmlib.funnel.conversion",
    "spmlib.productivity.activity",
    "spmlib.productivity.scorecard",
    "spmlib.forecast.series",
)

#: Extra command-line options of every kernel: no IPython history database. Kernels running at
#: once would share ``history.sqlite``, and restarting the execution count for each report writes
#: the same (session, line) twice ("Session/line number was not unique in database").
KERNEL_ARGUMENTS: tuple[str, ...] = ("--HistoryManager.enabled=False",)

_LIVE: weakref.WeakSet[WarmKernel] = weakref.WeakSet()


def kernel_spec() -> KernelSpec:
    """The spec of this interpreter's ``spm`` kernel (never one from another Jupyter path).

    Returns the spec registered in ``<sys.prefix>/share/jupyter/kernels/spm`` when it exists and
    runs a Python; otherwise a spec that runs ``sys.executable -m ipykernel_launcher``.
    """
    folder = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    spec_file = folder / "kernel.json"
    if spec_file.exists():
        raw = json.loads(spec_file.read_text())
        spec = KernelSpec(resource_dir=str(folder), **raw)
        if spec.argv and Path(spec.argv[0]).exists():
            return spec
        log.warning(
            "kernel %s at %s runs a missing program; using %s", KERNEL_NAME, folder, sys.executable
        )
    return KernelSpec(
        argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name="SPM workbench (.venv)",
        language="python",
        resource_dir=str(folder),
    )


class _ThisInterpreterSpecs(KernelSpecManager):
    """A spec manager that knows one kernel: this interpreter's ``spm`` kernel."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:  # noqa: D102
        return kernel_spec()

    def find_kernel_specs(self) -> dict[str, str]:  # noqa: D102
        return {KERNEL_NAME: kernel_spec().resource_dir}


class WarmKernel:
    """One running ``spm`` kernel with the heavy libraries already imported.

    Parameters
    ----------
    warm_imports : modules imported right after start (a missing module is skipped); spmlib
        itself is always imported first.
    startup_timeout : seconds to wait for the kernel to answer before retrying.
    retries : how many times a failed start is retried (with 0.5 s, 1 s, 2 s … backoff).

    Attributes
    ----------
    km, kc : the jupyter_client kernel manager and its (async) client, for nbclient.
    reports_run : how many reports ran on this kernel (the runner recycles it after N).
    """

    def __init__(
        self,
        warm_imports: tuple[str, ...] = DEFAULT_WARM_IMPORTS,
        startup_timeout: float = 60.0,
        retries: int = 3,
    ):
        self.warm_imports = tuple(warm_imports)
        self.startup_timeout = startup_timeout
        self.retries = retries
        self.km: AsyncKernelManager | None = None
        self.kc: Any = None
        self.reports_run = 0
        self.pid: int | None = None

    # --- life cycle ------------------------------------------------------------------------------

    def start(self) -> WarmKernel:
        """Start the kernel and import the warm modules, retrying a failed start with backoff."""
        last: BaseException | None = None
        for attempt in range(self.retries + 1):
            try:
                self._start_once()
                self._warm()
                _LIVE.add(self)
                return self
            except Exception as exc:  # ZMQError, RuntimeError, TimeoutError, dead kernel …
                last = exc
                log.warning("kernel start failed (attempt %d): %s", attempt + 1, exc)
                self.shutdown()
                time.sleep(0.5 * 2**attempt)
        raise KernelStartError(
            f"the {KERNEL_NAME!r} kernel did not start after {self.retries + 1} attempts "
            f"({type(last).__name__}: {last}); check that ipykernel is installed in "
            f"{sys.prefix} (make setup)"
        ) from last

    def _start_once(self) -> None:
        kwargs: dict[str, Any] = {"kernel_name": KERNEL_NAME}
        kwargs["kernel_spec_manager"] = _ThisInterpreterSpecs()
        ipc = _ipc_prefix() if os.name == "posix" else None
        if ipc is not None:
            kwargs["transport"] = "ipc"
        km = AsyncKernelManager(**kwargs)
        runtime = Path(jupyter_runtime_dir())
        runtime.mkdir(parents=True, exist_ok=True)
        km.connection_file = str(runtime / f"kernel-spm-{uuid.uuid4().hex[:12]}.json")
        if ipc is not None:
            km.ip = ipc  # the ports become suffixes: <prefix>-1 … <prefix>-5
        self.km = km
        env = os.environ.copy()
        env.pop("PYDEVD_USE_FRAME_EVAL", None)
        env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        # ipykernel exits within a second once this process is gone (killed worker: no orphan)
        env["JPY_PARENT_PID"] = str(os.getpid())
        # started in the project folder: a kernel imports from its working folder first ('' on
        # sys.path), so it imports this spmlib even when started from another checkout's folder
        run_sync(km.start_kernel)(
            env=env, extra_arguments=list(KERNEL_ARGUMENTS), cwd=str(PROJ_ROOT)
        )
        self.pid = _kernel_pid(km)
        kc = km.client()
        kc.start_channels()
        self.kc = kc
        run_sync(kc.wait_for_ready)(timeout=self.startup_timeout)

    def _warm(self) -> None:
        lines = [
            # end with this process, also when it is killed outright (spmlib.run.lifeline)
            "import signal as _sig",
            "from spmlib.run.lifeline import die_with_parent as _dwp",
            f"_dwp({os.getpid()}, _sig.SIGKILL)",
            "del _sig, _dwp",
            "import importlib as _il",
            "import spmlib",  # from the project folder the kernel started in (see _start_once)
            f"for _m in {list(self.warm_imports)!r}:",
            "    try:",
            "        _il.import_module(_m)",
            "    except ImportError:",
            "        pass",
            # Move everything imported so far out of the garbage collector's reach: the full
            # collection that every `%reset -f` runs then only scans the objects of the last
            # report (0.005 s instead of 0.3 s with pandas, statsmodels and seaborn loaded).
            "import gc as _gc",
            "_gc.collect()",
            "_gc.freeze()",
        ]
        self.run_code("\n".join(lines), timeout=self.startup_timeout * 3)
        self.reset(os.getcwd())

    def alive(self) -> bool:
        """True while the kernel process runs."""
        return self.km is not None and bool(run_sync(self.km.is_alive)())

    def shutdown(self) -> None:
        """Stop the channels, kill the kernel process and reap it; safe to call twice."""
        kc, km, self.kc, self.km = self.kc, self.km, None, None
        _LIVE.discard(self)
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception:  # pragma: no cover - best effort
                pass
        if km is not None:
            try:
                run_sync(km.shutdown_kernel)(now=True)
            except Exception as exc:  # pragma: no cover - best effort
                log.debug("shutdown_kernel: %s", exc)
        if self.pid is not None:
            kill_and_reap(self.pid)
            self.pid = None

    def kill(self) -> None:
        """SIGKILL the kernel process (from any thread; used by the report watchdog)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # --- code -----------------------------------------------------------------------------------

    def run_code(self, code: str, timeout: float = 60.0) -> dict:
        """Run ``code`` silently (no history) and return the reply content; raise on an error."""
        reply = run_sync(self.kc.execute_interactive)(
            code, store_history=False, timeout=timeout, output_hook=lambda msg: None
        )
        content = reply["content"]
        if content.get("status") != "ok":
            raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")
        return content

    def reset(self, cwd: str | os.PathLike[str]) -> None:
        """Clean namespace for the next report: clear user variables, close figures, set cwd."""
        code = (
            "get_ipython().run_line_magic('reset', '-f')\n"
            "__import__('matplotlib.pyplot').pyplot.close('all')\n"
            f"__import__('os').chdir({str(cwd)!r})\n"
            "get_ipython().execution_count = 1\n"
        )
        self.run_code(code)


def _ipc_prefix() -> str | None:
    """A unique, short socket path prefix for one kernel, in a private folder under the temp
    dir (Unix socket paths are limited to ~100 bytes); None when even that is too long."""
    folder = Path(tempfile.gettempdir()) / f"spm-ipc-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    prefix = str(folder / f"k{uuid.uuid4().hex[:10]}")
    return prefix if len(prefix) + 4 < 100 else None


def _kernel_pid(km: AsyncKernelManager) -> int | None:
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    return getattr(process, "pid", None)


def kill_and_reap(pid: int) -> None:
    """SIGKILL a kernel process and reap it if it is our child (no zombie left behind)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.02)


@atexit.register
def _shutdown_all() -> None:
    for kernel in list(_LIVE):
        kernel.shutdown()
