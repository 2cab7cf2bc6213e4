"""Parameters as data: YAML layering, notebook parameter parsing and checking, spec expansion."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest

from spmlib.config import PROJ_ROOT
from spmlib.exceptions import ParameterError, SpecError
from spmlib.io.schema import Dataset, DatasetConfig, empty_table
from spmlib.run.params import (
    Layer,
    check_parameters,
    load_yaml,
    merge_layers,
    notebook_parameters,
    parse_cli_value,
    read_layer,
)
from spmlib.run.plan import filter_reports, plan_reports, report_id
from spmlib.run.spec import DEFAULT_SPEC, load_spec

TEST_NB = PROJ_ROOT / "tests" / "notebooks"

# Four reps in two teams; R4 has no manager.
REPS = pd.DataFrame(
    {
        "rep_id": ["R1", "R2", "R3", "R4"],
        "rep_name": ["Ann", "Bob", "Cy", "Di"],
        "team": ["North", "North", "South", "South"],
        "manager": ["Grace", "Grace", "Barbara", None],
        "region": ["EU", "EU", "US", "US"],
    }
).astype("string")


def _data(reps: pd.DataFrame = REPS) -> Dataset:
    """A dataset of these reps (and no deals): what planning and the scope checks read."""
    config = DatasetConfig(("Open",), as_of=pd.Timestamp("2025-06-30"))
    return Dataset(config, reps, empty_table("opportunities"))


def _nb(code: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import os"),
        nbformat.v4.new_code_cell(code, metadata={"tags": ["parameters"]}),
    ]
    return nb


def test_notebook_parameters_types_defaults_and_help():
    # papermill's own inspector gives up on a comment with ';' (it reports nothing); ast does not
    nb = _nb(
        "data = None  # dataset; None = the sample\n"
        "n: int = 3  # how many\n"
        "share = 0.5\n"
        "label = 'x'\n"
        "flag = False\n"
        "names = ['a', 'b']\n"
        "when = os.getcwd()  # an expression\n"
    )
    params = notebook_parameters(nb)
    assert list(params) == ["data", "n", "share", "label", "flag", "names", "when"]
    assert [p.type_name for p in params.values()] == [
        "NoneType",
        "int",
        "float",
        "str",
        "bool",
        "list",
        "unknown",
    ]
    assert params["data"].help == "dataset; None = the sample"
    assert params["n"].default == 3 and params["n"].help == "how many"


def test_notebook_parameters_errors(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    with pytest.raises(ParameterError, match="no cell tagged 'parameters'"):
        notebook_parameters(nb)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        notebook_parameters(tmp_path / "missing.ipynb")


def test_yaml_dates_become_iso_strings(tmp_path):
    path = tmp_path / "p.yml"
    path.write_text("start: 2025-01-01\nend: 2025-03-31\nlist: [2024-02-29]\nn: 3\nempty:\n")
    assert load_yaml(path) == {
        "start": "2025-01-01",
        "end": "2025-03-31",
        "list": ["2024-02-29"],
        "n": 3,
        "empty": None,
    }
    (tmp_path / "bad.yml").write_text("- a\n- b\n")
    with pytest.raises(ParameterError, match="bad.yml: must be a mapping"):
        load_yaml(tmp_path / "bad.yml")


def test_read_layer_notebook_section(tmp_path):
    path = tmp_path / "Atlas.yml"
    path.write_text("start: 2025-01-01\nnotebooks:\n  funnel: {by: team}\n  forecast: {h: 3}\n")
    assert read_layer(path, "funnel").values == {"start": "2025-01-01", "by": "team"}
    assert read_layer(path, "forecast").values == {"start": "2025-01-01", "h": 3}
    assert read_layer(path, "other").values == {"start": "2025-01-01"}
    assert read_layer(tmp_path / "absent.yml", "funnel") is None


def test_merge_layers_later_wins_and_origin():
    values, origin = merge_layers(
        [
            Layer("defaults.yml", {"start": "2025-01-01", "n": 1}),
            None,
            Layer("teams/A.yml", {"n": 2}),
            Layer("reps/R1.yml", {"n": 3, "extra": True}),
        ]
    )
    assert values == {"start": "2025-01-01", "n": 3, "extra": True}
    assert origin == {"start": "defaults.yml", "n": "reps/R1.yml", "extra": "reps/R1.yml"}


def test_check_parameters_types():
    declared = notebook_parameters(
        _nb("team = None\nn = 3\nshare = 0.5\nlabel = 'x'\nflag = False\nnames = []\n")
    )
    ok = {"team": "A", "n": 4, "share": 1, "label": "y", "flag": True, "names": ["a"]}
    assert check_parameters(ok, declared) == []
    assert check_parameters({"team": None}, declared) == []
    bad = {"team": 5, "n": "4", "share": "x", "label": 1, "flag": 1, "names": "a"}
    origin = {k: "teams/North.yml" for k in bad}
    problems = check_parameters(bad, declared, origin, notebook="nb.ipynb")
    assert len(problems) == 6
    assert problems[0] == (
        "teams/North.yml: parameter 'team' must be str or None (the default is None), got int 5"
    )
    assert all(p.startswith("teams/North.yml: parameter '") for p in problems)
    # bool is not an int, even though Python says isinstance(True, int)
    assert check_parameters({"n": True}, declared) != []
    unknown = check_parameters({"tema": "A"}, declared, {"tema": "defaults.yml"}, "nb.ipynb")
    assert unknown == [
        "defaults.yml: unknown parameter 'tema' for nb.ipynb "
        "(its parameters: team, n, share, label, flag, names)"
    ]


def test_parse_cli_value():
    assert parse_cli_value("None") is None
    assert parse_cli_value("False") is False
    assert parse_cli_value("7") == 7 and isinstance(parse_cli_value("7"), int)
    assert parse_cli_value("2.5") == 2.5
    assert parse_cli_value("2025-01-01") == "2025-01-01"
    assert parse_cli_value("R001") == "R001"


def test_report_ids_are_safe_file_names():
    assert report_id("funnel", {"team": "Sales / EMEA"}) == "funnel__team-Sales-EMEA"
    assert report_id("rep_scorecard", {"rep_id": "R1", "team": "North"}) == "rep_scorecard__rep-R1"
    assert report_id("productivity", {}) == "productivity__company"


# --- spec expansion and layering -------------------------------------------------------------------


def _spec(tmp_path: Path, body: str, defaults: str = "", teams=None, reps=None) -> Path:
    (tmp_path / "teams").mkdir(exist_ok=True)
    (tmp_path / "reps").mkdir(exist_ok=True)
    (tmp_path / "defaults.yml").write_text(defaults)
    for name, text in (teams or {}).items():
        (tmp_path / "teams" / f"{name}.yml").write_text(text)
    for name, text in (reps or {}).items():
        (tmp_path / "reps" / f"{name}.yml").write_text(text)
    spec = tmp_path / "batch.yml"
    spec.write_text(f"notebooks_dir: {TEST_NB}\n" + body)
    return spec


def test_layering_defaults_entry_team_rep_scope(tmp_path):
    spec = _spec(
        tmp_path,
        "reports:\n"
        "  - notebook: ok\n    for_each: rep\n    parameters: {label: entry, repeat: 2}\n",
        defaults="label: default\nstart: 2025-01-01\nnotebooks:\n  ok: {repeat: 1}\n  other: {x: 1}\n",
        teams={"North": "label: north\n"},
        reps={"R2": "notebooks:\n  ok: {label: r2}\nrep_id: R9\n"},
    )
    jobs = plan_reports(load_spec(spec), _data(), "/run/data")
    by_id = {j.id: j.parameters for j in jobs}
    assert list(by_id) == ["ok__rep-R1", "ok__rep-R2", "ok__rep-R3", "ok__rep-R4"]
    # R1: defaults < entry < team file (North); the scope and the snapshot are set by the batch
    assert by_id["ok__rep-R1"] == {
        "label": "north",
        "start": "2025-01-01",
        "repeat": 2,
        "rep_id": "R1",
        "data": "/run/data",
        "mapping": None,
    }
    # R2: its own file wins over the team's, but never over the scope (rep_id stays R2)
    assert by_id["ok__rep-R2"]["label"] == "r2" and by_id["ok__rep-R2"]["rep_id"] == "R2"
    # South has no team file: the entry's value stays
    assert by_id["ok__rep-R3"]["label"] == "entry"
    assert jobs[0].scope == {"rep_id": "R1", "team": "North"}


def test_unknown_key_and_wrong_type_name_file_and_key(tmp_path):
    spec = _spec(
        tmp_path,
        "reports:\n  - notebook: ok\n    for_each: team\n",
        defaults="lable: typo\n",
        teams={"South": "repeat: many\n"},
    )
    with pytest.raises(ParameterError) as info:
        plan_reports(load_spec(spec), _data(), "/run/data")
    text = str(info.value)
    assert "defaults.yml: unknown parameter 'lable'" in text
    assert text.count("unknown parameter 'lable'") == 1  # reported once, not once per team
    assert (
        "teams/South.yml: parameter 'repeat' must be int (the default is 1), got str 'many'" in text
    )


def test_for_each_filters_and_explicit_scopes(tmp_path):
    spec = _spec(
        tmp_path,
        "reports:\n"
        "  - notebook: ok\n    for_each: team\n    where: {region: [US]}\n"
        "  - notebook: ok\n    for_each: rep\n    exclude: {team: North}\n"
        "  - notebook: ok\n    scopes: [{}, {team: North}]\n"
        "  - notebook: raises\n    for_each: team\n    timeout: 5\n",
    )
    jobs = plan_reports(load_spec(spec), _data(), "/d")
    assert [j.id for j in jobs] == [
        "ok__team-South",
        "ok__rep-R3",
        "ok__rep-R4",
        "ok__company",
        "ok__team-North",
        "raises__team-North",
        "raises__team-South",
    ]
    assert [j.timeout for j in jobs][-1] == 5
    only = filter_reports(jobs, ["team=North"])
    assert [j.id for j in only] == ["ok__team-North", "raises__team-North"]
    only = filter_reports(jobs, ["notebook=ok", "team=North", "team=South"])
    assert [j.id for j in only] == [
        "ok__team-South",
        "ok__rep-R3",
        "ok__rep-R4",
        "ok__team-North",
    ]
    with pytest.raises(SpecError, match="KEY=VALUE"):
        filter_reports(jobs, ["region=EU"])


def test_for_each_manager_needs_the_parameter(tmp_path):
    spec = _spec(tmp_path, "reports:\n  - notebook: ok\n    for_each: manager\n")
    with pytest.raises(ParameterError, match="unknown parameter 'manager'"):
        plan_reports(load_spec(spec), _data(), "/d")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "reports:\n  - notebook: nope\n",
            r"report entry 1 \(notebook: nope\): notebook file .*nope.ipynb not found",
        ),
        (
            "reports:\n  - notebook: ok\n    for_each: region\n",
            "for_each must be one of team, rep, manager",
        ),
        ("reports:\n  - notebook: ok\n    colour: red\n", "unknown key"),
        ("report: []\n", "unknown key"),
        (
            "reports:\n  - notebook: ok\n    for_each: team\n    where: {colour: red}\n",
            "filter column 'colour'",
        ),
    ],
)
def test_spec_errors(tmp_path, body, message):
    spec = _spec(tmp_path, body)
    with pytest.raises(SpecError, match=message):
        plan_reports(load_spec(spec), _data(), "/d")


def test_default_spec_checks_against_the_real_notebooks():
    """params/batch.yml: every entry's notebook exists and every parameter fits it."""
    spec = load_spec(DEFAULT_SPEC)
    reps = REPS.copy()
    reps["team"] = ["Atlas", "Atlas", "Borealis", "Borealis"]
    jobs = plan_reports(spec, _data(reps), "/run/data")
    kinds = {j.kind for j in jobs}
    assert {"funnel", "productivity", "forecast", "rep_scorecard"} <= kinds
    assert sum(j.kind == "rep_scorecard" for j in jobs) == 4
    atlas = next(j for j in jobs if j.id == "productivity__team-Atlas")
    assert atlas.parameters["ramp_months"] == 6  # params/teams/Atlas.yml


def test_snapshot_is_loaded_once_per_process_and_handed_out_as_copies(tmp_path):
    import spmlib
    from spmlib.io import snapshot
    from spmlib.io.snapshot import data_fingerprint, snapshot_dataset

    mini = PROJ_ROOT / "tests" / "data" / "mini"
    source = spmlib.load(mini)
    folder = snapshot_dataset(source, tmp_path / "data")
    assert (folder / snapshot.MARKER).exists()
    snapshot.clear_cache()
    first = spmlib.load(folder)
    assert len(snapshot._CACHE) == 1
    first.opportunities.loc[0, "amount"] = -1.0  # a report that mutates its data …
    second = spmlib.load(folder)
    assert second.opportunities is not first.opportunities
    assert (
        second.opportunities.loc[0, "amount"] == source.opportunities.loc[0, "amount"]
    )  # … changes nothing
    assert data_fingerprint(second) == data_fingerprint(source)
    # any other folder is loaded normally, never cached
    snapshot.clear_cache()
    spmlib.load(mini)
    assert snapshot._CACHE == {}


# --- the typed check of every planned report, before anything runs -------------------------------


def _real_spec(tmp_path: Path, body: str, defaults: str = "", teams=None) -> Path:
    """A spec over the real report notebooks, with its own parameter files."""
    spec = _spec(tmp_path, body, defaults=defaults, teams=teams)
    spec.write_text(f"notebooks_dir: {PROJ_ROOT / 'notebooks'}\n" + body)
    return spec


def test_a_typo_in_defaults_fails_the_plan_once_naming_file_key_and_valid_values(tmp_path):
    spec = _real_spec(
        tmp_path,
        "reports:\n"
        "  - notebook: productivity\n    scopes: [{}]\n"
        "  - notebook: productivity\n    for_each: team\n"
        "  - notebook: rep_scorecard\n    for_each: rep\n"
        "  - notebook: forecast\n    scopes: [{team: West}]\n",
        defaults="notebooks:\n  productivity: {period: quarterly}\n  forecast: {horizon: 0}\n",
        teams={"South": "start: 2025-02-30\nnotebooks:\n  rep_scorecard: {metric: bookings}\n"},
    )
    with pytest.raises(ParameterError) as info:
        plan_reports(load_spec(spec), _data(), "/run/data")
    problems = info.value.problems
    text = str(info.value)
    # 3 productivity reports (company, North, South), one line for the typo
    assert text.count("quarterly") == 1
    assert (
        "defaults.yml: unknown period 'quarterly'; valid: month, quarter, week, year, ytd" in text
    )
    assert "defaults.yml: horizon must be at least 1, got 0." in text
    # a team file: a date that does not exist, a key the scorecard does not take
    assert "teams/South.yml: start" in text and "2025-02-30" in text
    assert "teams/South.yml: metric is not a parameter of the rep_scorecard report" in text
    # an explicit scope that is not in the data
    assert "team 'West' is not in the data; teams: North, South." in text
    assert problems[0].startswith(f"{len(problems) - 1} parameter problem(s); nothing was run")


def test_a_rep_in_the_wrong_team_and_a_manager_the_notebook_cannot_take(tmp_path):
    spec = _real_spec(
        tmp_path,
        "reports:\n"
        "  - notebook: funnel\n    scopes: [{team: North, rep_id: R3}]\n"
        "  - notebook: funnel\n    for_each: manager\n",
    )
    with pytest.raises(ParameterError) as info:
        plan_reports(load_spec(spec), _data(), "/run/data")
    text = str(info.value)
    assert "rep_id 'R3' is in team 'South', not 'North'" in text
    # the report notebooks have no manager parameter: a manager report would show everyone
    assert "unknown parameter 'manager' for notebooks/funnel.ipynb" in text


def test_spm_batch_with_a_bad_parameter_starts_no_worker_and_writes_nothing(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from spmlib.cli import app
    from spmlib.run import batch

    def no_pool(*args, **kwargs):
        raise AssertionError("a worker pool was started")

    monkeypatch.setattr(batch, "LocalPool", no_pool)
    spec = _real_spec(
        tmp_path,
        "reports:\n  - notebook: productivity\n    for_each: team\n",
        defaults="notebooks:\n  productivity: {period: quarterly, ramp_months: six}\n",
    )
    out = tmp_path / "out"
    mini = PROJ_ROOT / "tests" / "data" / "mini"
    cli = CliRunner().invoke(app, ["batch", str(spec), "--data", str(mini), "--outputs", str(out)])
    assert cli.exit_code == 1, cli.output
    assert "2 parameter problem(s); nothing was run" in cli.output
    assert "unknown period 'quarterly'" in cli.output and "ramp_months" in cli.output
    assert not out.exists()


def test_spm_run_checks_the_kind_and_the_scope_before_the_kernel_starts(monkeypatch):
    from typer.testing import CliRunner

    from spmlib.cli import app
    from spmlib.run import kernels

    def no_kernel(self):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(kernels.WarmKernel, "start", no_kernel)
    mini = str(PROJ_ROOT / "tests" / "data" / "mini")
    cli = CliRunner().invoke(app, ["run", "productivity", "-p", "period", "quarterly"])
    assert cli.exit_code == 1
    assert "-p: unknown period 'quarterly'; valid: month, quarter, week, year, ytd" in cli.output
    cli = CliRunner().invoke(app, ["run", "funnel", "-p", "data", mini, "-p", "team", "West"])
    assert cli.exit_code == 1
    assert "-p: team 'West' is not in the data; teams: North, South." in cli.output
