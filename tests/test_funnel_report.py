"""The funnel report builder on the hand-made data: scopes, empty scopes, privacy, narrative."""

from __future__ import annotations

from dataclasses import replace

import pytest
from funnel_fixture import dataset

from spmlib.exceptions import SpmError
from spmlib.io.schema import empty_table
from spmlib.reports.funnel import build_funnel_report
from spmlib.reports.funnel_tables import funnel_tables
from spmlib.reports.params import FunnelParams
from spmlib.reports.scope import resolve_scope


def _build(ds=None, **scope):
    ds = ds if ds is not None else dataset()
    return build_funnel_report(ds, resolve_scope(ds, **scope), FunnelParams())


def _tables(ds=None, **scope):
    ds = ds if ds is not None else dataset()
    return funnel_tables(ds, resolve_scope(ds, **scope), FunnelParams())


def _shown_text(report) -> str:
    """Everything a reader sees: headline, intros, text blocks and every formatted table."""
    parts = [*report.headline]
    for section in report.all_sections:
        parts.append(section.intro)
        for block in section.blocks:
            parts.append(getattr(block, "markdown", ""))
        for table in section.tables:
            parts += [table.title, table.note, table.formatted(report.currency).to_csv()]
    return "\n".join(parts)


def test_company_report_numbers_and_narrative():
    r = _build()
    assert r.title == "Funnel and pipeline: company"
    # 7 deals entered, 2 won, win rate 2 / 5; most lost at C (deals 2 and 3).
    assert r.headline[0].startswith("For the whole company, 7 opportunities entered the funnel")
    assert "**40%**" in r.headline[0]
    assert r.values["win_rate"] == pytest.approx(2 / 5)
    assert "Most deals are lost at **C**" in r.headline[1]
    # Stale: deals 7 and 4 (see tests/test_pipeline.py), 700 + 400, in the data's USD.
    assert any("**2 open deals** ($1,100)" in s for s in r.headline)
    assert r.values["stale_deals"] == 2
    # Flow from the quarter start (fiscal year starting in January: 2026-01-01) to 2026-02-10.
    assert _tables().flow_period[0].isoformat()[:10] == "2026-01-01"


def test_rep_report_holds_no_other_rep():
    t = _tables(rep_id="r1")
    assert t.benchmark is not None and "team_median" in t.benchmark.columns
    for name, frame in t.frames().items():
        text = frame.to_csv()
        for other in ("r2", "r3", "r4", "Bob", "Cid", "Dee"):
            assert other not in text, (other, name)
    shown = _shown_text(_build(rep_id="r1"))
    assert "Ann" in shown and not any(o in shown for o in ("Bob", "Cid", "Dee"))


def test_empty_team_and_rep_without_deals():
    t = _tables(team="T3")
    assert int(t.funnel["reached"].sum()) == 0 and len(t.stale) == 0
    r = _build(rep_id="r4")
    assert "n/a" in r.headline[0]


def test_report_without_stage_history_says_so():
    ds = replace(dataset(), stage_history=empty_table("stage_history"))
    r = _build(ds)
    assert r.headline[0].startswith("For the whole company, 2 deals were won")
    assert any("no stage history" in s for s in r.headline)


def test_unknown_scope_is_a_clear_error():
    with pytest.raises(SpmError, match="rep_id 'zz'"):
        _build(rep_id="zz")
    with pytest.raises(SpmError, match="team 'Nope'"):
        _build(team="Nope")


def test_text_from_data_is_escaped():
    ds = dataset()
    ds = replace(ds, reps=ds.reps.assign(rep_name=ds.reps["rep_name"].replace("Ann", "<b>A</b>")))
    r = _build(ds, rep_id="r1")
    html = "".join(t.to_html(r.currency) for t in r.tables())
    assert "<b>A</b>" not in html  # the rep's own tables do not repeat the name
    assert "<b>" not in r.headline[0] and "&lt;b&gt;" in r.headline[0]
