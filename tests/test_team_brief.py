"""The team brief on the hand-made company of ``brief_fixture`` (expected values worked out in
its docstring), its email in headless Chromium, and the notebook run for real."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from brief_fixture import dataset
from report_support import examine, leaks

from spmlib.exceptions import ParameterError
from spmlib.forecast.outlook import quarter_outlook
from spmlib.reports.params import TeamBriefParams
from spmlib.reports.scope import resolve_scope
from spmlib.reports.team_brief import EMAIL_LINES, attention_lines, build_team_brief_report

#: Quick settings: a small simulation, no replay of past quarters.
QUICK = {"n_sims": 400, "measure_coverage": False}
LARGE = TeamBriefParams(large_amount=1000.0, **QUICK)


@pytest.fixture(scope="module")
def ds():
    return dataset()


def _said(report, start: str) -> str:
    """The headline sentence that starts with ``start``."""
    return next(line for line in report.headline if line.startswith(start))


def _table(report, title_start):
    section = next(s for s in report.sections if s.title.startswith(title_start))
    return section.tables[0]


def test_team_brief_reps_by_name_with_attainment_and_pace(ds):
    report = build_team_brief_report(ds, resolve_scope(ds, team="North"), LARGE)
    assert report.title == "Weekly brief: team North"
    assert report.values["quarter"] == "FY2026-Q1"
    reps = _table(report, "Reps").frame
    # 30 of the quarter's 64 weekdays are gone; pace = attainment / (30 / 64): Cy 0 / 1,000,
    # Bo 200 / 1,000 -> 0.4267, Ann 600 / 1,000 -> 1.28; lowest pace first
    assert reps["rep_name"].tolist() == ["Cy", "Bo", "Ann"]
    assert reps["attainment"].tolist() == pytest.approx([0.0, 0.2, 0.6])
    assert reps["pace"].tolist() == pytest.approx([0.0, 0.2 * 64 / 30, 0.6 * 64 / 30])
    assert reps["booked"].tolist() == [0.0, 200.0, 600.0]  # w0 closed last quarter
    assert _said(report, "**2 of") == "**2 of 3 reps behind pace**: Cy (0%), Bo (43%)."


def test_outlook_is_the_one_figure_for_this_quarter(ds):
    """The brief quotes quarter_outlook's row for its scope: the same numbers as the forecast
    report and ``spm outlook`` (same simulation, same seed)."""
    report = build_team_brief_report(ds, resolve_scope(ds, team="North"), LARGE)
    row = quarter_outlook(ds, by="team", n_sims=400).set_index("team").loc["North"]
    got = report.values["outlook"]
    for key in ("booked", "quota", "attainment", "pace", "p10", "p50", "p90", "p_quota",
                "open_pipeline", "remaining_quota", "coverage"):  # fmt: skip
        assert got[key] == pytest.approx(row[key], nan_ok=True), key
    # North: 800 booked of 3,000 (27%); open deals due by 03-31: o1 5,000, o2 100, o3 50
    assert got["booked"] == 800.0 and got["open_pipeline"] == 5150.0
    assert got["coverage"] == pytest.approx(5150 / 2200)
    # in the words every report uses (spmlib.reports.outlook.outlook_sentence)
    assert report.headline[0].startswith(
        "Team North has booked **$800** of its **$3K** FY2026-Q1 quota (27%, pace 57%"
    )
    assert "covers 2.3× what is left (target 3×)" in report.headline[0]
    table = report.sections[0].tables[0].formatted(report.currency)
    assert dict(zip(table.iloc[:, 0], table.iloc[:, 1], strict=True))["Coverage"] == "2.3×"
    assert "Monte Carlo" in report.method.intro  # says how it was made


def test_deals_needing_attention_named_with_accounts_and_reasons(ds):
    report = build_team_brief_report(ds, resolve_scope(ds, team="North"), LARGE)
    deals = _table(report, "Deals").frame
    # one reason each, so the largest first: o1 5,000, o2 100, o3 50; South's o4 is not listed
    assert deals["account"].tolist() == ["Bolt & <Sons>", "Acme", "Cobalt"]
    assert deals["rep_name"].tolist() == ["Bo", "Ann", "Cy"]
    assert deals["reasons"].tolist() == ["large and late-stage", "past close date", "stale"]
    # o3 entered Demo on 2025-11-01: 102 days to 2026-02-11
    assert deals["days_in_stage"].tolist() == [10.0, 6.0, 102.0]
    assert report.values["deals"] == 3 and report.values["deals_amount"] == 5150.0
    assert "($5,150)" in _said(report, "**3 deals need attention**")
    # the table escapes the account name
    html = _table(report, "Deals").to_html(report.currency)
    assert "Bolt &amp; &lt;Sons&gt;" in html and "<Sons>" not in html


def test_n_of_m_shown_when_cut_and_default_large_amount(ds):
    cut = build_team_brief_report(
        ds,
        resolve_scope(ds, team="North"),
        TeamBriefParams(large_amount=1000.0, max_deals=2, **QUICK),
    )
    table = _table(cut, "Deals")
    assert len(table.frame) == 2 and table.note == "2 of 3 deals shown."
    # default: the company's p90 of open amounts (50, 100, 5,000, 8,000) = 5,000 + 0.7 x 3,000
    # = 7,100, so o1 (5,000) is not large; South's o4 (8,000) is
    north = build_team_brief_report(ds, resolve_scope(ds, team="North"), TeamBriefParams(**QUICK))
    assert _table(north, "Deals").frame["account"].tolist() == ["Acme", "Cobalt"]
    south = build_team_brief_report(ds, resolve_scope(ds, team="South"), TeamBriefParams(**QUICK))
    assert _table(south, "Deals").frame["reasons"].tolist() == ["large and late-stage"]


def test_company_brief_has_teams_then_reps_and_its_email_the_teams(ds):
    report = build_team_brief_report(ds, resolve_scope(ds), LARGE)
    assert report.title == "Weekly brief: company"
    teams = _table(report, "Teams").frame
    # North 800 / 3,000 = 27%, pace 0.2667 x 64 / 30 = 57% (behind); South 900 / 1,000 = 90%
    assert teams["team"].tolist() == ["North", "South"]
    assert teams["attainment"].tolist() == pytest.approx([800 / 3000, 0.9])
    assert _said(report, "**1 of") == "**1 of 2 teams behind pace**: North (57%)."
    email_titles = [s.title for s in report.email]
    assert email_titles == [
        "Teams, FY2026-Q1", "Deals that need attention", "Since the last extract"
    ]  # fmt: skip
    assert len(_table(report, "Reps").frame) == 4


def test_links_to_the_full_reports_of_the_same_scope(ds):
    for scope, suffix in (
        (resolve_scope(ds, team="North"), "team-North"),
        (resolve_scope(ds, manager="Meg"), "manager-Meg"),
        (resolve_scope(ds), "company"),
    ):
        report = build_team_brief_report(ds, scope, LARGE)
        links = next(s for s in report.sections if s.title == "Full reports").blocks[0].markdown
        for kind in ("funnel", "productivity", "forecast"):
            assert f"({kind}__{suffix}.html)" in links


def test_manager_brief_is_the_managers_reps_and_names_no_one_else(ds):
    report = build_team_brief_report(ds, resolve_scope(ds, manager="Meg"), LARGE)
    text, problems = examine(report)
    assert problems == []
    assert leaks(text, ds.reps, {"n1", "n2", "n3"}) == []
    assert "Delta Works" not in text
    email = "\n".join(b.get("markdown", "") + b.get("html", "") for b in report.email_blocks())
    assert "Bo" in email and "Dee" not in email and "Delta Works" not in email


def test_email_lists_deals_stacked_five_at_most(ds):
    report = build_team_brief_report(ds, resolve_scope(ds, team="North"), LARGE)
    blocks = report.email_blocks()
    deals = next(b["markdown"] for b in blocks if "closes" in b.get("markdown", ""))
    assert deals.splitlines()[0] == (
        "- **Bolt &amp; &lt;Sons&gt;**, $5,000, Proposal, closes 2026-03-10, 10 days in stage: "
        "Bo (large and late-stage)"
    )
    # every email table has at most five columns (a phone)
    assert all(len(re.findall(r"<th[\s>]", b["html"])) <= 5 for b in blocks if "html" in b)
    seven = _table(report, "Deals").frame.sample(7, replace=True, random_state=1)
    assert len(attention_lines(seven, "USD")) == EMAIL_LINES == 5


def _extracts(tmp_path):
    """Last week's extract (as it stood on 2026-01-18, written as a dataset folder) and this
    one, where o3's close date has since moved from 2026-03-20 to 2026-04-20, out of the
    quarter."""
    from dataclasses import replace

    from spmlib.io.as_of import dataset_as_of
    from spmlib.io.snapshot import snapshot_dataset

    previous = snapshot_dataset(dataset_as_of(dataset(), "2026-01-18"), tmp_path / "previous")
    current = dataset()
    opps = current.opportunities.copy()
    opps.loc[opps["opp_id"] == "o3", "close_date"] = pd.Timestamp("2026-04-20")
    return str(previous), replace(current, opportunities=opps)


def test_since_last_week_on_hand_made_extracts(tmp_path):
    previous, current = _extracts(tmp_path)
    params = TeamBriefParams(large_amount=1000.0, compare_to=previous, **QUICK)
    report = build_team_brief_report(current, resolve_scope(current, team="North"), params)
    # North, 2026-01-18 -> 2026-02-11: w2 (Bo, 200) won since; o1 (5,000) and o2 (100) are
    # new; o3 (50) slipped out of the quarter; South's w3 and o4 are not North's
    assert report.values["changes"] == 4
    assert report.headline[-1] == (
        "**Since 2026-01-18**: 1 won ($200), 1 slipped ($50), 2 new ($5,100)."
    )
    section = next(s for s in report.sections if s.title == "Since 2026-01-18")
    rows = section.tables[0].frame
    # won, slipped, then new (the shared changes section's order), largest first
    assert rows["account"].tolist() == ["Bolt & <Sons>", "Cobalt", "Bolt & <Sons>", "Acme"]
    assert rows["change"].tolist() == ["won", "slipped", "new", "new"]
    # the slipped deal needs attention for that reason too (and is still stale)
    deals = _table(report, "Deals").frame.set_index("account")
    assert deals.loc["Cobalt", "reasons"] == "slipped, stale"
    email = "\n".join(b.get("markdown", "") for b in report.email_blocks())
    assert "Slipped: **Cobalt**, $50, close date 2026-03-20 → 2026-04-20 (Cy)" in email
    assert "Won: **Bolt &amp; &lt;Sons&gt;**, $200 (Bo)" in email


def test_without_a_previous_extract_the_brief_says_so(ds, tmp_path):
    report = build_team_brief_report(ds, resolve_scope(ds, team="North"), LARGE)
    section = next(s for s in report.sections if s.title == "Since the last extract")
    assert "compare_to" in section.intro and report.values["changes"] is None
    assert not any("Since" in line for line in report.headline)  # no sentence about changes
    later = snapshot_later(tmp_path)
    with pytest.raises(ParameterError, match="give an earlier extract"):
        build_team_brief_report(
            ds, resolve_scope(ds, team="North"), TeamBriefParams(compare_to=later, **QUICK)
        )


def snapshot_later(tmp_path) -> str:
    """The fixture itself as a dataset folder: not earlier than the data."""
    from spmlib.io.snapshot import snapshot_dataset

    return str(snapshot_dataset(dataset(), tmp_path / "same"))


def test_no_brief_for_one_rep(ds):
    with pytest.raises(ParameterError, match="scorecard"):
        build_team_brief_report(ds, resolve_scope(ds, rep_id="n1"), LARGE)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: The email fits about two phone screens: at most this tall at 390 px wide.
MAX_EMAIL_HEIGHT = 2400


def email_height(html_path, tmp_path, width: int = 390) -> int:
    """The height in CSS pixels of an email page drawn by headless Chromium ``width`` px wide:
    the last row of a tall screenshot that is not the page's background, plus one."""
    from PIL import Image

    shot = tmp_path / "tall.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},6000",
         f"--screenshot={shot}", html_path.as_uri()],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    with Image.open(shot) as img:
        assert img.size == (width, 6000)
        pixels = np.asarray(img.convert("RGB")).astype(int)
    background = pixels[-1, 0]
    rows = np.flatnonzero((np.abs(pixels - background).sum(axis=2) > 0).any(axis=1))
    return int(rows.max()) + 1


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
@pytest.mark.parametrize("team", ["Atlas", None])
def test_brief_notebook_email_fits_two_phone_screens(team, tmp_path):
    """The notebook run for real on the sample (a team with last week's extract, and the
    company), rendered as an email with its link to the full report, then drawn 390 px wide
    in headless Chromium: at most 2,400 px tall."""
    import papermill as pm

    from spmlib.config import PROJ_ROOT
    from spmlib.reports.mail_html import FullReport, html_with_files, render_email
    from spmlib.reports.notebook import read_glued
    from spmlib.sample.generator import write_sample

    parameters = {"team": team}
    if team:  # the same world a week earlier: the "Since last week" section is there
        previous = write_sample(tmp_path / "previous", as_of="2026-12-07")
        parameters["compare_to"] = str(previous)
    else:
        parameters["measure_coverage"] = False
    out = tmp_path / "brief.ipynb"
    pm.execute_notebook(
        str(PROJ_ROOT / "notebooks" / "team_brief.ipynb"), str(out), kernel_name="spm",
        parameters=parameters, progress_bar=False,
    )  # fmt: skip
    glued = read_glued(out)
    assert glued["email"] and glued["title"].startswith("Weekly brief")
    assert (glued["changes"] or 0) > 0 if team else glued["changes"] is None
    rendered = render_email(out, link=FullReport("https://reports.example.com/r/brief.html"))
    assert "https://reports.example.com/r/brief.html" in rendered.html
    assert rendered.images == []
    height = email_height(html_with_files(rendered, tmp_path / "mail"), tmp_path)
    assert 600 < height <= MAX_EMAIL_HEIGHT
