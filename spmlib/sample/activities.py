"""Sample data, part 3: activities, leads and quotas (vectorized), used by
:mod:`spmlib.sample.generator`.

Model
-----
* Deal activities: in each open stage a deal spends time in, calls, emails, meetings and demos
  arrive as Poisson counts (rates ``STAGE_RATES`` x the rep's activity_level), dated uniformly
  within the stage. Meetings and demos are ``ADVANCE_BOOST`` times more frequent in a stage the
  deal goes on to leave forward, and ``LOSS_DAMPING`` times as frequent in the stage it is lost
  in: activities correlate with outcomes.
* Every deal that reaches Proposal gets one ``proposal`` activity (linked by opp_id) a few days
  after entering it, outcome ``accepted`` / ``rejected`` (accepted proposals raise the odds of
  winning; see :mod:`spmlib.sample.deals`).
* Rep activities not linked to deals: prospecting calls and emails (proportional to the rep's
  expected deal flow), referrals given/received and events.
* Leads: every non-outbound deal comes from a lead converted the day the deal was created; each
  source also has unconverted leads so that its conversion rate is ``LEAD_CONVERSION``.
* Quotas: monthly, the same for every tenured rep of a team in a fiscal year (the team's expected
  monthly bookings / ``TARGET_ATTAINMENT``, rounded to 500), ramped for new hires.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spmlib.sample.deals import (
    DAYS_PER_MONTH,
    SOURCES,
    Deals,
    days_to_datetime,
    make_ids,
    str_series,
    take_labels,
)

__all__ = [
    "ACTIVITY_TYPES",
    "STAGE_RATES",
    "LEAD_CONVERSION",
    "TARGET_ATTAINMENT",
    "generate_activities",
    "generate_leads",
    "generate_quotas",
]

log = logging.getLogger(__name__)

ACTIVITY_TYPES = ("call", "email", "meeting", "demo", "proposal", "referral", "event")
#: Expected activities per open stage (rows: Prospecting..Negotiation; cols: call, email,
#: meeting, demo) for an activity_level of 1.
STAGE_RATES = np.array(
    [
        [1.6, 1.5, 0.2, 0.0],
        [1.2, 1.3, 0.6, 0.2],
        [0.8, 1.2, 0.9, 1.0],
        [0.6, 1.0, 0.7, 0.3],
        [0.6, 1.0, 0.8, 0.1],
    ]
)
ADVANCE_BOOST, LOSS_DAMPING = 1.3, 0.6
PROSPECTING_PER_DEAL = 0.8  # unlinked calls + emails per expected deal
REFERRALS_PER_MONTH = 0.6  # given, and again received
EVENTS_PER_MONTH = 0.4
DURATION_MEDIAN = np.array([6.0, 3.0, 35.0, 55.0, 60.0, 15.0, 180.0])
LEAD_CONVERSION = {"Inbound": 0.25, "Referral": 0.5, "Partner": 0.35, "Event": 0.15}
TARGET_ATTAINMENT = 1.05


def generate_activities(rng, reps: dict, deals: Deals, months: int, start_day: int,
                        end_day: int, scale: float = 1.0) -> pd.DataFrame:  # fmt: skip
    """The activities table, sorted by date (ids A0000001...)."""
    n = deals.rep.size
    level = reps["activity_level"]
    # --- per deal and open stage ------------------------------------------------------------
    cnt = deals.n_open
    deal = np.repeat(np.arange(n, dtype=np.int32), cnt)  # int32 and int8: memory-sane at 1M
    stage = (np.arange(deal.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)).astype(np.int8)
    lo = deals.entry[deal, stage].astype(np.int32)
    span = np.maximum(deals.entry[deal, stage + 1] - lo, 1).astype(np.int32)
    lost_here = (~deals.won[deal]) & (stage == deals.n_open[deal] - 1)
    mult = np.where(lost_here, LOSS_DAMPING, ADVANCE_BOOST)
    lam = STAGE_RATES[stage] * (level[deals.rep[deal]] * scale)[:, None]
    lam[:, 2:4] *= mult[:, None]
    counts = rng.poisson(lam)
    flat = np.repeat(np.arange(counts.size, dtype=_index_dtype(counts.size)), counts.ravel())
    del counts, lam, mult, lost_here
    row, a_type = flat // 4, (flat % 4).astype(np.int8)
    a_deal = deal[row]
    a_date = lo[row] + np.floor(rng.random(row.size) * span[row]).astype(np.int32)
    a_outcome = np.full(row.size, -1, dtype=np.int8)
    del flat, row, deal, stage, lo, span
    # --- proposals ----------------------------------------------------------------------------
    prop = np.flatnonzero(deals.n_open >= 4)
    p_span = deals.entry[prop, 4] - deals.entry[prop, 3]
    p_date = deals.entry[prop, 3] + np.minimum(rng.integers(0, 3, prop.size), p_span - 1)
    p_date, prop = p_date.astype(np.int32), prop.astype(np.int32)
    p_out = np.where(deals.accepted[prop], 0, 1).astype(np.int8)
    # --- rep activities not linked to deals ---------------------------------------------------
    lam_cell = deals.cell_lambda  # (reps, months)
    start_m = np.datetime64(start_day, "D").astype("datetime64[M]").astype(np.int64)
    bounds = (start_m + np.arange(months + 1)).astype("datetime64[M]").astype("datetime64[D]")
    bounds = bounds.astype(np.int64)
    m_lo = np.maximum(bounds[:-1][None, :], reps["hire_day"][:, None])
    m_hi = np.minimum(bounds[1:] - 1, end_day)[None, :].repeat(len(level), 0)
    # share of each month the rep works (hired mid-month, or the data end mid-month)
    active = np.maximum(m_hi - m_lo + 1, 0) / np.diff(bounds)[None, :]
    per_cell = np.stack(
        [
            PROSPECTING_PER_DEAL * lam_cell * level[:, None] * scale,  # call
            PROSPECTING_PER_DEAL * lam_cell * level[:, None] * scale,  # email
            active * REFERRALS_PER_MONTH * scale,  # referral given
            active * REFERRALS_PER_MONTH * scale,  # referral received
            active * EVENTS_PER_MONTH * scale,  # event
        ],
        axis=-1,
    )
    c2 = rng.poisson(per_cell)
    flat = np.repeat(np.arange(c2.size, dtype=np.int64), c2.ravel())
    kind = flat % 5
    cell = flat // 5
    r_rep = (cell // months).astype(np.int32)
    c_lo, c_hi = m_lo.ravel()[cell], m_hi.ravel()[cell]
    r_date = c_lo + np.floor(rng.random(cell.size) * (c_hi - c_lo + 1)).astype(np.int64)
    r_date = r_date.astype(np.int32)
    r_type = np.array([0, 1, 5, 5, 6], dtype=np.int8)[kind]
    r_outcome = np.array([-1, -1, 2, 3, -1], dtype=np.int8)[kind]
    # --- assemble -------------------------------------------------------------------------------
    rep_all = np.concatenate([deals.rep[a_deal], deals.rep[prop], r_rep])
    date_all = np.concatenate([a_date, p_date, r_date])
    type_all = np.concatenate([a_type, np.full(prop.size, 4, np.int8), r_type])
    opp_all = np.concatenate([a_deal, prop, np.full(r_rep.size, -1, dtype=np.int32)])
    out_all = np.concatenate([a_outcome, p_out, r_outcome])
    del a_deal, a_date, a_type, a_outcome
    keep = np.flatnonzero(date_all <= end_day)
    order = keep[np.argsort(date_all[keep], kind="stable")]
    rep_all, date_all, type_all = rep_all[order], date_all[order], type_all[order]
    opp_all, out_all = opp_all[order], out_all[order]
    m = order.size
    dur = DURATION_MEDIAN[type_all] * np.exp(0.4 * rng.standard_normal(m))
    opp_ids = deals.opp_ids
    return pd.DataFrame(
        {
            "activity_id": str_series(make_ids("A", m, 7)),
            "rep_id": take_labels(reps["rep_id"], rep_all),
            "type": take_labels(ACTIVITY_TYPES, type_all),
            "date": days_to_datetime(date_all),
            "opp_id": str_series(pc.take(opp_ids, pa.array(opp_all, mask=opp_all < 0))),
            "outcome": take_labels(("accepted", "rejected", "given", "received"), out_all),
            "duration_minutes": np.maximum(np.round(dur), 1.0),
        }
    )


def _index_dtype(size: int):
    return np.int32 if size < 2**31 - 1 else np.int64


def generate_leads(rng, deals: Deals, reps: dict, start_day: int, end_day: int) -> pd.DataFrame:
    """The leads table: converted leads behind non-outbound deals plus unconverted ones."""
    conv_rate = np.array([LEAD_CONVERSION.get(s, 1.0) for s in SOURCES])
    inbound = np.flatnonzero(deals.source != SOURCES.index("Outbound"))
    src = deals.source[inbound]
    l_created = np.maximum(deals.created[inbound] - rng.integers(0, 15, inbound.size), start_day)
    # unconverted leads: mean (1 - c) / c per converted one
    k = rng.poisson((1 - conv_rate[src]) / conv_rate[src])
    base = np.repeat(np.arange(inbound.size), k)
    u_created = np.clip(l_created[base] + rng.integers(-30, 31, base.size), start_day, end_day)
    rep = np.concatenate([deals.rep[inbound], deals.rep[inbound][base]])
    created = np.concatenate([l_created, u_created])
    created = np.maximum(created, reps["hire_day"][rep])
    source = np.concatenate([src, src[base]])
    opp = np.concatenate([inbound, np.full(base.size, -1)])
    order = np.lexsort((opp, created))
    rep, created, source, opp = rep[order], created[order], source[order], opp[order]
    conv = np.where(opp >= 0, deals.created[np.maximum(opp, 0)], np.iinfo(np.int64).min)
    converted = pd.Series(days_to_datetime(np.maximum(conv, 0))).where(opp >= 0)
    return pd.DataFrame(
        {
            "lead_id": str_series(make_ids("L", opp.size, 6)),
            "rep_id": take_labels(reps["rep_id"], rep),
            "created_date": days_to_datetime(created),
            "source": take_labels(SOURCES, source),
            "converted_date": converted.astype("datetime64[ns]"),
            "opp_id": str_series(pc.take(deals.opp_ids, pa.array(opp, mask=opp < 0))),
        }
    )


def generate_quotas(reps: dict, deals: Deals, months: int, start_day: int, end_day: int,
                    fy_start: int, true_win_rate: np.ndarray) -> pd.DataFrame:  # fmt: skip
    """Monthly quotas per rep: one team standard per fiscal year, ramped for new hires."""
    n_reps = len(reps["rep_id"])
    start_m = np.datetime64(start_day, "D").astype("datetime64[M]").astype(np.int64)
    m_idx = start_m + np.arange(months)
    bounds = (start_m + np.arange(months + 1)).astype("datetime64[M]").astype("datetime64[D]")
    bounds = bounds.astype(np.int64)
    fiscal_year = (m_idx - (fy_start - 1)) // 12
    expected = deals.planned_lambda * (true_win_rate * reps["deal_size"])[:, None]
    tenured = ~reps["new_hire"]
    team = reps["team"]
    quota = np.zeros((n_reps, months))
    for t in np.unique(team):  # loop over teams x fiscal years only (a handful)
        members = (team == t) & tenured
        if not members.any():
            members = team == t
        for fy in np.unique(fiscal_year):
            cols = fiscal_year == fy
            standard = expected[np.ix_(members, cols)].mean() / TARGET_ATTAINMENT
            quota[np.ix_(team == t, cols)] = max(500.0, np.round(standard / 500) * 500)
    mid = (bounds[:-1] + bounds[1:]) / 2.0
    tenure = (mid[None, :] - reps["hire_day"][:, None]) / DAYS_PER_MONTH
    ramp = np.where(
        reps["new_hire"][:, None],
        np.clip((tenure + 0.5) / reps["ramp_months"][:, None], 0.25, 1.0),
        1.0,
    )
    quota = np.maximum(np.round(quota * ramp / 100) * 100, 100.0)
    active = (bounds[1:] - 1)[None, :] >= reps["hire_day"][:, None]
    r, c = np.nonzero(active)
    return pd.DataFrame(
        {
            "rep_id": take_labels(reps["rep_id"], r),
            "period_start": days_to_datetime(bounds[:-1][c]),
            "period_end": days_to_datetime(bounds[1:][c] - 1),
            "quota": quota[r, c].astype("float64"),
        }
    )
