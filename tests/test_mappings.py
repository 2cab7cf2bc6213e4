"""Known-answer tests of the CRM mappings: the salesforce and hubspot presets on hand-made exports
(tests/data/salesforce, tests/data/hubspot), a custom mapping file, and the worked Maven example
(params/mappings/maven_crm.yml) on the public sample when it is present.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import spmlib
from spmlib.config import PARAMS_DIR, SHARED_DATA_DIR
from spmlib.exceptions import DataValidationError, SpmError, UnknownNameError
from spmlib.io.load import load_checked
from spmlib.io.mappings import list_mappings, load_mapping
from spmlib.io.validate import errors_of

DATA = Path(__file__).parent / "data"
MAVEN = SHARED_DATA_DIR / "maven_crm_sales_opportunities"


def copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(DATA / name, target)
    return target


def rewrite(path: Path, change) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(frame).to_csv(path, index=False)


# --- salesforce -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sf():
    return spmlib.load(DATA / "salesforce", mapping="salesforce")


def test_salesforce_reps_and_managers(sf):
    reps = sf.reps.set_index("rep_id")
    assert list(reps.index) == ["005A1", "005A2", "005A3", "005M1"]
    # ManagerId 005M1 -> User.csv Name of 005M1; Helen has no manager and no Department
    assert reps["manager"].tolist()[:3] == ["Helen Brooks"] * 3
    assert pd.isna(reps.loc["005M1", "manager"])
    assert reps["team"].tolist() == ["Enterprise", "Enterprise", "SMB", "Unassigned"]
    assert reps.loc["005A2", "email"] == "tom@example.com"


def test_salesforce_opportunities(sf):
    opp = sf.opportunities.set_index("opp_id")
    # status from IsClosed/IsWon: O1, O4 won; O2 closed not won = lost; O3, O5 open
    assert opp["status"].to_dict() == {
        "006O1": "won",
        "006O2": "lost",
        "006O3": "open",
        "006O4": "won",
        "006O5": "open",
    }
    # O5 has no Amount: filled with 0 -> 12000 + 8000 + 5000 + 3000 + 0
    assert opp["amount"].sum() == 28000.0 and opp.loc["006O5", "amount"] == 0.0
    # CreatedDate 2024-01-31T23:30:00.000Z is still Jan 31 in UTC (the preset's time zone)
    assert opp.loc["006O2", "created_date"] == pd.Timestamp("2024-01-31")
    assert opp.loc["006O1", "close_date"] == pd.Timestamp("2024-02-20")
    assert opp.loc["006O2", "lead_source"] == "Partner Referral"
    assert opp.loc["006O1", "opp_name"] == "Acme renewal"  # extra column kept
    # open stages inferred (no stage metadata): flags say open; the history orders Prospecting
    # before Qualification (deal O1); no deal entered both Qualification and Proposal/Price Quote,
    # so Salesforce's default order places them
    assert sf.config.open_stages == ("Prospecting", "Qualification", "Proposal/Price Quote")


def test_salesforce_stage_history_keeps_first_entry_per_stage(sf):
    sh = sf.stage_history
    # 6 history rows; O1 has two Qualification rows (01-12 and 01-15): the earliest is kept
    assert len(sh) == 5
    o1 = sh[sh["opp_id"] == "006O1"].set_index("stage")["entered_date"]
    assert o1.to_dict() == {
        "Prospecting": pd.Timestamp("2024-01-05"),
        "Qualification": pd.Timestamp("2024-01-12"),
        "Closed Won": pd.Timestamp("2024-02-20"),
    }


def test_salesforce_fills_are_reported(sf):
    rules = sorted(w.rule for w in sf.warnings)
    assert len(rules) == 3
    assert rules[0].startswith("1 empty amount values filled with '0'")
    assert rules[1].startswith("1 empty team values filled with 'Unassigned'")
    assert rules[2] == "1 rep with no deals"


def test_salesforce_time_zone_changes_the_date():
    mapping = replace(load_mapping("salesforce"), timezone="Asia/Tokyo")
    ds = spmlib.load(DATA / "salesforce", mapping=mapping)
    created = ds.opportunities.set_index("opp_id")["created_date"]
    # UTC+9: 01-31 23:30Z -> 02-01 08:30; 04-02 16:45Z -> 04-03 01:45; 01-05 09:15Z stays 01-05
    assert created["006O2"] == pd.Timestamp("2024-02-01")
    assert created["006O5"] == pd.Timestamp("2024-04-03")
    assert created["006O1"] == pd.Timestamp("2024-01-05")


def test_salesforce_without_history(tmp_path):
    folder = copy("salesforce", tmp_path)
    (folder / "OpportunityHistory.csv").unlink()
    ds = spmlib.load(folder, mapping="salesforce")
    assert ds.stage_history.empty and len(ds.opportunities) == 5


def test_salesforce_flag_errors(tmp_path):
    folder = copy("salesforce", tmp_path)

    def change(frame):
        frame.loc[2, "IsWon"] = "true"  # row 3: Proposal/Price Quote, open, but flagged won
        frame.loc[4, "IsClosed"] = "maybe"  # row 5
        return frame

    rewrite(folder / "Opportunity.csv", change)
    with pytest.raises(DataValidationError) as info:
        spmlib.load(folder, mapping="salesforce")
    found = {(p.column, p.rule, p.rows) for p in info.value.problems if p.severity == "error"}
    assert ("IsClosed", "1 values are not true/false", ("row 5",)) in found
    assert ("IsWon", "1 deals won but not closed", ("row 3",)) in found


def test_salesforce_status_must_agree_with_stage(tmp_path):
    folder = copy("salesforce", tmp_path)

    def change(frame):
        frame.loc[0, "IsWon"] = "false"  # row 1: Closed Won but closed and not won -> lost
        return frame

    rewrite(folder / "Opportunity.csv", change)
    _ds, problems = load_checked(folder, mapping="salesforce")
    (p,) = errors_of(problems)
    assert p.file == "Opportunity.csv" and "status disagrees with the stage" in p.rule
    assert p.rows == ("row 1: 'Closed Won' / 'lost'",)


def test_salesforce_missing_file_and_column(tmp_path):
    folder = copy("salesforce", tmp_path)
    rewrite(folder / "User.csv", lambda f: f.drop(columns=["Name"]))
    (folder / "Opportunity.csv").unlink()
    _ds, problems = load_checked(folder, mapping="salesforce")
    rules = {(p.file, p.rule) for p in errors_of(problems)}
    assert ("User.csv", "required column 'Name (rep_name)' is missing from table reps") in rules
    assert (
        "Opportunity.csv",
        "source file 'Opportunity.csv' for table opportunities is missing",
    ) in rules


# --- hubspot --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hs():
    return spmlib.load(DATA / "hubspot", mapping="hubspot")


def test_hubspot_reps_from_owners(hs):
    # distinct "Deal owner" names -> slug ids; the deal without owner -> rep "no-owner"
    assert hs.reps[["rep_id", "rep_name", "team"]].values.tolist() == [
        ["ada-lovelace", "Ada Lovelace", "West"],
        ["jose-nunez", "José Núñez", "East"],
        ["grace-hopper", "Grace Hopper", "Unassigned"],
        ["no-owner", "No owner", "Unassigned"],
    ]


def test_hubspot_deals(hs):
    opp = hs.opportunities.set_index("opp_id")
    assert list(opp.index) == ["101", "102", "103", "104", "105", "106"]
    assert opp["status"].value_counts().to_dict() == {"open": 3, "won": 2, "lost": 1}
    # 4000 + 1500 + 2200 + 0 (104 has no Amount) + 900 + 700
    assert opp["amount"].sum() == 9300.0
    assert opp.loc["101", "created_date"] == pd.Timestamp("2024-01-03")
    assert opp.loc["105", "close_date"] == pd.Timestamp("2024-03-10")
    assert opp.loc["106", "rep_id"] == "no-owner" and opp.loc["103", "rep_id"] == "jose-nunez"
    assert not [w for w in hs.warnings if "excluded" in w.rule]  # every pipeline is loaded
    # no closed/won columns: the default labels classify the stages, in the default order
    assert hs.config.open_stages == ("Appointment Scheduled", "Qualified To Buy", "Contract Sent")


def test_hubspot_owner_in_two_teams_is_a_duplicate(tmp_path):
    folder = copy("hubspot", tmp_path)

    def change(frame):
        frame.loc[1, "HubSpot Team"] = "East"  # Ada's second deal says East
        return frame

    rewrite(folder / "deals.csv", change)
    _ds, problems = load_checked(folder, mapping="hubspot")
    (p,) = errors_of(problems)
    assert p.rule == "1 duplicated id in 'Deal owner (rep_id)'"
    assert p.rows == ("'ada-lovelace' (rows 1, 2)",)


def test_hubspot_unknown_stage(tmp_path):
    folder = copy("hubspot", tmp_path)

    def change(frame):
        frame.loc[2, "Deal Stage"] = "Negotiation"
        return frame

    rewrite(folder / "deals.csv", change)
    _ds, problems = load_checked(folder, mapping="hubspot")
    (p,) = errors_of(problems)  # without closed/won columns a custom label cannot be classified
    assert p.column == "Deal Stage"
    assert p.rule == "cannot tell whether these stages are open, won or lost: Negotiation"


# --- mapping files --------------------------------------------------------------------------------


def test_unknown_mapping_lists_the_presets():
    with pytest.raises(UnknownNameError) as info:
        load_mapping("pipedrive")
    assert {"salesforce", "hubspot", "maven_crm"} <= set(info.value.valid)
    assert "salesforce" in str(info.value)
    assert {"salesforce", "hubspot", "maven_crm"} <= set(list_mappings())


def test_bad_mapping_files(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("tables:\n  reps: {file: a.csv, colums: {}}\n")
    with pytest.raises(SpmError, match="unknown key"):
        load_mapping(bad)
    bad.write_text("tables:\n  deals: {file: a.csv}\n")
    with pytest.raises(SpmError, match="unknown table 'deals'"):
        load_mapping(bad)
    with pytest.raises(SpmError, match="does not exist"):
        load_mapping(tmp_path / "absent.yml")
    bad.write_text(
        "timezone: Mars/Base\ntables: {reps: {file: a.csv}, opportunities: {file: b.csv}}\n"
    )
    with pytest.raises(SpmError, match="unknown time zone 'Mars/Base'"):
        load_mapping(bad)


CUSTOM = """
name: custom
timezone: UTC
dataset: {open_stages: [open], won_stage: won, lost_stage: lost}
tables:
  reps:
    file: people.csv
    columns: {rep_id: who, rep_name: who}
    constants: {team: Solo}
  opportunities:
    file: deals.csv
    columns: {opp_id: id, rep_id: who, stage: state, amount: value,
              created_date: opened, close_date: closed}
    values:
      stage: {W: won, L: lost, O: open}
    date_format: "%d/%m/%Y"
"""


def test_custom_mapping_recodes_values_and_dates(tmp_path):
    (tmp_path / "people.csv").write_text("who\nkim\nlee\n")
    (tmp_path / "deals.csv").write_text(
        "id,who,state,value,opened,closed\n"
        "1,kim,W,100,05/01/2024,20/02/2024\n"
        "2,lee,L,50,31/01/2024,01/03/2024\n"
        "3,lee,O,70,15/03/2024,30/06/2024\n"
    )
    mapping = tmp_path / "custom.yml"
    mapping.write_text(CUSTOM)
    ds = spmlib.load(tmp_path, mapping=mapping)
    opp = ds.opportunities
    assert opp["stage"].tolist() == ["won", "lost", "open"]
    assert opp["status"].tolist() == ["won", "lost", "open"]
    # day-first format: 05/01/2024 is 5 January
    assert (
        opp["created_date"].tolist()
        == pd.to_datetime(["2024-01-05", "2024-01-31", "2024-03-15"]).tolist()
    )
    assert ds.reps["team"].tolist() == ["Solo", "Solo"]
    # a month-first date is then unparseable, and reported with the expected format
    (tmp_path / "deals.csv").write_text(
        "id,who,state,value,opened,closed\n1,kim,W,100,01/31/2024,20/02/2024\n"
    )
    _ds, problems = load_checked(tmp_path, mapping=mapping)
    (p,) = errors_of(problems)
    assert p.column == "opened (created_date)" and p.rows == ("row 1: '01/31/2024'",)
    assert p.hint == "Write dates as '%d/%m/%Y'"


# --- the worked example: Maven CRM ----------------------------------------------------------------


@pytest.fixture(scope="module")
def maven():
    if not MAVEN.is_dir():
        pytest.skip(f"public sample absent: {MAVEN}")
    return spmlib.load(MAVEN, mapping=PARAMS_DIR / "mappings" / "maven_crm.yml")


def test_maven_counts_match_plain_pandas(maven):
    # independent count with plain pandas on the raw files
    pipe = pd.read_csv(MAVEN / "sales_pipeline.csv")
    teams = pd.read_csv(MAVEN / "sales_teams.csv")
    kept = pipe[pipe["engage_date"].notna()]  # Prospecting deals (no engage_date) are excluded
    assert len(maven.opportunities) == len(kept) == 8300
    assert len(maven.reps) == len(teams) == 35
    assert maven.reps["team"].nunique() == teams["manager"].nunique() == 6
    status = maven.opportunities["status"].value_counts().to_dict()
    assert status == {
        "won": int((pipe["deal_stage"] == "Won").sum()),
        "lost": int((pipe["deal_stage"] == "Lost").sum()),
        "open": int((pipe["deal_stage"] == "Engaging").sum()),
    }
    opp = maven.opportunities
    won_value = pipe.loc[pipe["deal_stage"] == "Won", "close_value"].sum()
    assert opp.loc[opp["status"] == "won", "amount"].sum() == pytest.approx(won_value)
    # open deals are valued at the product list price (GTXPro is "GTX Pro" in products.csv)
    prices = pd.read_csv(MAVEN / "products.csv").set_index("product")["sales_price"]
    engaging = kept[kept["deal_stage"] == "Engaging"]
    expected_open = engaging["product"].replace({"GTXPro": "GTX Pro"}).map(prices).sum()
    assert opp.loc[opp["status"] == "open", "amount"].sum() == pytest.approx(expected_open)
    assert (opp.loc[opp["status"] == "open", "close_date"] == pd.Timestamp("2017-12-31")).all()


def test_maven_exclusions_and_fills_are_counted(maven):
    rules = [w.rule for w in maven.warnings]
    assert any(r.startswith("500 rows excluded because created_date is empty") for r in rules)
    assert any(
        r.startswith("2,089 empty close_date values filled with '2017-12-31'") for r in rules
    )
    assert any(r.startswith("2,089 empty amount values filled from products.csv") for r in rules)
    assert "5 reps with no deals" in rules


def test_mapping_yaml_keeps_yes_no_as_text_and_rejects_bad_shapes(tmp_path):
    (tmp_path / "people.csv").write_text("who,active\nkim,Yes\nlee,No\n")
    (tmp_path / "deals.csv").write_text(
        "id,who,state,value,opened,closed\n1,kim,W,100,05/01/2024,20/02/2024\n"
    )
    mapping = tmp_path / "custom.yml"
    # `Yes` would be the boolean True in plain YAML 1.1 and match nothing
    mapping.write_text(
        CUSTOM.replace(
            "    constants: {team: Solo}", "    constants: {team: Solo}\n    keep: {active: [Yes]}"
        )
    )
    ds = spmlib.load(tmp_path, mapping=mapping)
    assert ds.reps["rep_id"].tolist() == ["kim"]
    (excluded,) = [w for w in ds.warnings if "excluded" in w.rule]
    assert excluded.rows == ("row 2",)
    mapping.write_text(CUSTOM.replace("constants: {team: Solo}", "keep: {active: Yes}"))
    with pytest.raises(SpmError, match="`keep` of 'active' has the wrong shape"):
        load_mapping(mapping)
    mapping.write_text("tables: [reps\n")
    with pytest.raises(SpmError, match="is not valid YAML"):
        load_mapping(mapping)
