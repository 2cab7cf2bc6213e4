"""The one vocabulary of table columns: how each column of spmlib's tables is shown to people.

A :class:`Column` gives a column its label for people (never a snake_case name), its **kind**
(which fixes the unit: money in the dataset's currency, percentages, counts, days, ratios, …),
its number of decimals and which way is better. :data:`COLUMNS` holds the definition of every
column a report, an email or the CLI shows; :func:`column` looks a name up and derives a
definition for a column it does not know (label from the name, kind from the values), so a new
column is readable before it is added here. The formatter (:mod:`spmlib.reports.formatter`)
turns values into text from these definitions.

Kinds (:data:`KINDS`) and how their values read (``en_US``, currency EUR):

=========== ============================================ ======================
kind        values                                       example
=========== ============================================ ======================
money       amounts, in the dataset's currency           ``€188,470``
percent     shares from 0 to 1                           ``31%``
chance      probabilities, never shown as certain        ``35%``, ``>99%``, ``<1%``
count       whole numbers                                ``12,400``
number      other quantities                             ``3.4``
days        durations in days (the label says "days")    ``12``
ratio       multiples                                    ``2.3×``
p_value     test p-values                                ``0.008``, ``< 0.001``
date        days                                         ``2026-10-31``
bool        yes/no (or the column's own words)           ``yes``
text        text from the data (escaped in HTML)         ``O'Neil & Co``
=========== ============================================ ======================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import pandas as pd

from spmlib.exceptions import UnknownNameError

__all__ = [
    "KINDS",
    "NUMERIC_KINDS",
    "Column",
    "COLUMNS",
    "column",
    "columns_for",
    "plain_amounts",
]

#: The kinds of column, with their default number of decimals (None: not a number).
KINDS: dict[str, int | None] = {
    "money": 0,
    "percent": 0,
    "chance": 0,
    "count": 0,
    "number": 1,
    "days": 0,
    "ratio": 1,
    "p_value": 3,
    "date": None,
    "bool": None,
    "text": None,
}
#: Kinds shown right-aligned, as numbers.
NUMERIC_KINDS = frozenset(
    {"money", "percent", "chance", "count", "number", "days", "ratio", "p_value"}
)


@dataclass(frozen=True)
class Column:
    """How one column is shown.

    Attributes
    ----------
    label : the header people read ("Win rate"); for ``days`` the formatter adds "(days)" when
        the label does not say it.
    kind : one of :data:`KINDS`.
    decimals : digits after the decimal point, the same for every cell of the column (None:
        the kind's default).
    higher_is_better : True, False, or None when neither (a name, a count of deals).
    signed : show a ``+`` on positive values (changes, biases).
    words : the words for True and False of a ``bool`` column.
    """

    label: str
    kind: str = "number"
    decimals: int | None = None
    higher_is_better: bool | None = None
    signed: bool = False
    words: tuple[str, str] = ("yes", "no")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UnknownNameError("column kind", self.kind, list(KINDS))

    @property
    def digits(self) -> int:
        """The decimals used (the kind's default when not set)."""
        return self.decimals if self.decimals is not None else (KINDS[self.kind] or 0)

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    @property
    def header(self) -> str:
        """The label with the unit of a ``days`` column."""
        if self.kind == "days" and "day" not in self.label.lower():
            return f"{self.label} (days)"
        return self.label

    def relabel(self, label: str, **changes) -> Column:
        """The same definition under another label (and other changes)."""
        return replace(self, label=label, **changes)


def _c(label: str, kind: str = "number", decimals: int | None = None, better=None, **kw) -> Column:
    return Column(label, kind, decimals, better, **kw)


def _ci(name: str, label: str, kind: str = "percent", decimals: int | None = None, better=True):
    """A rate and its 95% interval bounds."""
    return {
        name: _c(label, kind, decimals, better),
        f"{name}_low": _c(f"{label}, 95% low", kind, decimals),
        f"{name}_high": _c(f"{label}, 95% high", kind, decimals),
    }


#: Pay columns (statements, lines, runs and their diffs): money shown to the cent.
_PAY = {
    "credited": "Credited",
    "credit": "Credit",
    "earnings": "Earnings",
    "earned": "Earned",
    "spifs": "SPIFs",
    "clawbacks": "Clawbacks",
    "draw": "Draw",
    "draw_paid": "Draw paid",
    "draw_recovered": "Draw recovered",
    "draw_balance": "Draw balance owed",
    "adjustments": "Adjustments",
    "payout": "Payout",
    "pay": "Amount",
    "payout_a": "Payout, run A",
    "payout_b": "Payout, run B",
    "change": "Change",
    "credited_a": "Credited, run A",
    "credited_b": "Credited, run B",
    "amount_a": "Amount, run A",
    "amount_b": "Amount, run B",
    "earned_now": "Earned so far",
    "earned_if": "Earned if they close",
    "open_amount": "Open deals",
}

#: Every column a report, an email or the CLI shows, by its name in spmlib's tables.
COLUMNS: dict[str, Column] = {
    # who and what
    "rep_id": _c("Rep id", "text"),
    "rep_name": _c("Rep", "text"),
    "team": _c("Team", "text"),
    "manager": _c("Manager", "text"),
    "region": _c("Region", "text"),
    "level": _c("Level", "text"),
    "opp_id": _c("Deal", "text"),
    "account": _c("Account", "text"),
    "stage": _c("Stage", "text"),
    "source": _c("Lead source", "text"),
    "lead_source": _c("Lead source", "text"),
    "product": _c("Product", "text"),
    "forecast_category": _c("Forecast category", "text"),
    "outcome": _c("Outcome", "text"),
    "measure": _c("Measure", "text"),
    "quarter": _c("Quarter", "text"),
    "method": _c("Method", "text"),
    "kpi": _c("KPI", "text"),
    "label": _c("KPI", "text"),
    "assessment": _c("Assessment", "text"),
    "evidence": _c("Evidence", "text"),
    "direction": _c("Compared with peers", "text"),
    "better": _c("Better", "text"),
    "test": _c("Test", "text"),
    "table": _c("Table", "text"),
    "date_column": _c("Date column", "text"),
    "file": _c("File", "text"),
    "column": _c("Column", "text"),
    "rule": _c("Rule", "text"),
    "examples": _c("Example rows", "text"),
    "hint": _c("What to do", "text"),
    "cohort": _c("Cohort", "text"),
    "period": _c("Period", "text"),
    "previous_period": _c("Previous period", "text"),
    "close_period": _c("Expected close", "text"),
    "change": _c("Change", "text"),
    "stage_before": _c("Stage before", "text"),
    "stage_after": _c("Stage now", "text"),
    # days
    "period_start": _c("Period start", "date"),
    "period_end": _c("Period end", "date"),
    "first_date": _c("First date", "date"),
    "last_date": _c("Last date", "date"),
    "entered_date": _c("Entered stage", "date"),
    "exit_date": _c("Left stage", "date"),
    "close_date": _c("Close date", "date"),
    "close_date_before": _c("Close date before", "date"),
    "close_date_after": _c("Close date now", "date"),
    "created_date": _c("Created", "date"),
    "cohort_start": _c("Cohort start", "date"),
    "close_period_start": _c("Expected close from", "date"),
    "as_of": _c("As of", "date"),
    # counts
    "rows": _c("Rows", "count"),
    "deals": _c("Deals", "count"),
    "reached": _c("Reached", "count"),
    "advanced": _c("Advanced", "count"),
    "lost": _c("Lost", "count"),
    "open": _c("Open", "count"),
    "won": _c("Won", "count", better=True),
    "closed": _c("Closed", "count"),
    "exits": _c("Left the stage", "count"),
    "in_stage_now": _c("In the stage now", "count"),
    "open_deals": _c("Open deals", "count"),
    "leads": _c("Leads", "count"),
    "converted": _c("Converted", "count"),
    "groups": _c("Groups", "count"),
    "team_reps": _c("Team reps", "count"),
    "reps": _c("Reps", "count"),
    "reps_with_quota": _c("Reps with quota", "count"),
    "at_or_above": _c("At or above quota", "count"),
    "activities": _c("Activities", "count", better=True),
    "calls": _c("Calls", "count"),
    "meetings": _c("Meetings", "count"),
    "proposals": _c("Proposals", "count"),
    "proposals_accepted": _c("Proposals accepted", "count"),
    "proposals_decided": _c("Proposals decided", "count"),
    "referrals_given": _c("Referrals given", "count"),
    "referrals_received": _c("Referrals received", "count"),
    "opportunities_created": _c("Opportunities created", "count", better=True),
    "n": _c("Based on", "count"),
    "origins": _c("Backtests", "count"),
    "month_since_hire": _c("Month since hire", "count"),
    "rank": _c("Rank", "count"),
    "previous_rank": _c("Previous rank", "count"),
    "rank_change": _c("Rank change", "count", signed=True),
    "selling_days": _c("Selling days", "count"),
    "selling_days_elapsed": _c("Selling days so far", "count"),
    "replays": _c("Past replays", "count"),
    # money
    "amount": _c("Amount", "money"),
    "amount_before": _c("Amount before", "money"),
    "amount_after": _c("Amount now", "money"),
    "amount_change": _c("Amount change", "money", signed=True),
    "bookings": _c("Bookings", "money", better=True),
    "quota": _c("Quota", "money"),
    "remaining_quota": _c("Quota still to meet", "money"),
    "booked": _c("Booked", "money", better=True),
    "open_pipeline": _c("Open pipeline due", "money"),
    "open_start": _c("Open at start", "money"),
    "created": _c("Created", "money"),
    "open_end": _c("Open at end", "money"),
    "weighted_amount": _c("Weighted amount", "money"),
    "avg_deal_size": _c("Average deal size", "money", better=True),
    "revenue_per_rep": _c("Bookings per full-time rep", "money", better=True),
    "velocity_per_day": _c("Velocity per day", "money", better=True),
    "velocity_per_month": _c("Velocity per month", "money", better=True),
    "expected": _c("Expected", "money"),
    "cumulative_amount": _c("Cumulative amount", "money"),
    "cumulative_expected": _c("Cumulative expected", "money"),
    "open_expected": _c("Expected from open deals", "money"),
    "new_expected": _c("Expected from new deals", "money"),
    "forecast": _c("Forecast", "money"),
    "lower_80": _c("80% low", "money"),
    "upper_80": _c("80% high", "money"),
    "lower_95": _c("95% low", "money"),
    "upper_95": _c("95% high", "money"),
    "actual": _c("Actual", "money"),
    "mean": _c("Mean", "money"),
    "p10": _c("P10", "money"),
    "p50": _c("P50 (most likely)", "money"),
    "p90": _c("P90", "money"),
    "median_value": _c("Median new rep", "money"),
    "tenured_median": _c("Median tenured rep", "money"),
    "quota_rate_of_potential": _c("Quota / potential", "percent"),
    # percentages
    **_ci("conversion", "Conversion"),
    **_ci("cumulative_conversion", "Cumulative conversion"),
    **_ci("conversion_shrunk", "Conversion (shrunken)"),
    **_ci("win_rate", "Win rate"),
    **_ci("win_rate_shrunk", "Win rate (shrunken)"),
    **_ci("win_probability", "Win probability"),
    **_ci("conversion_rate", "Lead conversion"),
    **_ci("lead_to_win", "Lead to win", decimals=1),
    **_ci("share_at_quota", "Share at or above quota"),
    **_ci("proposal_acceptance", "Proposal acceptance"),
    "rest_rate": _c("Rest of the peers", "percent"),
    "share_open": _c("Still open", "percent"),
    "median": _c("Peer median", "percent"),
    "p25": _c("Peer 25th percentile", "percent"),
    "p75": _c("Peer 75th percentile", "percent"),
    "team_median": _c("Team median", "percent"),
    "band": _c("Your place in the team", "text"),
    "attainment": _c("Attainment", "percent", better=True),
    "projected_attainment": _c("Projected attainment", "percent", better=True),
    "elapsed_share": _c("Period elapsed", "percent"),
    "elapsed": _c("Selling days elapsed", "percent"),
    "pace": _c("Pace", "percent", better=True),
    "replay_coverage_80": _c("80% range held (past quarters)", "percent"),
    "pace_gap": _c("Ahead of pace", "percent", signed=True, better=True),
    "median_share_of_tenured": _c("Share of tenured median", "percent", better=True),
    "p_quota": _c("Chance of reaching quota", "chance"),
    "coverage_80": _c("In the 80% interval", "percent"),
    "coverage_95": _c("In the 95% interval", "percent"),
    # days
    "days": _c("Days", "days", 1),
    "days_in_stage": _c("Days in stage", "days"),
    "days_over": _c("Days over the usual", "days"),
    "stage_p90_days": _c("Usual maximum (p90 days)", "days"),
    "median_days": _c("Median days", "days", 1),
    "mean_days": _c("Mean days", "days", 1),
    "p75_days": _c("75th percentile days", "days", 1),
    "p90_days": _c("90th percentile days", "days", 1),
    "max_days": _c("Longest (days)", "days"),
    "median_days_in_stage": _c("Median days in stage", "days", 1),
    "median_days_to_opportunity": _c("Median days to opportunity", "days", 1),
    "median_cycle_days": _c("Median sales cycle", "days", better=False),
    "cycle_days": _c("Median sales cycle", "days", better=False),
    "avg_cycle_days": _c("Average cycle", "days", better=False),
    # other numbers
    "coverage": _c("Coverage", "ratio", better=True),
    "coverage_target": _c("Coverage target", "ratio"),
    "fte": _c("Full-time reps", "number"),
    "months_active": _c("Months active", "number"),
    "activities_per_month": _c("Activities per month", "number", better=True),
    "activity_volume": _c("Activities per month", "number", better=True),
    "opportunities_per_month": _c("Opportunities per month", "number", better=True),
    "calls_per_meeting": _c("Calls per meeting", "number"),
    "meetings_per_opportunity": _c("Meetings per opportunity", "number"),
    "activities_per_won_deal": _c("Activities per won deal", "number"),
    "mase": _c("MASE", "number", 2, better=False),
    # errors already in percent (0-100 and beyond), as the forecast functions give them
    "smape": _c("sMAPE (%)", "number", 1, better=False),
    "mape": _c("Mean absolute error (%)", "number", 1, better=False),
    "bias": _c("Bias (%)", "number", 1, signed=True),
    "error_pct": _c("Error (%)", "number", 1, signed=True),
    "percentile": _c("Percentile in the team", "number", 0, better=True),
    "p_value": _c("p-value", "p_value"),
    "p_adjusted": _c("p-value (Holm-adjusted)", "p_value"),
    # pay (spmlib.comp): money to the cent, in currency units (cents / 100, exact for display)
    **{name: _c(label, "money", 2) for name, label in _PAY.items()},
    "deal": _c("Deal", "text"),
    "plan": _c("Plan", "text"),
    "inputs": _c("Worked out as", "text"),
    "reason": _c("Reason", "text"),
    "check": _c("Check", "text"),
    "detail": _c("Detail", "text"),
    "passed": _c("Result", "bool", words=("passed", "FAILED")),
    "reps_paid_over_ti": _c("Rep periods paid above target incentive", "count"),
    # plan costs (spmlib.comp.cost): estimates, to the currency unit
    "cost": _c("Cost", "money"),
    "cost_p10": _c("Cost, P10", "money"),
    "cost_p50": _c("Cost, P50", "money"),
    "cost_p90": _c("Cost, P90", "money"),
    "bookings_p50": _c("Bookings, P50", "money"),
    "cost_share": _c("Cost / bookings", "percent", 1),
    "share_p10": _c("Cost / bookings, P10", "percent", 1),
    "share_p50": _c("Cost / bookings, P50", "percent", 1),
    "share_p90": _c("Cost / bookings, P90", "percent", 1),
    "attainment_now": _c("Attainment now", "percent", 1),
    "attainment_if": _c("Attainment if they close", "percent", 1),
    # quota and territory planning (spmlib.planning)
    "status": _c("Status", "text"),
    "potential": _c("Territory potential", "money"),
    "capacity": _c("Capacity", "money"),
    "target": _c("Target", "money"),
    "gap": _c("Capacity gap", "money"),
    "hire_capacity": _c("Capacity of one hire", "money"),
    "productivity": _c("Monthly bookings of the median ramped rep", "money"),
    "bookings_last_4_quarters": _c("Bookings, last 4 quarters", "money"),
    "potential_before": _c("Potential before", "money"),
    "potential_after": _c("Potential after", "money"),
    "planned_hires": _c("Planned hires", "count"),
    "hires_needed": _c("Hires needed", "count"),
    "ramped_reps": _c("Ramped reps", "count"),
    "new_hires_measured": _c("New hires measured", "count"),
    "accounts": _c("Accounts", "count"),
    "accounts_before": _c("Accounts before", "count"),
    "accounts_after": _c("Accounts after", "count"),
    "moves": _c("Accounts moved", "count"),
    "moved_in": _c("Accounts in", "count"),
    "moved_out": _c("Accounts out", "count"),
    "account_name": _c("Account", "text"),
    "from_rep": _c("From", "text"),
    "to_rep": _c("To", "text"),
    "measured_on": _c("Measured on", "text"),
    "attainment_band": _c("Attainment band", "text"),
    "productivity_gain_needed": _c("Productivity gain needed", "percent", 1),
    "share_of_year": _c("Share of the year", "percent"),
    "share_of_potential": _c("Share of potential", "percent", 1),
    "share_of_quota": _c("Share of quota", "percent", 1),
    "quota_to_capacity": _c("Quota / capacity", "percent"),
    "quota_to_potential": _c("Quota / potential", "percent"),
    "probability_at_quota": _c("Chance of making quota", "chance", better=True),
    "attainment_median": _c("Median simulated attainment", "percent"),
    "ramp_share": _c("Share of a ramped rep's bookings", "percent"),
    "expected_share": _c("Expected share of reps", "percent"),
    "share_of_mean_before": _c("Share of team mean before", "percent"),
    "share_of_mean_after": _c("Share of team mean after", "percent"),
    "share_moved": _c("Potential moved", "percent", 1),
    "max_share_moved": _c("At most moved", "percent"),
    "deviation_before": _c("Largest deviation before", "percent"),
    "deviation_after": _c("Largest deviation after", "percent"),
    "largest_deviation": _c("Largest deviation from the mean", "percent", 1),
    "tightest_band": _c("Tightest feasible band", "percent", 1),
    "solver_gap": _c("Optimality gap", "percent", 2),
    "solve_seconds": _c("Solve time (seconds)", "number", 1),
    "statistic": _c("Check", "text"),
    "estimate": _c("Value", "number", 2),
    "estimate_low": _c("95% low", "number", 2),
    "estimate_high": _c("95% high", "number", 2),
    "fair_when": _c("Fair when", "text"),
    # yes / no
    "on_pace": _c("On pace", "bool", words=("on pace", "behind")),
    "significant": _c("Significant", "bool"),
    "chosen": _c("Chosen", "bool", words=("chosen", "")),
    "completed": _c("Completed", "bool"),
    "inside_80": _c("Inside the 80% range", "bool"),
    "losses_known": _c("Losses known", "bool"),
}


#: Kinds read from the name of a column of decimal numbers that is not in :data:`COLUMNS`,
#: first match wins: rates and shares are percentages, amounts are money.
_NAME_KINDS = (
    (re.compile(r"(^|_)(rate|share|probability|attainment|conversion)(_|$)"), "percent"),
    (re.compile(r"(^|_)days(_|$)"), "days"),
    (re.compile(r"(^|_)(amount|bookings|quota|potential|revenue|pipeline|capacity|target"
                r"|earnings|payout|cost)(_|$)"), "money"),
)  # fmt: skip


def _kind_of(values: pd.Series | None) -> str:
    if values is None:
        return "text"
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    if pd.api.types.is_integer_dtype(dtype):
        return "count"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "text"


def column(name: str, values: pd.Series | None = None) -> Column:
    """The definition of column ``name``: from :data:`COLUMNS`, else derived.

    A column not in the vocabulary gets its name as a sentence for a label and its kind from
    its values: booleans, dates, whole numbers (``count``), other numbers (``number``, with
    decimals chosen once for the whole column: 2 when every value is below 10, else 1), text;
    a column of decimal numbers named like a rate or share (``ramp_rate``) reads as a
    percentage, one named like an amount (``hire_capacity``) as money.

    Examples
    --------
    >>> column("win_rate").label, column("win_rate").kind
    ('Win rate', 'percent')
    >>> c = column("calls_per_day", pd.Series([1.25, 3.5]))
    >>> c.label, c.kind, c.digits
    ('Calls per day', 'number', 2)
    >>> [column(n, pd.Series([0.25])).kind for n in ("ramp_rate", "hire_capacity")]
    ['percent', 'money']
    """
    if name in COLUMNS:
        return COLUMNS[name]
    kind = _kind_of(values)
    if kind == "number":
        kind = next((k for pattern, k in _NAME_KINDS if pattern.search(str(name))), kind)
    decimals = None
    if kind == "number" and values is not None:
        biggest = pd.to_numeric(values, errors="coerce").abs().max()
        decimals = 2 if pd.isna(biggest) or biggest < 10 else 1
    label = str(name).replace("_", " ").strip()
    return Column(label[:1].upper() + label[1:], kind, decimals)


def columns_for(
    frame: pd.DataFrame, overrides: Mapping[str, Column] | None = None
) -> dict[str, Column]:
    """The definition of every column of ``frame`` (``overrides`` first, then the vocabulary)."""
    overrides = overrides or {}
    return {
        str(c): overrides[c] if c in overrides else column(str(c), frame[c]) for c in frame.columns
    }


def plain_amounts(names: Iterable[str]) -> dict[str, Column]:
    """Overrides that show the money columns among ``names`` as plain numbers (a series read
    from a file has no currency).

    Examples
    --------
    >>> plain_amounts(["forecast", "method"])["forecast"].kind
    'number'
    """
    return {
        str(c): column(str(c)).relabel(column(str(c)).label, kind="number", decimals=0)
        for c in names
        if column(str(c)).kind == "money"
    }
