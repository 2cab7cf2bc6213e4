"""notebooks/funnel.ipynb run for real with papermill on a small sample dataset (same generator,
2 teams x 4 reps x 12 months, so three runs stay well under a minute): company, one team and one
rep. The batch runner covers every scope; these three check the numbers against spmlib and, for
the rep, that no other rep's name, email or id appears in the outputs.
"""

from __future__ import annotations

import json

import numpy as np
import papermill as pm
import pytest

import spmlib
from spmlib.config import KERNEL_NAME, NOTEBOOKS_DIR
from spmlib.funnel.conversion import stage_funnel
from spmlib.funnel.flow import pipeline_flow
from spmlib.reports.notebook import read_glued
from spmlib.sample.generator import write_sample

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("funnel_notebook")]


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("sample"), teams=2, reps_per_team=4, months=12)


def _run(folder, out, **params):
    pm.execute_notebook(
        str(NOTEBOOKS_DIR / "funnel.ipynb"),
        str(out),
        parameters={"data": str(folder), **params},
        kernel_name=KERNEL_NAME,
        progress_bar=False,
    )
    return read_glued(out)


def _outputs_text(path) -> str:
    """Every text output (plain, HTML, Markdown, streams, glued values); images are left out,
    since their base64 data can contain any short id by chance."""
    nb = json.loads(path.read_text())
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            data = out.get("data", {})
            parts += [json.dumps(v) for k, v in data.items() if not k.startswith("image/")]
    return "\n".join(parts)


def _check_funnel(glued, expected):
    got = glued["funnel"]
    assert [r["stage"] for r in got] == expected["stage"].tolist()
    assert [r["reached"] for r in got] == expected["reached"].astype(int).tolist()
    np.testing.assert_allclose(
        [np.nan if r["conversion"] is None else r["conversion"] for r in got],
        expected["conversion"].to_numpy(dtype="float64"),
    )
    assert glued["win_rate"] == pytest.approx(expected["cumulative_conversion"].iloc[-1])


def test_company_scope_matches_spmlib(small_sample, tmp_path):
    out = tmp_path / "company.ipynb"
    glued = _run(small_sample, out)
    ds = spmlib.load(small_sample)
    _check_funnel(glued, stage_funnel(ds.opportunities, ds.stage_history, config=ds.config))
    assert glued["title"] == "Funnel and pipeline: company"
    assert len(glued["headline"]) >= 4


def test_team_scope_with_period_matches_spmlib(small_sample, tmp_path):
    out = tmp_path / "team.ipynb"
    ds = spmlib.load(small_sample)
    team = sorted(ds.reps["team"])[0]
    glued = _run(small_sample, out, team=team, start="2026-02-01", end="2026-07-31")
    t = ds.scoped(team=team)
    expected = stage_funnel(
        t.opportunities, t.stage_history, config=t.config, start="2026-02-01", end="2026-07-31"
    )
    _check_funnel(glued, expected)
    flow = pipeline_flow(
        t.opportunities, t.stage_history, config=t.config, start="2026-02-01", end="2026-07-31"
    )
    amount = next(r for r in glued["flow"] if r["measure"] == "amount")
    assert amount["open_end"] == pytest.approx(flow.set_index("measure").loc["amount", "open_end"])
    other_team = [x for x in ds.reps["team"].unique() if x != team][0]
    other_names = ds.reps.loc[ds.reps["team"] == other_team, "rep_name"]
    text = _outputs_text(out)
    assert not [n for n in other_names if n in text]


def test_rep_scope_shows_only_that_rep(small_sample, tmp_path):
    out = tmp_path / "rep.ipynb"
    ds = spmlib.load(small_sample)
    rep = ds.reps.iloc[1]
    glued = _run(small_sample, out, rep_id=str(rep["rep_id"]))
    r = ds.scoped(rep_id=str(rep["rep_id"]))
    _check_funnel(glued, stage_funnel(r.opportunities, r.stage_history, config=r.config))
    assert rep["rep_name"] in glued["title"]
    text = _outputs_text(out)
    others = ds.reps[ds.reps["rep_id"] != rep["rep_id"]]
    leaked = [
        v
        for col in ("rep_id", "rep_name", "email")
        for v in others[col].dropna().astype(str)
        if v in text
    ]
    assert not leaked, f"other reps' data in the rep report: {leaked[:5]}"
