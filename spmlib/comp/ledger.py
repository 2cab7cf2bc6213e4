"""Stored runs and the paid ledger under ``outputs/comp/``.

A run is written once into ``outputs/comp/<run-id>/`` and never changed: ``manifest.json`` (the
period, the plan files' hash, the data fingerprint, the inputs' hashes, the checks, totals),
``statements.parquet`` and ``lines.parquet``. The folder is written beside its final place and
renamed into it, and its files are made read-only.

``outputs/comp/paid.jsonl`` is the append-only ledger of payroll exports: one JSON line per run
paid (run id, periods, total, the payroll file, when). A period is *paid* once a run containing
it was exported to payroll; later runs never pay it again and settle its changes with
prior-period adjustments (:mod:`spmlib.comp.corrections`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from spmlib.config import OUTPUTS_DIR
from spmlib.exceptions import SpmError
from spmlib.io.files import atomic_write_json, atomic_write_text

__all__ = ["COMP_DIR", "StoredRun", "RunStore"]

#: Where compensation runs are stored.
COMP_DIR = OUTPUTS_DIR / "comp"
_PAID = "paid.jsonl"


@dataclass(frozen=True)
class StoredRun:
    """A run as stored: its folder, manifest, statements and lines."""

    run_id: str
    path: Path
    manifest: dict[str, Any]
    statements: pd.DataFrame
    lines: pd.DataFrame


class RunStore:
    """The folder of stored runs (default ``outputs/comp``) and its paid ledger."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else COMP_DIR

    # --- runs ---------------------------------------------------------------------------------

    def run_ids(self) -> list[str]:
        """Stored run ids, oldest first (by the creation time in their manifests)."""
        if not self.root.is_dir():
            return []
        found = []
        for d in self.root.iterdir():
            m = d / "manifest.json"
            if d.is_dir() and not d.name.startswith(".") and m.exists():
                found.append((json.loads(m.read_text()).get("created", ""), d.name))
        return [name for _created, name in sorted(found)]

    def resolve(self, ref: str) -> str:
        """A run id from an id, a unique prefix of one, a run folder path, or ``latest``.

        Raises
        ------
        SpmError
            When no run (or more than one) matches.
        """
        ids = self.run_ids()
        if ref == "latest":
            if not ids:
                raise SpmError(f"no stored run in {self.root}; run `spm comp run` first.")
            return ids[-1]
        name = Path(ref).name if os.sep in ref else ref
        if name in ids:
            return name
        hits = [i for i in ids if i.startswith(name)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise SpmError(f"run {ref!r} is ambiguous: {', '.join(hits[:5])}")
        known = ", ".join(ids[-5:]) or "none"
        raise SpmError(f"no run {ref!r} in {self.root} (latest: {known}).")

    def load(self, ref: str) -> StoredRun:
        """Read a stored run."""
        run_id = self.resolve(ref)
        path = self.root / run_id
        return StoredRun(
            run_id,
            path,
            json.loads((path / "manifest.json").read_text()),
            pd.read_parquet(path / "statements.parquet"),
            pd.read_parquet(path / "lines.parquet"),
        )

    def statements(self, run_id: str) -> pd.DataFrame:
        """The statements of a stored run."""
        return pd.read_parquet(self.root / run_id / "statements.parquet")

    def paying_lines(self, run_id: str) -> pd.DataFrame:
        """The paying lines of a stored run (credit lines left out when reading)."""
        return pd.read_parquet(self.root / run_id / "lines.parquet", filters=[("pays", "==", True)])

    def write(
        self, run_id: str, manifest: dict, statements: pd.DataFrame, lines: pd.DataFrame
    ) -> Path:
        """Store a new run (atomically, read-only). Refuses to replace an existing one."""
        final = self.root / run_id
        if final.exists():
            raise SpmError(f"run {run_id} already exists in {self.root}; runs are never rewritten.")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{run_id}.tmp-", dir=self.root))
        try:
            statements.to_parquet(tmp / "statements.parquet", index=False)
            lines.to_parquet(tmp / "lines.parquet", index=False)
            atomic_write_json(tmp / "manifest.json", manifest)
            for f in tmp.iterdir():
                os.chmod(f, 0o444)
            os.chmod(tmp, 0o755)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    # --- the paid ledger ----------------------------------------------------------------------

    def paid(self) -> list[dict[str, Any]]:
        """The paid ledger's records, in order."""
        path = self.root / _PAID
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def paid_periods(self) -> dict[str, str]:
        """Paid period label -> the run that paid it."""
        out: dict[str, str] = {}
        for rec in self.paid():
            for period in rec["periods"]:
                out.setdefault(period, rec["run_id"])
        return out

    def mark_paid(self, run: StoredRun, payroll_file: str, total_cents: int) -> dict:
        """Record that ``run`` was exported to payroll (once; a re-export records nothing).

        Raises
        ------
        SpmError
            When one of its periods was already paid by another run.
        """
        periods = run.manifest["periods"]
        paid = self.paid_periods()
        if any(paid.get(p) == run.run_id for p in periods):
            return next(r for r in self.paid() if r["run_id"] == run.run_id)
        clash = {p: paid[p] for p in periods if p in paid}
        if clash:
            p, other = next(iter(clash.items()))
            raise SpmError(
                f"{p} was already paid by run {other}; a period is paid once. Run the open "
                "period again: changes to paid periods become prior-period adjustments."
            )
        record = {
            "run_id": run.run_id,
            "periods": periods,
            "total_cents": int(total_cents),
            "payroll_file": str(payroll_file),
            "paid_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        path = self.root / _PAID
        text = path.read_text() if path.exists() else ""
        atomic_write_text(path, text + json.dumps(record) + "\n")
        return record
