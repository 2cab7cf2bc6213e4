"""Team benchmarks that never reveal a colleague: the one rule of every rep's report.

A rep's report may set the rep's own figure beside the rest of the team only as

- the **median of the other reps**, rounded to two significant figures, and only when at least
  :data:`MIN_OTHER_REPS` other reps have a value; and
- the rep's **band** among the team: *top quarter*, *middle half* or *bottom quarter*, never an
  exact rank, percentile or quartile.

With fewer other reps there is no benchmark, and the report says why (:func:`why_no_benchmark`):
in a team of three, a median and two quartiles of the others are both colleagues' exact
figures, and even a pooled "rest of the team" rate is one colleague's when there is one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MIN_OTHER_REPS",
    "BANDS",
    "round_significant",
    "band_of",
    "Benchmark",
    "team_benchmark",
    "why_no_benchmark",
]

#: Fewest other reps with a value for a team benchmark to be shown.
MIN_OTHER_REPS = 5
#: The bands a rep can be in, best first.
BANDS = ("top quarter", "middle half", "bottom quarter")


def round_significant(value: float, digits: int = 2) -> float:
    """``value`` rounded to ``digits`` significant figures (NaN stays NaN).

    Examples
    --------
    >>> round_significant(188470.0), round_significant(0.3149), round_significant(-0.0467)
    (190000.0, 0.31, -0.047)
    >>> round_significant(0.0)
    0.0
    """
    if value is None or not math.isfinite(value) or value == 0:
        return float("nan") if value is None else float(value)
    exponent = math.floor(math.log10(abs(value)))
    return float(round(value, digits - 1 - exponent))


def band_of(own: float, others: Sequence[float], higher_is_better: bool = True) -> str | None:
    """The rep's band among the team: the share of the other reps the rep does better than
    (ties count half) is at least 3/4: *top quarter*; at most 1/4: *bottom quarter*; else
    *middle half*. None when ``own`` is missing or there are no others.

    Examples
    --------
    >>> band_of(0.5, [0.1, 0.2, 0.3, 0.4, 0.6])   # better than 4 of 5
    'top quarter'
    >>> band_of(10.0, [5, 8, 12, 15, 20], higher_is_better=False)   # shorter is better: 3 of 5
    'middle half'
    >>> band_of(0.1, [0.1, 0.2, 0.3, 0.4, 0.6])   # a tie counts half: 0.5 of 5
    'bottom quarter'
    """
    values = np.asarray([v for v in others if v is not None and not _nan(v)], dtype=float)
    if own is None or _nan(own) or not len(values):
        return None
    better = values < own if higher_is_better else values > own
    share = (better.sum() + 0.5 * (values == own).sum()) / len(values)
    if share >= 0.75:
        return BANDS[0]
    return BANDS[2] if share <= 0.25 else BANDS[1]


def _nan(value: float) -> bool:
    return isinstance(value, float | np.floating) and math.isnan(value)


@dataclass(frozen=True)
class Benchmark:
    """A rep's figure beside the team: ``median`` of the other reps (two significant figures)
    and the rep's ``band``; both None with ``reason`` saying why when none may be shown."""

    median: float | None
    band: str | None
    others: int
    reason: str = ""

    @property
    def shown(self) -> bool:
        return self.median is not None


def why_no_benchmark(others: int, minimum: int = MIN_OTHER_REPS) -> str:
    """The sentence a report shows instead of a benchmark.

    Examples
    --------
    >>> print(why_no_benchmark(1)[:64])
    No team benchmark: only 1 other rep has a value, and a benchmark
    """
    if others == 0:
        who = "no other rep of the team has a value"
    else:
        who = f"only {others} other rep{' has' if others == 1 else 's have'} a value"
    return (
        f"No team benchmark: {who}, and a benchmark is shown only over at least {minimum}, so "
        "that it never reveals a colleague."
    )


def team_benchmark(
    own: float,
    others: Sequence[float],
    higher_is_better: bool = True,
    minimum: int = MIN_OTHER_REPS,
) -> Benchmark:
    """The team benchmark of one figure of a rep (rule in the module docstring).

    Parameters
    ----------
    own : the rep's value.
    others : the values of the other reps of the team (missing values are left out).
    higher_is_better : which way is good (for the band).
    minimum : fewest other reps with a value.

    Examples
    --------
    >>> team_benchmark(0.32, [0.1, 0.21, 0.3149, 0.33, 0.5])   # better than 3 of 5
    Benchmark(median=0.31, band='middle half', others=5, reason='')
    >>> team_benchmark(0.42, [0.1, 0.3]).median is None
    True
    """
    values = [float(v) for v in others if v is not None and not _nan(float(v))]
    if len(values) < minimum:
        return Benchmark(None, None, len(values), why_no_benchmark(len(values), minimum))
    median = round_significant(float(np.median(values)))
    return Benchmark(median, band_of(own, values, higher_is_better), len(values))
