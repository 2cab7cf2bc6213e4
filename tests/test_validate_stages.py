"""The stage settings of dataset.yml without any preset: close reasons, pipelines, stage
probabilities and forecast categories, on copies of tests/data/mini (6 deals: O1, O3, O5 won, O2
lost, O4 open in Proposal, O6 open in Prospecting)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

import spmlib
from spmlib.exceptions import SpmError
from spmlib.forecast.pipeline import deal_probabilities
from spmlib.funnel.conversion import stage_funnel
from spmlib.funnel.progress import deal_progress
from spmlib.io.load import load_checked
from spmlib.io.schema import DatasetConfig
from spmlib.io.validate import check_config, errors_of

MINI = Path(__file__).parent / "data" / "mini"


def mini(tmp_path: Path, settings: dict, change=None) -> Path:
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    base = yaml.safe_load((MINI / "dataset.yml").read_text())
    for key, value in settings.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    (folder / "dataset.yml").write_text(yaml.safe_dump(base))
    if change is not None:
        path = folder / "opportunities.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        change(frame).to_csv(path, index=False)
    return folder


def rules(settings: dict) -> list[str]:
    base = {"open_stages": ["Prospecting", "Proposal"], **settings}
    return [p.rule for p in check_config(base)[1]]


def test_config_rules():
    assert rules({"lost_reasons": ["Lost - Price", "Lost - Price"]}) == [
        "lost_reasons lists a stage twice"
    ]
    assert rules({"won_reasons": ["Proposal"]}) == ["won_reasons names open stages: Proposal"]
    assert rules({"won_reasons": ["Gone"], "lost_reasons": ["Gone"]}) == [
        "stages both won and lost: Gone"
    ]
    assert rules({"pipelines": {"A": ["Demo"]}}) == [
        "give open_stages (one pipeline) or pipelines (several), not both"
    ]
    assert rules({"stage_probabilities": {"Proposal": 1.5, "Demo": 0.2}}) == [
        "stage_probabilities names stages that are not open stages: Demo",
        "stage_probabilities must be from 0 to 1: Proposal: 1.5",
    ]
    bad = check_config({"pipelines": {"A": [], "B": ["x", "x"]}})[1]
    assert [p.rule for p in bad] == [
        "pipeline 'A' must list at least one open stage",
        "pipeline 'B' lists a stage twice",
    ]
    cfg, problems = check_config({"pipelines": {"A": ["Demo", "Offer"], "B": ["Due", "Offer"]}})
    assert problems == [] and cfg.open_stages == ("Demo", "Offer", "Due")


def test_config_round_trip():
    cfg = DatasetConfig.from_dict(
        {
            "pipelines": {"A": ["Demo"], "B": ["Due"]},
            "lost_reasons": ["Lost - Price"],
            "stage_probabilities": {"Demo": 0.3},
            "stage_forecast_categories": {"Due": "Commit"},
        }
    )
    assert DatasetConfig.from_dict(cfg.to_dict()) == cfg
    assert "open_stages" not in cfg.to_dict()


def test_close_reasons_in_a_native_dataset(tmp_path):
    def lost_variants(frame):  # O2 lost on price; a second lost deal's stage also folded
        frame.loc[frame["opp_id"] == "O2", "stage"] = "Lost - Price"
        return frame

    folder = mini(tmp_path, {"lost_reasons": ["Lost - Price", "Lost - Timing"]}, lost_variants)
    ds = spmlib.load(folder)
    opp = ds.opportunities.set_index("opp_id")
    assert opp.loc["O2", ["stage", "status", "close_reason"]].tolist() == [
        "Closed Lost",
        "lost",
        "Lost - Price",
    ]
    # every closed deal keeps its CRM stage as close reason; open ones have none
    assert opp.loc["O1", "close_reason"] == "Closed Won" and pd.isna(opp.loc["O4", "close_reason"])
    # an unknown variant is still an error, naming the reasons as valid values
    folder = mini(tmp_path / "b", {"lost_reasons": ["Lost - Timing"]}, lost_variants)
    _ds, problems = load_checked(folder)
    (p,) = errors_of(problems)
    assert "'Lost - Price'" in p.rows and "or a close reason: Lost - Timing" in p.rule


def test_stage_defaults_in_a_native_dataset(tmp_path):
    folder = mini(
        tmp_path,
        {
            "stage_probabilities": {"Prospecting": 0.1, "Proposal": 0.4},
            "stage_forecast_categories": {"Proposal": "Best Case"},
        },
    )
    opp = spmlib.load(folder).opportunities.set_index("opp_id")
    # open deals take their stage's defaults; closed deals are left alone
    assert opp.loc["O4", ["probability", "forecast_category"]].tolist() == [0.4, "Best Case"]
    assert opp.loc["O6", "probability"] == 0.1 and pd.isna(opp.loc["O6", "forecast_category"])
    assert pd.isna(opp.loc["O1", "probability"])


def test_pipelines_in_a_native_dataset(tmp_path):
    pipelines = {"New": ["Prospecting", "Proposal"], "Renewal": ["Negotiation"]}

    def assign(frame):
        frame["pipeline"] = ["New", "New", "Renewal", "New", "Renewal", "New"]
        return frame

    folder = mini(tmp_path, {"open_stages": None, "pipelines": pipelines}, assign)
    ds = spmlib.load(folder)
    f = stage_funnel(ds.opportunities, ds.stage_history, config=ds.config)
    assert f[["pipeline", "stage"]].values.tolist() == [
        ["New", "Prospecting"],
        ["New", "Proposal"],
        ["New", "Closed Won"],
        ["Renewal", "Negotiation"],
        ["Renewal", "Closed Won"],
    ]
    # New: O1 won, O2 lost, O4, O6 open -> 1 of 2 closed won; Renewal: O3, O5 won
    won = f[f["stage"] == "Closed Won"].set_index("pipeline")["cumulative_conversion"]
    assert won.to_dict() == {"New": 0.5, "Renewal": 1.0}
    with pytest.raises(SpmError, match="deal_progress needs the stages of one pipeline"):
        deal_progress(ds.opportunities, ds.stage_history, config=ds.config)
    assert ds.for_pipeline("Renewal").opportunities["opp_id"].tolist() == ["O3", "O5"]
    # a pipeline without deals: its funnel is all zeros, the forecast skips it
    pipelines["Upsell"] = ["Pitch"]
    ds = spmlib.load(mini(tmp_path / "b", {"open_stages": None, "pipelines": pipelines}, assign))
    f = stage_funnel(ds.opportunities, ds.stage_history, config=ds.config)
    assert f.loc[f["pipeline"] == "Upsell", "reached"].tolist() == [0, 0]
    # open deals O4 (New) and O6 (New) at the reference date 2024-06-30
    assert deal_probabilities(ds)["opp_id"].tolist() == ["O4", "O6"]


def test_pipeline_errors(tmp_path):
    pipelines = {"New": ["Prospecting", "Proposal"], "Renewal": ["Negotiation"]}
    folder = mini(tmp_path, {"open_stages": None, "pipelines": pipelines})
    _ds, problems = load_checked(folder)
    (p,) = errors_of(problems)
    assert p.rule == "the deals follow several pipelines but have no pipeline column"

    def wrong(frame):  # O4 (Proposal) in Renewal; O6 in an unknown pipeline
        frame["pipeline"] = ["New", "New", "Renewal", "Renewal", "Renewal", "Upsell"]
        return frame

    folder = mini(tmp_path / "b", {"open_stages": None, "pipelines": pipelines}, wrong)
    _ds, problems = load_checked(folder)
    found = {p.rule: p.rows for p in errors_of(problems)}
    assert found == {
        "1 deal in a pipeline that dataset.yml does not list (pipelines: New, Renewal)": (
            "row 6: 'Upsell'",
        ),
        "1 deal in a stage that is not one of its pipeline's stages": (
            "row 4: 'Renewal' / 'Proposal'",
        ),
        # O4's history (Prospecting, Proposal) is not Renewal's either
        "2 stage changes in a stage that is not one of its pipeline's stages": (
            "row 4: 'Renewal' / 'Prospecting'",
            "row 5: 'Renewal' / 'Proposal'",
        ),
    }


def test_probability_out_of_range(tmp_path):
    def percent(frame):
        frame["probability"] = ["", "", "", "40", "", "0.1"]
        return frame

    _ds, problems = load_checked(mini(tmp_path, {}, percent))
    (p,) = errors_of(problems)
    assert (p.column, p.rule, p.rows) == (
        "probability",
        "1 probability outside 0-1",
        ("row 4: '40.0'",),
    )
    assert "scale: {probability: 0.01}" in p.hint
