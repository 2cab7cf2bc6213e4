"""Known-answer tests of quota planning: allocation per level to the cent, seasonality split,
capacity with hires and ramp, Gini, correlation, ratchet detection, and the CLI on the sample.

The hand-made dataset: fiscal year = calendar year (January start), reference date 2025-12-31,
plan year FY2026. Team N: a (bookings 600 in 2025), b (300), c (hired 2025-07-01, 100);
team S: d (0 bookings, potential 400). Accounts: a 300, b 100, c 100, d 400 of potential.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from spmlib.cli import app
from spmlib.io.schema import Dataset, DatasetConfig
from spmlib.planning import allocation as al
from spmlib.planning.capacity import capacity, capacity_summary, productivity
from spmlib.planning.fairness import correlation, gini, ratchet, ratchet_summary
from spmlib.planning.plan_inputs import ramp_factors, read_hires, roster
from spmlib.planning.quota_plan import parse_over_assign, plan_quotas

runner = CliRunner()


def _ds() -> Dataset:
    reps = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c", "d"],
            "rep_name": ["Ann", "Bob", "Cy", "Di"],
            "team": ["N", "N", "N", "S"],
            "hire_date": pd.to_datetime(["2020-01-01", "2020-01-01", "2025-07-01", "2020-01-01"]),
        }
    )
    # one won deal per month for a (50), b (25); c two deals of 50 in H2; closes mid-month
    rows = []
    for m in range(1, 13):
        rows.append(("a", f"2025-{m:02d}-15", 50.0))
        rows.append(("b", f"2025-{m:02d}-15", 25.0))
    rows += [("c", "2025-09-15", 50.0), ("c", "2025-11-15", 50.0)]
    opp = pd.DataFrame(rows, columns=["rep_id", "close_date", "amount"])
    opp["close_date"] = pd.to_datetime(opp["close_date"])
    opp["created_date"] = opp["close_date"] - pd.Timedelta(days=10)
    opp["opp_id"] = [f"O{i}" for i in range(len(opp))]
    opp["stage"], opp["status"] = "Won", "won"
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4"],
            "account_name": ["One", "Two", "Three", "Four"],
            "rep_id": ["a", "b", "c", "d"],
            "potential": [300.0, 100.0, 100.0, 400.0],
        }
    )
    cfg = DatasetConfig(("Open",), "Won", "Lost", fiscal_year_start_month=1,
                        as_of=pd.Timestamp("2025-12-31"))  # fmt: skip
    return Dataset(cfg, reps, opp, accounts=accounts)


FLAT = [1.0] * 12  # no ramp: every month counts in full


def test_history_weights_to_the_cent_per_level():
    ds = _ds()
    plan = plan_quotas(ds, 1000.0, 2026, weights="history", ramp=FLAT)
    reps = plan.reps.set_index("rep_id")
    # history 2025: a 600, b 300 (full year); c hired in the window -> team N's median share of
    # the full-history reps (a 600/900, b 300/900 -> median 0.5); d: 0 bookings -> share 0.
    # Shares: a 2/3, b 1/3, c 1/2, d 0 -> team N 1.5, team S 0 -> N gets 1000.00, S 0.
    assert reps.loc[["a", "b", "c", "d"], "history"].tolist() == [600.0, 300.0, 100.0, 0.0]
    assert plan.teams.set_index("team")["quota"].to_dict() == {"N": 1000.0, "S": 0.0}
    # within N: 1000 x (2/3, 1/3, 1/2) / 1.5 = 444.444.., 222.222.., 333.333..
    # in cents: 444.44, 222.22, 333.33 (sum 999.99) -> the largest remainder (a: .444) +1 cent
    assert reps.loc[["a", "b", "c"], "quota"].tolist() == [444.45, 222.22, 333.33]
    assert plan.quotas.groupby("rep_id")["quota"].sum().round(2).to_dict() == {
        "a": 444.45, "b": 222.22, "c": 333.33}  # fmt: skip
    assert round(plan.quotas["quota"].sum(), 2) == 1000.0


def test_potential_weights_and_over_assignment():
    ds = _ds()
    over = parse_over_assign("team=1.05,rep=1.10")
    plan = plan_quotas(ds, 1000.0, 2026, weights="potential", over_assign=over, ramp=FLAT)
    # potential shares: a .333.., b .111.., c .111.., d .444..; team N .555.., S .444..
    # teams: 1050 x (5/9, 4/9) = 583.33, 466.67 (sum 1050.00)
    teams = plan.teams.set_index("team")["quota"]
    assert teams.to_dict() == {"N": 583.33, "S": 466.67}
    # reps of N: 583.33 x 1.10 = 641.663 -> 641.66 split 3:1:1 = 384.996, 128.332, 128.332
    # cents: 384.99 (.6), 128.33 (.2), 128.33 (.2) = 641.65 -> +1 cent to a -> 385.00
    reps = plan.reps.set_index("rep_id")["quota"]
    assert reps[["a", "b", "c"]].tolist() == [385.0, 128.33, 128.33]
    assert reps["d"] == pytest.approx(513.34)  # 466.67 x 1.10 = 513.337 -> 513.34


def test_blend_weights_use_beta():
    ds = _ds()
    plan = plan_quotas(ds, 900.0, 2026, weights="blend", beta=0.25, ramp=FLAT)
    share = plan.reps.set_index("rep_id")["share"]
    # a: 0.25 x 2/3 + 0.75 x 1/3 = 0.41667; d: 0.25 x 0 + 0.75 x 4/9 = 0.33333
    assert share["a"] == pytest.approx(0.25 * 2 / 3 + 0.75 / 3)
    assert share["d"] == pytest.approx(0.75 * 4 / 9)


def test_seasonality_split_and_ramped_hire():
    ds = _ds()
    season = al.seasonality(ds, "quarter")
    # 2025 bookings per quarter: Q1 225, Q2 225, Q3 275 (c's 50 in Sept), Q4 275 -> /1000
    assert season["share"].tolist() == [0.225, 0.225, 0.275, 0.275]
    assert season["years"].iloc[0] == "FY2025"
    hires = pd.DataFrame({"rep_id": ["h"], "rep_name": ["Hal"], "team": ["N"],
                          "start_date": pd.to_datetime(["2026-07-01"]), "end_date": [pd.NaT],
                          "kind": ["hire"]})  # fmt: skip
    plan = plan_quotas(ds, 1000.0, 2026, period="quarter", hires=hires, ramp=[0.5, 0.5, 0.5])
    h = plan.reps.set_index("rep_id").loc["h"]
    # h starts in July: months 7-9 at ramp 0.5, 10-12 at 1 -> year share (1.5 + 3) / 12
    assert h["year_share"] == pytest.approx(4.5 / 12)
    # history shares (as in the first test): a 2/3, b 1/3, c 1/2, d 0; h (a planned hire)
    # takes team N's median 1/2 x year share 0.375 = 0.1875. Team N weight 1.6875 gets the
    # 1000: a 395.0617, b 197.5309, c 296.2963, h 111.1111 -> cents 395.06 + 197.53 + 296.29
    # + 111.11 = 999.99, the missing cent to c (largest remainder .63) -> h 111.11
    assert plan.reps.set_index("rep_id")["quota"].to_dict() == {
        "a": 395.06, "b": 197.53, "c": 296.30, "d": 0.0, "h": 111.11}  # fmt: skip
    rows = plan.quotas[plan.quotas["rep_id"] == "h"]
    # no quota before the start; Q3 (ramp 0.5) and Q4 split 0.275 x 0.5 : 0.275 x 1 = 1 : 2:
    # 111.11 / 3 = 37.0367, x 2/3 = 74.0733 -> floor 37.03 + 74.07 = 111.10, the missing cent
    # to Q3 (remainder .67 against .33) -> 37.04 and 74.07
    assert rows["period_start"].dt.month.tolist() == [7, 10]
    assert rows["quota"].tolist() == [37.04, 74.07]


def test_capacity_with_hires_leavers_and_ramp():
    ds = _ds()
    hires = pd.DataFrame({"rep_id": ["h", "b"], "rep_name": ["Hal", "Bob"], "team": ["N", "N"],
                          "start_date": pd.to_datetime(["2026-04-01", None]),
                          "end_date": pd.to_datetime([None, "2026-06-30"]),
                          "kind": ["hire", "leaver"]})  # fmt: skip
    ramp = ramp_factors(ds, horizon=3, given=[0.0, 0.5, 0.5])
    r = roster(ds, pd.Timestamp("2026-01-01"), hires, ramp).set_index("rep_id")
    # b leaves end of June: 6 months; h starts in April: 0 + 0.5 + 0.5 + 6 x 1 = 7 months
    assert r.loc["b", "year_share"] == pytest.approx(6 / 12)
    assert r.loc["h", "year_share"] == pytest.approx(7 / 12)
    prod = productivity(ds, pd.Timestamp("2025-12-31"))
    # ramped reps (hired before 2024-01-01): N: a 50/month, b 25 -> 2 < MIN_RAMPED (3), so
    # the company median of a, b, d (50, 25, 0) = 25 is used
    assert prod.set_index("team").loc["N", "source"] == "company"
    assert prod["productivity"].iloc[-1] == 25.0
    caps = capacity(r.reset_index(), prod).set_index("rep_id")["capacity"]
    # 25 x 12 x share: a 300, b 150, c (hired 2025-07: month 7+ of tenure, ramp done) 300,
    # d 300, h 175 -> total 1225
    assert caps.to_dict() == pytest.approx({"a": 300, "b": 150, "c": 300, "d": 300, "h": 175})
    s = capacity_summary(capacity(r.reset_index(), prod), 2000.0, prod, ramp).iloc[0]
    # gap 775; one hire from day one adds 25 x (0 + 0.5 + 0.5 + 9) = 250 -> 4 hires
    assert (s["capacity"], s["gap"], s["hire_capacity"], s["hires_needed"]) == (
        1225.0, 775.0, 250.0, 4)  # fmt: skip
    assert s["productivity_gain_needed"] == pytest.approx(2000 / 1225 - 1)


def test_read_hires_yaml_and_errors(tmp_path):
    ds = _ds()
    f = tmp_path / "hires.yml"
    f.write_text("hires:\n  - {rep_id: h, team: N, start_date: 2026-03-01}\n"
                 "leavers:\n  - {rep_id: b, end_date: 2026-06-30}\n")  # fmt: skip
    out = read_hires(f, ds)
    assert out["kind"].tolist() == ["hire", "leaver"] and out["team"].tolist() == ["N", "N"]
    f.write_text("hires:\n  - {rep_id: h, team: Z, start_date: 2026-03-01}\n")
    with pytest.raises(Exception, match="team 'Z' is not a team"):
        read_hires(f, ds)
    f.write_text("leavers:\n  - {rep_id: zz, end_date: 2026-06-30}\n")
    with pytest.raises(Exception, match="'zz' is not in reps"):
        read_hires(f, ds)


def test_gini_known_answers():
    assert gini([2, 2, 2]) == 0.0
    # [1, 3]: |1-3| x 2 / (2 x 4 x 2) = 4 / 16 = 0.25
    assert gini([1, 3]) == pytest.approx(0.25)
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)


def test_correlation_known_answer():
    # perfectly linear -> 1; Fisher z interval collapses towards 1
    c = correlation([1, 2, 3, 4, 5], [2, 4, 6, 8, 10]).iloc[0]
    assert c["pearson"] == pytest.approx(1.0) and c["spearman"] == pytest.approx(1.0)
    # independent by construction: x = 1..4, y = 1, -1, -1, 1 -> Pearson 0
    assert correlation([1, 2, 3, 4], [1, -1, -1, 1]).iloc[0]["pearson"] == pytest.approx(0.0)


def test_ratchet_detection():
    reps = pd.DataFrame({"rep_id": list("abcdef"), "rep_name": list("abcdef"), "team": ["T"] * 6})
    # yearly quotas 2023 and 2024 (January years). Reps a-c beat 2023 (bookings 150, 160, 170 on
    # 100) and their quota rises 20-22%; d-f miss (50, 60, 70 on 100) and it falls only 3-5%
    # -> ratchet. 2024 is a leap year: the level is quota per calendar month (120 / 12 against
    # 100 / 12 = +20% exactly), not per day (which would read 120/366 vs 100/365 = +19.67%).
    q, opp = [], []
    for i, r in enumerate("abcdef"):
        beat = r in "abc"
        q.append((r, "2023-01-01", "2023-12-31", 100.0))
        q.append((r, "2024-01-01", "2024-12-31", 120.0 + i if beat else 100.0 - i))
        opp.append((f"O{i}", r, "2023-06-15", 150.0 + 10 * i if beat else 50.0 + 10 * (i - 3)))
    quotas = pd.DataFrame(q, columns=["rep_id", "period_start", "period_end", "quota"])
    quotas[["period_start", "period_end"]] = quotas[["period_start", "period_end"]].apply(
        pd.to_datetime
    )
    o = pd.DataFrame(opp, columns=["opp_id", "rep_id", "close_date", "amount"])
    o["close_date"] = pd.to_datetime(o["close_date"])
    o = o.assign(created_date=o["close_date"], stage="Won", status="won")
    cfg = DatasetConfig(("Open",), "Won", "Lost", as_of=pd.Timestamp("2024-12-31"))
    changes = ratchet(Dataset(cfg, reps, o, quotas=quotas))
    assert changes["beat"].tolist() == [True, True, True, False, False, False]
    assert changes["attainment_before"].tolist() == pytest.approx([1.5, 1.6, 1.7, 0.5, 0.6, 0.7])
    assert changes["quota_change"].tolist() == pytest.approx(
        [0.20, 0.21, 0.22, -0.03, -0.04, -0.05])  # fmt: skip
    test = ratchet_summary(changes).iloc[0]
    assert test["ratchet"] and test["b_up"] > test["b_down"]
    # (0.20 + 0.21 + 0.22) / 3 and (-0.03 - 0.04 - 0.05) / 3
    assert test["mean_change_after_beat"] == pytest.approx(0.21)
    assert test["mean_change_after_miss"] == pytest.approx(-0.04)
    # the same results with symmetric changes (quota moves by half the log result both ways,
    # plus +-1% noise) is no ratchet: b_up and b_down both near 0.5
    noise = np.array([0.01, -0.01, 0.0, 0.0, 0.01, -0.01])
    sym = ratchet_summary(changes.assign(dq=0.5 * changes["g"] + noise)).iloc[0]
    assert not sym["ratchet"] and abs(sym["asymmetry"]) < 0.1


@pytest.mark.slow
def test_cli_quota_plan_and_territory_on_the_sample(tmp_path):
    out = tmp_path / "q.csv"
    res = runner.invoke(app, ["quota", "plan", "", "--target", "30000000", "--weights",
                              "potential", "--over-assign", "team=1.05,rep=1.10", "--hires",
                              "params/plan/hires.yml", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    q = pd.read_csv(out)
    assert list(q.columns) == ["rep_id", "period_start", "period_end", "quota"]
    # 30M x 1.05 x 1.10 to the cent
    assert round(q["quota"].sum(), 2) == 34_650_000.00
    assert "simulated share of reps at quota" in res.output
    res = runner.invoke(app, ["territory", "", "--team", "Atlas", "--band", "0.1",
                              "--format", "csv"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "account_id,account_name,potential,rep_id_before,rep_id_after,moved" in res.output
    res = runner.invoke(
        app, ["territory", "", "--team", "Atlas", "--band", "0.0", "--time-limit", "5"]
    )
    assert res.exit_code == 1 and "tightest" in res.output
    res = runner.invoke(app, ["quota", "plan", "", "--target", "1", "--over-assign", "rep=0.9"])
    assert res.exit_code == 1 and "Traceback" not in res.output
