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
