"""Sample data, part 2: opportunities and their stage history (vectorized, no per-deal loops).

Used by :mod:`spmlib.sample.generator`; the model's constants are recorded in ``ground_truth.yml``.

Model
-----
* Deals are created per rep and month at rate ``BASE_DEALS_PER_MONTH`` x growth x
  sqrt(activity_level) x ramp (new hires); the created day is uniform within the month.
* A deal in open stage ``k`` advances with probability ``p_k`` = logistic(logit(BASE_ADVANCE[k])
  + log(win_skill) + log(team factor) + log(ramp)), plus a lead-source effect at Prospecting and a
  proposal effect at Proposal and Negotiation (accepted proposal: odds x ``ACCEPTED_ODDS``,
  rejected: x ``REJECTED_ODDS``). A deal that fails to advance is lost at that stage.
* Time in stage is lognormal (median ``STAGE_MEDIAN_DAYS[k]`` x the rep's cycle factor).
* A share of won deals whose natural close falls in the 1st or 2nd month of a fiscal quarter is
  pushed into the last three weeks of the quarter (``QUARTER_PUSH``): quarter-end seasonality.
* About ``SKIP_RATE`` of deals skip Qualification or Discovery in the history, about
  ``BACKWARD_RATE`` go back one stage and forward again; neither changes the outcome.
* Everything after ``end`` is cut: those deals are open. Their expected close date, and the
  amount a deal showed before a re-quote, follow :mod:`spmlib.sample.close_dates`.
* The CRM columns are deterministic: ``probability`` is the stage's ``CRM_PROBABILITY``,
  ``forecast_category`` follows the stage, ``close_reason`` is the closed stage, ``pipeline``
  the one ``PIPELINE`` (:func:`crm_columns`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "OPEN_STAGES",
    "WON_STAGE",
    "LOST_STAGE",
    "BASE_ADVANCE",
    "STAGE_MEDIAN_DAYS",
    "SOURCES",
    "PRODUCTS",
    "QUARTER_PUSH",
    "Deals",
    "generate_deals",
    "expected_closed_outcomes",
    "stage_codes",
    "crm_columns",
]

log = logging.getLogger(__name__)

OPEN_STAGES = ("Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation")
WON_STAGE, LOST_STAGE = "Closed Won", "Closed Lost"
#: The win probability the sample's CRM shows for a deal in each stage (open stages, won, lost),
#: as a CRM's stage defaults do; deterministic, so the random draws are unchanged.
CRM_PROBABILITY = np.array([0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 0.0])
#: The sample's one pipeline.
PIPELINE = "New Business"
#: Base probability that a deal in each open stage advances (average rep, average source).
BASE_ADVANCE = np.array([0.80, 0.72, 0.75, 0.68, 0.82])
STAGE_MEDIAN_DAYS = np.array([6.0, 9.0, 14.0, 12.0, 10.0])
STAGE_SIGMA = 0.55
LOST_DWELL_FACTOR = 1.2
ACCEPTED_ODDS, REJECTED_ODDS = 1.8, 0.45
SOURCES = ("Inbound", "Outbound", "Referral", "Partner", "Event")
SOURCE_SHARE = np.array([0.35, 0.30, 0.12, 0.13, 0.10])
SOURCE_ODDS = np.array([1.0, 0.6, 1.8, 1.2, 0.8])  # odds multiplier at Prospecting
PRODUCTS = ("Core Platform", "Analytics", "Enterprise Suite", "Services")
PRODUCT_SHARE = np.array([0.40, 0.25, 0.15, 0.20])
PRODUCT_PRICE = np.array([1.0, 0.6, 2.2, 0.45])  # relative price; amounts average deal_size
AMOUNT_SIGMA = 0.5
SKIP_RATE, BACKWARD_RATE = 0.03, 0.02
#: Share of won deals whose natural close is in month 1 / month 2 of a fiscal quarter that are
#: pushed to the quarter's last three weeks: factors on closes = (1-a, 1-b, 1+a+b).
QUARTER_PUSH = (0.2, 0.1)
BASE_DEALS_PER_MONTH = 8.0
GROWTH_PER_YEAR = 0.15
DAYS_PER_MONTH = 30.44
#: Levels of the uniform draw that picks each deal's account (spmlib.sample.accounts); kept at
#: the 720 company names the generator drew from before accounts existed, so the random stream,
#: and every table drawn after it, stay as they were.
ACCOUNT_DRAW_LEVELS = 720


def _logit(p):
    return np.log(p) - np.log1p(-p)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def str_series(values: np.ndarray | pa.Array, index=None) -> pd.Series:
    """A pandas ``string`` (pyarrow) Series from an array of labels (None = missing)."""
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return pd.Series(pd.array(arr, dtype=pd.StringDtype("pyarrow")), index=index)


def take_labels(labels, codes: np.ndarray) -> pd.Series:
    """Labels by integer code (code -1 = missing) as a ``string`` Series, fast for 10M rows.

    >>> take_labels(["won", "lost"], np.array([1, -1, 0])).tolist()
    ['lost', <NA>, 'won']
    """
    codes = np.asarray(codes)
    idx = pa.array(codes, mask=codes < 0)
    return str_series(pc.take(pa.array(list(labels), pa.large_string()), idx))


def make_ids(prefix: str, n: int, width: int) -> pa.Array:
    """``prefix`` + zero-padded 1..n (e.g. O000001), built as bytes without Python loops.

    >>> make_ids("R", 3, 3).to_pylist()
    ['R001', 'R002', 'R003']
    """
    width = max(width, len(str(n)))
    pre = np.frombuffer(prefix.encode(), dtype=np.uint8)
    size = len(pre) + width
    buf = np.empty((n, size), dtype=np.uint8)
    buf[:, : len(pre)] = pre
    x = np.arange(1, n + 1, dtype=np.int64)
    for j in range(size - 1, len(pre) - 1, -1):
        buf[:, j] = x % 10 + 48
        x //= 10
    offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int64) * size).tobytes())
    return pa.LargeStringArray.from_buffers(n, offsets, pa.py_buffer(buf))


def days_to_datetime(days: np.ndarray) -> np.ndarray:
    """Integer days since 1970-01-01 to datetime64[ns]."""
    return np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[ns]")


def quarter_position(days: np.ndarray, fy_start: int) -> tuple[np.ndarray, np.ndarray]:
    """For each day: month of the fiscal quarter (0, 1, 2) and the quarter's last day.

    With a February fiscal year, quarters run Feb-Apr, May-Jul, Aug-Oct, Nov-Jan:

    >>> days = np.array(["2026-01-15", "2026-02-01", "2026-03-31"], dtype="datetime64[D]")
    >>> moq, qend = quarter_position(days.astype(np.int64), fy_start=2)
    >>> moq.tolist(), qend.astype("datetime64[D]").astype(str).tolist()
    ([2, 0, 1], ['2026-01-31', '2026-04-30', '2026-04-30'])
    """
    month_idx = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    moq = (month_idx % 12 + 1 - fy_start) % 3
    qend = (month_idx - moq + 3).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return moq, qend - 1


@dataclass
class Deals:
    """Arrays describing every generated deal (index = deal number in created-date order)."""

    rep: np.ndarray  # rep index
    created: np.ndarray  # day numbers
    entry: np.ndarray  # (n, 6) entry day of open stages 0..4 and the close (uncensored)
    n_open: np.ndarray  # open stages entered (1..5)
    won: np.ndarray  # bool, uncensored outcome
    accepted: np.ndarray  # bool, proposal outcome (meaningful when n_open >= 4)
    p_stage: np.ndarray  # (n, 5) true advance probability per stage
    p_win: np.ndarray  # ex-ante win probability at creation
    p_proposal: (
        np.ndarray
    )  # (n, 2, 2): [accepted, rejected] x advance prob at Proposal, Negotiation
    source: np.ndarray
    product: np.ndarray
    amount: np.ndarray
    cell_lambda: np.ndarray  # expected deals per (rep, month) up to the end, for activities
    planned_lambda: np.ndarray  # the same over whole months (the end's too), for quotas
    account_u: np.ndarray  # uniform draw in (0, 1) that picks the deal's account
    opp_ids: pa.Array  # O000001... in deal order
    opportunities: pd.DataFrame
    stage_history: pd.DataFrame


def generate_deals(rng, reps: dict, months: int, start_day: int, end_day: int, fy_start: int,
                   opportunities: int | None) -> Deals:  # fmt: skip
    """Generate deals, outcomes, the stage history and the opportunities table."""
    # --- how many deals per rep and month ---------------------------------------------------
    start_m = np.datetime64(start_day, "D").astype("datetime64[M]").astype(np.int64)
    m_idx = start_m + np.arange(months + 1)
    bounds = m_idx.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    m_start, m_end = bounds[:-1], np.minimum(bounds[1:] - 1, end_day)
    lo = np.maximum(m_start[None, :], reps["hire_day"][:, None])
    hi = np.broadcast_to(m_end[None, :], lo.shape)
    active = lo <= hi
    frac = np.where(active, (hi - lo + 1) / np.diff(bounds)[None, :], 0.0)  # share of month
    # the same for quotas, which plan whole months (the data may end mid-month)
    whole = np.broadcast_to((bounds[1:] - 1)[None, :], lo.shape)
    whole_frac = np.where(lo <= whole, (whole - lo + 1) / np.diff(bounds)[None, :], 0.0)
    mid = (m_start + m_end) / 2.0
    tenure_m = (mid[None, :] - reps["hire_day"][:, None]) / DAYS_PER_MONTH
    ramp = np.where(
        reps["new_hire"][:, None],
        np.clip((tenure_m + 0.5) / reps["ramp_months"][:, None], 0.15, 1.0),
        1.0,
    )
    growth = (1 + GROWTH_PER_YEAR) ** ((np.arange(months) + 0.5) / 12.0)
    lam = BASE_DEALS_PER_MONTH * growth[None, :] * np.sqrt(reps["activity_level"])[:, None]
    planned = lam * whole_frac * ramp
    lam = lam * frac * ramp
    if opportunities is None:
        counts = rng.poisson(lam).ravel()
    else:
        counts = rng.multinomial(int(opportunities), (lam / lam.sum()).ravel())
        planned = planned * (int(opportunities) / lam.sum())
        lam = lam * (int(opportunities) / lam.sum())
    cell = np.repeat(np.arange(counts.size), counts)
    n = cell.size
    rep = (cell // months).astype(np.int32)
    c_lo, c_hi = lo.ravel()[cell], hi.ravel()[cell]
    created = c_lo + np.floor(rng.random(n) * (c_hi - c_lo + 1)).astype(np.int64)
    order = np.argsort(created, kind="stable")
    rep, created = rep[order], created[order]

    # --- attributes -------------------------------------------------------------------------
    source = rng.choice(len(SOURCES), size=n, p=SOURCE_SHARE).astype(np.int8)
    product = rng.choice(len(PRODUCTS), size=n, p=PRODUCT_SHARE).astype(np.int8)
    mean_price = float(PRODUCT_SHARE @ PRODUCT_PRICE)
    noise = np.exp(rng.normal(-(AMOUNT_SIGMA**2) / 2, AMOUNT_SIGMA, n))
    amount = reps["deal_size"][rep] * PRODUCT_PRICE[product] / mean_price * noise
    amount = np.maximum(np.round(amount, -1), 100.0)

    # --- stage outcomes ---------------------------------------------------------------------
    tenure = (created - reps["hire_day"][rep]) / DAYS_PER_MONTH
    win_ramp = np.where(
        reps["new_hire"][rep], 0.6 + 0.4 * np.clip(tenure / reps["ramp_months"][rep], 0, 1), 1.0
    )
    shift = np.log(reps["win_odds"][rep] * win_ramp)
    logits = _logit(BASE_ADVANCE)[None, :] + shift[:, None]
    logits[:, 0] += np.log(SOURCE_ODDS[source])
    acc_p = reps["proposal_acceptance"][rep]
    accepted = rng.random(n) < acc_p
    p_acc = _sigmoid(logits[:, 3:5] + np.log(ACCEPTED_ODDS))
    p_rej = _sigmoid(logits[:, 3:5] + np.log(REJECTED_ODDS))
    p_stage = _sigmoid(logits)
    p_stage[:, 3:5] = np.where(accepted[:, None], p_acc, p_rej)
    p_win = p_stage[:, :3].prod(1) * (acc_p * p_acc.prod(1) + (1 - acc_p) * p_rej.prod(1))
    adv = rng.random((n, 5)) < p_stage
    fail = np.where(adv.all(1), 5, np.argmin(adv, axis=1))
    won = fail == 5
    n_open = np.minimum(fail + 1, 5)

    # --- time in stage ----------------------------------------------------------------------
    scale = STAGE_MEDIAN_DAYS[None, :] * reps["cycle_factor"][rep][:, None]
    dur = np.ceil(scale * np.exp(STAGE_SIGMA * rng.standard_normal((n, 5)))).astype(np.int64)
    lost_rows = np.flatnonzero(~won)
    dur[lost_rows, fail[lost_rows]] = np.ceil(
        dur[lost_rows, fail[lost_rows]] * LOST_DWELL_FACTOR
    ).astype(np.int64)
    entry = np.empty((n, 6), dtype=np.int64)
    entry[:, 0] = created
    np.cumsum(dur, axis=1, out=entry[:, 1:])
    entry[:, 1:] += created[:, None]
    # quarter-end push of won deals
    moq, qend = quarter_position(entry[:, 5], fy_start)
    push_p = np.select([moq == 0, moq == 1], list(QUARTER_PUSH), 0.0)
    new_close = qend - rng.integers(0, 21, n)
    push = won & (rng.random(n) < push_p) & (new_close <= end_day) & (new_close > entry[:, 5])
    entry[push, 5] = new_close[push]
    close = entry[np.arange(n), n_open]

    opp_ids = make_ids("O", n, 6)
    history, current = _stage_history(rng, entry, n_open, won, end_day, opp_ids)
    opp, account_u = _opportunities_frame(
        rng, reps, rep, created, close, current, amount, source, product, end_day, opp_ids
    )
    return Deals(
        rep=rep, created=created, entry=entry, n_open=n_open, won=won, accepted=accepted,
        p_stage=p_stage, p_win=p_win, p_proposal=np.stack([p_acc, p_rej], axis=1),
        source=source, product=product, amount=amount,
        cell_lambda=lam, planned_lambda=planned, account_u=account_u, opp_ids=opp_ids,
        opportunities=opp, stage_history=history,
    )  # fmt: skip


def expected_closed_outcomes(seed: int, deals: Deals, reps: dict, end_day: int, draws: int):
    """Expected won and closed counts per deal *as observed at ``end_day``* (Monte Carlo).

    Re-runs each deal's outcome and stage timing ``draws`` times from its true probabilities
    (fresh proposal outcome, fresh durations; quarter-end pushes never move a close past the
    end, so they are ignored) and counts how often it is closed by the end, and won. Their
    ratio is the expected observed win rate won / (won + lost), which deals still open at the end
    would otherwise bias (losses come sooner than wins). Returns (won, closed) float arrays.
    """
    rng = np.random.default_rng([seed, 1])
    n = deals.rep.size
    won_sum, closed_sum = np.zeros(n), np.zeros(n)
    acc_p = reps["proposal_acceptance"][deals.rep]
    scale = STAGE_MEDIAN_DAYS[None, :] * reps["cycle_factor"][deals.rep][:, None]
    rows = np.arange(n)
    for _ in range(int(draws)):  # loop over draws; each is vectorized over every deal
        accepted = rng.random(n) < acc_p
        p = deals.p_stage.copy()
        p[:, 3:5] = np.where(accepted[:, None], deals.p_proposal[:, 0], deals.p_proposal[:, 1])
        adv = rng.random((n, 5)) < p
        fail = np.where(adv.all(1), 5, np.argmin(adv, axis=1))
        dur = np.ceil(scale * np.exp(STAGE_SIGMA * rng.standard_normal((n, 5))))
        lost = fail < 5
        dur[rows[lost], fail[lost]] = np.ceil(dur[rows[lost], fail[lost]] * LOST_DWELL_FACTOR)
        upto = np.arange(5)[None, :] <= np.minimum(fail, 4)[:, None]
        close = deals.created + (dur * upto).sum(1)
        closed = close <= end_day
        closed_sum += closed
        won_sum += closed & ~lost
    return won_sum / draws, closed_sum / draws


def _stage_history(rng, entry, n_open, won, end_day, opp_ids):
    """Long stage history (one row per stage entered) censored at ``end_day``.

    Returns the frame and each deal's current stage code (0-4 open, 5 won, 6 lost).
    """
    n = entry.shape[0]
    cnt = n_open + 1
    deal = np.repeat(np.arange(n), cnt)
    starts = np.cumsum(cnt) - cnt
    pos = np.arange(deal.size) - np.repeat(starts, cnt)
    date = entry[deal, pos]
    last = pos == n_open[deal]
    code = np.where(last, np.where(won[deal], 5, 6), pos)
    seq = pos.astype(np.float64)
    # skipped stage (Qualification or Discovery), kept out of the history
    skip_stage = np.where(rng.random(n) < 0.5, 1, 2)
    skip_stage = np.where(n_open >= skip_stage + 2, skip_stage, 1)
    skip = (rng.random(n) < SKIP_RATE) & (n_open >= skip_stage + 2)
    keep = ~(skip[deal] & (pos == skip_stage[deal]))
    # one step back and forward again inside the last open stage
    k = n_open - 1
    d_k = entry[np.arange(n), k + 1] - entry[np.arange(n), k]
    back = (rng.random(n) < BACKWARD_RATE) & (k >= 1) & (d_k >= 3) & ~(skip & (skip_stage == k - 1))
    b = np.flatnonzero(back)
    e_k = entry[b, k[b]]
    extra_deal = np.concatenate([b, b])
    extra_seq = np.concatenate([k[b] + 0.3, k[b] + 0.6])
    extra_code = np.concatenate([k[b] - 1, k[b]])
    extra_date = np.concatenate([e_k + d_k[b] // 3, e_k + 2 * (d_k[b] // 3)])
    deal = np.concatenate([deal[keep], extra_deal])
    seq = np.concatenate([seq[keep], extra_seq])
    code = np.concatenate([code[keep], extra_code])
    date = np.concatenate([date[keep], extra_date])
    order = np.lexsort((seq, deal))
    deal, code, date = deal[order], code[order], date[order]
    observed = date <= end_day
    deal, code, date = deal[observed], code[observed], date[observed]
    is_last = np.ones(deal.size, dtype=bool)
    is_last[:-1] = deal[1:] != deal[:-1]
    current = np.empty(n, dtype=np.int64)
    current[deal[is_last]] = code[is_last]
    frame = pd.DataFrame(
        {
            "opp_id": str_series(pc.take(opp_ids, pa.array(deal))),
            "stage": take_labels((*OPEN_STAGES, WON_STAGE, LOST_STAGE), code),
            "entered_date": days_to_datetime(date),
        }
    )
    return frame, current


#: The CRM forecast category of each stage code (open stages 0-4, won 5, lost 6).
_CATEGORY_OF_CODE = np.array([3, 3, 3, 2, 1, 0, 0])
_CATEGORIES = ("Closed", "Commit", "Best Case", "Pipeline")
_STAGES = (*OPEN_STAGES, WON_STAGE, LOST_STAGE)


def stage_codes(stages: pd.Series) -> np.ndarray:
    """The code of each stage label (0-4 open stages in order, 5 won, 6 lost).

    >>> stage_codes(pd.Series(["Proposal", "Closed Lost"])).tolist()
    [3, 6]
    """
    return pd.Categorical(stages, categories=_STAGES).codes.astype(np.int64)


def crm_columns(current: np.ndarray) -> dict[str, pd.Series]:
    """The CRM columns a deal's stage code decides: ``status``, ``probability`` (the stage's
    :data:`CRM_PROBABILITY`), ``forecast_category`` (Negotiation Commit, Proposal Best Case,
    earlier stages Pipeline, closed deals Closed) and ``close_reason`` (the closed stage).

    >>> crm_columns(np.array([3, 5]))["forecast_category"].tolist()
    ['Best Case', 'Closed']
    """
    is_closed = current >= 5
    return {
        "status": take_labels(("open", "won", "lost"), np.where(is_closed, current - 4, 0)),
        "probability": pd.Series(CRM_PROBABILITY[current]),
        "forecast_category": take_labels(_CATEGORIES, _CATEGORY_OF_CODE[current]),
        "close_reason": take_labels(_STAGES, np.where(is_closed, current, -1)),
    }


def _opportunities_frame(
    rng, reps, rep, created, close, current, amount, source, product, end, opp_ids
):
    """The opportunities at ``end``: the close date of deals still open is left empty (the
    expected close date over time is :mod:`spmlib.sample.close_dates`)."""
    n = rep.size
    is_closed = current >= 5
    account_u = (rng.integers(0, ACCOUNT_DRAW_LEVELS, n) + 0.5) / ACCOUNT_DRAW_LEVELS
    crm = crm_columns(current)
    frame = pd.DataFrame(
        {
            "opp_id": str_series(opp_ids),
            "rep_id": take_labels(reps["rep_id"], rep),
            "created_date": days_to_datetime(created),
            "close_date": pd.Series(days_to_datetime(close)).where(is_closed),
            "stage": take_labels(_STAGES, current),
            "amount": amount.astype("float64"),
            "account": pd.Series(pd.NA, index=range(n), dtype="string"),  # set by the generator
            "status": crm["status"],
            "lead_source": take_labels(SOURCES, source),
            "product": take_labels(PRODUCTS, product),
            "forecast_category": crm["forecast_category"],
            "probability": crm["probability"],
            "close_reason": crm["close_reason"],
            "pipeline": pd.Series(PIPELINE, index=range(n), dtype="string"),
        }
    )
    return frame, account_u
