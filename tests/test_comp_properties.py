"""Property tests (hypothesis) of the pay rules: what must hold for every plan and every input."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from spmlib.comp.credit import credit_deals, split_conservation
from spmlib.comp.money import to_cents
from spmlib.comp.plan import RateTable, Tier
from spmlib.comp.rates import cap_amount, earnings_multiple, tier_pieces


@st.composite
def graduated_tables(draw, with_threshold=True):
    n = draw(st.integers(1, 4))
    edges = sorted(set(draw(st.lists(st.integers(1, 300), min_size=n - 1, max_size=n - 1))))
    bounds = [0, *edges]
    mults = draw(st.lists(st.integers(0, 50), min_size=len(bounds), max_size=len(bounds)))
    tiers = tuple(
        Tier(Decimal(lo) / 100, Decimal(hi) / 100 if hi is not None else None, Decimal(m) / 10)
        for lo, hi, m in zip(bounds, [*edges, None], mults, strict=True)
    )
    threshold = Decimal(draw(st.integers(0, 80))) / 100 if with_threshold else Decimal(0)
    cap = draw(st.one_of(st.none(), st.integers(1, 40).map(lambda c: Decimal(c) / 10)))
    return RateTable("graduated", tiers, threshold, cap)


def pay_cents(table: RateTable, credited: int, quota: int, ti: int) -> int:
    """Earnings in cents as the engine computes them: each tier line rounded, then the cap."""
    pieces = tier_pieces(table, Fraction(credited, quota), Fraction(ti))
    total = sum(to_cents(p.amount) for p in pieces)
    cap = cap_amount(table, Fraction(ti))
    return min(total, to_cents(cap)) if cap is not None else total


amounts = st.integers(0, 50_000_000)  # cents
quotas = st.integers(1_000_00, 5_000_000_00)
tis = st.integers(100, 10_000_000)


@settings(max_examples=300, deadline=None)
@given(graduated_tables(), amounts, amounts, quotas, tis)
def test_graduated_pay_never_falls_when_credits_rise(table, a, b, quota, ti):
    lo, hi = sorted((a, b))
    assert pay_cents(table, lo, quota, ti) <= pay_cents(table, hi, quota, ti)


@settings(max_examples=300, deadline=None)
@given(graduated_tables(), amounts, quotas, tis)
def test_pay_never_exceeds_the_cap(table, credited, quota, ti):
    if table.cap is not None:
        assert pay_cents(table, credited, quota, ti) <= to_cents(Fraction(table.cap) * ti)


@settings(max_examples=300, deadline=None)
@given(graduated_tables(with_threshold=False), st.data(), tis)
def test_graduated_pay_is_continuous_at_tier_edges(table, data, ti):
    # just below an edge and at it, exact earnings differ by at most (largest multiplier x the
    # step x TI): no jump, however small the step
    edge = Fraction(data.draw(st.sampled_from(table.tiers)).start)
    step = Fraction(1, data.draw(st.integers(10, 10**9)))
    below = sum(p.amount for p in tier_pieces(table, max(edge - step, Fraction(0)), ti))
    at = sum(p.amount for p in tier_pieces(table, edge, ti))
    top = max(Fraction(t.multiplier) for t in table.tiers)
    assert 0 <= at - below <= top * step * ti


@settings(max_examples=200, deadline=None)
@given(graduated_tables(), st.integers(0, 4000))
def test_float_curve_agrees_with_exact_pay(table, permille):
    a = Fraction(permille, 1000)
    exact = sum(p.amount for p in tier_pieces(table, a, Fraction(1)))
    if table.cap is not None:
        exact = min(exact, Fraction(table.cap))
    assert np.isclose(float(earnings_multiple(table, float(a))), float(exact), atol=1e-9)


@st.composite
def split_deals(draw):
    n = draw(st.integers(1, 8))
    won, rows = [], []
    for i in range(n):
        amount = draw(st.integers(1, 10**10))
        won.append((f"O{i}", "r0", amount))
        k = draw(st.integers(0, 5))
        if k:
            cuts = sorted(
                draw(st.lists(st.integers(1, 999_999), min_size=k - 1, max_size=k - 1, unique=True))
            )
            parts = np.diff([0, *cuts, 1_000_000]) / 1_000_000
            rows += [(f"O{i}", f"r{j}", float(s), "revenue") for j, s in enumerate(parts)]
    w = pd.DataFrame(won, columns=["opp_id", "rep_id", "amount_cents"])
    w["won_date"] = pd.Timestamp("2026-01-01")
    w["reversed_date"] = pd.NaT
    s = pd.DataFrame(rows, columns=["opp_id", "rep_id", "share", "type"])
    return w, s


@settings(max_examples=300, deadline=None)
@given(split_deals())
def test_revenue_credits_conserve_every_deal_to_the_cent(case):
    won, splits = case
    credits = credit_deals(won, splits)
    assert split_conservation(credits, won).empty
    assert (credits["credit_cents"] >= 0).all()
