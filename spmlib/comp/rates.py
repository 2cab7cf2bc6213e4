"""Rate tables: how attainment turns into earnings.

With TI the target incentive of the period and A the attainment (credited / quota), tier k
covering attainment [from_k, to_k) with multiplier m_k:

- **graduated**: ``earnings = TI x sum_k m_k x max(0, min(A, to_k) - from_k)``: each slice of
  attainment pays at its own tier's multiplier (a tiered commission);
- **retroactive**: ``earnings = TI x m_k(A) x A`` with k the tier that holds A: everything pays at
  the tier reached (so crossing a tier edge re-rates the whole period: a cliff);
- both pay 0 when A is below ``threshold`` and at most ``cap x TI`` when a cap is set.

At 100% attainment with multiplier 1 both pay exactly TI, so TI / quota is the base rate.
:func:`tier_pieces` gives the exact (Decimal) pieces that become payout lines;
:func:`earnings_multiple` is the same formula vectorized in floats (earnings / TI), for curves and
simulations only. :func:`cliffs` lists the attainments where pay jumps.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
import pandas as pd

from spmlib.comp.plan import RateTable, Tier
from spmlib.exceptions import UnknownNameError

__all__ = ["TierPiece", "tier_pieces", "cap_amount", "earnings_multiple", "cliffs"]


@dataclass(frozen=True)
class TierPiece:
    """One earnings line before rounding: tier ``tier`` (1-based) paid on ``measure``.

    ``measure`` is the attainment slice in the tier (graduated) or the whole attainment
    (retroactive); ``amount = TI x multiplier x measure``, exact.
    """

    tier: int
    label: str
    multiplier: Fraction
    measure: Fraction
    amount: Fraction


@lru_cache(maxsize=64)
def _exact_tiers(tiers: tuple[Tier, ...]) -> tuple[tuple[Fraction, Fraction | None, Fraction, str]]:
    return tuple(
        (
            Fraction(t.start),
            None if t.end is None else Fraction(t.end),
            Fraction(t.multiplier),
            t.label(),
        )
        for t in tiers
    )


def _graduated(tiers, a: Fraction, ti: Fraction) -> list[TierPiece]:
    out = []
    for k, (lo, hi, m, label) in enumerate(tiers, start=1):
        measure = (a if hi is None else min(a, hi)) - lo
        if measure > 0:
            out.append(TierPiece(k, label, m, measure, ti * m * measure))
    return out


def _retroactive(tiers, a: Fraction, ti: Fraction) -> list[TierPiece]:
    if a <= 0:
        return []
    k = next(i for i, (_lo, hi, _m, _l) in enumerate(tiers) if hi is None or a < hi)
    _lo, _hi, m, label = tiers[k]
    return [TierPiece(k + 1, label, m, a, ti * m * a)]


_RULES = {"graduated": _graduated, "retroactive": _retroactive}


def tier_pieces(table: RateTable, attainment: Fraction, ti: Fraction) -> list[TierPiece]:
    """The earnings pieces for attainment ``attainment`` and target incentive ``ti``
    (uncapped; nothing below the threshold).

    Examples
    --------
    >>> from decimal import Decimal as D
    >>> from spmlib.comp.plan import RateTable, Tier
    >>> tiers = (Tier(D(0), D(1), D(1)), Tier(D(1), D("1.5"), D(2)), Tier(D("1.5"), None, D(3)))
    >>> grad = RateTable("graduated", tiers, threshold=D("0.5"))
    >>> [str(p.amount) for p in tier_pieces(grad, Fraction(6, 5), Fraction(25000))]
    ['25000', '10000']
    >>> retro = RateTable("retroactive", tiers, threshold=D("0.5"))
    >>> [str(p.amount) for p in tier_pieces(retro, Fraction(6, 5), Fraction(25000))]
    ['60000']
    >>> tier_pieces(grad, D("0.4"), D(25000))
    []
    """
    if table.type not in _RULES:
        raise UnknownNameError("rate table type", table.type, tuple(_RULES))
    a = Fraction(attainment)
    if a < Fraction(table.threshold):
        return []
    return _RULES[table.type](_exact_tiers(table.tiers), a, Fraction(ti))


def cap_amount(table: RateTable, ti: Fraction) -> Fraction | None:
    """The most a period can earn, ``cap x TI`` (exact); None without a cap."""
    return None if table.cap is None else Fraction(table.cap) * Fraction(ti)


def earnings_multiple(table: RateTable, attainment: np.ndarray | float) -> np.ndarray:
    """Earnings as a multiple of TI for each attainment, capped (floats; for curves and
    simulations, never for pay).

    Examples
    --------
    >>> from decimal import Decimal as D
    >>> from spmlib.comp.plan import RateTable, Tier
    >>> tiers = (Tier(D(0), D(1), D(1)), Tier(D(1), None, D(2)))
    >>> t = RateTable("retroactive", tiers, threshold=D("0.5"), cap=D(3))
    >>> earnings_multiple(t, np.array([0.4, 0.5, 0.99, 1.0, 2.0])).tolist()
    [0.0, 0.5, 0.99, 2.0, 3.0]
    """
    a = np.asarray(attainment, dtype="float64")
    starts = np.array([float(t.start) for t in table.tiers])
    ends = np.array([np.inf if t.end is None else float(t.end) for t in table.tiers])
    mult = np.array([float(t.multiplier) for t in table.tiers])
    if table.type == "graduated":
        slices = np.clip(np.minimum(a[..., None], ends) - starts, 0.0, None)
        out = (slices * mult).sum(axis=-1)
    elif table.type == "retroactive":
        k = np.clip(np.searchsorted(starts, a, side="right") - 1, 0, len(starts) - 1)
        out = mult[k] * np.clip(a, 0.0, None)
    else:
        raise UnknownNameError("rate table type", table.type, tuple(_RULES))
    out = np.where(a < float(table.threshold), 0.0, out)
    if table.cap is not None:
        out = np.minimum(out, float(table.cap))
    return out


def cliffs(table: RateTable) -> pd.DataFrame:
    """Attainments where pay jumps (a discontinuity of the payout curve).

    Returns
    -------
    DataFrame ``attainment``, ``kind`` (``threshold`` or ``tier edge``), ``multiple_below``
    (earnings / TI just below), ``multiple_at`` (at the edge), ``jump`` (the difference, in
    TI): a deal that pushes attainment across the edge changes pay by ``jump x TI`` on top of
    its own credit. Graduated tables are continuous at tier edges, so only a threshold above 0
    is a cliff; retroactive tables also jump at every edge where the multiplier changes.

    Examples
    --------
    >>> from decimal import Decimal as D
    >>> from spmlib.comp.plan import RateTable, Tier
    >>> tiers = (Tier(D(0), D(1), D(1)), Tier(D(1), None, D(2)))
    >>> cliffs(RateTable("retroactive", tiers, threshold=D("0.5")))
       attainment       kind  multiple_below  multiple_at  jump
    0         0.5  threshold             0.0          0.5   0.5
    1         1.0  tier edge             1.0          2.0   1.0
    """
    edges = []
    if table.threshold > 0:
        edges.append((float(table.threshold), "threshold"))
    if table.type == "retroactive":
        for prev, t in zip(table.tiers, table.tiers[1:], strict=False):
            if t.multiplier != prev.multiplier and t.start >= table.threshold:
                edges.append((float(t.start), "tier edge"))
    rows = []
    for x, kind in edges:
        below = float(earnings_multiple(table, np.nextafter(x, -np.inf)))
        at = float(earnings_multiple(table, x))
        if not np.isclose(at, below, rtol=0, atol=1e-12):
            rows.append((x, kind, round(below, 12), round(at, 12), round(at - below, 12)))
    return pd.DataFrame(
        rows, columns=["attainment", "kind", "multiple_below", "multiple_at", "jump"]
    ).astype(
        {
            "attainment": "float64",
            "multiple_below": "float64",
            "multiple_at": "float64",
            "jump": "float64",
        }
    )
