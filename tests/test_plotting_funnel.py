"""The funnel charts return an Axes for the outputs of the compute functions (headless)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from funnel_fixture import CONFIG, opportunities, reps, stage_history  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from spmlib.funnel.conversion import cohort_funnel, stage_funnel, win_rates  # noqa: E402
from spmlib.funnel.flow import pipeline_flow  # noqa: E402
from spmlib.funnel.velocity import stage_stays  # noqa: E402
from spmlib.reports import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_funnel_charts_return_axes():
    o, h = opportunities(), stage_history()
    charts = [
        plotting.plot_funnel(stage_funnel(o, h, config=CONFIG)),
        plotting.plot_funnel(stage_funnel(o, None, config=CONFIG)),
        plotting.plot_rate_forest(win_rates(o, by="rep", reps=reps()), reference=0.4),
        plotting.plot_time_in_stage(stage_stays(o, h, config=CONFIG)),
        plotting.plot_pipeline_flow(
            pipeline_flow(o, h, config=CONFIG, start="2026-01-06", end="2026-01-20")
        ),
        plotting.plot_cohort_heatmap(cohort_funnel(o, h, config=CONFIG)),
    ]
    assert all(isinstance(ax, Axes) for ax in charts)


def test_chart_draws_on_given_axes():
    _, ax = plt.subplots()
    out = plotting.plot_funnel(stage_funnel(opportunities(), stage_history(), config=CONFIG), ax=ax)
    assert out is ax
