"""Sample data, part 5: what each deal looked like on any day (its expected close date and
amount over time), so that an extract taken on an earlier day is the same world seen earlier.

Used by :mod:`spmlib.sample.generator`, from its own random stream (seed, 3), after the deals.

Model
-----
* **Expected close date.** At creation a rep expects the deal to close after the typical sales
  cycle: ``created + STAGE_MEDIAN_DAYS.sum() x cycle_factor x exp(N(0, 0.3))``. The estimate is
  revised, as reps do:

  - on entering Proposal and again on entering Negotiation, ``REESTIMATE_SHARE`` of deals are
    re-estimated from the remaining stages (``entry + their median days x cycle_factor x
    exp(N(0, 0.3))``): a revision that can pull the date in or push it out;
  - in pipeline reviews, every ``REVIEW_DAYS`` days on average (exponential gaps), the rep
    moves the date: out by ``REVIEW_PUSH_DAYS`` (uniform) with probability
    ``REVIEW_PUSH_SHARE``, else in by ``REVIEW_PULL_DAYS`` (never before the next day);
  - when the expected date passes and the deal is still open, the rep pushes it out after
    ``0..MAX_OVERDUE_DAYS`` days overdue (a deal sits "past its close date" meanwhile), to the
    update day + ``SLIP_DAYS`` (uniform): a slip. It repeats while the deal stays open.

  A closed deal's close date is the day it closed.
* **Amount.** ``REQUOTE_SHARE`` of the deals that reach Proposal were first entered at another
  amount (``amount x exp(N(0, REQUOTE_SIGMA))``, rounded to 10) and re-quoted to their final
  amount on entering Proposal. Bookings use the final amount, so the ground truth is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spmlib.sample.deals import STAGE_MEDIAN_DAYS, crm_columns, days_to_datetime, stage_codes

__all__ = [
    "MAX_OVERDUE_DAYS",
    "SLIP_DAYS",
    "REESTIMATE_SHARE",
    "REVIEW_DAYS",
    "REVIEW_PUSH_SHARE",
    "REVIEW_PUSH_DAYS",
    "REVIEW_PULL_DAYS",
    "REQUOTE_SHARE",
    "REQUOTE_SIGMA",
    "DealHistory",
    "deal_history",
    "opportunities_on",
]

MAX_OVERDUE_DAYS = 10
SLIP_DAYS = (7, 45)
REESTIMATE_SHARE = 0.5
REVIEW_DAYS = 30.0
REVIEW_PUSH_SHARE = 0.7
REVIEW_PUSH_DAYS = (7, 30)
REVIEW_PULL_DAYS = (3, 14)
REQUOTE_SHARE = 0.35
REQUOTE_SIGMA = 0.2
_ESTIMATE_SIGMA = 0.3
_NEVER = np.iinfo(np.int64).max // 2


@dataclass
class DealHistory:
    """Each deal's expected close date and amount over time (deal = index in deal order).

    ``deal``, ``day``, ``close``: one row per estimate, sorted by deal then day: from ``day`` on
    (until the next row of the same deal) the deal was expected to close on ``close``.
    ``first_amount``: the amount shown until ``requote_day`` (``amount`` from then on).
    ``closed_day``: the day each deal closed (after the data's end for deals still open).
    """

    deal: np.ndarray
    day: np.ndarray
    close: np.ndarray
    first_amount: np.ndarray
    requote_day: np.ndarray
    amount: np.ndarray
    closed_day: np.ndarray

    def close_on(self, day: int, deals: np.ndarray) -> np.ndarray:
        """The close date of ``deals`` (indices) as an extract at the end of ``day`` shows
        it: the closing day of those closed by then, else the expected close set last."""
        seen = self.day <= day
        d, c = self.deal[seen], self.close[seen]
        last = np.ones(d.size, dtype=bool)
        last[:-1] = d[1:] != d[:-1]
        expected = np.full(self.closed_day.size, -1, dtype=np.int64)
        expected[d[last]] = c[last]
        closed = self.closed_day[deals] <= day
        return np.where(closed, self.closed_day[deals], expected[deals])

    def amount_on(self, day: int, deals: np.ndarray) -> np.ndarray:
        """The amount of ``deals`` as an extract at the end of ``day`` shows it."""
        return np.where(
            self.requote_day[deals] <= day, self.amount[deals], self.first_amount[deals]
        )


def _gap(rng: np.random.Generator, size: int) -> np.ndarray:
    """Days to the next pipeline review of ``size`` deals (exponential, at least 1)."""
    return np.maximum(np.round(rng.exponential(REVIEW_DAYS, size)), 1).astype(np.int64)


def deal_history(seed: int, deals, cycle_factor: np.ndarray, end_day: int) -> DealHistory:
    """Expected close dates and amounts of every deal over time, up to ``end_day``.

    Parameters
    ----------
    seed : the sample's seed (this part draws from ``default_rng([seed, 3])``).
    deals : :class:`spmlib.sample.deals.Deals` (entry days, stages reached, amounts).
    cycle_factor : each deal's rep's cycle factor (multiplier on time in stage).
    end_day : the last day of the world; no revision is dated after it.
    """
    rng = np.random.default_rng([seed, 3])
    n = deals.created.size
    rows = np.arange(n)
    closed_day = deals.entry[rows, deals.n_open]
    medians = STAGE_MEDIAN_DAYS[None, :] * cycle_factor[:, None]
    remaining = np.cumsum(medians[:, ::-1], axis=1)[:, ::-1]  # median days from stage k on

    def estimate(start: np.ndarray, typical: np.ndarray) -> np.ndarray:
        noise = np.exp(_ESTIMATE_SIGMA * rng.standard_normal(start.size))
        return start + np.maximum(np.round(typical * noise), 1).astype(np.int64)

    expected = estimate(deals.created, remaining[:, 0])
    # re-estimates on entering Proposal (3) and Negotiation (4), for the deals drawn
    stage_day = np.full((n, 2), _NEVER, dtype=np.int64)
    stage_close = np.zeros((n, 2), dtype=np.int64)
    for j, k in enumerate((3, 4)):
        reached = (deals.n_open > k) & (rng.random(n) < REESTIMATE_SHARE)
        stage_day[reached, j] = deals.entry[reached, k]
        stage_close[:, j] = estimate(deals.entry[:, k], remaining[:, k])
    parts = [(rows, deals.created, expected.copy())]
    now = deals.created.copy()
    active = closed_day > deals.created
    review = deals.created + _gap(rng, n)
    while active.any():  # one revision per active deal and round; each round is vectorized
        idx = np.flatnonzero(active)
        m = idx.size
        overdue = expected[idx] + 1 + rng.integers(0, MAX_OVERDUE_DAYS + 1, m)
        slipped = overdue + rng.integers(SLIP_DAYS[0], SLIP_DAYS[1] + 1, m)
        push = rng.random(m) < REVIEW_PUSH_SHARE
        shift = np.where(
            push,
            rng.integers(REVIEW_PUSH_DAYS[0], REVIEW_PUSH_DAYS[1] + 1, m),
            -rng.integers(REVIEW_PULL_DAYS[0], REVIEW_PULL_DAYS[1] + 1, m),
        )
        ahead = np.where(stage_day[idx] > now[idx, None], stage_day[idx], _NEVER)
        k = np.argmin(ahead, axis=1)
        at_stage = ahead[np.arange(m), k]
        day = np.minimum(np.minimum(overdue, at_stage), review[idx])
        new = np.select(
            [day == at_stage, day == review[idx]],
            [stage_close[idx, k], expected[idx] + shift],
            slipped,
        )
        new = np.maximum(new, day + 1)
        reviewed = day == review[idx]
        review[idx[reviewed]] = day[reviewed] + _gap(rng, int(reviewed.sum()))
        ok = (day < closed_day[idx]) & (day <= end_day)
        idx, day, new = idx[ok], day[ok], new[ok]
        parts.append((idx, day, new))
        expected[idx], now[idx] = new, day
        active[:] = False
        active[idx] = True
    deal = np.concatenate([p[0] for p in parts])
    day = np.concatenate([p[1] for p in parts])
    close = np.concatenate([p[2] for p in parts])
    order = np.lexsort((day, deal))
    requote = (deals.n_open > 3) & (rng.random(n) < REQUOTE_SHARE)
    first = deals.amount * np.exp(rng.normal(0.0, REQUOTE_SIGMA, n))
    first = np.where(requote, np.maximum(np.round(first, -1), 100.0), deals.amount)
    return DealHistory(
        deal=deal[order],
        day=day[order],
        close=close[order],
        first_amount=first,
        requote_day=np.where(requote, deals.entry[:, 3], -1),
        amount=deals.amount,
        closed_day=closed_day,
    )


def opportunities_on(opportunities: pd.DataFrame, history: DealHistory, day: int) -> pd.DataFrame:
    """The opportunities as an extract at the end of ``day`` shows them.

    ``opportunities`` holds the deals created by then, in deal order (row i is deal i: deals
    are numbered by creation), with the stage each was in that day; the close date, amount and
    CRM columns are set from ``history`` and that stage (:func:`spmlib.sample.deals.crm_columns`).
    """
    out = opportunities.copy()
    idx = np.arange(len(out))
    out["close_date"] = days_to_datetime(history.close_on(day, idx))
    out["amount"] = history.amount_on(day, idx).astype("float64")
    crm = crm_columns(stage_codes(out["stage"]))
    for name, values in crm.items():
        out[name] = values.set_axis(out.index)
    return out
