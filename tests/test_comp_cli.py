"""`spm comp` end to end on the bundled sample (6 teams x 8 reps, fiscal year from February,
as of 2026-12-14) with the sample plan in params/comp."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from spmlib.cli import app
from spmlib.comp.ledger import RunStore
from spmlib.comp.payroll import check_payroll, read_payroll, write_payroll
from spmlib.config import PARAMS_DIR
from spmlib.sample.generator import ensure_sample

runner = CliRunner()


@pytest.fixture(scope="module")
def sample():
    return str(ensure_sample())


def comp(*args):
    result = runner.invoke(app, ["comp", *map(str, args)])
    return result


def test_run_pays_the_year_so_far_and_stores_an_immutable_run(sample, tmp_path):
    out = tmp_path / "runs"
    result = comp("run", sample, "--period", "FY2027-Q3", "--outputs", out, "--format", "csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert list(table.columns) == [
        "rep_id",
        "rep_name",
        "plan",
        "period",
        "credited",
        "quota",
        "attainment",
        "earnings",
        "spifs",
        "draw_paid",
        "draw_recovered",
        "draw_balance",
        "clawbacks",
        "adjustments",
        "payout",
    ]
    # the first run of the year pays FY2027-Q1..Q3 for the 48 reps; R024, hired 2026-05-16
    # (assignments.csv starts on the hire date), has no statement for Q1 (Feb-Apr)
    assert sorted(table["period"].unique()) == ["FY2027-Q1", "FY2027-Q2", "FY2027-Q3"]
    assert table["rep_id"].nunique() == 48
    paid = set(zip(table["rep_id"], table["period"], strict=True))
    every = {(r, p) for r in table["rep_id"].unique() for p in table["period"].unique()}
    assert every - paid == {("R024", "FY2027-Q1")} and len(table) == 48 * 3 - 1
    # R003 left on 2026-09-15: 46 of 92 days in Q3; the sample adjustments are paid with reasons
    store = RunStore(out)
    run = store.load("latest")
    st = run.statements.set_index(["rep_id", "period"])
    assert st.loc[("R003", "FY2027-Q3"), ["active_days", "period_days"]].tolist() == [46, 92]
    assert st.loc[("R003", "FY2027-Q3"), "target_incentive_cents"] == 500_000
    adj = run.lines[run.lines["kind"] == "adjustment"].set_index("rep_id")
    assert (
        adj.loc["R005", "amount_cents"] == 75_000 and "Referral bonus" in adj.loc["R005", "reason"]
    )
    # manifest: plan hash, data fingerprint, checks; lines in Parquet, read-only
    m = run.manifest
    assert m["plans_hash"].startswith("sha256:") and m["data_fingerprint"].startswith("sha256:")
    assert all(c["ok"] for c in m["checks"]) and len(m["checks"]) == 3
    assert m["total_payout_cents"] == int(run.lines.loc[run.lines["pays"], "amount_cents"].sum())
    assert not (run.path / "lines.parquet").stat().st_mode & 0o222
    # splits: revenue credits conserve every deal; overlays add credit on top
    credit = run.lines[run.lines["kind"] == "credit"]
    assert {"owner", "revenue", "overlay"} <= set(credit["rule"].str.removeprefix("credit: "))
    assert "stored in" in result.stderr and "ok split conservation" in result.stderr


def test_rerun_on_the_same_inputs_gives_identical_cents(sample, tmp_path):
    out = tmp_path / "runs"
    for _ in range(2):
        assert comp("run", sample, "--period", "FY2027-Q3", "--outputs", out).exit_code == 0
    store = RunStore(out)
    a, b = (store.load(r) for r in store.run_ids())
    assert a.manifest["lines_hash"] == b.manifest["lines_hash"]
    assert any(c["check"] == "rerun identical (stored)" and c["ok"] for c in b.manifest["checks"])
    diff = comp("diff", a.run_id, b.run_id, "--outputs", out, "--format", "csv")
    assert diff.exit_code == 0 and "same inputs" in diff.stderr
    assert diff.stdout.strip().splitlines()[1:] == []


def test_payroll_reconciles_and_paid_periods_get_prior_period_adjustments(sample, tmp_path):
    out, data = tmp_path / "runs", tmp_path / "data"
    shutil.copytree(sample, data)
    assert comp("run", data, "--period", "FY2027-Q2", "--outputs", out).exit_code == 0
    csv = tmp_path / "q2.csv"
    paid = comp("payroll", "latest", "--out", csv, "--outputs", out)
    assert paid.exit_code == 0, paid.output
    assert "ok statements = payroll" in paid.stderr
    q2 = RunStore(out).load("latest")
    file = read_payroll(csv)
    assert int(file["payout_cents"].sum()) == int(q2.statements["payout_cents"].sum())
    # a Q2 deal of R018 (not split) was booked 10,000 too low. R018's Q2 was at 291,770 of
    # 178,500 (163.46%, tier 3 x3, under the 3 x TI cap): 10,000 more is 10,000 / 178,500 of
    # attainment at 3 x TI 10,000 = 1,680.67 more earnings; in cents per statement
    # (1 + 0.5 x 2 + 0.134566 x 3 = 2.403697 -> 24,036.97; 0.190588 x 3 -> 25,717.65) the
    # lines differ by 1,680.68. Q2 is paid, so Q3 pays it.
    splits = pd.read_csv(data / "splits.csv", dtype=str)
    opp = pd.read_csv(data / "opportunities.csv", dtype=str)
    won = opp[
        (opp["rep_id"] == "R018")
        & (opp["status"] == "won")
        & opp["close_date"].between("2026-05-01", "2026-07-31")
        & ~opp["opp_id"].isin(splits["opp_id"])
    ]
    opp.loc[won.index[0], "amount"] = str(float(won["amount"].iloc[0]) + 10_000)
    opp.to_csv(data / "opportunities.csv", index=False)
    assert (
        q2.statements.set_index(["rep_id", "period"]).loc[("R018", "FY2027-Q2"), "credited_cents"]
        == 29_177_000
    )
    again = comp("run", data, "--period", "FY2027-Q2", "--outputs", out)
    assert again.exit_code == 1 and "was paid by run" in again.stderr
    q3 = comp("run", data, "--period", "FY2027-Q3", "--outputs", out, "--format", "csv")
    assert q3.exit_code == 0, q3.output
    run = RunStore(out).load("latest")
    assert run.manifest["periods"] == ["FY2027-Q3"] and run.manifest["builds_on"] == [q2.run_id]
    ppa = run.lines[run.lines["kind"] == "prior_period_adjustment"]
    assert ppa[["rep_id", "ref_period", "amount_cents"]].values.tolist() == [
        ["R018", "FY2027-Q2", 168_068]
    ]
    assert (ppa["ref_run"] == q2.run_id).all()
    assert "credited 291,770.00 -> 301,770.00" in ppa["reason"].iloc[0]
    st = run.statements.set_index("rep_id")
    assert st.loc["R018", "adjustments_cents"] == 168_068
    assert RunStore(out).load(q2.run_id).manifest["lines_hash"] == q2.manifest["lines_hash"]


def test_payroll_file_escapes_formulas(tmp_path):
    st = pd.DataFrame(
        {
            "rep_id": ["R1", "@R2"],
            "rep_name": ['=HYPERLINK("http://x","y")', "-Bo"],
            "period": ["FY2027-Q3"] * 2,
            "payout_cents": [123456, -500],
            "currency": ["USD"] * 2,
        }
    )
    csv = write_payroll(st, tmp_path / "p.csv")
    lines = csv.read_text().splitlines()
    assert lines[0] == "rep_id,rep_name,period,payout,currency"
    assert lines[1] == 'R1,"\'=HYPERLINK(""http://x"",""y"")",FY2027-Q3,1234.56,USD'
    assert lines[2] == "'@R2,'-Bo,FY2027-Q3,-5.00,USD"
    xlsx = write_payroll(st, tmp_path / "p.xlsx")
    ws = load_workbook(xlsx).active
    assert ws["B2"].value == '=HYPERLINK("http://x","y")' and ws["B2"].data_type == "s"
    assert ws["D2"].value == 1234.56 and ws["D3"].value == -5
    for path in (csv, xlsx):
        assert check_payroll(st, path)["ok"]
    assert read_payroll(csv)["rep_id"].tolist() == ["R1", "@R2"]


def test_diff_explains_a_manual_adjustment(sample, tmp_path):
    out, plans = tmp_path / "runs", tmp_path / "plans"
    shutil.copytree(PARAMS_DIR / "comp", plans)
    assert (
        comp(
            "run", sample, "--period", "FY2027-Q3", "--outputs", out, "--plans", plans, "--dry-run"
        ).exit_code
        == 0
    )
    assert not out.exists()  # dry run stores nothing
    assert (
        comp("run", sample, "--period", "FY2027-Q3", "--outputs", out, "--plans", plans).exit_code
        == 0
    )
    with open(plans / "adjustments.csv", "a") as fh:
        fh.write("ADJ-2026-003,R010,FY2027-Q3,1000.00,Spot award for the Q3 kickoff demo\n")
    assert (
        comp("run", sample, "--period", "FY2027-Q3", "--outputs", out, "--plans", plans).exit_code
        == 0
    )
    ids = RunStore(out).run_ids()
    diff = comp("diff", ids[0], ids[1], "--outputs", out, "--format", "json")
    assert diff.exit_code == 0, diff.output
    rows = json.loads(diff.stdout)
    assert [(r["rep_id"], r["period"], r["change"]) for r in rows] == [
        ("R010", "FY2027-Q3", 1000.0)
    ]
    assert "Spot award for the Q3 kickoff demo" in rows[0]["why"]
    assert "adjustments.csv changed" in diff.stderr


def test_curve_flags_cliffs_and_draws_the_plot(tmp_path):
    plan = tmp_path / "retro.yml"
    raw = (
        (PARAMS_DIR / "comp" / "ae.yml").read_text().replace("type: graduated", "type: retroactive")
    )
    plan.write_text(raw)
    png = tmp_path / "curve.png"
    result = comp("curve", plan, "--plot", png, "--format", "csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert table.loc[table["attainment"] == 1.0, "note"].iloc[0].startswith("cliff: tier edge")
    assert "cliff at 100% (tier edge): pay jumps from 1 to 2 x TI (10,000.00 USD)" in result.stderr
    assert png.stat().st_size > 1000


def test_plan_errors_name_the_key_without_traceback(sample, tmp_path):
    plans = tmp_path / "plans"
    shutil.copytree(PARAMS_DIR / "comp", plans)
    text = (plans / "ae.yml").read_text().replace("threshold: 0.5", "threshold: half")
    (plans / "ae.yml").write_text(text)
    result = comp("run", sample, "--plans", plans, "--outputs", tmp_path / "o")
    assert result.exit_code == 1
    assert "rate_table.threshold: must be a number, got 'half'" in result.stderr
    assert "Traceback" not in result.output
    bad = comp("run", sample, "--period", "2026-Q3", "--outputs", tmp_path / "o")
    assert bad.exit_code == 1 and "FY2027-Q3" in bad.stderr
