"""Clawbacks: taking back what a won deal paid when the deal is reversed soon after.

A credit is clawed back when its deal was reversed (:func:`spmlib.comp.credit.won_deals`) at most
``clawback.window_days`` days after its won date, under the plan of the period it was credited
in. The clawback is a negative line in the rep's period holding the reversal date::

    clawback = - share x (credit x earnings / credited + SPIFs paid on the deal)

where ``earnings / credited`` is the effective rate of the period the deal was credited in
(earnings after the cap over everything credited that period) and ``share`` the plan's
``clawback.share``. The paid period itself is never rewritten. A reversal after the window, or
of a rep with no plan on the reversal date, is not clawed back.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import pandas as pd

from spmlib.comp.lines import make_lines
from spmlib.comp.money import format_money, to_cents
from spmlib.comp.plan import Plan

__all__ = ["clawback_lines"]


def clawback_lines(
    credits: pd.DataFrame,
    segments: pd.DataFrame,
    paid_lines: pd.DataFrame,
    plans: Mapping[str, Plan],
) -> pd.DataFrame:
    """The clawback lines of reversed credits (see the module docstring).

    Parameters
    ----------
    credits : credit rows with ``seg`` (segment credited in) and ``rev_seg`` (segment holding
        the reversal date), -1 when none.
    segments : with ``seg_key``, ``credited_cents``.
    paid_lines : the earnings, cap and SPIF lines of the segments.
    plans : plans by name.
    """
    c = credits[
        credits["reversed_date"].notna() & (credits["seg"] >= 0) & (credits["rev_seg"] >= 0)
    ]
    if c.empty:
        return make_lines({"kind": []})
    earned = (
        paid_lines[paid_lines["kind"].isin(["earnings", "cap"])]
        .groupby("seg_key")["amount_cents"]
        .sum()
    )
    spif = paid_lines[paid_lines["kind"] == "spif"]
    spif = spif.groupby(["seg_key", "deal", "rep_id"])["amount_cents"].sum()
    rows = []
    for r in c.itertuples(index=False):
        seg = segments.iloc[int(r.seg)]
        rule = plans[seg["plan"]].clawback
        days = (r.reversed_date - r.won_date).days
        if rule is None or days > rule.window_days:
            continue
        target = segments.iloc[int(r.rev_seg)]
        credited = int(seg["credited_cents"])
        earnings = int(earned.get(seg["seg_key"], 0))
        rate = Fraction(earnings, credited) if credited else Fraction(0)
        spif_cents = int(spif.get((seg["seg_key"], r.opp_id, r.rep_id), 0))
        value = Fraction(rule.share) * (int(r.credit_cents) * rate + spif_cents) / 100
        rows.append(
            {
                "line_key": f"{target['seg_key']}|clawback|{r.opp_id}|{r.type}",
                "seg_key": target["seg_key"],
                "period": target["period"],
                "rep_id": r.rep_id,
                "plan": target["plan"],
                "kind": "clawback",
                "deal": r.opp_id,
                "rule": f"clawback: reversed {days} days after won (window "
                f"{rule.window_days}), share {float(rule.share):g}",
                "rate": f"{float(rate):.6g}",
                "inputs": f"credit {format_money(int(r.credit_cents))} in {seg['period']} at "
                f"effective rate {float(rate):.4%} (earnings {format_money(earnings)} / "
                f"credited {format_money(credited)}) + SPIFs {format_money(spif_cents)}; "
                f"reversed {r.reversed_date.date()}",
                "amount_cents": -to_cents(value),
            }
        )
    return make_lines(pd.DataFrame(rows)) if rows else make_lines({"kind": []})
