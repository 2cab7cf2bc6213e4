"""Known-answer tests of the pay rules, one worked example each (expected values by hand).

Unless said otherwise: fiscal year = calendar 2026, quarterly quota 100,000, TI 10,000, tiers
[0,100%) x1, [100%,150%) x2, [150%, inf) x3, threshold 50%, cap 3 x TI (tests/comp_fixture.py).
"""

from __future__ import annotations

import pandas as pd
import pytest
from comp_fixture import assignments, dataset, deals, inputs, pay, plan

from spmlib.comp.engine import compute
from spmlib.comp.inputs import empty_adjustments
from spmlib.comp.ledger import RunStore
from spmlib.comp.payrun import pay_run, store_run

Q1 = (pd.Timestamp("2026-01-01"), pd.Timestamp("2026-03-31"))
YEAR = pd.Timestamp("2026-01-01")
REPS = ("A", "B", "C", "D", "E")
# one deal each in Q1: attainment 40%, 80%, 120%, 160%, 200%
AMOUNTS = {"A": 40_000, "B": 80_000, "C": 120_000, "D": 160_000, "E": 200_000}


def _five(kind: str):
    opps = deals([(f"O{r}", r, "2026-02-10", a) for r, a in AMOUNTS.items()])
    ds = dataset(REPS, opps)
    assign = assignments([(r, "P", "2026-01-01") for r in REPS])
    return compute(inputs(ds, [plan(rate_table_type=kind)], assign), *Q1)


def test_graduated_and_retroactive_on_the_same_attainments():
    grad, retro = _five("graduated"), _five("retroactive")
    # graduated: 40% below threshold -> 0; 80% -> 10,000 x 0.8 = 8,000;
    # 120% -> 10,000 x (1 + 2 x 0.2) = 14,000; 160% -> 10,000 x (1 + 2 x 0.5 + 3 x 0.1) = 23,000;
    # 200% -> 10,000 x (1 + 1 + 3 x 0.5) = 35,000, capped at 3 x TI = 30,000
    expected_grad = {"A": 0, "B": 800_000, "C": 1_400_000, "D": 2_300_000, "E": 3_000_000}
    # retroactive: 80% -> 1 x 0.8 = 8,000; 120% -> 2 x 1.2 = 24,000; 160% -> 3 x 1.6 = 48,000
    # capped at 30,000; 200% -> 60,000 capped at 30,000
    expected_retro = {"A": 0, "B": 800_000, "C": 2_400_000, "D": 3_000_000, "E": 3_000_000}
    for rep in REPS:
        assert pay(grad.statements, rep, "FY2026-Q1", "earnings_cents") == expected_grad[rep]
        assert pay(retro.statements, rep, "FY2026-Q1", "earnings_cents") == expected_retro[rep]
    # the lines say how: C graduated = tier 1 10,000 + tier 2 4,000
    c = grad.lines[(grad.lines["rep_id"] == "C") & (grad.lines["kind"] == "earnings")]
    assert c["amount_cents"].tolist() == [1_000_000, 400_000]
    assert c["tier"].tolist() == [1, 2]
    assert c["rule"].iloc[1] == "graduated tier 2 [100%, 150%) x2"
    # E graduated: tiers 10,000 + 10,000 + 15,000, then a cap line of -5,000
    e = grad.lines[(grad.lines["rep_id"] == "E") & grad.lines["pays"]]
    assert e["amount_cents"].tolist() == [1_000_000, 1_000_000, 1_500_000, -500_000]
    assert e["kind"].tolist() == ["earnings"] * 3 + ["cap"]
    assert grad.statements["attainment"].round(6).tolist() == [0.4, 0.8, 1.2, 1.6, 2.0]


def test_threshold_pays_from_zero_once_reached():
    # 49,999.99 is 49.99999% -> 0; 50,000.00 is exactly 50% -> 10,000 x 0.5 = 5,000
    opps = deals([("O1", "A", "2026-02-10", 49_999.99), ("O2", "B", "2026-02-10", 50_000.0)])
    comp = compute(
        inputs(
            dataset(("A", "B"), opps),
            [plan()],
            assignments([("A", "P", "2026-01-01"), ("B", "P", "2026-01-01")]),
        ),
        *Q1,
    )
    assert pay(comp.statements, "A", "FY2026-Q1") == 0
    assert pay(comp.statements, "B", "FY2026-Q1") == 500_000
    line = comp.lines[(comp.lines["rep_id"] == "A") & (comp.lines["kind"] == "earnings")]
    assert line["rule"].iloc[0] == "graduated: below threshold 50.00%, pays 0"


def test_rounding_half_up_once_per_line():
    # the amount 62,345.675 becomes 6,234,568 cents (half up); earnings at TI 10,000 and quota
    # 100,000: 10,000 x 62,345.68 / 100,000 = 6,234.568 -> 6,234.57 (half up, once)
    opps = deals([("O1", "A", "2026-02-10", 62_345.675)])
    comp = compute(
        inputs(dataset(("A",), opps), [plan()], assignments([("A", "P", "2026-01-01")])), *Q1
    )
    assert pay(comp.statements, "A", "FY2026-Q1", "credited_cents") == 6_234_568
    assert pay(comp.statements, "A", "FY2026-Q1") == 623_457


def test_spif_fixed_amount_by_share_and_rate():
    spifs = [
        {
            "name": "Big outbound",
            "when": "lead_source == 'Outbound' and amount >= 50000",
            "amount": 500,
        },
        {"name": "Analytics", "when": "product in ['Analytics']", "rate": 0.01},
    ]
    opps = deals(
        [
            ("O1", "A", "2026-02-10", 60_000, "won", "Outbound"),  # SPIF 500 to A
            ("O2", "A", "2026-02-11", 40_000, "won", "Outbound"),  # too small
            ("O3", "B", "2026-02-12", 80_000, "won", "Inbound"),  # not outbound
            ("O4", "A", "2026-02-13", 100_000, "won", "Outbound"),  # split 60/40: 300 and 200
            ("O5", "B", "2026-02-14", 12_345, "won", "Inbound", "Analytics"),  # 1% = 123.45
        ]
    )
    splits = pd.DataFrame(
        {
            "opp_id": ["O4", "O4"],
            "rep_id": ["A", "B"],
            "share": [0.6, 0.4],
            "type": ["revenue", "revenue"],
        }
    ).astype({"opp_id": "string", "rep_id": "string", "type": "string"})
    ds = dataset(("A", "B"), opps, splits=splits)
    comp = compute(
        inputs(
            ds,
            [plan(spifs=spifs)],
            assignments([("A", "P", "2026-01-01"), ("B", "P", "2026-01-01")]),
        ),
        *Q1,
    )
    spif = comp.lines[comp.lines["kind"] == "spif"].set_index(["rep_id", "deal"])["amount_cents"]
    assert spif.to_dict() == {
        ("A", "O1"): 50_000,
        ("A", "O4"): 30_000,
        ("B", "O4"): 20_000,
        ("B", "O5"): 12_345,
    }
    assert pay(comp.statements, "A", "FY2026-Q1", "spifs_cents") == 80_000


def test_splits_revenue_by_largest_remainder_and_overlay_on_top():
    # 100,000.01 split in thirds: 10,000,001 cents / 3 = 3,333,333.67 -> 3,333,333 each and the
    # 2 cents left go to the largest remainders (all equal: A then B by rep_id); C's overlay of
    # 50% = 5,000,000.5 cents -> 5,000,001 (half up), on top of the deal's amount
    opps = deals([("O1", "A", "2026-02-10", 100_000.01)])
    splits = pd.DataFrame(
        {
            "opp_id": ["O1"] * 4,
            "rep_id": ["A", "B", "C", "C"],
            "share": [1 / 3] * 3 + [0.5],
            "type": ["revenue"] * 3 + ["overlay"],
        }
    ).astype({"opp_id": "string", "rep_id": "string", "type": "string"})
    ds = dataset(("A", "B", "C"), opps, splits=splits)
    comp = compute(inputs(ds, [plan()], assignments([(r, "P", "2026-01-01") for r in "ABC"])), *Q1)
    credits = comp.lines[comp.lines["kind"] == "credit"]
    got = credits.groupby("rep_id")["amount_cents"].sum().to_dict()
    assert got == {"A": 3_333_334, "B": 3_333_334, "C": 3_333_333 + 5_000_001}
    assert comp.conservation.empty  # revenue credits add up to 10,000,001


def test_proration_of_joiners_and_leavers():
    # Q1 has 90 days; monthly quotas 30,000 (Jan), 30,000 (Feb, 28 days), 40,000 (Mar).
    # J joins 2026-02-15: 45 active days -> TI 10,000 x 45/90 = 5,000; quota 30,000 x 14/28 +
    # 40,000 = 55,000; a 55,000 deal is 100% -> 5,000. Draw 3,000 x 45/90 = 1,500.
    # L leaves 2026-02-14: 45 active days -> TI 5,000; quota 30,000 + 15,000 = 45,000; the
    # 45,000 deal of February is 100% -> 5,000; the March deal after leaving is not credited.
    months = pd.date_range("2026-01-01", periods=3, freq="MS")
    quotas = pd.DataFrame(
        [
            (r, m, m + pd.offsets.MonthEnd(0), q)
            for r in ("J", "L")
            for m, q in zip(months, [30_000.0, 30_000.0, 40_000.0], strict=True)
        ],
        columns=["rep_id", "period_start", "period_end", "quota"],
    ).astype({"rep_id": "string"})
    opps = deals(
        [
            ("O1", "J", "2026-03-01", 55_000),
            ("O2", "L", "2026-02-01", 45_000),
            ("O3", "L", "2026-03-05", 99_000),
        ]
    )
    ds = dataset(("J", "L"), opps, quotas=quotas)
    p = plan(draw={"type": "non_recoverable", "amount": 3000})
    assign = assignments([("J", "P", "2026-02-15"), ("L", "P", "2026-01-01", "2026-02-14")])
    st = compute(inputs(ds, [p], assign), *Q1).statements.set_index("rep_id")
    assert st.loc["J", ["active_days", "period_days"]].tolist() == [45, 90]
    assert st.loc["J", "target_incentive_cents"] == 500_000
    assert st.loc["J", "quota_cents"] == 5_500_000
    assert st.loc["J", "draw_cents"] == 150_000
    assert st.loc["J", "payout_cents"] == 500_000
    assert st.loc["L", "quota_cents"] == 4_500_000
    assert st.loc["L", "credited_cents"] == 4_500_000
    assert st.loc["L", "payout_cents"] == 500_000


def test_target_incentive_of_the_assignment_overrides_the_plan():
    opps = deals([("O1", "A", "2026-02-10", 80_000)])
    assign = assignments([("A", "P", "2026-01-01", None, 12000)])
    st = compute(inputs(dataset(("A",), opps), [plan()], assign), *Q1).statements
    assert pay(st, "A", "FY2026-Q1") == 960_000  # 12,000 x 0.8


def _four_quarters(draw_type: str):
    # attainment 30%, 60%, 120%, 80% -> earnings 0, 6,000, 14,000, 8,000
    opps = deals(
        [
            ("O1", "A", "2026-02-10", 30_000),
            ("O2", "A", "2026-05-10", 60_000),
            ("O3", "A", "2026-08-10", 120_000),
            ("O4", "A", "2026-11-10", 80_000),
        ]
    )
    p = plan(draw={"type": draw_type, "amount": 5000})
    return inputs(dataset(("A",), opps), [p], assignments([("A", "P", "2026-01-01")]))


def test_recoverable_draw_across_four_periods_paid_one_by_one(tmp_path):
    store = RunStore(tmp_path)
    got = []
    for q in ("FY2026-Q1", "FY2026-Q2", "FY2026-Q3", "FY2026-Q4"):
        run = pay_run(_four_quarters("recoverable"), q, store)
        stored = store.load(store_run(run, store).name)
        store.mark_paid(stored, "payroll.csv", int(run.statements["payout_cents"].sum()))
        st = run.statements.iloc[0]
        got.append(
            (
                run.periods,
                st["earnings_cents"],
                st["draw_paid_cents"],
                st["draw_recovered_cents"],
                st["draw_balance_cents"],
                st["payout_cents"],
            )
        )
        assert run.lines["kind"].ne("prior_period_adjustment").all()  # nothing changed
    # Q1: earns 0 < 5,000: paid 5,000, owes 5,000
    # Q2: earns 6,000: 1,000 above the draw repays 1,000: paid 5,000, owes 4,000
    # Q3: earns 14,000: 9,000 above the draw repays the 4,000: paid 10,000, owes 0
    # Q4: earns 8,000: paid 8,000. Total 28,000 = total earnings.
    assert got == [
        (["FY2026-Q1"], 0, 500_000, 0, 500_000, 500_000),
        (["FY2026-Q2"], 600_000, 0, 100_000, 400_000, 500_000),
        (["FY2026-Q3"], 1_400_000, 0, 400_000, 0, 1_000_000),
        (["FY2026-Q4"], 800_000, 0, 0, 0, 800_000),
    ]


def test_non_recoverable_draw_across_four_periods_in_one_catch_up_run(tmp_path):
    run = pay_run(_four_quarters("non_recoverable"), "FY2026-Q4", RunStore(tmp_path))
    assert run.periods == ["FY2026-Q1", "FY2026-Q2", "FY2026-Q3", "FY2026-Q4"]
    # Q1 topped up to 5,000 and forgiven; then 6,000, 14,000, 8,000: total 33,000
    assert run.statements["payout_cents"].tolist() == [500_000, 600_000, 1_400_000, 800_000]
    assert run.statements["draw_balance_cents"].tolist() == [0, 0, 0, 0]


def test_clawback_of_a_deal_reversed_within_the_window():
    # Q1 credits R1 (120,000, SPIF 500, won 2026-02-10) and R2 (30,000, won 2026-01-05): 150%
    # -> earnings 10,000 + 2 x 10,000 = 20,000, an effective rate of 20,000 / 150,000.
    # R1 reversed 2026-04-15 (64 days, window 90): clawback = 0.5 x (120,000 x 20,000 / 150,000
    # + 500) = 0.5 x 16,500 = 8,250 in Q2. R2 reversed 2026-05-20 (135 days): kept.
    # Q2 earns 10,000 on N1 (100,000) and its SPIF 500: payout 10,500 - 8,250 = 2,250.
    spifs = [{"name": "Big", "when": "amount >= 100000", "amount": 500}]
    p = plan(spifs=spifs, clawback={"window_days": 90, "share": 0.5})
    opps = deals(
        [
            ("R1", "A", "2026-04-15", 120_000, "lost"),
            ("R2", "A", "2026-05-20", 30_000, "lost"),
            ("N1", "A", "2026-05-10", 100_000),
        ]
    )
    history = pd.DataFrame(
        [
            ("R1", "Open", "2026-01-05"),
            ("R1", "Won", "2026-02-10"),
            ("R1", "Lost", "2026-04-15"),
            ("R2", "Open", "2026-01-01"),
            ("R2", "Won", "2026-01-05"),
            ("R2", "Lost", "2026-05-20"),
        ],
        columns=["opp_id", "stage", "entered_date"],
    ).astype({"opp_id": "string", "stage": "string", "entered_date": "datetime64[ns]"})
    ds = dataset(("A",), opps, history=history)
    comp = compute(
        inputs(ds, [p], assignments([("A", "P", "2026-01-01")])), YEAR, pd.Timestamp("2026-06-30")
    )
    st = comp.statements
    assert pay(st, "A", "FY2026-Q1", "earnings_cents") == 2_000_000
    claw = comp.lines[comp.lines["kind"] == "clawback"]
    assert claw[["period", "deal", "amount_cents"]].values.tolist() == [
        ["FY2026-Q2", "R1", -825_000]
    ]
    assert pay(st, "A", "FY2026-Q2", "payout_cents") == 1_000_000 + 50_000 - 825_000
    line = claw.iloc[0]
    assert line["rule"] == "clawback: reversed 64 days after won (window 90), share 0.5"


def test_manual_adjustment_with_reason():
    opps = deals([("O1", "A", "2026-02-10", 80_000)])
    adj = empty_adjustments()
    adj.loc[0] = ["ADJ-1", "A", "FY2026-Q1", -12_345, "duplicate SPIF in Q4", 1]
    comp = compute(
        inputs(dataset(("A",), opps), [plan()], assignments([("A", "P", "2026-01-01")]), adj), *Q1
    )
    assert pay(comp.statements, "A", "FY2026-Q1") == 800_000 - 12_345
    line = comp.lines[comp.lines["kind"] == "adjustment"].iloc[0]
    assert line["reason"] == "duplicate SPIF in Q4" and line["amount_cents"] == -12_345


def test_prior_period_adjustment_instead_of_rewriting_a_paid_period(tmp_path):
    store = RunStore(tmp_path)
    before = deals([("O1", "A", "2026-02-10", 80_000), ("O2", "A", "2026-05-10", 70_000)])
    assign = assignments([("A", "P", "2026-01-01")])
    q1 = pay_run(inputs(dataset(("A",), before), [plan()], assign), "FY2026-Q1", store)
    paid = store.load(store_run(q1, store).name)
    store.mark_paid(paid, "p.csv", 800_000)
    # Q1's deal turns out to be 90,000 (80% -> 90%: +1,000) and a 5,000 Q1 deal was missed
    # (+500): 14,000 more credit at 10,000 / 100,000 = +1,500 on Q1 earnings, paid in Q2.
    after = deals(
        [
            ("O1", "A", "2026-02-10", 90_000),
            ("O2", "A", "2026-05-10", 70_000),
            ("O3", "A", "2026-03-30", 5_000),
        ]
    )
    q2 = pay_run(inputs(dataset(("A",), after), [plan()], assign), "FY2026-Q2", store)
    assert q2.periods == ["FY2026-Q2"]
    ppa = q2.lines[q2.lines["kind"] == "prior_period_adjustment"]
    assert ppa["amount_cents"].tolist() == [150_000]
    assert ppa["ref_period"].tolist() == ["FY2026-Q1"]
    assert ppa["ref_run"].tolist() == [paid.run_id]
    assert ppa["ref_line_key"].tolist() == [
        paid.lines.loc[paid.lines["kind"] == "earnings", "line_key"].iloc[0]
    ]
    assert "credited 80,000.00 -> 95,000.00" in ppa["reason"].iloc[0]
    # Q2 pays its own 7,000 plus the 1,500 for Q1; the stored Q1 run is unchanged
    assert pay(q2.statements, "A", "FY2026-Q2") == 700_000 + 150_000
    assert pay(q2.statements, "A", "FY2026-Q2", "adjustments_cents") == 150_000
    assert store.load(paid.run_id).statements["payout_cents"].tolist() == [800_000]
    # once Q2 is paid, Q3 owes nothing more for Q1
    store.mark_paid(store.load(store_run(q2, store).name), "p2.csv", 850_000)
    q3 = pay_run(inputs(dataset(("A",), after), [plan()], assign), "FY2026-Q3", store)
    assert (q3.lines["kind"] != "prior_period_adjustment").all()
    with pytest.raises(Exception, match="was paid by run"):
        pay_run(inputs(dataset(("A",), after), [plan()], assign), "FY2026-Q2", store)
