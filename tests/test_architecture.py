"""The package shows its architecture: layers point down, no import cycles, and the wheel ships
every subpackage, template and mapping preset."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import grimp
import pytest

from spmlib.config import PROJ_ROOT

SPMLIB = PROJ_ROOT / "spmlib"


def test_layer_contract_is_kept():
    # The contract is in pyproject.toml ([tool.importlinter]); lint-imports reads it.
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=PROJ_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broken" not in done.stdout.split("Contracts:")[-1].replace("0 broken", "")


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), as sorted lists."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(m: str) -> None:
        index[m] = low[m] = counter[0]
        counter[0] += 1
        stack.append(m)
        on_stack.add(m)
        for n in graph.find_modules_directly_imported_by(m) & modules:
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in on_stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            group = []
            while True:
                n = stack.pop()
                on_stack.discard(n)
                group.append(n)
                if n == m:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for m in sorted(modules):
        if m not in index:
            visit(m)
    return found


def test_no_import_cycles_between_modules():
    graph = grimp.build_graph("spmlib", cache_dir=None)
    # Package __init__ files only describe their package; cycles are between modules.
    modules = {m for m in graph.modules if not (SPMLIB / m.replace(".", "/")[7:]).is_dir()}
    assert _cycles(graph, modules) == []


def test_every_subpackage_has_a_docstring_saying_what_it_owns():
    for init in SPMLIB.rglob("__init__.py"):
        text = init.read_text()
        assert text.startswith('"""') and len(text.split('"""')[1]) > 40, init


@pytest.mark.slow
def test_wheel_ships_every_subpackage_template_and_preset(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJ_ROOT / name, src / name)
    shutil.copytree(SPMLIB, src / "spmlib", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = out.glob("spmlib-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        p.relative_to(SPMLIB.parent).as_posix()
        for p in SPMLIB.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert expected - shipped == set()
    assert any(p.startswith("spmlib/io/presets/") for p in shipped)
    assert any(p.startswith("spmlib/reports/templates/") for p in shipped)
