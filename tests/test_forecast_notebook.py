"""Run notebooks/forecast.ipynb with papermill and compare what it recorded with spmlib."""

from __future__ import annotations

import json

import nbformat
import pytest

from spmlib.config import KERNEL_NAME, NOTEBOOKS_DIR

NB = NOTEBOOKS_DIR / "forecast.ipynb"
FAST = dict(origins=2, horizon=3, methods="snaive,ets,theta", n_sims=500)


def test_notebook_structure():
    nb = nbformat.read(NB, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert nb.metadata["kernelspec"] == {
        "name": "spm",
        "display_name": "SPM workbench (.venv)",
        "language": "python",
    }
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    src = tagged[0].source
    for name in ("data", "mapping", "team", "rep_id", "start", "end", "freq", "horizon", "method"):
        assert f"\n{name} = " in "\n" + src
    # Every parameter line has a help comment that papermill can parse (no second "=").
    for line in src.splitlines():
        assert "  # " in line and line.count("=") == 1, line


@pytest.mark.slow
@pytest.mark.parametrize("team", [None, "Atlas"])
def test_notebook_runs_and_matches_spmlib(tmp_path, team):
    pm = pytest.importorskip("papermill")
    from spmlib.forecast.calibrate import predict_series
    from spmlib.forecast.series import bookings_series
    from spmlib.reports.notebook import read_glued
    from spmlib.reports.outlook import scope_outlook
    from spmlib.reports.scope import resolve_scope
    from spmlib.sample.resolve import load

    out = tmp_path / "forecast.ipynb"
    pm.execute_notebook(
        str(NB),
        str(out),
        parameters={**FAST, "team": team},
        kernel_name=KERNEL_NAME,
        progress_bar=False,
    )
    g = read_glued(out)
    ds = load(None).scoped(team=team)
    s = bookings_series(ds, "M")
    y = s.loc[s["complete"], "value"].to_numpy()
    # The notebook's forecast() is predict_series on each series: same choice, same MASE.
    table = predict_series(y, 3, 12, "auto", FAST["origins"], ["snaive", "ets", "theta"]).selection
    assert g["chosen_method"] == table.loc[table["chosen"], "method"].item()
    assert g["chosen_mase"] == pytest.approx(table.loc[table["chosen"], "mase"].item())
    assert g["title"].endswith("team Atlas" if team else "company")
    # this quarter's outlook is the team brief's and `spm outlook`'s: one simulation of the whole
    # company summed by team (the replay calibration only adds its measured coverage)
    whole = load(None)
    own = scope_outlook(whole, resolve_scope(whole, team=team), n_sims=500).iloc[0]
    assert own["level"] == ("team" if team else "company")
    assert g["pipeline_p50"] == pytest.approx(own["p50"])
    assert g["headline"] and all(isinstance(x, str) for x in g["headline"])
    texts = []
    for cell in nbformat.read(out, as_version=4).cells:
        for o in cell.get("outputs", []):
            data = {k: v for k, v in o.get("data", {}).items() if not k.startswith("image/")}
            texts.append(json.dumps(data) + o.get("text", ""))
    text = "\n".join(texts)
    assert "Pipeline" in text or "Commit" in text  # the category table was rendered
    if team:
        # A team report shows only that team's reps: no other rep's id or name anywhere.
        everyone = load(None).reps
        others = everyone[everyone["team"] != team]
        assert not any(r in text for r in others["rep_id"])
        assert not any(n in text for n in others["rep_name"])
