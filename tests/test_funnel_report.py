"""The funnel report builder on the hand-made data: scopes, empty scopes, privacy, narrative."""

from __future__ import annotations

from dataclasses import replace

import pytest
from funnel_fixture import dataset

from spmlib.exceptions import SpmError
from spmlib.io.schema import empty_table
from spmlib.reports.funnel import build_funnel_report, headline_markdown, styled


def _frames(report):
    return [v for v in vars(report).values() if hasattr(v, "to_csv")]


def test_company_report_numbers_and_narrative():
    r = build_funnel_report(dataset())
    assert r.title == "Funnel and pipeline: company"
    # 7 deals entered, 2 won, win rate 2 / 5; most lost at C (deals 2 and 3).
    assert r.headline[0].startswith("For the whole company, 7 opportunities entered the funnel")
    assert "**40%**" in r.headline[0]
    assert "Most deals are lost at **C**" in r.headline[1]
    # Stale: deals 7 and 4 (see tests/test_pipeline.py), 700 + 400.
    assert any("**2 open deal(s)** (1,100 USD)" in s for s in r.headline)
    # Flow from the quarter start (fiscal year starting in January: 2026-01-01) to 2026-02-10.
    assert r.flow_period[0].isoformat()[:10] == "2026-01-01"


def test_rep_report_holds_no_other_rep():
    r = build_funnel_report(dataset(), rep_id="r1")
    assert r.benchmark is not None and "team_median" in r.benchmark.columns
    for frame in _frames(r):
        text = frame.to_csv()
        for other in ("r2", "r3", "r4", "Bob", "Cid", "Dee"):
            assert other not in text, (other, frame.columns.tolist())
    assert "Bob" not in headline_markdown(r)


def test_empty_team_and_rep_without_deals():
    r = build_funnel_report(dataset(), team="T3")
    assert int(r.funnel["reached"].sum()) == 0 and len(r.stale) == 0
    r = build_funnel_report(dataset(), rep_id="r4")
    assert "n/a" in r.headline[0]


def test_report_without_stage_history_says_so():
    ds = replace(dataset(), stage_history=empty_table("stage_history"))
    r = build_funnel_report(ds)
    assert r.headline[0].startswith("For the whole company, 2 deals were won")
    assert any("no stage history" in s for s in r.headline)


def test_unknown_scope_is_a_clear_error():
    with pytest.raises(SpmError, match="rep_id 'zz'"):
        build_funnel_report(dataset(), rep_id="zz")
    with pytest.raises(SpmError, match="team 'Nope'"):
        build_funnel_report(dataset(), team="Nope")


def test_styled_escapes_text_from_data():
    import pandas as pd

    html = styled(pd.DataFrame({"rep_name": ["<script>x</script>"], "win_rate": [0.5]})).to_html()
    assert "<script>" not in html and "50%" in html
