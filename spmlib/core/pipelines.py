"""Several pipelines: stage analyses run per pipeline, with a ``pipeline`` column in front.

When ``dataset.yml`` lists ``pipelines`` (e.g. HubSpot's Sales and Renewals), each pipeline has
its own open stages in its own order, so a funnel across pipelines means nothing. Every analysis
that depends on the stage order is wrapped with :func:`per_pipeline` (functions of frames) or
:func:`per_pipeline_dataset` (functions of a :class:`~spmlib.io.schema.Dataset`): with one
pipeline it runs as written; with several it runs once per pipeline, on that pipeline's deals
(and their stage history) with that pipeline's configuration, and stacks the results with a
``pipeline`` column first. Analyses that do not depend on stages (KPIs, win rates, bookings)
simply cover every pipeline.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pandas as pd

from spmlib.exceptions import SpmError
from spmlib.io.schema import Dataset, DatasetConfig

__all__ = ["PIPELINE_COLUMN", "per_pipeline", "per_pipeline_dataset", "require_one_pipeline"]

#: The opportunities column naming a deal's pipeline.
PIPELINE_COLUMN = "pipeline"


def require_one_pipeline(config: DatasetConfig, what: str) -> None:
    """Raise when ``config`` has several pipelines (``what`` cannot mix their stages).

    Raises
    ------
    SpmError
        Naming the pipelines and how to run ``what`` on one of them.
    """
    if len(config.pipelines) > 1:
        raise SpmError(
            f"{what} needs the stages of one pipeline, and the data has "
            f"{len(config.pipelines)} ({', '.join(config.pipelines)}); run it on "
            "Dataset.for_pipeline(name), or call a per-pipeline analysis such as stage_funnel"
        )


def _stack(parts: list[tuple[str, Any]]) -> Any:
    frames = []
    for name, frame in parts:
        frame = frame.copy()
        if PIPELINE_COLUMN in frame.columns:
            frame = frame.drop(columns=PIPELINE_COLUMN)
        frame.insert(0, PIPELINE_COLUMN, pd.Series(name, index=frame.index, dtype="string"))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _split(value: Any, name: str, opp_ids: set) -> Any:
    """An argument restricted to one pipeline: a frame with a ``pipeline`` column to its rows,
    a stage history (``opp_id`` + ``entered_date``) to the pipeline's deals; others as given."""
    if not isinstance(value, pd.DataFrame):
        return value
    if PIPELINE_COLUMN in value.columns:
        rows = value[value[PIPELINE_COLUMN] == name].drop(columns=PIPELINE_COLUMN)
        return rows.reset_index(drop=True)
    if {"opp_id", "entered_date"} <= set(value.columns):
        return value[value["opp_id"].isin(opp_ids)].reset_index(drop=True)
    return value


def per_pipeline(fn: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    """Run a stage analysis ``fn(opportunities, ..., config=...)`` once per pipeline.

    With several pipelines in ``config``, each run gets that pipeline's opportunities, the stage
    history of those deals, any frame argument with a ``pipeline`` column restricted to the
    pipeline (e.g. benchmark probabilities or thresholds computed per pipeline), and
    ``config.for_pipeline(name)``; the results are stacked with a ``pipeline`` column first.

    Examples
    --------
    >>> @per_pipeline
    ... def stages(opportunities, *, config):
    ...     return pd.DataFrame({"stage": list(config.open_stages)})
    >>> cfg = DatasetConfig.from_dict({"pipelines": {"New": ["Demo"], "Renewal": ["Due", "Quote"]}})
    >>> opps = pd.DataFrame({"opp_id": ["1", "2"], "pipeline": ["New", "Renewal"]})
    >>> stages(opps, config=cfg)
      pipeline  stage
    0      New   Demo
    1  Renewal    Due
    2  Renewal  Quote
    """

    @functools.wraps(fn)
    def run(opportunities: pd.DataFrame, *args: Any, config: DatasetConfig, **kwargs: Any):
        if len(config.pipelines) <= 1:
            return fn(opportunities, *args, config=config, **kwargs)
        if PIPELINE_COLUMN not in opportunities.columns:
            raise SpmError(
                f"{fn.__name__}: the data has several pipelines ({', '.join(config.pipelines)}) "
                "but the opportunities have no pipeline column"
            )
        parts = []
        for name in config.pipelines:
            opps = opportunities[opportunities[PIPELINE_COLUMN] == name].reset_index(drop=True)
            ids = set(opps["opp_id"]) if "opp_id" in opps.columns else set()
            out = fn(
                opps,
                *(_split(a, name, ids) for a in args),
                config=config.for_pipeline(name),
                **{k: _split(v, name, ids) for k, v in kwargs.items()},
            )
            parts.append((name, out))
        return _stack(parts)

    return run


def per_pipeline_dataset(fn: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    """Run an analysis ``fn(ds, ...)`` once per pipeline of ``ds`` (see :func:`per_pipeline`);
    each run gets :meth:`Dataset.for_pipeline` (every rep, that pipeline's deals and stages).
    A pipeline without deals adds nothing and is skipped."""

    @functools.wraps(fn)
    def run(ds: Dataset, *args: Any, **kwargs: Any):
        if len(ds.config.pipelines) <= 1:
            return fn(ds, *args, **kwargs)
        subs = [(name, ds.for_pipeline(name)) for name in ds.config.pipelines]
        parts = [(name, fn(sub, *args, **kwargs)) for name, sub in subs if len(sub.opportunities)]
        return _stack(parts or [(subs[0][0], fn(subs[0][1], *args, **kwargs))])

    return run
