"""The productivity and scorecard notebooks, run for real with papermill on the sample data.

They check what the notebooks recorded against spmlib, and that the HTML export of a rep's
scorecard names no other rep (name, email or id).
"""

from __future__ import annotations

import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm
import pytest
import yaml

from spmlib.config import KERNEL_NAME, NOTEBOOKS_DIR
from spmlib.reports.notebook import read_glued

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample():
    from spmlib.sample.resolve import load, resolve_data

    folder = Path(resolve_data(None))
    truth = folder / "ground_truth.yml"
    return load(folder), (yaml.safe_load(truth.read_text()) if truth.exists() else None)


def _run(name: str, out: Path, parameters: dict) -> Path:
    pm.execute_notebook(
        str(NOTEBOOKS_DIR / name),
        str(out),
        parameters=parameters,
        kernel_name=KERNEL_NAME,
        progress_bar=False,
    )
    return out


def _html(path: Path) -> str:
    from spmlib.reports.browser import notebook_to_html

    return notebook_to_html(nbformat.read(str(path), as_version=4))


def _visible(html: str) -> str:
    """HTML without embedded images (base64 can spell an id by chance)."""
    return re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "", html)


def _leaks(text: str, reps, me: str) -> list[str]:
    found = []
    for rep in reps.astype(str).itertuples(index=False):
        if rep.rep_id == me:
            continue
        if rep.rep_name in text or (rep.email and rep.email in text):
            found.append(rep.rep_name)
        if re.search(rf"\b{re.escape(rep.rep_id)}\b", _visible(text)):
            found.append(rep.rep_id)
    return found


def test_notebooks_for_a_team_and_for_reps(sample, tmp_path):
    from spmlib.productivity.activity import activity_outcomes
    from spmlib.productivity.attainment import attainment
    from spmlib.productivity.rating import rep_ratings
    from spmlib.productivity.scorecard import scorecard
    from spmlib.reports.productivity import current_period

    ds, truth = sample
    team = str(ds.reps["team"].iloc[0])
    first = str(ds.reps["rep_id"].iloc[0])
    # A rep with built-in strengths and weaknesses (else the last rep) is reviewed beside the
    # default (first) rep.
    other = str(ds.reps["rep_id"].iloc[-1])
    if truth:
        marked = [r for r, v in truth["reps"].items() if v["strengths"] and v["weaknesses"]]
        other = marked[0] if marked else other
    jobs = [
        ("productivity.ipynb", tmp_path / "prod.ipynb", {"team": team}),
        ("rep_scorecard.ipynb", tmp_path / "card_default.ipynb", {}),
        ("rep_scorecard.ipynb", tmp_path / "card_other.ipynb", {"rep_id": other}),
    ]
    with ProcessPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(_run, *zip(*jobs, strict=True)))

    # Productivity for one team: the recorded attainment is spmlib's, other teams are absent.
    glued = read_glued(done[0])
    scoped = ds.scoped(team=team)
    now = current_period(attainment(scoped, "quarter")).set_index("rep_id")["attainment"]
    assert glued["period"] and set(glued["attainment"]) == set(now.index)
    for rep, value in glued["attainment"].items():
        # A rep without a quota has no attainment: glued as null, NaN in spmlib.
        if pd.isna(now[rep]):
            assert value is None
        else:
            assert value == pytest.approx(now[rep])
    assert glued["activities"] == int(activity_outcomes(scoped)["activities"].sum())
    assert glued["title"] == f"Productivity and attainment: team {team}"
    html = _html(done[0])
    outsiders = ds.reps[ds.reps["team"] != team].astype(str)
    assert not [n for n in outsiders["rep_name"] if n in html]
    # Every table cell is formatted for reading: no raw float reprs like 792930.000000.
    assert re.findall(r">\s*-?\d+\.\d{5,}\s*<", _visible(html)) == []

    # Scorecards: same verdicts as spmlib, and no other rep anywhere in the HTML or notebook.
    for path, rep in [(done[1], first), (done[2], other)]:
        glued = read_glued(path)
        card = scorecard(ds, rep)
        assert glued["strengths"] == card.loc[card["assessment"] == "strength", "kpi"].tolist()
        assert (
            glued["areas_to_improve"]
            == card.loc[card["assessment"] == "area to improve", "kpi"].tolist()
        )
        ratings = rep_ratings(ds).set_index("rep_id")
        assert glued["rating"] == ratings.loc[rep, "rating"]
        name = ds.reps.set_index("rep_id").loc[rep, "rep_name"]
        assert glued["title"] == f"Your quarter: {name}"
        html = _html(path)
        assert name in html and "Strengths" in html and "Your rating" in html
        assert re.findall(r">\s*-?\d+\.\d{5,}\s*<", _visible(html)) == []
        assert _leaks(html, ds.reps, rep) == []
        assert _leaks(path.read_text(), ds.reps, rep) == []
    if truth:
        info = truth["reps"][other]
        glued = read_glued(done[2])
        # The built-in strengths and weaknesses of this rep show up (ground_truth.yml).
        assert set(info["strengths"]) & set(glued["strengths"]) or set(info["weaknesses"]) & set(
            glued["areas_to_improve"]
        )
