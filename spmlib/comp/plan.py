"""Plan files (``params/comp/*.yml``): the schema, its checks, and the typed :class:`Plan`.

A plan file is YAML with these keys (``docs/compensation.md`` explains each rule)::

    plan: AE FY2027            # the plan's name, used by assignments.csv
    currency: USD              # must be the dataset's currency
    period: quarter            # month | quarter | year (fiscal)
    credit: bookings           # see spmlib.comp.credit.CREDIT_RULES
    target_incentive: 10000    # pay at 100% attainment per period (> 0)
    rate_table:
      type: graduated          # graduated | retroactive
      threshold: 0.5           # optional, default 0
      tiers:                   # half-open [from, to) in attainment, contiguous from 0
        - {from: 0.0, to: 1.0, multiplier: 1.0}
        - {from: 1.0, multiplier: 2.0}   # the last tier has no `to`
      cap: 3.0                 # optional: at most cap x target incentive per period
    spifs:                     # optional
      - {name: New logo, when: "lead_source == 'Outbound'", amount: 500}   # or rate: 0.01
    draw: {type: recoverable, amount: 5000}   # optional; none | recoverable | non_recoverable
    clawback: {window_days: 90, share: 1.0}   # optional

Every problem is reported at once, each naming its key (``rate_table.tiers[1].from``), in a
:class:`spmlib.exceptions.PlanError`. Numbers are read exactly as written (``Decimal``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from spmlib.comp.expressions import Condition, parse_condition
from spmlib.comp.money import decimal
from spmlib.exceptions import ExpressionError, MissingFileError, PlanError, SpmError
from spmlib.io.schema import TABLES

__all__ = [
    "PERIODS",
    "RATE_TABLE_TYPES",
    "DRAW_TYPES",
    "CREDIT_RULES",
    "Tier",
    "RateTable",
    "Spif",
    "Draw",
    "Clawback",
    "Plan",
    "parse_plan",
    "load_plan",
    "load_plans",
    "plans_hash",
    "SPIF_COLUMNS",
]

PERIODS = ("month", "quarter", "year")
RATE_TABLE_TYPES = ("graduated", "retroactive")
DRAW_TYPES = ("none", "recoverable", "non_recoverable")
#: Crediting rules (spmlib.comp.credit): ``bookings`` = won amount on the won date, to the
#: owner or by the splits table.
CREDIT_RULES = ("bookings",)
#: Columns a SPIF condition may use: the opportunity columns of the data model.
SPIF_COLUMNS: dict[str, str] = dict(TABLES["opportunities"].columns)
_KEYS = {
    "plan",
    "currency",
    "period",
    "credit",
    "target_incentive",
    "rate_table",
    "spifs",
    "draw",
    "clawback",
}
_REQUIRED = ("plan", "currency", "period", "credit", "target_incentive", "rate_table")


@dataclass(frozen=True)
class Tier:
    """One tier: attainment in [start, end) (``end`` None: no upper bound) pays ``multiplier``
    times the base rate."""

    start: Decimal
    end: Decimal | None
    multiplier: Decimal

    def label(self) -> str:
        """``[100%, 150%) x2`` style text."""
        hi = f"{_pct(self.end)})" if self.end is not None else "and above"
        lo = f"[{_pct(self.start)}, " if self.end is not None else f"{_pct(self.start)} "
        return f"{lo}{hi} x{self.multiplier.normalize():f}"


def _pct(x: Decimal) -> str:
    return f"{(x * 100).normalize():f}%"


@dataclass(frozen=True)
class RateTable:
    """How attainment turns into earnings (formulas in :mod:`spmlib.comp.rates`)."""

    type: str
    tiers: tuple[Tier, ...]
    threshold: Decimal = Decimal(0)
    cap: Decimal | None = None


@dataclass(frozen=True)
class Spif:
    """A one-off bonus per won deal matching ``when``: a fixed ``amount`` or a ``rate`` of the
    credited amount."""

    name: str
    when: str
    condition: Condition
    amount: Decimal | None = None
    rate: Decimal | None = None


@dataclass(frozen=True)
class Draw:
    """An advance per period (``amount``, prorated like the target incentive)."""

    type: str = "none"
    amount: Decimal = Decimal(0)


@dataclass(frozen=True)
class Clawback:
    """A won deal reversed within ``window_days`` of its won date is taken back at ``share``
    of what it paid."""

    window_days: int
    share: Decimal = Decimal(1)


@dataclass(frozen=True)
class Plan:
    """A parsed, checked plan file."""

    name: str
    currency: str
    period: str
    credit: str
    target_incentive: Decimal
    rate_table: RateTable
    spifs: tuple[Spif, ...] = ()
    draw: Draw = Draw()
    clawback: Clawback | None = None
    file: str = ""
    sha256: str = ""


class _Checker:
    """Collects (key, message) problems while reading a plan."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append((key, message))

    def keys(self, raw: Any, key: str, valid: set[str], required=()) -> dict:
        if not isinstance(raw, Mapping):
            self.add(key, f"must be a mapping with keys {', '.join(sorted(valid))}")
            return {}
        for k in raw:
            if k not in valid:
                self.add(
                    f"{key}.{k}" if key else str(k),
                    f"unknown key; valid: {', '.join(sorted(valid))}",
                )
        for k in required:
            if k not in raw:
                self.add(f"{key}.{k}" if key else k, "is required")
        return dict(raw)

    def number(
        self, raw: Mapping, key: str, where: str, low=None, low_open=False, high=None, default=None
    ) -> Decimal | None:
        if key not in raw or raw[key] is None:
            return default
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.add(where, f"must be a number, got {value!r}")
            return default
        try:
            d = decimal(value)
        except (ArithmeticError, ValueError):
            self.add(where, f"must be a number, got {value!r}")
            return default
        if not d.is_finite():
            self.add(where, f"must be a finite number, got {value!r}")
            return default
        if low is not None and (d < low or (low_open and d == low)):
            self.add(where, f"must be {'>' if low_open else '>='} {low}, got {value!r}")
        if high is not None and d > high:
            self.add(where, f"must be <= {high}, got {value!r}")
        return d

    def choice(self, raw: Mapping, key: str, where: str, valid: tuple[str, ...], default=None):
        value = raw.get(key, default)
        if value not in valid:
            self.add(where, f"must be one of {', '.join(valid)}, got {value!r}")
            return default if default in valid else valid[0]
        return value


def parse_plan(raw: Any, file: str = "<plan>", sha256: str = "") -> Plan:
    """Check and type the content of a plan file (see the module docstring for the schema).

    Raises
    ------
    PlanError
        Listing every problem, each with its key path.

    Examples
    --------
    >>> plan = parse_plan({"plan": "AE", "currency": "USD", "period": "quarter",
    ...     "credit": "bookings", "target_incentive": 10000,
    ...     "rate_table": {"type": "graduated", "tiers": [{"from": 0, "multiplier": 1}]}})
    >>> plan.rate_table.tiers[0].label()
    '0% and above x1'
    >>> parse_plan({"plan": "AE", "currency": "USD", "period": "week", "credit": "bookings",
    ...     "target_incentive": -1, "rate_table": {"type": "graduated", "tiers": []}})
    Traceback (most recent call last):
    ...
    spmlib.exceptions.PlanError: 3 problem(s) in <plan>:
      - period: must be one of month, quarter, year, got 'week'
      - target_incentive: must be > 0, got -1
      - rate_table.tiers: must list at least one tier
    """
    c = _Checker()
    raw = c.keys(raw, "", _KEYS, _REQUIRED)
    name = raw.get("plan")
    if "plan" in raw and (not isinstance(name, str) or not name.strip()):
        c.add("plan", "must be a non-empty name")
    currency = raw.get("currency")
    if "currency" in raw and not (isinstance(currency, str) and len(currency.strip()) == 3):
        c.add("currency", f"must be a 3-letter ISO code such as USD, got {currency!r}")
    period = c.choice(raw, "period", "period", PERIODS) if "period" in raw else "quarter"
    credit = c.choice(raw, "credit", "credit", CREDIT_RULES) if "credit" in raw else "bookings"
    ti = c.number(raw, "target_incentive", "target_incentive", low=0, low_open=True)
    table = _rate_table(c, raw.get("rate_table")) if "rate_table" in raw else None
    spifs = _spifs(c, raw.get("spifs") or [])
    draw = _draw(c, raw.get("draw"))
    clawback = _clawback(c, raw.get("clawback"))
    if c.problems:
        raise PlanError(file, c.problems)
    return Plan(
        name=name.strip(),
        currency=currency.strip().upper(),
        period=period,
        credit=credit,
        target_incentive=ti,
        rate_table=table,
        spifs=spifs,
        draw=draw,
        clawback=clawback,
        file=file,
        sha256=sha256,
    )


def _rate_table(c: _Checker, raw: Any) -> RateTable | None:
    raw = c.keys(raw, "rate_table", {"type", "threshold", "tiers", "cap"}, ("type", "tiers"))
    kind = c.choice(raw, "type", "rate_table.type", RATE_TABLE_TYPES) if "type" in raw else None
    threshold = c.number(raw, "threshold", "rate_table.threshold", low=0, default=Decimal(0))
    cap = c.number(raw, "cap", "rate_table.cap", low=0, low_open=True)
    tiers_raw = raw.get("tiers")
    if "tiers" in raw and (not isinstance(tiers_raw, list) or not tiers_raw):
        c.add("rate_table.tiers", "must list at least one tier")
        tiers_raw = []
    tiers: list[Tier] = []
    for i, t in enumerate(tiers_raw or []):
        key = f"rate_table.tiers[{i}]"
        t = c.keys(t, key, {"from", "to", "multiplier"}, ("from", "multiplier"))
        lo = c.number(t, "from", f"{key}.from", low=0)
        hi = c.number(t, "to", f"{key}.to")
        mult = c.number(t, "multiplier", f"{key}.multiplier", low=0)
        last = i == len(tiers_raw) - 1
        if last and hi is not None:
            c.add(
                f"{key}.to",
                "the last tier has no `to` (it has no upper bound); limit pay with rate_table.cap",
            )
        if not last and t.get("to") is None:
            c.add(f"{key}.to", "is required on every tier but the last")
        if lo is not None and hi is not None and hi <= lo:
            c.add(f"{key}.to", f"must be above `from` ({lo}), got {hi}")
        expected = tiers[-1].end if tiers else Decimal(0)
        if lo is not None and expected is not None and lo != expected:
            what = "the previous tier's `to`" if tiers else "0 (the first tier starts at 0)"
            c.add(f"{key}.from", f"must equal {what}: {expected}, got {lo}")
        tiers.append(Tier(lo if lo is not None else Decimal(0), hi, mult or Decimal(0)))
    if kind is None or not tiers:
        return None
    return RateTable(kind, tuple(tiers), threshold, cap)


def _spifs(c: _Checker, raw: Any) -> tuple[Spif, ...]:
    if not isinstance(raw, list):
        c.add("spifs", "must be a list of {name, when, amount | rate}")
        return ()
    out, names = [], set()
    for i, s in enumerate(raw):
        key = f"spifs[{i}]"
        s = c.keys(s, key, {"name", "when", "amount", "rate"}, ("name", "when"))
        name = s.get("name")
        if "name" in s and (not isinstance(name, str) or not name.strip()):
            c.add(f"{key}.name", "must be a non-empty name")
        elif name in names:
            c.add(f"{key}.name", f"{name!r} is used by another SPIF of the plan")
        names.add(name)
        amount = c.number(s, "amount", f"{key}.amount", low=0, low_open=True)
        rate = c.number(s, "rate", f"{key}.rate", low=0, low_open=True, high=1)
        if ("amount" in s) == ("rate" in s):
            c.add(key, "give exactly one of `amount` (per deal) or `rate` (share of the credit)")
        condition = None
        if "when" in s:
            try:
                condition = parse_condition(s["when"], SPIF_COLUMNS)
            except ExpressionError as exc:
                c.add(f"{key}.when", str(exc))
        if condition is not None and isinstance(name, str):
            out.append(Spif(name.strip(), s["when"], condition, amount, rate))
    return tuple(out)


def _draw(c: _Checker, raw: Any) -> Draw:
    if raw is None:
        return Draw()
    raw = c.keys(raw, "draw", {"type", "amount"}, ("type",))
    kind = c.choice(raw, "type", "draw.type", DRAW_TYPES, "none") if "type" in raw else "none"
    amount = c.number(raw, "amount", "draw.amount", low=0, default=Decimal(0))
    if kind != "none" and not amount:
        c.add("draw.amount", f"a {kind} draw needs an amount > 0")
    if kind == "none" and amount and raw.get("type") == "none":
        c.add("draw.type", "is none but draw.amount is set; say recoverable or non_recoverable")
    return Draw(kind, amount if kind != "none" else Decimal(0))


def _clawback(c: _Checker, raw: Any) -> Clawback | None:
    if raw is None:
        return None
    raw = c.keys(raw, "clawback", {"window_days", "share"}, ("window_days",))
    days = raw.get("window_days")
    if "window_days" in raw and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
        c.add("clawback.window_days", f"must be a whole number of days >= 0, got {days!r}")
        days = 0
    share = c.number(
        raw, "share", "clawback.share", low=0, low_open=True, high=1, default=Decimal(1)
    )
    return Clawback(int(days or 0), share)


def load_plan(path: str | Path) -> Plan:
    """Read and check one plan file.

    Raises
    ------
    PlanError
        On any schema problem, or YAML that cannot be read (with the line).
    MissingFileError
        When ``path`` does not exist.
    """
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"plan file {p} not found; see docs/compensation.md for the format.")
    data = p.read_bytes()
    try:
        raw = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise PlanError(str(p), [(where, f"is not valid YAML: {exc}")]) from None
    return parse_plan(raw, str(p), hashlib.sha256(data).hexdigest())


def load_plans(folder: str | Path) -> dict[str, Plan]:
    """Every plan file (``*.yml``, ``*.yaml``) of ``folder``, by plan name.

    Raises
    ------
    SpmError
        When the folder has no plan file, or two files define the same plan name.
    PlanError
        For the first file with schema problems.
    """
    root = Path(folder)
    if not root.is_dir():
        raise MissingFileError(f"plans folder {root} does not exist; put plan files (*.yml) there.")
    files = sorted([*root.glob("*.yml"), *root.glob("*.yaml")])
    if not files:
        raise SpmError(f"no plan file (*.yml) in {root}; see docs/compensation.md for the format.")
    plans: dict[str, Plan] = {}
    for f in files:
        plan = load_plan(f)
        if plan.name in plans:
            raise PlanError(
                str(f), [("plan", f"{plan.name!r} is also defined in {plans[plan.name].file}")]
            )
        plans[plan.name] = plan
    return plans


def plans_hash(plans: Mapping[str, Plan]) -> str:
    """``sha256:<hex>`` over the plan names and file hashes (any edit to a plan changes it).

    >>> plans_hash({})[:7]
    'sha256:'
    """
    digest = hashlib.sha256()
    for name in sorted(plans):
        digest.update(f"{name}\0{plans[name].sha256}\n".encode())
    return f"sha256:{digest.hexdigest()}"
