"""Typed parameters of each report kind, checked before anything runs.

Each report notebook declares its parameters in a cell tagged ``parameters`` (papermill injects
values after it) and passes them to one of these classes. The same classes check a batch: for
every planned report, ``spm batch`` and ``spm run`` build the parameter object from the merged
layers (:mod:`spmlib.run.params`) and resolve the scope against the data before the first kernel
starts, so a typo (``period: quarterly``) fails once, naming the file and the key and listing the
valid values, instead of failing every report at run time.

Scope parameters (``team``, ``rep_id``, ``manager``) and the data parameters (``data``,
``mapping``) are not part of these objects: the scope is resolved by
:func:`spmlib.reports.scope.resolve_scope`, the data loaded by :func:`spmlib.load`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import pandas as pd

from spmlib.core.periods import period_kind
from spmlib.core.ranges import day_range, parse_day
from spmlib.exceptions import ParameterError, UnknownNameError
from spmlib.forecast.methods import METHODS
from spmlib.forecast.series import normalize_freq
from spmlib.planning.allocation import METHODS as QUOTA_METHODS
from spmlib.planning.allocation import QUOTA_PERIODS, WEIGHTS
from spmlib.planning.quota_plan import parse_over_assign
from spmlib.productivity.leaderboard import METRICS
from spmlib.productivity.ramp import RAMP_METRICS

__all__ = [
    "ReportParams",
    "OverviewParams",
    "FunnelParams",
    "ProductivityParams",
    "ScorecardParams",
    "ForecastParams",
    "QuotaPlanParams",
    "CompStatementParams",
    "CompPlanParams",
    "TeamBriefParams",
    "REPORT_PARAMS",
    "SCOPE_PARAMETERS",
    "DATA_PARAMETERS",
    "report_params",
]

#: Parameters that choose the scope, and those that choose the data: every report takes them.
SCOPE_PARAMETERS = ("team", "rep_id", "manager")
DATA_PARAMETERS = ("data", "mapping")


def _positive_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ParameterError(f"{key} must be a whole number, got {value!r}.")
    if value < 1:
        raise ParameterError(f"{key} must be at least 1, got {value!r}.")
    return int(value)


def _name(value: Any, key: str, valid) -> str:
    if not isinstance(value, str) or value not in valid:
        raise UnknownNameError(key, str(value), list(valid))
    return value


@dataclass(frozen=True)
class ReportParams:
    """Parameters every report takes: the analysed range and the reference date.

    Attributes
    ----------
    start, end : first and last day of the analysed range (``YYYY-MM-DD``); None = the data's
        own range. Stored as given; :attr:`range` holds them parsed.
    as_of : the report's reference date (``YYYY-MM-DD``): "this quarter" is the fiscal quarter
        containing it (:func:`spmlib.core.periods.period_frame`), and the data is read as it
        stood that day (:func:`spmlib.io.as_of.dataset_as_of`). None = the dataset's ``as_of``
        (``dataset.yml``), else its last date. Never after the data's own reference date.
    """

    start: str | None = None
    end: str | None = None
    as_of: str | None = None

    #: The notebook of this kind (``notebooks/<kind>.ipynb``).
    kind: ClassVar[str] = ""

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        day_range(self.start, self.end)
        parse_day(self.as_of, "as_of")

    @property
    def as_of_day(self) -> pd.Timestamp | None:
        """``as_of`` as a day (None when not set)."""
        return parse_day(self.as_of, "as_of")

    @property
    def range(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """``(start, end)`` as days (None when not set)."""
        return day_range(self.start, self.end)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The parameter names of this kind, in declaration order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_values(
        cls, values: Mapping[str, Any], origin: Mapping[str, str] | None = None
    ) -> ReportParams:
        """Build from a mapping of parameter values (scope and data keys are ignored).

        Every problem is reported at once: unknown keys, and each value that fails its check,
        named with the layer it came from (``origin[key]``, e.g. ``params/defaults.yml``).

        Raises
        ------
        ParameterError : with one line per problem.
        """
        origin = origin or {}
        names = set(cls.names())
        given = {k: v for k, v in values.items() if k not in SCOPE_PARAMETERS + DATA_PARAMETERS}
        problems = []
        for key in sorted(set(given) - names):
            where = f"{origin[key]}: " if key in origin else ""
            problems.append(
                f"{where}{key} is not a parameter of the {cls.kind} report; valid: "
                f"{', '.join(sorted(names))}"
            )
        kept = {k: v for k, v in given.items() if k in names}
        # Check each value on its own first, so every bad key is named, not only the first.
        defaults = cls()
        for key, value in kept.items():
            try:
                dataclasses.replace(defaults, **{key: value})
            except ParameterError as exc:
                where = f"{origin[key]}: " if key in origin else ""
                problems.append(f"{where}{exc}")
        if problems:
            raise ParameterError(problems)
        try:
            return cls(**kept)
        except ParameterError as exc:  # a rule across keys (end before start)
            where = sorted({origin[k] for k in ("start", "end") if k in origin and k in kept})
            raise ParameterError(f"{', '.join(where) + ': ' if where else ''}{exc}") from None


@dataclass(frozen=True)
class OverviewParams(ReportParams):
    """Parameters of the data overview (the range of its monthly chart)."""

    kind: ClassVar[str] = "data_overview"


@dataclass(frozen=True)
class FunnelParams(ReportParams):
    """Parameters of the funnel report.

    Attributes
    ----------
    by : the grouping compared and ranked: a name of :data:`spmlib.core.grouping.GROUPINGS`,
        or a column of the opportunities (``lead_source``, ``product``).
    cohort_freq : creation cohorts by ``month`` or ``quarter`` (fiscal).
    pipeline : the pipeline reported when the data has several (``pipelines:`` in
        dataset.yml); None for data with one pipeline.
    compare_to : an earlier extract of the same CRM (a dataset folder) whose changes since are
        listed (:mod:`spmlib.reports.changes`); ``spm batch`` sets it to the previous run's
        data. None = no comparison.
    """

    by: str = "rep"
    cohort_freq: str = "quarter"
    pipeline: str | None = None
    compare_to: str | None = None

    kind: ClassVar[str] = "funnel"

    def _check(self) -> None:
        super()._check()
        if not isinstance(self.by, str) or not self.by.strip():
            raise ParameterError(f"by must be a grouping name or a column, got {self.by!r}.")
        period_kind(self.cohort_freq, ("month", "quarter"))
        if self.pipeline is not None and not isinstance(self.pipeline, str):
            raise ParameterError(f"pipeline must be a pipeline name, got {self.pipeline!r}.")
        if self.compare_to is not None and not isinstance(self.compare_to, str):
            raise ParameterError(
                f"compare_to must be the folder of an earlier extract, got {self.compare_to!r}."
            )


@dataclass(frozen=True)
class ProductivityParams(ReportParams):
    """Parameters of the productivity report.

    Attributes
    ----------
    period : attainment and leaderboard period, a name of :data:`spmlib.core.periods.PERIODS`.
    metric : the leaderboard KPI, a key of :data:`spmlib.productivity.leaderboard.METRICS`.
    ramp_metric : the ramp KPI, one of :data:`spmlib.productivity.ramp.RAMP_METRICS`.
    ramp_months : months since hire that count as ramping.
    """

    period: str = "quarter"
    metric: str = "bookings"
    ramp_metric: str = "bookings"
    ramp_months: int = 12

    kind: ClassVar[str] = "productivity"

    def _check(self) -> None:
        super()._check()
        period_kind(self.period)
        _name(self.metric, "metric", METRICS)
        _name(self.ramp_metric, "ramp_metric", RAMP_METRICS)
        _positive_int(self.ramp_months, "ramp_months")


@dataclass(frozen=True)
class ScorecardParams(ReportParams):
    """Parameters of the rep scorecard.

    Attributes
    ----------
    start, end : the range of the KPIs compared with the team; None = the last four complete
        quarters before this one (the rating always covers the last two).
    period : the trend period, a name of :data:`spmlib.core.periods.PERIODS`.
    trend_periods : how many recent periods the trend shows.
    ramp_months : months in role before a rep is rated (:mod:`spmlib.productivity.rating`).
    """

    period: str = "quarter"
    trend_periods: int = 4
    ramp_months: int = 6

    kind: ClassVar[str] = "rep_scorecard"

    def _check(self) -> None:
        super()._check()
        period_kind(self.period)
        _positive_int(self.trend_periods, "trend_periods")
        _positive_int(self.ramp_months, "ramp_months")


@dataclass(frozen=True)
class ForecastParams(ReportParams):
    """Parameters of the forecast report.

    Attributes
    ----------
    series_file : a plain CSV date/value file forecast instead of the dataset's bookings.
    series_columns : ``DATE_COLUMN,VALUE_COLUMN`` of ``series_file``.
    freq : the forecast frequency (``M``, ``Q``, ``W`` or their names).
    horizon : periods ahead.
    method : ``auto`` or a key of :data:`spmlib.forecast.methods.METHODS`.
    methods : the methods compared in the backtest, comma-separated.
    origins : rolling-origin backtest origins.
    pipeline_freq : the period of the pipeline forecast (``Q`` or ``M``).
    replay_day : the day of each past period the pipeline forecast is replayed on.
    n_sims : Monte Carlo simulations of the pipeline forecast.
    """

    series_file: str | None = None
    series_columns: str = "date,value"
    freq: str = "M"
    horizon: int = 6
    method: str = "auto"
    methods: str = "naive,snaive,drift,ets,theta,arima,combo"
    origins: int = 6
    pipeline_freq: str = "Q"
    replay_day: int = 30
    n_sims: int = 5000

    kind: ClassVar[str] = "forecast"

    def _check(self) -> None:
        super()._check()
        normalize_freq(self.freq)
        period_kind(self.pipeline_freq, ("month", "quarter"))
        _name(self.method, "method", [*METHODS, "auto"])
        for name in self.candidates:
            _name(name, "methods", METHODS)
        for key in ("horizon", "origins", "replay_day", "n_sims"):
            _positive_int(getattr(self, key), key)
        if len([c for c in str(self.series_columns).split(",") if c.strip()]) < 2:
            raise ParameterError(
                f"series_columns must be DATE_COLUMN,VALUE_COLUMN, got {self.series_columns!r}."
            )

    @property
    def candidates(self) -> list[str]:
        """The backtest methods as a list."""
        if not isinstance(self.methods, str):
            raise ParameterError(f"methods must be comma-separated names, got {self.methods!r}.")
        return [m.strip() for m in self.methods.split(",") if m.strip()]


def _number(value: Any, key: str, low: float, high: float = float("inf")) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        bound = f"between {low:g} and {high:g}" if high < float("inf") else f"at least {low:g}"
        raise ParameterError(f"{key} must be a number {bound}, got {value!r}.")
    return float(value)


@dataclass(frozen=True)
class QuotaPlanParams(ReportParams):
    """Parameters of the quota plan report (formulas: ``docs/planning.md``).

    Attributes
    ----------
    start : any day of the fiscal year to plan (``YYYY-MM-DD``); None = the fiscal year after
        the one holding the data's reference date.
    end : None, or the last day of that fiscal year (a plan covers one whole fiscal year).
    target : the company's bookings target for the year; None = the bookings of the last four
        complete quarters x (1 + their growth), rounded to the thousand.
    method : ``top-down``, ``capacity`` or ``blend`` (:data:`spmlib.planning.allocation.METHODS`).
    weights : ``history``, ``potential`` or ``blend`` (``beta`` x history + the rest potential).
    beta : the history weight of the blend weighting, 0-1.
    over_assign : over-assignment per level, ``team=1.05,rep=1.10`` (teams together carry 5%
        more than the company target, each team's reps 10% more than the team); None = none.
    period : quota rows per ``month`` or ``quarter`` (or M / Q).
    hires : planned hires and leavers (YAML or CSV, a path relative to the project or absolute);
        None = none.
    band : the allowed deviation of each rep's potential from the team mean (0.10 = +-10%)
        when balancing territories.
    time_limit : seconds given to each territory solve (the report states the gap reached).
    """

    target: float | None = None
    method: str = "top-down"
    weights: str = "blend"
    beta: float = 0.5
    over_assign: str | None = None
    period: str = "month"
    hires: str | None = None
    band: float = 0.10
    time_limit: float = 5.0

    kind: ClassVar[str] = "quota_plan"

    def _check(self) -> None:
        super()._check()
        if self.target is not None:
            _number(self.target, "target", 0.01)
        _name(self.method, "method", QUOTA_METHODS)
        _name(self.weights, "weights", WEIGHTS)
        _number(self.beta, "beta", 0.0, 1.0)
        if self.over_assign is not None and not isinstance(self.over_assign, str):
            raise ParameterError(
                f"over_assign must read like team=1.05,rep=1.10, got {self.over_assign!r}."
            )
        parse_over_assign(self.over_assign)
        period_kind(self.period, QUOTA_PERIODS)
        if self.hires is not None and not isinstance(self.hires, str):
            raise ParameterError(f"hires must be a file path, got {self.hires!r}.")
        _number(self.band, "band", 0.0)
        _number(self.time_limit, "time_limit", 1.0)

    @property
    def over_assignment(self) -> dict[str, float]:
        """``over_assign`` as {"team": factor, "rep": factor}."""
        return parse_over_assign(self.over_assign)

    @property
    def plan_day(self) -> pd.Timestamp | None:
        """``start`` as a day (None when not set)."""
        return parse_day(self.start, "start")


@dataclass(frozen=True)
class CompStatementParams(ReportParams):
    """Parameters of the pay statement (a rep's, or a team summary).

    Attributes
    ----------
    period : the run's target period (``FY2027-Q3``, ``2026-08``); None = the fiscal quarter
        holding the data's as-of date. Ignored when ``run`` is given.
    run : a stored run (id, unique prefix or ``latest``) to show; None = work the run out now
        (a draft, not stored).
    plans : the plans folder; None = ``params/comp``.
    outputs : the folder of stored runs; None = ``outputs/comp``.
    """

    period: str | None = None
    run: str | None = None
    plans: str | None = None
    outputs: str | None = None

    kind: ClassVar[str] = "comp_statement"

    def _check(self) -> None:
        super()._check()
        for key in ("period", "run", "plans", "outputs"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, str):
                raise ParameterError(f"{key} must be text or None, got {value!r}.")


@dataclass(frozen=True)
class CompPlanParams(ReportParams):
    """Parameters of the plan comparison.

    Attributes
    ----------
    plans : comma-separated plan files or folders; None = ``params/comp`` and
        ``params/comp/designs``.
    history_year : the fiscal year costed on real results (``FY2026``); None = the fiscal year
        before the one holding the as-of date.
    n_sims : pipeline Monte Carlo simulations.
    """

    plans: str | None = None
    history_year: str | None = None
    n_sims: int = 2000

    kind: ClassVar[str] = "comp_plan"

    def _check(self) -> None:
        super()._check()
        _positive_int(self.n_sims, "n_sims")


@dataclass(frozen=True)
class TeamBriefParams(ReportParams):
    """Parameters of the team brief (rules: :mod:`spmlib.funnel.attention`).

    ``start`` and ``end`` are not used: the brief's frame is the quarter in progress.

    Attributes
    ----------
    compare_to : the previous extract of the same CRM (a dataset folder or URL in the native
        model, e.g. last week's batch data snapshot or ``spm sample --as-of``), for the "Since
        last week" section; None = no comparison.
    n_sims : simulated quarters of the outlook.
    coverage_target : the stated coverage target (open pipeline due / quota still to book).
    measure_coverage : replay the outlook on past quarters to state how often its 80% range
        held the actual (tens of seconds on the sample).
    large_amount : the amount from which an open deal is large; None = the company's 90th
        percentile of open deal amounts.
    late_stages : how many of the last open stages count as late.
    max_deals : deals and changes listed in the full brief (the email lists 5).
    """

    compare_to: str | None = None
    n_sims: int = 5000
    coverage_target: float = 3.0
    measure_coverage: bool = True
    large_amount: float | None = None
    late_stages: int = 2
    max_deals: int = 20

    kind: ClassVar[str] = "team_brief"

    def _check(self) -> None:
        super()._check()
        if self.compare_to is not None and not isinstance(self.compare_to, str):
            raise ParameterError(
                f"compare_to must be a dataset folder or URL, got {self.compare_to!r}."
            )
        _positive_int(self.n_sims, "n_sims")
        _number(self.coverage_target, "coverage_target", 0.1)
        if not isinstance(self.measure_coverage, bool):
            raise ParameterError(
                f"measure_coverage must be true or false, got {self.measure_coverage!r}."
            )
        if self.large_amount is not None:
            _number(self.large_amount, "large_amount", 0.0)
        _positive_int(self.late_stages, "late_stages")
        _positive_int(self.max_deals, "max_deals")


#: The parameter class of each report kind (the notebook's name).
REPORT_PARAMS: dict[str, type[ReportParams]] = {
    c.kind: c
    for c in (
        OverviewParams,
        FunnelParams,
        ProductivityParams,
        ScorecardParams,
        ForecastParams,
        QuotaPlanParams,
        CompStatementParams,
        CompPlanParams,
        TeamBriefParams,
    )
}


def report_params(kind: str) -> type[ReportParams]:
    """The parameter class of a report kind; UnknownNameError listing the kinds."""
    if kind not in REPORT_PARAMS:
        raise UnknownNameError("report kind", kind, list(REPORT_PARAMS))
    return REPORT_PARAMS[kind]
