"""Project hygiene: dependency lists agree, notebooks are committed clean."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
import yaml

from spmlib.config import NOTEBOOKS_DIR, PROJ_ROOT


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ]", req, maxsplit=1)[0].lower().replace("_", "-")


def _pins(reqs: list[str]) -> dict[str, str]:
    return {_name(r): r.replace(" ", "").lower().replace("_", "-") for r in reqs}


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((PROJ_ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    env = yaml.safe_load((PROJ_ROOT / "environment.yml").read_text())
    conda = [
        d for d in env["dependencies"] if isinstance(d, str) and _name(d) not in {"python", "pip"}
    ]
    pip_part = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_part == [{"pip": ["-e ."]}]
    assert _pins(conda) == _pins(declared)


NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_clean(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), (
        f"{path.name} has outputs; strip them (nbstripout) before committing"
    )
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name} must have exactly one cell tagged 'parameters'"


def test_outputs_placeholder_only():
    ignored = (PROJ_ROOT / ".gitignore").read_text()
    assert "/outputs/*" in ignored and (PROJ_ROOT / "outputs" / ".gitkeep").exists()


CORE_PARAMETERS = {"data", "mapping", "team", "rep_id", "start", "end"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_papermill_reads_every_parameter(path):
    """Every assignment in the parameters cell is seen by papermill (a second '=' in a trailing
    comment makes papermill skip the line, and the parameter then counts as unknown)."""
    import papermill as pm

    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    source = "".join(cell["source"])
    assigned = {
        line.split("=", 1)[0].strip().split(":")[0]
        for line in source.splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    inspected = set(pm.inspect_notebook(str(path)))
    assert inspected == assigned
    assert CORE_PARAMETERS <= inspected


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_report_parameters_agree_with_the_notebook(path):
    """Each report notebook's parameters cell declares exactly its kind's typed parameters,
    plus the data and scope parameters, with the same defaults."""
    from spmlib.reports.params import DATA_PARAMETERS, SCOPE_PARAMETERS, report_params
    from spmlib.run.params import notebook_parameters

    cls = report_params(path.stem)
    declared = notebook_parameters(path)
    own = {k: v for k, v in declared.items() if k not in DATA_PARAMETERS + SCOPE_PARAMETERS}
    assert set(own) == set(cls.names())
    defaults = cls()
    assert {k: p.default for k, p in own.items()} == {k: getattr(defaults, k) for k in own}
    assert set(DATA_PARAMETERS) <= set(declared)


#: Code lines a report notebook may hold (imports, parameters, one builder call, show).
MAX_NOTEBOOK_CODE_LINES = 40


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_a_page_not_a_program(path):
    """A report notebook loads, resolves the scope, builds its parameters, calls one builder
    and shows the result: no functions, classes or lambdas, no Styler formatting, no more than
    about 40 lines of code (the work belongs in spmlib.reports)."""
    import ast

    from spmlib.reports.builders import BUILDERS

    nb = json.loads(path.read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    lines = [
        line for src in code for line in src.splitlines() if line.strip() and not line.lstrip()
        .startswith("#")
    ]  # fmt: skip
    assert len(lines) <= MAX_NOTEBOOK_CODE_LINES, f"{path.name}: {len(lines)} code lines"
    tree = ast.parse("\n".join(code))
    for node in ast.walk(tree):
        assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef), (
            f"{path.name} defines {node.name}; move it to spmlib"
        )
        assert not isinstance(node, ast.Lambda), f"{path.name} holds a lambda; move it to spmlib"
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("style", "format"), (
                f"{path.name} formats a table itself (.{node.attr}); use the report formatter"
            )
    called = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    builder = f"build_{path.stem}_report"
    assert builder in BUILDERS[path.stem].__name__ and builder in called
    assert "show" in called and "resolve_scope" in called
