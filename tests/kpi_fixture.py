"""The hand-made dataset of the KPI known-answer tests, shared by the pandas and engine tests
(tests/test_kpis.py works out every expected value by hand from it)."""

from __future__ import annotations

import pandas as pd

from spmlib.io.schema import Dataset, DatasetConfig

D = pd.to_datetime


def kpi_dataset() -> Dataset:
    """Three reps (c has no deals), six deals and monthly quotas; the fiscal year starts in
    February, so FY2026-Q4 = Nov 2025 - Jan 2026 and FY2027-Q1 = Feb-Apr 2026."""
    reps = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c"],
            "rep_name": ["Ann", "Bob", "Cy"],
            "team": ["North", "North", "South"],
        }
    )
    opps = pd.DataFrame(
        {
            "opp_id": ["1", "2", "3", "4", "5", "6"],
            "rep_id": ["a", "a", "a", "b", "b", "a"],
            "created_date": D(
                ["2026-01-01", "2026-01-05", "2026-01-10", "2026-01-20", "2026-02-02", "2026-02-10"]
            ),
            "close_date": D(
                ["2026-01-11", "2026-01-20", "2026-03-01", "2026-02-19", "2026-02-12", "2026-02-15"]
            ),
            "stage": ["Won", "Lost", "Open", "Won", "Won", "Won"],
            "amount": [100.0, 50.0, 70.0, 300.0, 200.0, 60.0],
            "status": ["won", "lost", "open", "won", "won", "won"],
        }
    )
    quotas = pd.DataFrame(
        {
            "rep_id": ["a", "a", "b", "b"],
            "period_start": D(["2026-01-01", "2026-02-01", "2026-01-01", "2026-02-01"]),
            "period_end": D(["2026-01-31", "2026-02-28", "2026-01-31", "2026-02-28"]),
            "quota": [200.0, 200.0, 400.0, 400.0],
        }
    )
    config = DatasetConfig(("Open",), "Won", "Lost", fiscal_year_start_month=2)
    return Dataset(config, reps, opps, quotas=quotas)
