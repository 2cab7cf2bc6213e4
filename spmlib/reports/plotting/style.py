"""The one look of every chart: palette, sizes, axis units, tick labels and legends.

- **Palette**: Okabe and Ito's eight colours (:data:`PALETTE`), distinguishable with the common
  colour-vision deficiencies; :data:`GOOD`, :data:`BAD`, :data:`MAIN`, :data:`ACCENT` and
  :data:`NEUTRAL` give colours a meaning, and :data:`SEQUENTIAL` is the colour map of heat maps
  (viridis: ordered, colour-blind safe, missing cells left blank).
- **Canvas**: a chart is drawn for the browser (8 inches wide) or for the phone (3.6 inches,
  one panel per row), chosen with :func:`canvas`; every ``plot_*`` function is wrapped by
  :func:`chart`, which applies the canvas's sizes (:func:`rc`). The phone canvas is what the
  email shows: drawn at 3.6 inches and shown about 340 CSS pixels wide on a 390-pixel phone,
  a point is 1.3 pixels, so the smallest text (9 pt) reads at 12 pixels.
- **Units on the axes**: :func:`money_axis` ("$1.2M", in the dataset's currency),
  :func:`percent_axis` ("40%"), :func:`count_axis` ("12,000"): tick labels are formatted in
  full, so there is never an offset ("1e6") or scientific notation.
- **Tick labels that never overlap**: :func:`category_axis` shows as many category labels
  (periods such as ``FY2026-Q3``) as fit the axis, always the last one; :func:`date_axis`
  does the same for dates; :func:`tilt_if_crowded` tilts the labels of bars that must all
  be named.
- **Legends outside the data**: :func:`legend_outside` puts the legend under the chart.
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.ticker import Formatter, MaxNLocator

from spmlib.reports.formatter import format_money, format_number, format_percent

__all__ = [
    "PALETTE",
    "MAIN",
    "ACCENT",
    "GOOD",
    "BAD",
    "NEUTRAL",
    "SEQUENTIAL",
    "Canvas",
    "CANVASES",
    "canvas",
    "current",
    "rc",
    "chart",
    "new_axes",
    "money_axis",
    "percent_axis",
    "count_axis",
    "category_axis",
    "date_axis",
    "tilt_if_crowded",
    "legend_outside",
]

#: Okabe & Ito (2008), "Color Universal Design": blue, orange, bluish green, vermillion,
#: reddish purple, sky blue, yellow, grey.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#999999")
MAIN, ACCENT, GOOD, BAD, NEUTRAL = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3], PALETTE[7]
#: The colour map of heat maps (ordered, colour-blind safe).
SEQUENTIAL = "viridis"


@dataclass(frozen=True)
class Canvas:
    """Where a chart is shown.

    Attributes
    ----------
    name : ``browser`` or ``phone``.
    width : figure width in inches.
    font : the smallest text in points (ticks, legends, annotations); labels and titles are
        one and two points larger.
    panels : at most this many panels side by side.
    """

    name: str
    width: float
    font: float
    panels: int

    def height(self, inches: float) -> float:
        """A browser height for this canvas (charts grow with their rows, not their width)."""
        return inches if self.name == "browser" else max(2.6, 0.85 * inches)


#: The canvases by name.
CANVASES = {
    "browser": Canvas("browser", 8.0, 9.0, 2),
    "phone": Canvas("phone", 3.6, 9.0, 1),
}
_CURRENT: ContextVar[Canvas] = ContextVar("canvas", default=CANVASES["browser"])


def current() -> Canvas:
    """The canvas charts are drawn for now."""
    return _CURRENT.get()


@contextmanager
def canvas(name: str) -> Iterator[Canvas]:
    """Draw charts for ``name`` (``browser`` or ``phone``) inside the block."""
    token = _CURRENT.set(CANVASES[name])
    try:
        yield CANVASES[name]
    finally:
        _CURRENT.reset(token)


def rc(c: Canvas | None = None) -> dict[str, Any]:
    """matplotlib settings of a canvas: palette, font sizes, no offset or scientific notation.

    Examples
    --------
    >>> rc(CANVASES["phone"])["xtick.labelsize"], rc()["axes.formatter.useoffset"]
    (9.0, False)
    """
    c = c or current()
    return {
        "axes.prop_cycle": cycler(color=PALETTE),
        "axes.formatter.useoffset": False,
        "axes.formatter.limits": (-9, 15),
        "font.size": c.font,
        "axes.titlesize": c.font + 2,
        "axes.labelsize": c.font + 1,
        "xtick.labelsize": c.font,
        "ytick.labelsize": c.font,
        "legend.fontsize": c.font,
        "legend.title_fontsize": c.font,
        "legend.frameon": False,
        "figure.titlesize": c.font + 2,
        "image.cmap": SEQUENTIAL,
    }


def chart(plot: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a ``plot_*`` function: it draws with the current canvas's settings, and on a
    phone its titles and axis labels are wrapped to the width of the chart."""

    @functools.wraps(plot)
    def drawn(*args, **kwargs):
        with plt.rc_context(rc()):
            axes = plot(*args, **kwargs)
            if current().name == "phone":
                for ax in np.ravel(axes):
                    _wrap_labels(ax)
            return axes

    return drawn


def _wrap(text: str, inches: float, points: float) -> str:
    """``text`` wrapped into lines of about ``inches`` at ``points`` (existing breaks kept).

    Examples
    --------
    >>> _wrap("Percentile in the team (50 = median; higher is better)", 3.0, 10)
    'Percentile in the team (50 = median;\\nhigher is better)'
    """
    width = max(12, int(inches * 72 / (0.55 * points)))
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def _wrap_labels(ax: Axes) -> None:
    """Wrap the title and the axis labels of ``ax``; they are centred on the axes, which the
    layout may push to one side by long tick labels, so they get a bit over half the figure."""
    w, h = ax.figure.get_size_inches()
    size = float(plt.rcParams["axes.labelsize"])
    ax.set_xlabel(_wrap(ax.get_xlabel(), 0.55 * w, size))
    ax.set_ylabel(_wrap(ax.get_ylabel(), 0.8 * h, size))
    ax.set_title(_wrap(ax.get_title(), 0.55 * w, float(plt.rcParams["axes.titlesize"])))


def new_axes(height: float = 3.5, ax: Axes | None = None) -> Axes:
    """``ax`` if given, else the Axes of a new figure as wide as the canvas (constrained
    layout, so labels and legends outside the data stay inside the figure)."""
    if ax is not None:
        return ax
    c = current()
    _, ax = plt.subplots(figsize=(c.width, c.height(height)), layout="constrained")
    return ax


def _step(values: Sequence[float]) -> float:
    finite = np.unique(np.asarray([v for v in values if np.isfinite(v)], dtype="float64"))
    if len(finite) < 2:
        return abs(float(finite[0])) if len(finite) else 1.0
    return float(np.min(np.diff(finite)))


def _decimals(step: float) -> int:
    """The fewest decimals (0 to 2) that show multiples of ``step`` exactly.

    Examples
    --------
    >>> _decimals(5), _decimals(2.5), _decimals(0.25), _decimals(1 / 3)
    (0, 1, 2, 2)
    """
    if step <= 0 or not math.isfinite(step):
        return 0
    for digits in range(3):
        if abs(round(step, digits) - step) <= 1e-9 * max(1.0, abs(step)):
            return digits
    return 2


class _Ticks(Formatter):
    """Tick labels formatted together, so every label of an axis has the same decimals and
    scale: ``one(value, step between ticks, largest absolute tick)``."""

    def __init__(self, one: Callable[[float, float, float], str]):
        self.one = one
        self.step, self.top = 1.0, 1.0

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        finite = [abs(v) for v in locs if np.isfinite(v)]
        self.step, self.top = _step(list(locs)), max(finite, default=1.0)

    def __call__(self, x, pos=None) -> str:
        return self.one(float(x), self.step, self.top)


def _money(currency: str) -> Callable[[float, float, float], str]:
    def one(x: float, step: float, top: float) -> str:
        scale, suffix = (1e9, "B") if top >= 1e9 else (1e6, "M") if top >= 1e6 else (
            (1e3, "K") if top >= 1e4 else (1.0, ""))  # fmt: skip
        text = format_money(x / scale, currency, _decimals(step / scale))
        if x == 0:
            return format_money(0, currency)
        if not suffix:
            return text
        last = max(i for i, ch in enumerate(text) if ch.isdigit())
        return text[: last + 1] + suffix + text[last + 1 :]

    return one


def money_axis(ax: Axes, axis: str = "y", currency: str = "USD") -> Axes:
    """Amounts on ``axis`` read as money in ``currency``, compact (``$250K``, ``€1.2M``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = money_axis(new_axes(), "y", "EUR")
    >>> ax.yaxis.get_major_formatter().format_ticks([0, 500000, 1000000, 1500000])
    ['€0', '€0.5M', '€1.0M', '€1.5M']
    >>> ax.yaxis.get_major_formatter().format_ticks([0, 2000, 4000])
    ['€0', '€2,000', '€4,000']
    >>> plt.close("all")
    """
    _few_ticks(ax, axis, 6)
    getattr(ax, f"{axis}axis").set_major_formatter(_Ticks(_money(currency)))
    return ax


def _few_ticks(ax: Axes, axis: str, chars: int, integer: bool = False) -> None:
    """As many major ticks on a horizontal axis as labels of ``chars`` characters fit (round
    steps: 1, 2, 5); a vertical axis keeps matplotlib's choice."""
    if axis != "x" or ax.get_xscale() != "linear":
        return
    n = _fits(ax, ["0" * chars], "x")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=max(2, n - 1), steps=[1, 2, 5, 10],
                                           integer=integer))  # fmt: skip


def percent_axis(ax: Axes, axis: str = "x") -> Axes:
    """Shares (0 to 1) on ``axis`` read as percentages (``40%``)."""
    formatter = _Ticks(lambda x, step, top: format_percent(x, _decimals(step * 100)))
    target = getattr(ax, f"{axis}axis")
    if axis == "x":
        _few_ticks(ax, axis, 4)
    elif getattr(ax, f"get_{axis}scale")() == "linear":
        target.set_major_locator(MaxNLocator(steps=[1, 2, 5, 10]))
    target.set_major_formatter(formatter)
    return ax


def count_axis(ax: Axes, axis: str = "y", whole: bool = True) -> Axes:
    """Counts on ``axis`` with thousands separators (``12,000``); whole ticks only when
    ``whole``."""
    target = getattr(ax, f"{axis}axis")
    if axis == "x":
        _few_ticks(ax, axis, 5, integer=whole)
    elif whole and getattr(ax, f"get_{axis}scale")() == "linear":
        target.set_major_locator(MaxNLocator(integer=True))
    target.set_major_formatter(_Ticks(lambda x, step, top: format_number(x, _decimals(step))))
    return ax


def _room(ax: Axes, axis: str) -> float:
    """Inches available along ``axis`` (the axes' share of the figure, before layout)."""
    fig = ax.figure
    w, h = fig.get_size_inches()
    box = ax.get_position()
    return (box.width * w) if axis == "x" else (box.height * h)


def _fits(ax: Axes, labels: Sequence[str], axis: str) -> int:
    """How many labels fit along ``axis`` side by side (x) or stacked (y)."""
    size = plt.rcParams["xtick.labelsize" if axis == "x" else "ytick.labelsize"]
    size = size if isinstance(size, float | int) else current().font
    points = float(size)
    if axis == "x":
        widest = max((len(str(s)) for s in labels), default=1)
        each = (0.62 * widest + 1.5) * points / 72
    else:
        each = 1.6 * points / 72
    return max(1, int(_room(ax, axis) * 0.9 / each))


def category_axis(ax: Axes, labels: Sequence[str], axis: str = "x") -> Axes:
    """Categories at positions 0, 1, … on ``axis``, labelled with ``labels``; when they do not
    all fit, every k-th is shown, always the last (the latest period)."""
    labels = [str(s) for s in labels]
    n = len(labels)
    k = max(1, math.ceil(n / _fits(ax, labels, axis))) if n else 1
    shown = [i for i in range(n) if (n - 1 - i) % k == 0]
    setter = ax.set_xticks if axis == "x" else ax.set_yticks
    setter(shown, [labels[i] for i in shown])
    return ax


def tilt_if_crowded(ax: Axes) -> Axes:
    """Fit the x tick labels of a bar chart, where every label matters and none may be
    dropped: when they do not fit side by side, each is broken after its first space or
    hyphen (``100-120%`` → ``100-`` over ``120%``), and turned upright if that is not enough.

    Examples
    --------
    >>> _two_lines("100-120%"), _two_lines(">= 120%"), _two_lines("Proposal")
    ('100-\\n120%', '>=\\n120%', 'Proposal')
    """
    ticks = list(ax.get_xticks())
    formatter = ax.xaxis.get_major_formatter()
    labels = [str(formatter(x)) for x in ticks]
    if not labels or len(labels) <= _fits(ax, labels, "x"):
        return ax
    broken = [_two_lines(s) for s in labels]
    ax.set_xticks(ticks, broken)
    lines = [line for s in broken for line in s.split("\n")]
    if len(labels) > _fits(ax, lines, "x"):
        ax.tick_params(axis="x", labelrotation=90)
    return ax


def _two_lines(label: str) -> str:
    """``label`` broken after its first space or hyphen (kept whole when it has none)."""
    for i, ch in enumerate(label[:-1]):
        if ch in " -":
            return label[: i + 1].rstrip() + "\n" + label[i + 1 :].lstrip()
    return label


def date_axis(ax: Axes, axis: str = "x") -> Axes:
    """Dates on ``axis``: concise labels (``2026``, ``Mar``, …), as many as fit."""
    import matplotlib.dates as mdates

    n = _fits(ax, ["2026-10"], axis)
    locator = mdates.AutoDateLocator(minticks=2, maxticks=max(3, n))
    target = getattr(ax, f"{axis}axis")
    target.set_major_locator(locator)
    target.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    return ax


def legend_outside(ax: Axes, handles=None, labels=None, title: str | None = None) -> None:
    """The legend under the chart, outside the data (a figure legend when the figure has a
    constrained layout, else to the right of the axes); nothing when there is nothing to name."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    fig = ax.figure
    columns = min(len(handles), 2 if current().name == "phone" else 4)
    engine = fig.get_layout_engine()
    if engine is not None and type(engine).__name__ == "ConstrainedLayoutEngine":
        fig.legend(handles, labels, loc="outside lower center", ncols=columns, title=title)
    else:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1), title=title)
