"""What a plan costs: on last year's real results, and next period from the pipeline forecast.

- :func:`plan_cost_history` puts every rep with a quota on each plan for a past range (from the
  range's start, or their hire date or first quota day when later) and works pay out with the
  engine: cost = earnings + SPIFs + clawbacks (draws are advances, not cost), against the
  bookings (won amounts credited in the range), per plan.
- :func:`plan_cost_forecast` takes the pipeline Monte Carlo of the next period
  (:func:`spmlib.forecast.pipeline.simulate_bookings`: booked so far, open deals by their
  win probability, new deals at the run rate) and applies each plan's rate table to every
  simulated period of every rep (``TI x earnings multiple(bookings / quota)``, capped): P10, P50
  and P90 of the total cost and of cost / bookings. SPIFs are left out of the forecast (they
  depend on which deals close, which the simulation does not name).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from spmlib.comp.engine import CompInputs, compute
from spmlib.comp.inputs import empty_adjustments
from spmlib.comp.plan import Plan
from spmlib.comp.rates import earnings_multiple
from spmlib.comp.segments import build_segments
from spmlib.forecast.pipeline import simulate_bookings
from spmlib.io.schema import Dataset

__all__ = ["everyone_on", "plan_cost_history", "plan_cost_forecast", "FORECAST_FREQ"]

#: The pipeline forecast frequency of each plan period (a yearly plan is not forecast).
FORECAST_FREQ = {"month": "M", "quarter": "Q"}


def everyone_on(ds: Dataset, plan: Plan, start: pd.Timestamp) -> pd.DataFrame:
    """Assignments putting every rep with a quota on ``plan`` from ``start``, or from the later
    of their hire date and their first quota day (data that begin inside the range cost only
    the days they cover).

    Examples
    --------
    >>> from spmlib.io.schema import Dataset, DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["a", "b", "c"],
    ...                      "hire_date": pd.to_datetime(["2020-01-01", "2026-03-10", None])})
    >>> quotas = pd.DataFrame({"rep_id": ["a", "b", "b"],
    ...     "period_start": pd.to_datetime(["2025-11-01", "2026-03-01", "2026-04-01"]),
    ...     "period_end": pd.to_datetime(["2025-11-30", "2026-03-31", "2026-04-30"]),
    ...     "quota": [1.0, 1.0, 1.0]})
    >>> ds = Dataset(DatasetConfig(("Open",), "Won", "Lost"), reps, pd.DataFrame(), quotas=quotas)
    >>> plan = type("P", (), {"name": "AE"})()
    >>> on = everyone_on(ds, plan, pd.Timestamp("2025-02-01"))
    >>> on[["rep_id", "valid_from"]].astype(str).values.tolist()  # c has no quota: not on it
    [['a', '2025-11-01'], ['b', '2026-03-10']]
    """
    reps = ds.reps[ds.reps["rep_id"].isin(set(ds.quotas["rep_id"]))]
    first_quota = reps["rep_id"].map(ds.quotas.groupby("rep_id")["period_start"].min())
    hired = (
        reps["hire_date"] if "hire_date" in reps.columns else pd.Series(pd.NaT, index=reps.index)
    )
    valid_from = pd.concat([hired, first_quota], axis=1).max(axis=1)
    valid_from = valid_from.where(valid_from > start, start).fillna(start)
    return pd.DataFrame(
        {
            "rep_id": reps["rep_id"].astype("string").to_numpy(),
            "plan": pd.array([plan.name] * len(reps), dtype="string"),
            "valid_from": valid_from.to_numpy(dtype="datetime64[ns]"),
            "valid_to": pd.Series(pd.NaT, index=range(len(reps)), dtype="datetime64[ns]"),
            "target_incentive": [None] * len(reps),
            "row": np.arange(1, len(reps) + 1),
        }
    )


def plan_cost_history(
    ds: Dataset, plans: Mapping[str, Plan], start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Cost of each plan over [start, end] with everyone on it (see the module docstring).

    Returns
    -------
    DataFrame ``plan``, ``reps``, ``periods``, ``cost_cents`` (earnings + SPIFs + clawbacks),
    ``earnings_cents``, ``spifs_cents``, ``credited_cents`` (revenue and overlay credit),
    ``bookings_cents`` (won amounts in the range), ``cost_share`` (cost / bookings),
    ``reps_paid_over_ti`` (rep periods paid above their target incentive).
    """
    won = ds.opportunities
    won = won[(won["status"] == "won") & won["close_date"].between(start, end)]
    bookings = int(round(float(won["amount"].sum()) * 100))
    rows = []
    for name, plan in plans.items():
        inputs = CompInputs(ds, {name: plan}, everyone_on(ds, plan, start), empty_adjustments())
        st = compute(inputs, start, end).statements
        cost = st["earnings_cents"] + st["spifs_cents"] + st["clawbacks_cents"]
        rows.append(
            {
                "plan": name,
                "reps": int(st["rep_id"].nunique()),
                "periods": int(st["period"].nunique()),
                "cost_cents": int(cost.sum()),
                "earnings_cents": int(st["earnings_cents"].sum()),
                "spifs_cents": int(st["spifs_cents"].sum()),
                "credited_cents": int(st["credited_cents"].sum()),
                "bookings_cents": bookings,
                "cost_share": float(cost.sum()) / bookings if bookings else np.nan,
                "reps_paid_over_ti": int(
                    (st["earnings_cents"] > st["target_incentive_cents"]).sum()
                ),
            }
        )
    return pd.DataFrame(rows)


def plan_cost_forecast(
    ds: Dataset, plans: Mapping[str, Plan], n_sims: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """Next period's cost of each plan from the pipeline Monte Carlo (module docstring).

    Returns
    -------
    DataFrame ``plan``, ``period_start``, ``period_end``, ``reps``, ``cost_p10``, ``cost_p50``,
    ``cost_p90``, ``bookings_p10``, ``bookings_p50``, ``bookings_p90``, ``share_p10``,
    ``share_p50``, ``share_p90`` (cost / bookings per simulation), in currency units. Plans whose
    period cannot be forecast (yearly) are left out.
    """
    rows, cache = [], {}
    for name, plan in plans.items():
        freq = FORECAST_FREQ.get(plan.period)
        if freq is None:
            continue
        if freq not in cache:
            cache[freq] = simulate_bookings(ds, freq=freq, n_sims=n_sims, seed=seed)
        start, end, sims = cache[freq]
        seg = build_segments(
            everyone_on(ds, plan, start),
            {name: plan},
            ds.quotas,
            end,
            end,
            ds.config.fiscal_year_start_month,
        )
        seg = seg[seg["period_end"] == end]
        reps = [r for r in seg["rep_id"] if r in sims.columns]
        seg = seg.set_index("rep_id").loc[reps]
        quota = np.array([float(q) for q in seg["quota"]])
        ti = np.array([float(t) for t in seg["ti"]])
        booked = sims[reps].to_numpy()  # simulations x reps
        cost = (earnings_multiple(plan.rate_table, booked / quota) * ti).sum(axis=1)
        total = booked.sum(axis=1)
        share = np.divide(cost, total, out=np.full_like(cost, np.nan), where=total > 0)
        q = [0.1, 0.5, 0.9]
        rows.append(
            {
                "plan": name,
                "period_start": start,
                "period_end": end,
                "reps": len(reps),
                **dict(
                    zip(["cost_p10", "cost_p50", "cost_p90"], np.quantile(cost, q), strict=True)
                ),
                **dict(
                    zip(
                        ["bookings_p10", "bookings_p50", "bookings_p90"],
                        np.quantile(total, q),
                        strict=True,
                    )
                ),
                **dict(
                    zip(
                        ["share_p10", "share_p50", "share_p90"],
                        np.nanquantile(share, q),
                        strict=True,
                    )
                ),
            }
        )
    return pd.DataFrame(rows)
