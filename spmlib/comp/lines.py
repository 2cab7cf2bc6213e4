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
import pyarrow as pa
import pyarrow.compute as pc

from spmlib.comp.money import format_money, half_up, money_texts, to_cents
from spmlib.comp.plan import Plan
from spmlib.comp.rates import tier_cents
from spmlib.core.codes import codes_of

__all__ = [
    "LINE_KINDS",
    "PAYING_KINDS",
    "LINE_COLUMNS",
    "make_lines",
    "order_lines",
    "sort_order",
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
    frame["pays"] = (frame["kind"].astype("string") != "credit").fillna(True).to_numpy(dtype=bool)
    return frame[list(LINE_COLUMNS)].astype(LINE_COLUMNS)


def order_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Lines in reading order: by segment, then kind (credits first, as in :data:`LINE_KINDS`),
    then line_key."""
    rank = codes_of(lines["kind"], LINE_KINDS)
    return lines.take(sort_order(lines["seg_key"], rank, lines["line_key"])).reset_index(drop=True)


def sort_order(*keys) -> np.ndarray:
    """Positions that sort the rows by ``keys`` (text or numbers; texts by code point, as
    pandas does), stably; Arrow sorts the texts without a Python object per row.

    >>> sort_order(pd.Series(["b", "a", "b"], dtype="string"), np.array([2, 5, 1])).tolist()
    [1, 2, 0]
    """
    names = [f"k{i}" for i in range(len(keys))]
    table = pa.table(
        {n: pa.array(k.array if isinstance(k, pd.Series) else k) for n, k in zip(names, keys,
                                                                                  strict=True)}
    )  # fmt: skip
    order = pc.sort_indices(table, sort_keys=[(n, "ascending") for n in names])
    return np.asarray(order, dtype="int64")


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


def attach_to_segments(
    rep: np.ndarray,
    day: np.ndarray,
    seg_rep: np.ndarray,
    seg_start: np.ndarray,
    seg_end: np.ndarray,
) -> np.ndarray:
    """Position of the segment of each row's rep whose active days hold the row's day; -1
    when there is none (no plan that day, or no day).

    ``rep`` and ``seg_rep`` are rep codes of one coding (:func:`spmlib.core.codes.sorted_codes`);
    the days are ``datetime64`` arrays. Segments of one rep must not overlap.

    Examples
    --------
    >>> d = lambda *x: np.array(x, dtype="datetime64[D]")
    >>> attach_to_segments(np.array([0, 0, 1]), d("2026-01-05", "2026-02-01", "2026-01-05"),
    ...     np.array([0, 0]), d("2026-01-01", "2026-02-01"), d("2026-01-31", "2026-02-28")).tolist()
    [0, 1, -1]
    """
    out = np.full(len(rep), -1, dtype="int64")
    if len(rep) == 0 or len(seg_rep) == 0:
        return out
    day = np.asarray(day, dtype="datetime64[D]")
    start = np.asarray(seg_start, dtype="datetime64[D]").astype("int64")
    stop = np.asarray(seg_end, dtype="datetime64[D]").astype("int64")
    span = np.int64(1) << 32  # one key per (rep, day): rep code x 2^32 + day number
    seg_rep = np.asarray(seg_rep, dtype="int64")
    row_rep = np.asarray(rep, dtype="int64")
    seg_key = seg_rep * span + start
    order = np.argsort(seg_key, kind="stable")
    ok = (row_rep >= 0) & ~np.isnat(day)
    row_key = row_rep * span + np.where(ok, day.astype("int64"), 0)
    hit = np.searchsorted(seg_key[order], row_key, side="right") - 1
    seg = order[np.maximum(hit, 0)]
    ok &= (hit >= 0) & (seg_rep[seg] == row_rep) & (day.astype("int64") <= stop[seg])
    out[ok] = seg[ok]
    return out


def _pct(x: Fraction | float) -> str:
    return f"{float(x) * 100:.2f}%"


def _by_value(values: pd.Series | np.ndarray, text) -> pd.Series:
    """``text(value)`` for every value, worked out once per distinct value (a column of a few
    shares, dates or amounts repeated over many lines)."""
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    words = pd.Series([text(u) for u in uniques], dtype="string")
    return pd.Series(words.array.take(codes), dtype="string")


def _share_text(share: pd.Series | np.ndarray) -> pd.Series:
    """``60%`` style text of shares.

    >>> _share_text(np.array([0.6, 1.0, 1 / 3])).tolist()
    ['60%', '100%', '33.3333%']
    """
    return _by_value(
        np.asarray(share, dtype="float64"),
        lambda s: str(round(float(s) * 100, 4)).removesuffix(".0") + "%",
    )


def _text(values) -> pd.Series:
    """Values as a ``string`` Series (Arrow-backed), without an index."""
    return pd.Series(pd.array(values, dtype="string"))


def credit_lines(credits: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """One ``credit`` line per credit row attached to one of ``segments`` (``seg`` column, -1:
    none); the deal's amount, won date and the share are in ``inputs``."""
    c = credits[credits["seg"] >= 0]
    if c.empty:
        return make_lines({"kind": []})
    at = c["seg"].to_numpy()
    seg_key = _text(segments["seg_key"].array.take(at))
    opp = _text(c["opp_id"].array)
    won = _by_value(c["won_date"], lambda d: pd.Timestamp(d).strftime("%Y-%m-%d"))
    amount = _text(money_texts(c["amount_cents"].to_numpy()))
    inputs = "won " + won + ", amount " + amount + ", share " + _share_text(c["share"])
    kind = _text(c["type"].array)
    return make_lines(
        {
            "line_key": seg_key + "|credit|" + opp + "|" + kind,
            "seg_key": seg_key,
            "period": _text(segments["period"].array.take(at)),
            "rep_id": _text(c["rep_id"].array),
            "plan": _text(segments["plan"].array.take(at)),
            "kind": "credit",
            "deal": opp,
            "rule": "credit: " + kind,
            "inputs": inputs,
            "amount_cents": c["credit_cents"].to_numpy(),
        }
    )


def _exact(values) -> tuple[np.ndarray, np.ndarray]:
    """Numerators and denominators (Python ints) of exact values (Fraction, Decimal, int)."""
    ratios = [v.as_integer_ratio() for v in values]
    return (
        np.array([n for n, _d in ratios], dtype=object),
        np.array([d for _n, d in ratios], dtype=object),
    )


def earnings_lines(segments: pd.DataFrame, plans: Mapping[str, Plan]) -> pd.DataFrame:
    """The ``earnings`` lines (one per tier reached, or one of 0 below the threshold) and the
    ``cap`` line of each segment. ``segments`` needs ``credited_cents``, ``quota``, ``ti``.

    Worked out for all segments of a plan at once, exactly (:func:`spmlib.comp.rates.tier_cents`):
    attainment = credited / quota and each tier's ``TI x multiplier x measure`` are ratios of
    Python ints, each line rounded half up to the cent once.
    """
    parts = []
    for plan_name, idx in segments.groupby("plan", sort=True).indices.items():
        plan = plans[str(plan_name)]
        parts.append(_plan_earnings(segments.iloc[idx], plan))
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else make_lines({"kind": []})


def _plan_earnings(seg: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    table = plan.rate_table
    credited = seg["credited_cents"].to_numpy(dtype="int64")
    qn, qd = _exact(seg["quota"])
    tn, td = _exact(seg["ti"])
    an, ad = credited.astype(object) * qd, qn * 100  # attainment = credited / 100 / quota
    t = tier_cents(table, an, ad, tn, td)
    quota_c, ti_c = half_up(qn * 100, qd), half_up(tn * 100, td)
    given = [
        f"attainment {_pct(n / d)} = credited {format_money(c)} / quota {format_money(q)}; "
        f"TI {format_money(ti)}"
        for n, d, c, q, ti in zip(an, ad, credited.tolist(), quota_c.tolist(), ti_c.tolist(),
                                  strict=True)
    ]  # fmt: skip
    given = np.asarray(given, dtype=object)
    keys = seg["seg_key"].to_numpy(dtype=object)
    tiers = _exact_tier_texts(table)
    what = "slice" if table.type == "graduated" else "all of"
    rows = t.row
    mult = [tiers[k - 1][1] for k in t.tier.tolist()]
    frames = [
        {
            "line_key": [f"{keys[r]}|earnings|tier{k}" for r, k in zip(rows, t.tier, strict=True)],
            "seg": rows,
            "kind": "earnings",
            "tier": t.tier,
            "rule": [f"{table.type} tier {k} {tiers[k - 1][0]}" for k in t.tier.tolist()],
            "rate": mult,
            "inputs": [
                f"{given[r]}; TI x {m} x {what} {_pct(n / d)}"
                for r, m, n, d in zip(rows, mult, t.measure_num, t.measure_den, strict=True)
            ],
            "amount_cents": t.cents,
        }
    ]
    none = np.setdiff1d(np.arange(len(seg)), rows)
    if len(none):
        why = np.where(t.reached[none], "no credit", "below threshold")
        frames.append(
            {
                "line_key": [f"{keys[r]}|earnings|none" for r in none],
                "seg": none,
                "kind": "earnings",
                "tier": pd.NA,
                "rule": [f"{table.type}: {w} {_pct(table.threshold)}, pays 0" for w in why],
                "rate": pd.NA,
                "inputs": given[none],
                "amount_cents": 0,
            }
        )
    total = np.bincount(rows, weights=t.cents, minlength=len(seg)).astype("int64")
    if table.cap is not None:
        cap = Fraction(table.cap)
        cap_c = half_up(tn * cap.numerator * 100, td * cap.denominator)
        over = np.flatnonzero(total > cap_c)
        if len(over):
            frames.append(
                {
                    "line_key": [f"{keys[r]}|cap|cap" for r in over],
                    "seg": over,
                    "kind": "cap",
                    "tier": pd.NA,
                    "rule": f"cap {float(table.cap):g} x TI",
                    "rate": f"{float(table.cap):g}",
                    "inputs": [
                        f"earnings {format_money(total[r])} above the cap {format_money(cap_c[r])}"
                        for r in over
                    ],
                    "amount_cents": cap_c[over] - total[over],
                }
            )
    out = []
    for f in frames:
        at = np.asarray(f.pop("seg"))
        out.append(
            make_lines(
                {
                    **f,
                    "seg_key": _text(seg["seg_key"].array.take(at)),
                    "period": _text(seg["period"].array.take(at)),
                    "rep_id": _text(seg["rep_id"].array.take(at)),
                    "plan": plan.name,
                    "deal": "period",
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def _exact_tier_texts(table) -> list[tuple[str, str]]:
    """(label, multiplier as text) of each tier."""
    return [(t.label(), f"{float(t.multiplier):g}") for t in table.tiers]


def _half_up_ratio(values: np.ndarray, num: int, den: int) -> np.ndarray:
    """``values x num / den`` rounded half up (away from zero), exactly, for int cents."""
    return half_up(np.asarray(values, dtype=object) * num, np.full(len(values), den, dtype=object))


def spif_lines(
    credits: pd.DataFrame, deals: pd.DataFrame, segments: pd.DataFrame, plans: Mapping[str, Plan]
) -> pd.DataFrame:
    """``spif`` lines: per SPIF of the segment's plan and per revenue credit (owner or revenue
    split) of a deal matching its condition, ``amount x share`` or ``rate x credit``.

    ``credits`` has ``seg`` (-1: none), ``deal``, ``type``, ``share``, ``credit_cents``; ``deals``
    holds the opportunity columns the conditions read, one row per won deal, in the order the
    credits' ``deal`` column points into (:func:`spmlib.comp.credit.credit_deals`). Texts are
    built only for the credits that earn a SPIF.
    """
    seg_of = credits["seg"].to_numpy()
    paying = (seg_of >= 0) & (credits["type"] != "overlay").to_numpy(dtype=bool)
    plan_of = np.full(len(credits), -1, dtype="int64")
    names = sorted({str(p) for p in segments["plan"].unique()})
    seg_plan = pd.Index(names).get_indexer(segments["plan"].astype(str))
    plan_of[paying] = seg_plan[seg_of[paying]]
    deal_of = credits["deal"].to_numpy()
    parts = []
    for code, plan_name in enumerate(names):
        plan = plans[plan_name]
        for spif in plan.spifs:
            hit = spif.condition.evaluate(deals)  # once per deal, vectorized
            rows = np.flatnonzero((plan_of == code) & hit[deal_of])
            if len(rows):
                parts.append(_spif_block(credits.iloc[rows], segments, spif))
    if not parts:
        return make_lines({"kind": []})
    return pd.concat(parts, ignore_index=True)


def _spif_block(g: pd.DataFrame, segments: pd.DataFrame, spif) -> pd.DataFrame:
    if spif.amount is not None:
        amount = Fraction(spif.amount)
        ppm = np.round(g["share"].to_numpy(float) * 1_000_000).astype("int64")
        base = np.full(len(g), amount.numerator, dtype=object) * ppm
        cents = _half_up_ratio(base, 100, amount.denominator * 1_000_000)
        rule_rate, what = format_money(to_cents(amount)), "per deal x share"
    else:
        rate = Fraction(spif.rate)
        cents = _half_up_ratio(g["credit_cents"].to_numpy(), rate.numerator, rate.denominator)
        rule_rate, what = f"{float(rate):g}", "x credit"
    at = g["seg"].to_numpy()
    seg_key = _text(segments["seg_key"].array.take(at))
    opp = _text(g["opp_id"].array)
    return make_lines(
        {
            "line_key": seg_key + f"|spif|{spif.name}|" + opp,
            "seg_key": seg_key,
            "period": _text(segments["period"].array.take(at)),
            "rep_id": _text(g["rep_id"].array),
            "plan": _text(segments["plan"].array.take(at)),
            "kind": "spif",
            "deal": opp,
            "rule": f"SPIF {spif.name}: {spif.when}",
            "rate": rule_rate,
            "inputs": f"{rule_rate} {what}; share " + _share_text(g["share"]),
            "amount_cents": cents,
        }
    )


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
