"""The run's index page is a portal: the company's reports, then one card per team with its
manager, its headline numbers (recorded by its reports, kept in the manifest), its reports, and
its reps by name with their own reports; a filter box; failures with their error; text from the
data escaped."""

from __future__ import annotations

import re

import pandas as pd

from spmlib.run.index import read_people, render_portal
from spmlib.run.job import report_summary

PEOPLE = pd.DataFrame(
    {
        "rep_id": ["R1", "R2", "R3"],
        "rep_name": ["Ada Lovelace", "Alan <Turing>", "Zoë Müller"],
        "team": ["North", "North", "South"],
        "manager": ["Grace Hopper", "Grace Hopper", "Ben Boss"],
    }
).astype("string")


def _report(rid, kind, scope, status="ok", values=None, error=None):
    return {
        "id": rid,
        "kind": kind,
        "scope": scope,
        "status": status,
        "seconds": 1.0,
        "outputs": {"html": f"reports/{rid}.html", "ipynb": f"reports/{rid}.ipynb"}
        if status == "ok"
        else {"partial": f"failed/{rid}.ipynb"},
        "error": error,
        "summary": report_summary({"title": rid, "headline": [], **(values or {})}),
    }


MANIFEST = {
    "run_id": "20261124T0912Z-3f2a",
    "status": "failed",
    "started": "2026-11-24T09:12:00Z",
    "ended": "2026-11-24T09:20:00Z",
    "spec": "params/batch.yml",
    "data_fingerprint": "sha256:" + "0" * 64,
    "spmlib_version": "0.1.0",
    "reports": [
        _report("funnel__company", "funnel", {}, values={"win_rate": 0.2412}),
        _report("funnel__team-North", "funnel", {"team": "North"}, values={"win_rate": 0.31}),
        _report(
            "forecast__team-North",
            "forecast",
            {"team": "North"},
            values={"pipeline_p50": 188470.4, "p_quota": 0.42, "chosen_method": "ets"},
        ),
        _report(
            "productivity__team-South",
            "productivity",
            {"team": "South"},
            status="failed",
            error={"cell": 3, "ename": "ValueError", "evalue": "no <data>"},
        ),
        _report("rep_scorecard__rep-R1", "rep_scorecard", {"rep_id": "R1", "team": "North"}),
        _report("rep_scorecard__rep-R2", "rep_scorecard", {"rep_id": "R2", "team": "North"}),
        _report("rep_scorecard__rep-R3", "rep_scorecard", {"rep_id": "R3", "team": "South"}),
        _report("comp_statement__rep-R1", "comp_statement", {"rep_id": "R1", "team": "North"}),
    ],
}


def _cards(html: str) -> dict[str, str]:
    return {
        re.search(r"<h2>(.*?)</h2>", card).group(1): card
        for card in re.findall(r'<section class="card".*?</section>', html, re.S)
    }


def test_the_index_groups_reports_by_team_with_managers_names_and_numbers():
    html = render_portal(MANIFEST, PEOPLE, "EUR")
    cards = _cards(html)
    assert list(cards) == ["Company", "Team North", "Team South"]
    north = cards["Team North"]
    assert "Manager: Grace Hopper" in north
    # headline numbers from the values the reports recorded, formatted for people
    assert "<b>€188,470</b>This period&#39;s bookings, most likely (P50)" in north
    assert "<b>42%</b>Chance of reaching quota" in north and "<b>31%</b>Win rate" in north
    assert "<b>24%</b>Win rate" in cards["Company"]
    # reps by name, with their own reports; never a bare id
    assert "<td>Ada Lovelace</td>" in north and "<td>Alan &lt;Turing&gt;</td>" in north
    assert re.search(r'href="reports/rep_scorecard__rep-R1.html"[^>]*>Rep scorecard</a>', north)
    assert 'href="reports/comp_statement__rep-R1.html"' in north
    visible = re.sub(r"<[^>]+>", " ", html)
    assert not re.search(r"\bR[123]\b", visible)
    assert "Zoë Müller" in cards["Team South"] and "Manager: Ben Boss" in cards["Team South"]


def test_failures_show_their_error_and_link_only_the_partial_notebook():
    south = _cards(render_portal(MANIFEST, PEOPLE))["Team South"]
    assert 'href="reports/productivity__team-South.html"' not in south
    assert 'href="failed/productivity__team-South.ipynb">partial notebook</a>' in south
    assert "cell 3: ValueError: no &lt;data&gt;" in south


def test_the_index_has_a_filter_box_with_inline_script_only():
    html = render_portal(MANIFEST, PEOPLE)
    assert '<input id="q" type="search"' in html
    assert html.count("<script>") == 1 and "src=" not in html.split("<script>")[1]
    assert 'data-find="ada lovelace r1"' in html


def test_without_the_snapshot_reps_show_by_id_under_their_team(tmp_path):
    assert read_people(tmp_path) == (None, "USD")
    north = _cards(render_portal(MANIFEST))["Team North"]
    assert "<td>R1</td>" in north and "Manager" not in north


def test_people_and_currency_come_from_the_snapshot(tmp_path):
    PEOPLE.to_csv(tmp_path / "reps.csv", index=False)
    (tmp_path / "dataset.yml").write_text("currency: EUR\n")
    people, currency = read_people(tmp_path)
    assert currency == "EUR" and list(people["rep_name"]) == list(PEOPLE["rep_name"])
