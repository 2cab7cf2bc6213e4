"""How far each opportunity went through the funnel, and when: the basis of every funnel view.

For each opportunity this module finds the date it first *reached* each funnel stage (the open
stages in order, then the won stage) and its *furthest* stage. Rules:

- an opportunity reached stage k on the first date it entered stage k **or any later stage**
  (so a skipped stage counts as passed, on the date of the jump);
- a move backwards does not un-reach a stage: the furthest stage is the highest stage ever
  entered (the "high-water mark");
- a won deal reached the won stage on the date it entered it in the stage history, else on its
  close_date;
- an open deal has reached at least its current stage (dated by its latest stage-history entry,
  or by its created_date when it has none);
- a lost deal with no open stage in its history is counted as lost at the first stage, reached
  on its created_date.

Without stage history only the current stage of open deals (dated by created_date) and the won
stage (dated by close_date) are known; lost deals have no furthest stage (``-1``).
All of this is vectorised with NumPy (no per-deal loop), so a million deals take a second or two.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spmlib.core.codes import NEVER, codes_of, labels, positions, require_columns, to_ns
from spmlib.core.pipelines import require_one_pipeline
from spmlib.io.schema import DatasetConfig

__all__ = ["Progress", "deal_progress", "infer_as_of"]

log = logging.getLogger(__name__)


def infer_as_of(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame | None = None,
    config: DatasetConfig | None = None,
) -> pd.Timestamp:
    """The reference date: ``config.as_of`` if set, else the latest creation, close of a closed
    deal or stage entry (the same rule as :attr:`spmlib.io.schema.Dataset.as_of`)."""
    if config is not None and config.as_of is not None:
        return pd.Timestamp(config.as_of)
    dates = [opportunities["created_date"].max()]
    if "status" in opportunities.columns:
        dates.append(opportunities.loc[opportunities["status"] != "open", "close_date"].max())
    if stage_history is not None and not stage_history.empty:
        dates.append(stage_history["entered_date"].max())
    dates = [d for d in dates if pd.notna(d)]
    return pd.Timestamp(max(dates)) if dates else pd.Timestamp.today().normalize()


@dataclass(frozen=True)
class Progress:
    """Per-opportunity progress, aligned with the rows of the opportunities frame given.

    Attributes
    ----------
    reach : int64 array (n_deals, n_funnel_stages) of the nanosecond date each funnel stage
        was first reached, ``NEVER`` when not reached; reached stages always form a prefix.
    furthest : int array (n_deals,), index of the furthest funnel stage reached, -1 if unknown.
    status : array of "open" / "won" / "lost".
    close : int64 array of close_date in nanoseconds (``NEVER`` when missing).
    created : int64 array of created_date in nanoseconds (``NEVER`` when missing).
    stages : the funnel stages (open stages in order, then the won stage).
    losses_known : False when built without stage history (lost deals have no stage).
    """

    reach: np.ndarray
    furthest: np.ndarray
    status: np.ndarray
    close: np.ndarray
    created: np.ndarray
    stages: tuple[str, ...]
    losses_known: bool


def deal_progress(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame | None = None,
    *,
    config: DatasetConfig,
    history_positions: np.ndarray | None = None,
) -> Progress:
    """Reach dates and furthest stage of every opportunity (rules in the module docstring).

    Parameters
    ----------
    opportunities : opp_id, stage, status, created_date, close_date.
    stage_history : opp_id, stage, entered_date; None or empty = no stage history.
    config : gives the open stages in order and the won and lost stage names.
    history_positions : optional, ``positions(stage_history["opp_id"], opportunities["opp_id"])``
        computed once by a caller that needs it elsewhere too (it is the costly step).

    Returns
    -------
    Progress

    Examples
    --------
    >>> cfg = DatasetConfig(("A", "B", "C"), "Won", "Lost")
    >>> opps = pd.DataFrame({"opp_id": ["1", "2"], "stage": ["B", "Won"],
    ...     "status": ["open", "won"],
    ...     "created_date": pd.to_datetime(["2026-01-01", "2026-01-01"]),
    ...     "close_date": pd.to_datetime(["2026-03-01", "2026-02-01"])})
    >>> hist = pd.DataFrame({"opp_id": ["1", "1", "1", "2"], "stage": ["A", "C", "B", "A"],
    ...     "entered_date": pd.to_datetime(["2026-01-01", "2026-01-05", "2026-01-09",
    ...                                     "2026-01-01"])})
    >>> p = deal_progress(opps, hist, config=cfg)
    >>> p.furthest.tolist()  # deal 1 went back from C to B: C stays reached
    [2, 3]
    """
    require_columns(
        opportunities, ["opp_id", "stage", "status", "created_date", "close_date"], "opportunities"
    )
    require_one_pipeline(config, "deal_progress")
    stages = config.funnel_stages
    n_stages = len(stages)
    won_rank = n_stages - 1
    n = len(opportunities)
    status = labels(opportunities["status"])
    created = to_ns(opportunities["created_date"])
    close = to_ns(opportunities["close_date"])
    current = codes_of(opportunities["stage"], stages).astype("float64")
    current[current < 0] = np.nan
    reach = np.full((n, n_stages), NEVER, dtype=np.int64)
    has_history = stage_history is not None and not stage_history.empty
    last_entry = np.full(n, NEVER, dtype=np.int64)

    if has_history:
        require_columns(stage_history, ["opp_id", "stage", "entered_date"], "stage_history")
        pos = history_positions
        if pos is None:
            pos = positions(stage_history["opp_id"], opportunities["opp_id"])
        all_rank = codes_of(stage_history["stage"], [*stages, config.lost_stage])
        rank = np.where((all_rank >= 0) & (all_rank < n_stages), all_rank, np.nan)
        when = to_ns(stage_history["entered_date"])
        unknown = all_rank < 0
        if unknown.any():
            log.warning(
                "%d stage-history rows have a stage outside dataset.yml; ignored", unknown.sum()
            )
        keep = (pos >= 0) & ~np.isnan(rank) & (when != NEVER)
        key = pos[keep].astype(np.int64) * n_stages + rank[keep].astype(np.int64)
        first = pd.Series(when[keep]).groupby(key).min()
        reach.ravel()[first.index.to_numpy()] = first.to_numpy()
        ok = (pos >= 0) & (when != NEVER)
        latest = pd.Series(when[ok]).groupby(pos[ok]).max()
        last_entry[latest.index.to_numpy()] = latest.to_numpy()

    rows = np.arange(n)
    is_open, is_won, is_lost = status == "open", status == "won", status == "lost"
    # Open deals have reached their current stage at least.
    cur_ok = is_open & ~np.isnan(current) & (current < won_rank)
    cur_rank = np.where(cur_ok, current, 0).astype(np.int64)
    fallback = np.where(last_entry != NEVER, last_entry, created)
    need = cur_ok & (reach[rows, cur_rank] == NEVER)
    reach[rows[need], cur_rank[need]] = fallback[need]
    # Won deals reached the won stage, on close_date when the history does not say.
    need = is_won & (reach[:, won_rank] == NEVER)
    reach[need, won_rank] = np.where(close[need] != NEVER, close[need], created[need])
    if has_history:
        # Lost deals with no open stage in their history: lost at the first stage.
        need = is_lost & (reach == NEVER).all(axis=1)
        reach[need, 0] = created[need]
    # Reaching a later stage reaches every earlier one (skipped stages count as passed).
    reach = np.minimum.accumulate(reach[:, ::-1], axis=1)[:, ::-1]
    furthest = (reach != NEVER).sum(axis=1) - 1
    return Progress(
        reach=np.ascontiguousarray(reach),
        furthest=furthest,
        status=status,
        close=close,
        created=created,
        stages=stages,
        losses_known=has_history,
    )
