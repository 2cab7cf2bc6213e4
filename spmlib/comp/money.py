"""Exact money: integer cents for amounts, exact fractions for rates, one rounding per line.

Deal amounts and quotas arrive as floats (the data model's ``float`` kind); they are converted
to whole cents once, half up, from their shortest decimal representation (so ``1.005`` is
``101`` cents, as written, not ``100`` as its binary value would give). Plan numbers are read as
written (``Decimal``). Every computation on money after that is integer cents or exact rational
arithmetic (``fractions.Fraction``: ``10 / 30`` stays one third, never 0.333...), and a payout
line is rounded to the cent exactly once, half up (halves go away from zero, so -2.5 cents
becomes -3).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

__all__ = [
    "decimal",
    "to_cents",
    "cents_from_amounts",
    "units",
    "format_money",
]


def decimal(value: object) -> Decimal:
    """An exact ``Decimal`` of a number as written: ints as is, floats by their shortest repr.

    Examples
    --------
    >>> decimal(0.1), decimal(25000), decimal("1.5")
    (Decimal('0.1'), Decimal('25000'), Decimal('1.5'))
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, float | np.floating):
        return Decimal(repr(float(value)))
    return Decimal(value if isinstance(value, str) else int(value))


def to_cents(amount: Fraction | Decimal | int) -> int:
    """``amount`` (currency units, exact) rounded half up (away from zero) to whole cents.

    Examples
    --------
    >>> to_cents(Decimal("12.345")), to_cents(Decimal("-0.025")), to_cents(Fraction(1000, 3))
    (1235, -3, 33333)
    """
    q = amount if isinstance(amount, Fraction) else Fraction(amount)
    num, den = abs(q.numerator) * 100, q.denominator
    n = (2 * num + den) // (2 * den)  # floor(|q| x 100 + 1/2), in integers
    return -n if q < 0 else n


def cents_from_amounts(amounts: pd.Series | np.ndarray) -> np.ndarray:
    """Float amounts to int64 cents, half up from the written decimal value (vectorized).

    The amount times 100 is first rounded to 6 decimals, which removes binary representation
    error for any amount below 10^9 (``1.005 * 100`` is ``100.49999999999999``, ``100.5`` after
    it), then rounded half away from zero. Missing amounts become 0.

    Examples
    --------
    >>> cents_from_amounts(np.array([1.005, 19.99, -0.125, 0.0])).tolist()
    [101, 1999, -13, 0]
    """
    x = np.round(np.nan_to_num(np.asarray(amounts, dtype="float64")) * 100.0, 6)
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype("int64")


def units(cents: pd.Series | np.ndarray | int) -> pd.Series | np.ndarray | float:
    """Cents as float currency units, for display and plots only (never for computing pay).

    >>> units(np.array([150, -5])).tolist()
    [1.5, -0.05]
    """
    if isinstance(cents, pd.Series):
        return cents.astype("float64") / 100.0
    return np.asarray(cents, dtype="float64") / 100.0 if np.ndim(cents) else int(cents) / 100.0


def format_money(cents: int, currency: str = "") -> str:
    """``1,234.50`` (with the ISO code before it when given), from exact cents.

    Examples
    --------
    >>> format_money(123450, "USD"), format_money(-5)
    ('USD 1,234.50', '-0.05')
    """
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    text = f"{sign}{whole:,}.{frac:02d}"
    return f"{currency} {text}" if currency else text
