"""Every chart of the reports reads well, in the browser and on a phone.

Each figure of the report builders (a team and a rep of the sample) is drawn for both canvases
and checked: the axes come back, tick labels carry their unit (money in the report's currency,
percentages) and never an offset or scientific notation, tick labels of an axis never overlap,
legends sit outside the data, axis titles are written for people (never "value" or a
snake_case name), and the email's phone version has no text under 11 CSS pixels when the
email is read 390 pixels wide.
"""

from __future__ import annotations

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from PIL import Image  # noqa: E402

import spmlib  # noqa: E402
from spmlib.reports import plotting  # noqa: E402
from spmlib.reports.builders import build_report  # noqa: E402
from spmlib.reports.comp_statement import build_comp_statement_report  # noqa: E402
from spmlib.reports.notebook import PNG_DPI, _png  # noqa: E402
from spmlib.reports.params import (  # noqa: E402
    REPORT_PARAMS,
    CompStatementParams,
    ForecastParams,
    QuotaPlanParams,
)
from spmlib.reports.plotting import style  # noqa: E402
from spmlib.reports.quota_plan import build_quota_plan_report  # noqa: E402
from spmlib.reports.report import Figure  # noqa: E402
from spmlib.reports.scope import resolve_scope  # noqa: E402

#: Width (CSS px) of the email's content column on a 390-pixel phone: 390 minus the outer
#: padding (2 x 8), the card's border (2 x 1) and the block padding (2 x 16).
PHONE_CONTENT = 390 - 16 - 2 - 32
SNAKE = re.compile(r"\b[a-z0-9]+(_[a-z0-9]+)+\b")
FAST_FORECAST = ForecastParams(origins=2, horizon=3, methods="snaive,ets", n_sims=200)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    """Every Figure of the funnel, productivity, forecast, overview, scorecard, quota plan and
    pay statement reports of team Atlas and rep R001 (sample data), with the currency."""
    ds = spmlib.load(None)
    others = [
        build_quota_plan_report(ds, resolve_scope(ds, team="Atlas"),
                                QuotaPlanParams(hires="params/plan/hires.yml")),
        build_comp_statement_report(
            ds, resolve_scope(ds, rep_id="R001"),
            CompStatementParams(outputs=str(tmp_path_factory.mktemp("comp"))),
        ),
    ]  # fmt: skip
    out = [
        (r.kind, b, r.currency)
        for r in others
        for s in r.all_sections
        for b in s.blocks
        if isinstance(b, Figure)
    ]
    for kind, scope in [
        ("funnel", resolve_scope(ds, team="Atlas")),
        ("productivity", resolve_scope(ds, team="Atlas")),
        ("forecast", resolve_scope(ds, team="Atlas")),
        ("data_overview", resolve_scope(ds)),
        ("rep_scorecard", resolve_scope(ds, rep_id="R001")),
    ]:
        params = FAST_FORECAST if kind == "forecast" else REPORT_PARAMS[kind]()
        report = build_report(kind, ds, scope, params)
        for section in report.all_sections:
            out += [(kind, b, report.currency) for b in section.blocks if isinstance(b, Figure)]
    return out


def _tick_texts(axis) -> list[Text]:
    return [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]


def _overlaps(texts: list[Text], renderer) -> list[tuple[str, str]]:
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    found = []
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            if box_a.overlaps(box_b):
                found.append((a, b))
    return found


def check_chart(fig, currency: str) -> list[str]:
    """What reads badly in a drawn figure (empty when nothing)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    symbol = {"USD": "$", "EUR": "€"}.get(currency, currency)
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            texts = _tick_texts(axis)
            labels = [t.get_text() for t in texts]
            if axis.get_offset_text().get_text():
                problems.append(f"{name} axis offset text {axis.get_offset_text().get_text()!r}")
            if any(re.search(r"\de[+-]?\d|1e\d", s) for s in labels):
                problems.append(f"{name} tick labels in scientific notation: {labels}")
            overlapping = _overlaps(texts, renderer)
            if overlapping:
                problems.append(f"{name} tick labels overlap: {overlapping[:3]}")
            title = axis.get_label_text()
            if title.strip().lower() == "value" or SNAKE.search(title):
                problems.append(f"{name} axis title {title!r}")
            money = f"({currency})" in title or title.lower().startswith(("bookings", "pipeline"))
            numeric = [s for s in labels if re.search(r"\d", s)]
            if money and numeric and not all(symbol in s for s in numeric):
                problems.append(f"{name} money axis without the currency: {labels}")
            share = re.search(r"\b(share|rate|attainment)\b", title.lower())
            if share and numeric and not all("%" in s for s in numeric):
                problems.append(f"{name} share axis without %: {labels}")
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            if legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer)):
                problems.append("legend inside the data")
    return problems


def _smallest_text(fig) -> float:
    """The smallest font size (points) of the visible text of a figure."""
    sizes = [
        t.get_fontsize()
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.get_figure() is not None
    ]
    return min(sizes)


@pytest.mark.slow
@pytest.mark.parametrize("canvas", ["browser", "phone"])
def test_every_report_chart_reads_well(figures, canvas):
    assert len(figures) >= 20
    problems = {}
    for kind, figure, currency in figures:
        fig = figure.draw(canvas, currency)
        assert fig.axes, figure.plot.__name__
        found = check_chart(fig, currency)
        if found:
            problems[f"{kind}: {figure.plot.__name__}"] = found
        plt.close(fig)
    assert problems == {}


@pytest.mark.slow
def test_phone_charts_have_text_of_at_least_11_pixels_at_390_wide(figures):
    smallest = {}
    for kind, figure, currency in figures:
        fig = figure.draw("phone", currency)
        points = _smallest_text(fig)
        data, _ = _png(fig)
        with Image.open(io.BytesIO(base64.b64decode(data))) as img:
            shown = min(PHONE_CONTENT, img.width)  # the email shows it at most column-wide
            pixels = points / 72 * PNG_DPI * shown / img.width
        smallest[f"{kind}: {figure.plot.__name__}"] = round(pixels, 1)
        plt.close(fig)
    assert min(smallest.values()) >= 11, smallest


@pytest.mark.slow
def test_the_phone_version_is_drawn_for_the_phone_not_shrunk(figures):
    """Drawn 3.6 inches wide with one panel per row, not the browser's 8 inches scaled down."""
    for _, figure, currency in figures:
        browser, phone = figure.draw("browser", currency), figure.draw("phone", currency)
        assert browser.get_size_inches()[0] == pytest.approx(8.0)
        assert phone.get_size_inches()[0] == pytest.approx(3.6)
        phone.canvas.draw()
        panels = [a for a in phone.axes if a.get_visible() and a.get_label() != "<colorbar>"]
        assert len({round(a.get_position().x0, 2) for a in panels}) == 1, figure.plot.__name__
        plt.close("all")


# --- the style on small hand-made data ---------------------------------------------------------


def test_money_ticks_have_one_scale_and_the_currency():
    # ticks 0, 0.5M, 1M, 1.5M: one scale (M) for the axis, decimals that tell them apart
    ax = style.money_axis(style.new_axes(), "y", "EUR")
    assert ax.yaxis.get_major_formatter().format_ticks([0, 5e5, 1e6, 1.5e6]) == [
        "€0",
        "€0.5M",
        "€1.0M",
        "€1.5M",
    ]
    # below 10,000: whole amounts with separators
    assert ax.yaxis.get_major_formatter().format_ticks([0, 2500, 5000]) == [
        "€0",
        "€2,500",
        "€5,000",
    ]


def test_percent_ticks_keep_the_decimals_that_tell_them_apart():
    ax = style.percent_axis(style.new_axes(), "y")
    assert ax.yaxis.get_major_formatter().format_ticks([0.2, 0.225, 0.25]) == [
        "20.0%",
        "22.5%",
        "25.0%",
    ]
    assert ax.yaxis.get_major_formatter().format_ticks([0.0, 0.5, 1.0]) == ["0%", "50%", "100%"]


def test_large_counts_are_never_offset_or_scientific():
    ax = style.new_axes()
    ax.plot([0, 1, 2], [1.0e6, 1.000002e6, 1.000004e6])
    style.count_axis(ax, "y", whole=False)
    ax.figure.canvas.draw()
    assert ax.yaxis.get_offset_text().get_text() == ""
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert all("e" not in s for s in labels) and any("," in s for s in labels)


@pytest.mark.parametrize("canvas", ["browser", "phone"])
def test_twelve_quarter_labels_never_overlap(canvas):
    periods = [f"FY{2024 + i // 4}-Q{i % 4 + 1}" for i in range(12)]
    with style.canvas(canvas):
        with plt.rc_context(style.rc()):
            ax = style.new_axes(3.0)
            ax.plot(range(12), np.arange(12.0))
            style.category_axis(ax, periods, "x")
    ax.figure.canvas.draw()
    texts = _tick_texts(ax.xaxis)
    assert texts[-1].get_text() == "FY2026-Q4"  # the latest period is always labelled
    assert _overlaps(texts, ax.figure.canvas.get_renderer()) == []
    if canvas == "phone":
        assert len(texts) < 12


def test_legend_goes_under_the_chart_outside_the_data():
    ax = style.new_axes()
    ax.plot([0, 1], [0, 1], label="you")
    ax.plot([0, 1], [1, 0], label="team median")
    style.legend_outside(ax)
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (legend,) = fig.legends
    assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    assert legend.get_window_extent(renderer).y1 < ax.get_window_extent(renderer).y0


def test_palette_is_okabe_ito_and_set_once():
    assert style.PALETTE[:4] == ("#0072B2", "#E69F00", "#009E73", "#D55E00")
    assert style.rc()["axes.prop_cycle"].by_key()["color"] == list(style.PALETTE)


def test_pace_chart_never_colours_a_rep_without_quota():
    att = pd.DataFrame(
        {
            "rep_name": ["Ann", "Bo", "Cy"],
            "attainment": [1.2, np.nan, 0.4],
            "on_pace": [True, False, False],
            "elapsed_share": [0.5] * 3,
            "period": ["FY2026-Q1"] * 3,
        }
    )
    ax = plotting.plot_pace(att)
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert "Bo" not in names and len(ax.patches) == 2
