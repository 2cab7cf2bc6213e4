"""Pay lines: every amount of a statement as one traceable row.

Each line names the rep, the plan, the period, the deal (``deal``: an opp_id, or ``period`` for a
line about the whole period), the ``rule`` that made it, the ``tier`` and ``rate`` used, its
``inputs`` in words, and its ``amount_cents``, rounded half up to the cent once. ``kind``:

=====================  ==========================================================================
credit                 a deal's credit to the rep (information: ``pays`` is False)
earnings               one tier of the rate table (:mod:`spmlib.comp.rates`); a period below
                       the threshold gets one line of 0 saying so
cap                    minus the earnings above ``cap x TI`` (earnings lines + cap = the cap)
spif                   a SPIF on a deal: ``amount x revenue share``, or ``rate x credit``
clawback               minus ``share x`` what a reversed deal paid (:mod:`spmlib.comp.clawback`)
draw                   the draw top-up, when earnings fall short of the draw (:mod:`.draws`)
draw_recovery          minus what is taken back of an outstanding draw balance
adjustment             a manual adjustment, with its reason
prior_period_adjustment  a change to a paid period, paid now (:mod:`spmlib.comp.corrections`)
=====================  ==========================================================================

``line_key`` identifies a line across runs: the segment (period, rep, plan, first active day),
the kind and what it is about (tier, deal, SPIF, adjustment id). The sum of a segment's paying
lines is its payout.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import numpy as np
import pandas as pd

from spmlib.comp.money import format_money, to_cents
from spmlib.comp.plan import Plan
from spmlib.comp.rates import cap_amount, tier_pieces

__all__ = [
    "LINE_KINDS",
    "PAYING_KINDS",
    "LINE_COLUMNS",
    "make_lines",
    "order_lines",
    "seg_keys",
    "attach_to_segments",
    "credit_lines",
    "earnings_lines",
    "spif_lines",
    "adjustment_lines",
]

LINE_KINDS = (
    "credit",
    "earnings",
    "cap",
    "spif",
    "clawback",
    "draw",
    "draw_recovery",
    "adjustment",
    "prior_period_adjustment",
)
PAYING_KINDS = LINE_KINDS[1:]
LINE_COLUMNS = {
    "line_key": "string",
    "seg_key": "string",
    "period": "string",
    "rep_id": "string",
    "plan": "string",
    "kind": "string",
    "deal": "string",
    "rule": "string",
    "tier": "Int64",
    "rate": "string",
    "inputs": "string",
    "amount_cents": "int64",
    "pays": "bool",
    "ref_run": "string",
    "ref_period": "string",
    "ref_line_key": "string",
    "reason": "string",
}


def make_lines(data: Mapping[str, object] | pd.DataFrame) -> pd.DataFrame:
    """A lines frame with every column of :data:`LINE_COLUMNS` in order (missing ones empty)."""
    frame = pd.DataFrame(data) if not isinstance(data, pd.DataFrame) else data.copy()
    for col, dtype in LINE_COLUMNS.items():
        if col not in frame.columns and col != "pays":
            frame[col] = pd.Series(pd.NA, index=frame.index, dtype=dtype)
    frame["pays"] = (frame["kind"].astype(object) != "credit").to_numpy(dtype=bool)
    return frame[list(LINE_COLUMNS)].astype(LINE_COLUMNS)


def order_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Lines in reading order: by segment, then kind (credits first, as in :data:`LINE_KINDS`),
    then line_key."""
    rank = lines["kind"].map({k: i for i, k in enumerate(LINE_KINDS)}).astype("int64")
    out = lines.assign(_r=rank).sort_values(["seg_key", "_r", "line_key"], kind="stable")
    return out.drop(columns="_r").reset_index(drop=True)


def seg_keys(segments: pd.DataFrame) -> pd.Series:
    """``period|rep_id|plan|first active day``: the identity of a segment across runs."""
    return (
        segments["period"].astype(str)
        + "|"
        + segments["rep_id"].astype(str)
        + "|"
        + segments["plan"].astype(str)
        + "|"
        + segments["active_start"].dt.strftime("%Y-%m-%d")
    ).astype("string")


def attach_to_segments(frame: pd.DataFrame, segments: pd.DataFrame, date_col: str) -> np.ndarray:
    """Position in ``segments`` of the segment of the row's rep whose active days hold
    ``frame[date_col]``; -1 when there is none (no plan that day)."""
    out = np.full(len(frame), -1, dtype="int64")
    if frame.empty or segments.empty:
        return out
    reps = pd.Index(pd.unique(segments["rep_id"].astype(str)))
    seg_rep = reps.get_indexer(segments["rep_id"].astype(str))
    row_rep = reps.get_indexer(frame["rep_id"].astype(str))
    day = frame[date_col].to_numpy(dtype="datetime64[D]")
    start = segments["active_start"].to_numpy(dtype="datetime64[D]").astype("int64")
    stop = segments["active_end"].to_numpy(dtype="datetime64[D]").astype("int64")
    span = 1 << 32  # one key per (rep, day): rep code x 2^32 + day number
    seg_key = seg_rep.astype("int64") * span + start
    order = np.argsort(seg_key, kind="stable")
    ok = (row_rep >= 0) & ~np.isnat(day)
    row_key = row_rep.astype("int64") * span + day.astype("int64")
    hit = np.searchsorted(seg_key[order], row_key, side="right") - 1
    seg = order[np.maximum(hit, 0)]
    ok &= (hit >= 0) & (seg_rep[seg] == row_rep) & (day.astype("int64") <= stop[seg])
    out[ok] = seg[ok]
    return out


def _pct(x: Fraction | float) -> str:
    return f"{float(x) * 100:.2f}%"


def _share_text(share: pd.Series) -> pd.Series:
    """``60%`` style text of shares (vectorized)."""
    pct = (share.astype("float64") * 100).round(4)
    text = pct.astype(str).str.removesuffix(".0")
    return text + "%"


def credit_lines(credits: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """One ``credit`` line per credit row attached to one of ``segments`` (``seg`` column, -1:
    none); the deal's amount, won date and the share are in ``inputs``."""
    c = credits[credits["seg"] >= 0]
    if c.empty:
        return make_lines({"kind": []})
    seg = segments.iloc[c["seg"].to_numpy()]
    inputs = (
        "won "
        + c["won_date"].dt.strftime("%Y-%m-%d")
        + ", amount "
        + (c["amount_cents"] / 100).map("{:,.2f}".format)
        + ", share "
        + _share_text(c["share"])
    )
    return make_lines(
        {
            "line_key": seg["seg_key"].to_numpy()
            + "|credit|"
            + c["opp_id"].astype(str).to_numpy()
            + "|"
            + c["type"].astype(str).to_numpy(),
            "seg_key": seg["seg_key"].to_numpy(),
            "period": seg["period"].to_numpy(),
            "rep_id": c["rep_id"].to_numpy(),
            "plan": seg["plan"].to_numpy(),
            "kind": "credit",
            "deal": c["opp_id"].to_numpy(),
            "rule": ("credit: " + c["type"].astype(str)).to_numpy(),
            "inputs": inputs.to_numpy(),
            "amount_cents": c["credit_cents"].to_numpy(),
        }
    )


def earnings_lines(segments: pd.DataFrame, plans: Mapping[str, Plan]) -> pd.DataFrame:
    """The ``earnings`` lines (one per tier reached, or one of 0 below the threshold) and the
    ``cap`` line of each segment. ``segments`` needs ``credited_cents``, ``quota``, ``ti``."""
    rows = []
    for seg in segments.itertuples(index=False):
        plan = plans[seg.plan]
        table = plan.rate_table
        a = Fraction(int(seg.credited_cents), 100) / seg.quota
        base = {
            "seg_key": seg.seg_key,
            "period": seg.period,
            "rep_id": seg.rep_id,
            "plan": seg.plan,
            "deal": "period",
        }
        given = (
            f"attainment {_pct(a)} = credited {format_money(seg.credited_cents)} / quota "
            f"{format_money(to_cents(seg.quota))}; TI {format_money(to_cents(seg.ti))}"
        )
        pieces = tier_pieces(table, a, seg.ti)
        total = 0
        if not pieces:
            why = "below threshold" if a < table.threshold else "no credit"
            rows.append(
                {
                    **base,
                    "line_key": f"{seg.seg_key}|earnings|none",
                    "kind": "earnings",
                    "rule": f"{table.type}: {why} {_pct(table.threshold)}, pays 0",
                    "inputs": given,
                    "amount_cents": 0,
                }
            )
        for p in pieces:
            cents = to_cents(p.amount)
            total += cents
            what = "slice" if table.type == "graduated" else "all of"
            rows.append(
                {
                    **base,
                    "line_key": f"{seg.seg_key}|earnings|tier{p.tier}",
                    "kind": "earnings",
                    "tier": p.tier,
                    "rule": f"{table.type} tier {p.tier} {p.label}",
                    "rate": f"{float(p.multiplier):g}",
                    "inputs": f"{given}; TI x {float(p.multiplier):g} x {what} {_pct(p.measure)}",
                    "amount_cents": cents,
                }
            )
        cap = cap_amount(table, seg.ti)
        if cap is not None and total > to_cents(cap):
            rows.append(
                {
                    **base,
                    "line_key": f"{seg.seg_key}|cap|cap",
                    "kind": "cap",
                    "rule": f"cap {float(table.cap):g} x TI",
                    "rate": f"{float(table.cap):g}",
                    "inputs": f"earnings {format_money(total)} above the cap "
                    f"{format_money(to_cents(cap))}",
                    "amount_cents": to_cents(cap) - total,
                }
            )
    return make_lines(pd.DataFrame(rows)) if rows else make_lines({"kind": []})


def _half_up_ratio(values: np.ndarray, num: int, den: int) -> np.ndarray:
    """``values x num / den`` rounded half up (away from zero), exactly, for int cents."""
    v = np.asarray(values, dtype=object) * num
    sign = np.where(np.asarray(values) < 0, -1, 1)
    mag = (np.abs(v) * 2 + den) // (2 * den)
    return (sign * mag).astype("int64")


def spif_lines(
    credits: pd.DataFrame, deals: pd.DataFrame, segments: pd.DataFrame, plans: Mapping[str, Plan]
) -> pd.DataFrame:
    """``spif`` lines: per SPIF of the segment's plan and per revenue credit (owner or revenue
    split) of a deal matching its condition, ``amount x share`` or ``rate x credit``.

    ``deals`` holds the opportunity columns the conditions read, one row per won deal, in the
    order the credits' ``deal`` column points into (:func:`spmlib.comp.credit.credit_deals`).
    """
    c = credits[(credits["seg"] >= 0) & (credits["type"] != "overlay").to_numpy(dtype=bool)]
    if c.empty:
        return make_lines({"kind": []})
    seg = segments.iloc[c["seg"].to_numpy()]
    c = c.assign(
        plan=seg["plan"].to_numpy(),
        seg_key=seg["seg_key"].to_numpy(),
        period=seg["period"].to_numpy(),
    )
    parts = []
    for plan_name, group in c.groupby("plan", sort=True):
        plan = plans[str(plan_name)]
        if not plan.spifs:
            continue
        at = group["deal"].to_numpy()
        for spif in plan.spifs:
            hit = spif.condition.evaluate(deals)  # once per deal, vectorized
            g = group[hit[at]]
            if g.empty:
                continue
            if spif.amount is not None:
                amount = Fraction(spif.amount)
                ppm = np.round(g["share"].to_numpy(float) * 1_000_000).astype("int64")
                base = np.full(len(g), amount.numerator, dtype=object) * ppm
                cents = _half_up_ratio(base, 100, amount.denominator * 1_000_000)
                rule_rate, what = format_money(to_cents(amount)), "per deal x share"
            else:
                rate = Fraction(spif.rate)
                cents = _half_up_ratio(
                    g["credit_cents"].to_numpy(), rate.numerator, rate.denominator
                )
                rule_rate, what = f"{float(rate):g}", "x credit"
            parts.append(
                make_lines(
                    {
                        "line_key": g["seg_key"] + f"|spif|{spif.name}|" + g["opp_id"].astype(str),
                        "seg_key": g["seg_key"],
                        "period": g["period"],
                        "rep_id": g["rep_id"],
                        "plan": g["plan"],
                        "kind": "spif",
                        "deal": g["opp_id"],
                        "rule": f"SPIF {spif.name}: {spif.when}",
                        "rate": rule_rate,
                        "inputs": f"{rule_rate} {what}; share " + _share_text(g["share"]),
                        "amount_cents": cents,
                    }
                )
            )
    if not parts:
        return make_lines({"kind": []})
    return pd.concat(parts, ignore_index=True)


def adjustment_lines(adjustments: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """``adjustment`` lines: each manual adjustment in the rep's last segment of its period.

    Raises
    ------
    ValueError
        Listing adjustments whose rep has no plan in that period (the caller names the file).
    """
    if adjustments.empty:
        return make_lines({"kind": []})
    last = segments.drop_duplicates(["rep_id", "period"], keep="last").set_index(
        ["rep_id", "period"]
    )
    idx = pd.MultiIndex.from_arrays([adjustments["rep_id"], adjustments["period"]])
    hit = last.reindex(idx)
    lost = adjustments[hit["seg_key"].isna().to_numpy()]
    if len(lost):
        where = zip(lost["row"], lost["rep_id"], lost["period"], strict=True)
        raise ValueError("; ".join(f"row {r}: rep {rep} has no plan in {p}" for r, rep, p in where))
    return make_lines(
        {
            "line_key": hit["seg_key"].to_numpy() + "|adjustment|" + adjustments["id"].to_numpy(),
            "seg_key": hit["seg_key"].to_numpy(),
            "period": adjustments["period"].to_numpy(),
            "rep_id": adjustments["rep_id"].to_numpy(),
            "plan": hit["plan"].to_numpy(),
            "kind": "adjustment",
            "deal": "period",
            "rule": "manual adjustment " + adjustments["id"].astype(str),
            "inputs": "adjustments.csv row " + adjustments["row"].astype(str),
            "amount_cents": adjustments["amount_cents"].to_numpy(),
            "reason": adjustments["reason"].to_numpy(),
        }
    )
