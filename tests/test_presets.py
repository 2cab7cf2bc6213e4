"""Known-answer tests of the presets on exports of real-looking orgs: renamed stages, several lost
stages, stage metadata with a non-alphabetical SortOrder (tests/data/salesforce_org), labels in
varied case and two pipelines (tests/data/hubspot_org). Every expected value is worked out by
hand from the CSV files; the comment above each assertion says how.

salesforce_org, the deals (owner, stage, amount, flags; open deals' Probability / category):
  O01 Maria Signed 10000 won        O06 Maria Discovery 5000 open (-, -)
  O02 Tom   Signed  6000 won        O07 Tom   Solution Demo 8000 open (30, Best Case)
  O03 Maria Lost - Price 4000       O08 Priya Business Case 12000 open (-, -)
  O04 Tom   Lost - No Decision 3000 O09 Maria Contracting 20000 open (90, Commit)
  O05 Priya Lost - Price 2000       O10 Tom   Contracting 10000 open (-, -)
OpportunityStage.csv: Discovery 10 (10%, Pipeline), Solution Demo 20 (25%, Pipeline),
Business Case 30 (50%, Best Case), Contracting 40 (80%, Commit), Signed 50 (won),
Lost - Price 60, Lost - No Decision 70 (lost), Legacy Qualify 15 (inactive, no deal); rows in
another order. Stage history (first entries): O01 D SD BC C Signed; O02 D BC Signed; O03 D SD
lost; O04 D SD BC C lost; O05 D C BC lost; O06 D; O07 D SD; O08 D SD BC; O09 D C; O10 D BC C.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import spmlib
from spmlib.cli import app
from spmlib.exceptions import SpmError
from spmlib.forecast.pipeline import deal_probabilities, forecast_category_rollup
from spmlib.funnel.conversion import stage_funnel
from spmlib.funnel.pipeline import stage_win_probability, weighted_pipeline
from spmlib.io.load import load_checked, load_result
from spmlib.io.validate import errors_of
from spmlib.productivity.kpis import kpis
from spmlib.reports.funnel import build_funnel_report
from spmlib.reports.params import FunnelParams
from spmlib.reports.scope import resolve_scope

DATA = Path(__file__).parent / "data"
SF_OPEN = ("Discovery", "Solution Demo", "Business Case", "Contracting")


def copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(DATA / name, target)
    return target


def rewrite(path: Path, change) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(frame).to_csv(path, index=False)


@pytest.fixture(scope="module")
def sf():
    return spmlib.load(DATA / "salesforce_org", mapping="salesforce")


@pytest.fixture(scope="module")
def hs():
    return spmlib.load(DATA / "hubspot_org", mapping="hubspot")


# --- salesforce ---------------------------------------------------------------------------------


def test_salesforce_stages_follow_the_metadata(sf):
    cfg = sf.config
    # SortOrder 10, 20, 30, 40 (alphabetical would be Business Case, Contracting, ...; the
    # file lists Business Case first); the inactive Legacy Qualify has no deal and is left out
    assert cfg.open_stages == SF_OPEN
    # one won stage keeps its name; two lost stages are loaded as Closed Lost
    assert (cfg.won_stage, cfg.lost_stage) == ("Signed", "Closed Lost")
    assert cfg.won_reasons == () and cfg.lost_reasons == ("Lost - Price", "Lost - No Decision")
    # DefaultProbability / 100 and ForecastCategoryName of the open stages
    assert cfg.stage_probabilities == {
        "Discovery": 0.1,
        "Solution Demo": 0.25,
        "Business Case": 0.5,
        "Contracting": 0.8,
    }
    assert cfg.stage_forecast_categories["Business Case"] == "Best Case"
    # Organization.csv: DefaultCurrencyIsoCode EUR, FiscalYearStartMonth 2
    assert (cfg.currency, cfg.fiscal_year_start_month) == ("EUR", 2)


def test_salesforce_close_reasons_keep_the_crm_stage(sf):
    opp = sf.opportunities.set_index("opp_id")
    closed = opp.loc[["006O01", "006O03", "006O04", "006O05"]]
    assert closed["stage"].tolist() == ["Signed", "Closed Lost", "Closed Lost", "Closed Lost"]
    assert closed["close_reason"].tolist() == [
        "Signed",
        "Lost - Price",
        "Lost - No Decision",
        "Lost - Price",
    ]
    assert closed["status"].tolist() == ["won", "lost", "lost", "lost"]
    assert opp.loc["006O06", "close_reason"] is pd.NA
    # the history's lost entries are folded too (O03 entered Lost - Price on 2024-02-28)
    sh = sf.stage_history
    assert sh.loc[sh["opp_id"] == "006O03", "stage"].tolist()[-1] == "Closed Lost"


def test_salesforce_deal_probability_and_category(sf):
    opp = sf.opportunities.set_index("opp_id")
    # own Probability where given (O07 30, O09 90), else the stage's DefaultProbability
    expected = {"006O06": 0.1, "006O07": 0.3, "006O08": 0.5, "006O09": 0.9, "006O10": 0.8}
    assert opp.loc[list(expected), "probability"].to_dict() == pytest.approx(expected)
    # own ForecastCategoryName where given (O07 Best Case, O09 Commit), else the stage's
    assert opp.loc[list(expected), "forecast_category"].tolist() == [
        "Pipeline",
        "Best Case",
        "Best Case",
        "Commit",
        "Commit",
    ]


def test_salesforce_kpis(sf):
    k = kpis(sf, by="rep").set_index("rep_id")
    # Maria: O01 won 10000, O03 lost; Tom: O02 won 6000, O04 lost; Priya: O05 lost
    assert k.loc[["005A1", "005A2", "005A3"], "won"].tolist() == [1, 1, 0]
    assert k.loc[["005A1", "005A2", "005A3"], "lost"].tolist() == [1, 1, 1]
    assert k.loc[["005A1", "005A2", "005A3"], "bookings"].tolist() == [10000.0, 6000.0, 0.0]
    company = kpis(sf, by="all").iloc[0]
    # 2 won of 5 closed; 16000 booked
    assert company["win_rate"] == pytest.approx(0.4) and company["bookings"] == 16000.0


def test_salesforce_funnel_in_sort_order(sf):
    f = stage_funnel(sf.opportunities, sf.stage_history, config=sf.config)
    assert f["stage"].tolist() == [*SF_OPEN, "Signed"]
    # furthest stage: O01, O02 Signed; O04, O05, O09, O10 Contracting (O05 went D -> C -> BC:
    # the high-water mark is C); O08 Business Case; O03, O07 Solution Demo; O06 Discovery
    assert f["reached"].tolist() == [10, 9, 7, 6, 2]
    # lost at Solution Demo: O03; at Contracting: O04, O05
    assert f["lost"].fillna(0).tolist() == [0, 1, 0, 2, 0]


def test_salesforce_pipeline_weights(sf):
    w = weighted_pipeline(sf.opportunities, sf.stage_history, config=sf.config)
    assert w["stage"].tolist() == list(SF_OPEN)
    # history: closed deals reaching D and SD: O01-O05 (2 won) -> 0.4; reaching BC and C:
    # O01, O02, O04, O05 (2 won) -> 0.5
    np.testing.assert_allclose(w["win_probability"], [0.4, 0.4, 0.5, 0.5])
    # 5000 x 0.4, 8000 x 0.4, 12000 x 0.5, 30000 x 0.5
    np.testing.assert_allclose(w["weighted_amount"], [2000, 3200, 6000, 15000])
    # CRM: O06 5000 x 10%, O07 8000 x 30%, O08 12000 x 50%, O09 20000 x 90% + O10 10000 x 80%
    np.testing.assert_allclose(w["crm_weighted_amount"], [500, 2400, 6000, 26000])
    np.testing.assert_allclose(w["crm_probability"], [0.1, 0.3, 0.5, 26000 / 30000])


def test_salesforce_pipeline_forecast_uses_crm_probabilities(sf):
    # as_of 2024-04-10 (O04 lost); fiscal year from February: the quarter Feb-Apr ends 04-30.
    # One past snapshot (2024-01-09: O01 in Discovery), so Discovery has history and the other
    # stages fall back on the CRM probability when expected to close by 04-30, else 0.
    assert sf.as_of == pd.Timestamp("2024-04-10")
    p = deal_probabilities(sf).set_index("opp_id")
    crm = p.loc[["006O07", "006O08", "006O09", "006O10"]]
    assert crm["probability_source"].tolist() == ["crm"] * 4
    # O07 closes 06-30 -> 0; O08 04-25 -> 50%; O09 04-30 -> 90%; O10 06-30 -> 0
    np.testing.assert_allclose(crm["probability"], [0.0, 0.5, 0.9, 0.0])
    assert p.loc["006O06", "probability_source"] == "stage and age"
    roll = forecast_category_rollup(sf).set_index("forecast_category")
    # Commit O09 + O10, Best Case O07 + O08, Pipeline O06 (categories filled from the metadata)
    assert roll["amount"].to_dict() == {"Commit": 30000.0, "Best Case": 20000.0, "Pipeline": 5000.0}
    # booked this quarter: O01 10000 (02-15) + O02 6000 (03-20); expected 18000 + 6000 (+0)
    assert roll["cumulative_amount"].tolist() == [46000.0, 66000.0, 71000.0]
    np.testing.assert_allclose(roll["cumulative_expected"], [34000, 40000, 40000], atol=0.01)


def test_salesforce_order_from_history_without_metadata(tmp_path):
    folder = copy("salesforce_org", tmp_path)
    (folder / "OpportunityStage.csv").unlink()
    result = load_result(folder, "salesforce")
    cfg = result.dataset.config
    # first entries: D first in every deal; SD before BC in O01, O04, O08; BC before C in O01,
    # O04, O10 and after it in O05 -> D, SD, BC, C (and Copeland agrees with every pair)
    assert cfg.open_stages == SF_OPEN
    # classified by the deals' flags: Signed won, both Lost stages lost
    assert cfg.won_stage == "Signed" and cfg.lost_reasons == ("Lost - Price", "Lost - No Decision")
    assert cfg.stage_probabilities == {}
    (order,) = [i for i in result.inferences if i.subject == "open-stage order"]
    assert "Business Case before Contracting in 3 of 4 deals" in order.evidence
    assert order.evidence.startswith("stage history")
    # without defaults only the deals' own Probability weighs: O07 30%, O09 90%
    w = weighted_pipeline(
        result.dataset.opportunities, result.dataset.stage_history, config=cfg
    ).set_index("stage")
    assert w["crm_weighted_amount"].tolist() == [0.0, 2400.0, 0.0, 18000.0]
    assert np.isnan(w.loc["Discovery", "crm_probability"])


def test_salesforce_without_metadata_or_history_warns_about_the_order(tmp_path):
    folder = copy("salesforce_org", tmp_path)
    (folder / "OpportunityStage.csv").unlink()
    (folder / "OpportunityHistory.csv").unlink()
    result = load_result(folder, "salesforce")
    # only O07 (Solution Demo, 30%) and O09 (Contracting, 90%) give a Probability: they are
    # ordered by it; Discovery and Business Case have no evidence and come last, as first seen
    order = ("Solution Demo", "Contracting", "Discovery", "Business Case")
    assert result.dataset.config.open_stages == order
    (w,) = [p for p in result.problems if "position" in p.rule]
    assert w.severity == "warning" and w.column == "StageName"
    assert w.rule == (
        "the position of these open stages is unknown, they are placed last: "
        "Discovery, Business Case"
    )


def test_salesforce_sortorder_beats_the_history(tmp_path):
    folder = copy("salesforce_org", tmp_path)

    def swap(frame):  # Business Case 30 -> 45: after Contracting 40
        frame.loc[frame["MasterLabel"] == "Business Case", "SortOrder"] = "45"
        return frame

    rewrite(folder / "OpportunityStage.csv", swap)
    ds = spmlib.load(folder, mapping="salesforce")
    assert ds.config.open_stages == ("Discovery", "Solution Demo", "Contracting", "Business Case")


def test_salesforce_metadata_errors(tmp_path):
    folder = copy("salesforce_org", tmp_path)

    def bad(frame):
        frame.loc[2, "IsWon"] = "perhaps"
        return frame

    rewrite(folder / "OpportunityStage.csv", bad)
    _ds, problems = load_checked(folder, mapping="salesforce")
    (p,) = errors_of(problems)
    assert (p.file, p.column, p.rows) == ("OpportunityStage.csv", "IsWon", ("row 3: 'perhaps'",))


def test_dataset_yml_in_the_folder_overrides_the_inference(tmp_path):
    folder = copy("salesforce_org", tmp_path)
    (folder / "dataset.yml").write_text(
        "open_stages: [Discovery, Business Case, Solution Demo, Contracting]\ncurrency: USD\n"
    )
    result = load_result(folder, "salesforce")
    cfg = result.dataset.config
    assert cfg.open_stages == ("Discovery", "Business Case", "Solution Demo", "Contracting")
    assert cfg.currency == "USD" and cfg.fiscal_year_start_month == 2  # the rest still inferred
    assert cfg.lost_reasons == ("Lost - Price", "Lost - No Decision")
    notes = {str(i) for i in result.inferences}
    assert "open-stage order: as given in the dataset settings" in notes


# --- hubspot ------------------------------------------------------------------------------------


def test_hubspot_pipelines_and_labels(hs):
    cfg = hs.config
    # order by median Deal probability: 0.2, 0.4, 0.6 (the renamed Demo Booked), 0.9 / 0.5, 0.7
    assert cfg.pipelines == {
        "Sales Pipeline": (
            "Appointment Scheduled",
            "Qualified To Buy",
            "Demo Booked",
            "Contract Sent",
        ),
        "Renewals": ("Renewal Due", "Quote Sent"),
    }
    # won: Closed Won (Sales) and Renewed (Renewals); lost: Closed Lost and Churned
    assert (cfg.won_stage, cfg.won_reasons) == ("Closed Won", ("Renewed",))
    assert (cfg.lost_stage, cfg.lost_reasons) == ("Closed Lost", ("Churned",))
    opp = hs.opportunities.set_index("opp_id")
    # "Closed won", "closed lost ", "qualified to buy", "renewal due", "sales pipeline"
    assert opp.loc["201", "stage"] == "Closed Won" and opp.loc["202", "stage"] == "Closed Lost"
    assert (
        opp.loc["205", "stage"] == "Qualified To Buy" and opp.loc["305", "stage"] == "Renewal Due"
    )
    assert opp.loc["206", "pipeline"] == "Sales Pipeline"
    assert opp["pipeline"].value_counts().to_dict() == {"Sales Pipeline": 7, "Renewals": 5}
    assert opp.loc[["303", "304"], "close_reason"].tolist() == ["Renewed", "Churned"]


def test_hubspot_kpis_over_every_pipeline(hs):
    company = kpis(hs, by="all").iloc[0]
    # won 201 (5000), 207 (2500), 303 (900); lost 202, 304 -> 3 / 5, 8400 booked
    assert (company["won"], company["lost"]) == (3, 2)
    assert company["win_rate"] == pytest.approx(0.6) and company["bookings"] == 8400.0
    k = kpis(hs, by="rep").set_index("rep_id")
    # Ada: 201 won, 202 lost; José: 303 won (Renewals); Grace: 207 won, 304 lost
    assert k.loc[["ada-lovelace", "jose-nunez", "grace-hopper"], "bookings"].tolist() == [
        5000.0,
        900.0,
        2500.0,
    ]


def test_hubspot_funnel_per_pipeline(hs):
    f = stage_funnel(hs.opportunities, hs.stage_history, config=hs.config)
    sales = f[f["pipeline"] == "Sales Pipeline"]
    renewals = f[f["pipeline"] == "Renewals"]
    assert sales["stage"].tolist() == [*hs.config.pipelines["Sales Pipeline"], "Closed Won"]
    assert renewals["stage"].tolist() == ["Renewal Due", "Quote Sent", "Closed Won"]
    # no stage history: open deals reached their stage, won deals every stage (lost unknown).
    # Sales: open 203 AS, 205 QTB, 204 Demo, 206 CS + won 201, 207
    assert sales["reached"].tolist() == [6, 5, 4, 3, 2]
    # Renewals: open 301, 305 RD, 302 QS + won 303
    assert renewals["reached"].tolist() == [4, 2, 1]
    # win rate per pipeline (cumulative conversion of the won row): 2 of 3, 1 of 2
    assert sales["cumulative_conversion"].iloc[-1] == pytest.approx(2 / 3)
    assert renewals["cumulative_conversion"].iloc[-1] == pytest.approx(0.5)


def test_hubspot_pipeline_weights_per_pipeline(hs):
    w = weighted_pipeline(hs.opportunities, hs.stage_history, config=hs.config)
    assert w["pipeline"].tolist() == ["Sales Pipeline"] * 4 + ["Renewals"] * 2
    # Deal probability x amount: 1000 x .2, 1500 x .4, 3000 x .6, 4000 x .9 / (800 + 400) x .5,
    # 1200 x .7
    np.testing.assert_allclose(w["crm_weighted_amount"], [200, 600, 1800, 3600, 600, 840])
    # without history every stage weighs the pipeline's win rate: 2/3 and 1/2
    np.testing.assert_allclose(w["win_probability"], [2 / 3] * 4 + [0.5] * 2)
    np.testing.assert_allclose(
        w["weighted_amount"], [1000 * 2 / 3, 1000, 2000, 4000 * 2 / 3, 600, 600]
    )
    # probabilities computed per pipeline and passed back are split by pipeline
    probs = stage_win_probability(hs.opportunities, config=hs.config)
    again = weighted_pipeline(hs.opportunities, config=hs.config, probabilities=probs)
    pd.testing.assert_frame_equal(again, w)


def test_hubspot_pipeline_forecast_runs_per_pipeline(hs):
    p = deal_probabilities(hs)
    # the open deals of both pipelines, each with its pipeline
    assert sorted(p["opp_id"]) == ["203", "204", "205", "206", "301", "302", "305"]
    assert p.set_index("opp_id").loc["302", "pipeline"] == "Renewals"


def test_hubspot_funnel_report_covers_one_pipeline(hs):
    company = resolve_scope(hs)
    with pytest.raises(SpmError, match=r"has 2 \(Sales Pipeline, Renewals\); set pipeline"):
        build_funnel_report(hs, company, FunnelParams())
    report = build_funnel_report(hs, company, FunnelParams(pipeline="Renewals"))
    funnel = report.values["funnel"]
    assert funnel["stage"].tolist() == ["Renewal Due", "Quote Sent", "Closed Won"]
    # Renewals: 303 won, 304 lost
    assert funnel["cumulative_conversion"].iloc[-1] == pytest.approx(0.5)
    with pytest.raises(SpmError, match="pipeline 'Upsell' is not in the data"):
        build_funnel_report(hs, company, FunnelParams(pipeline="Upsell"))


def test_hubspot_without_flags_uses_default_labels_else_fails(tmp_path):
    folder = copy("hubspot_org", tmp_path)
    rewrite(folder / "deals.csv", lambda f: f.drop(columns=["Is Deal Closed?", "Is Closed Won"]))
    _ds, problems = load_checked(folder, mapping="hubspot")
    (p,) = errors_of(problems)
    assert p.file == "deals.csv" and p.column == "Deal Stage"
    assert p.rule == (
        "cannot tell whether these stages are open, won or lost: Demo Booked (Sales Pipeline), "
        "Renewal Due (Renewals), Quote Sent (Renewals), Renewed (Renewals), Churned (Renewals)"
    )
    # the user classifies them in dataset.yml; the rest is still inferred
    (folder / "dataset.yml").write_text(
        yaml.safe_dump(
            {
                "pipelines": {
                    "Sales Pipeline": [
                        "Appointment Scheduled",
                        "Qualified To Buy",
                        "Demo Booked",
                        "Contract Sent",
                    ],
                    "Renewals": ["Renewal Due", "Quote Sent"],
                },
                "won_reasons": ["Renewed"],
                "lost_reasons": ["Churned"],
            }
        )
    )
    ds = spmlib.load(folder, mapping="hubspot")
    assert ds.config.won_stage == "Closed Won" and ds.config.lost_reasons == ("Churned",)
    assert ds.opportunities["status"].value_counts().to_dict() == {"open": 7, "won": 3, "lost": 2}


def test_hubspot_stage_in_the_wrong_pipeline(tmp_path):
    folder = copy("hubspot_org", tmp_path)
    mapping = tmp_path / "fixed.yml"
    result = CliRunner().invoke(
        app, ["mapping", "init", str(folder), "--from", "hubspot", "--out", str(mapping)]
    )
    assert result.exit_code == 0, result.output

    def move(frame):  # deal 302 (Quote Sent) said to be in the Sales Pipeline
        frame.loc[frame["Record ID"] == "302", "Pipeline"] = "Sales Pipeline"
        return frame

    rewrite(folder / "deals.csv", move)
    _ds, problems = load_checked(folder, mapping=mapping)
    (p,) = errors_of(problems)
    assert p.rule == "1 deal in a stage that is not one of its pipeline's stages"
    assert p.rows == ("row 9: 'Sales Pipeline' / 'Quote Sent'",)


# --- spm validate and spm mapping init ----------------------------------------------------------


def test_cli_validate_prints_every_inference(tmp_path):
    folder = copy("salesforce_org", tmp_path)
    (folder / "OpportunityStage.csv").unlink()
    result = CliRunner().invoke(app, ["validate", str(folder), "--mapping", "salesforce"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "Inferred from the export by mapping salesforce" in out
    assert "stage 'Lost - No Decision': lost, loaded as Closed Lost" in out
    assert (
        "open-stage order: Discovery, Solution Demo, Business Case, Contracting (stage history"
        in out
    )


def test_cli_validate_prints_inferences_when_the_load_fails(tmp_path):
    folder = copy("hubspot_org", tmp_path)
    rewrite(folder / "deals.csv", lambda f: f.drop(columns=["Is Deal Closed?", "Is Closed Won"]))
    result = CliRunner().invoke(app, ["validate", str(folder), "--mapping", "hubspot"])
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "stage 'Closed Won' in pipeline 'Sales Pipeline': won (HubSpot's default label)" in out
    assert "cannot tell whether these stages are open, won or lost: Demo Booked" in out


@pytest.mark.parametrize("preset", ["salesforce", "hubspot"])
def test_mapping_init_round_trip(tmp_path, preset):
    folder = copy(f"{preset}_org", tmp_path)
    out = tmp_path / "org.yml"
    runner = CliRunner()
    result = runner.invoke(
        app, ["mapping", "init", str(folder), "--from", preset, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("# Written by `spm mapping init")
    assert "  # the won stage as analyses name it" in text
    written = yaml.safe_load(text)
    assert written["name"] == "org" and written["infer"] == preset
    # the written mapping loads the same dataset as the preset
    again, inferred = spmlib.load(folder, mapping=out), spmlib.load(folder, mapping=preset)
    assert again.config == inferred.config
    pd.testing.assert_frame_equal(again.opportunities, inferred.opportunities)
    # an existing file is kept unless --force
    result = runner.invoke(
        app, ["mapping", "init", str(folder), "--from", preset, "--out", str(out)]
    )
    assert result.exit_code == 1 and "already exists" in result.output


def test_mapping_init_dataset_yml(tmp_path):
    folder = copy("salesforce_org", tmp_path)
    result = CliRunner().invoke(
        app, ["mapping", "init", str(folder), "--from", "salesforce", "--dataset-yml"]
    )
    assert result.exit_code == 0, result.output
    settings = yaml.safe_load((folder / "dataset.yml").read_text())
    assert settings["open_stages"] == list(SF_OPEN)
    assert settings["lost_reasons"] == ["Lost - Price", "Lost - No Decision"]
    assert settings["stage_probabilities"]["Contracting"] == 0.8
    assert "dataset:" not in result.stdout and result.stdout.startswith("# Written by")


def test_mapping_init_lists_the_errors_and_exits_1(tmp_path):
    folder = copy("hubspot_org", tmp_path)
    rewrite(folder / "deals.csv", lambda f: f.drop(columns=["Is Deal Closed?", "Is Closed Won"]))
    out = tmp_path / "org.yml"
    result = CliRunner().invoke(
        app, ["mapping", "init", str(folder), "--from", "hubspot", "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "# TO DO: the export has errors" in out.read_text()
    assert "cannot tell whether these stages are open, won or lost" in out.read_text()


@pytest.mark.parametrize("name", ["sf", "hs"])
def test_batch_snapshot_keeps_reasons_and_pipelines(name, request, tmp_path):
    from spmlib.io.snapshot import data_fingerprint, snapshot_dataset

    ds = request.getfixturevalue(name)
    # the snapshot (Parquet + dataset.yml, no mapping) reloads to the same data: stages already
    # folded, close reasons, probabilities and pipelines kept
    again = spmlib.load(snapshot_dataset(ds, tmp_path / "snap"))
    assert again.config == ds.config
    pd.testing.assert_frame_equal(again.opportunities, ds.opportunities)
    assert data_fingerprint(again) == data_fingerprint(ds)
