"""Validation of the stage settings that real CRM orgs need: close reasons, several pipelines, the
CRM's stage probabilities and forecast categories (``dataset.yml``), and the columns that go with
them on opportunities (``pipeline``, ``probability``).

Rules (errors):

* ``won_reasons`` / ``lost_reasons`` are lists of distinct stage names, none of them an open
  stage, none both won and lost;
* ``pipelines`` maps each pipeline name to a non-empty list of distinct open stages, and is not
  given together with ``open_stages``;
* ``stage_probabilities`` maps open stages to numbers from 0 to 1; ``stage_forecast_categories``
  maps open stages to text;
* with several pipelines every deal names a known ``pipeline`` and sits in one of that pipeline's
  stages (or a closed one); its stage history too;
* a deal's ``probability`` is from 0 to 1.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from spmlib.exceptions import Problem
from spmlib.io.schema import DatasetConfig

__all__ = [
    "check_stage_settings",
    "union_of_pipelines",
    "check_opportunity_stages",
    "check_history_pipelines",
]

_HINT_REASONS = (
    "Write e.g. `lost_reasons: [Lost - Price, Lost - No Decision]`: CRM stages loaded as "
    "lost_stage, their name kept in close_reason"
)
_HINT_PIPELINES = "Write e.g. `pipelines: {Sales: [Demo, Proposal], Renewals: [Due, Quote]}`"


def union_of_pipelines(pipelines) -> list[str]:
    """Every open stage of ``pipelines`` once, in the order the pipelines list them.

    Examples
    --------
    >>> union_of_pipelines({"New": ["Demo", "Offer"], "Renewal": ["Due", "Offer"]})
    ['Demo', 'Offer', 'Due']
    """
    if not isinstance(pipelines, Mapping):
        return []
    stages = [s for v in pipelines.values() if isinstance(v, (list, tuple)) for s in v]
    return list(dict.fromkeys(str(s) for s in stages))


def _names(raw: Mapping, key: str, file: str, problems: list[Problem]) -> list[str]:
    value = raw.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        problems.append(
            Problem(file, key, f"{key} must be a list of stage names", hint=_HINT_REASONS)
        )
        return []
    names = [str(v) for v in value]
    if len(set(names)) != len(names):
        problems.append(Problem(file, key, f"{key} lists a stage twice", hint="List each once"))
    return names


def check_stage_settings(raw: Mapping, file: str = "dataset.yml") -> list[Problem]:
    """Problems of the stage settings of ``dataset.yml`` content (module notes).

    Examples
    --------
    >>> [p.rule for p in check_stage_settings({"open_stages": ["Demo"],
    ...     "lost_reasons": ["Demo"], "stage_probabilities": {"Demo": 40}})]
    ['lost_reasons names open stages: Demo', 'stage_probabilities must be from 0 to 1: Demo: 40']
    """
    problems: list[Problem] = []
    pipelines = raw.get("pipelines")
    if pipelines is not None:
        if not isinstance(pipelines, Mapping) or not pipelines:
            problems.append(
                Problem(
                    file,
                    "pipelines",
                    "pipelines must map each pipeline to its open stages",
                    hint=_HINT_PIPELINES,
                )
            )
        else:
            for name, stages in pipelines.items():
                if not isinstance(stages, (list, tuple)) or not stages:
                    problems.append(
                        Problem(
                            file,
                            "pipelines",
                            f"pipeline {str(name)!r} must list at least one open stage",
                            hint=_HINT_PIPELINES,
                        )
                    )
                elif len({str(s) for s in stages}) != len(stages):
                    problems.append(
                        Problem(
                            file,
                            "pipelines",
                            f"pipeline {str(name)!r} lists a stage twice",
                            hint="List each stage once",
                        )
                    )
        if raw.get("open_stages") is not None:
            problems.append(
                Problem(
                    file,
                    "open_stages",
                    "give open_stages (one pipeline) or pipelines (several), not both",
                    hint="Remove open_stages: each pipeline lists its own open stages",
                )
            )
    open_stages = (
        union_of_pipelines(pipelines)
        if pipelines is not None
        else [str(s) for s in raw.get("open_stages") or [] if isinstance(raw["open_stages"], list)]
    )
    won = _names(raw, "won_reasons", file, problems)
    lost = _names(raw, "lost_reasons", file, problems)
    for key, names in (("won_reasons", won), ("lost_reasons", lost)):
        clash = [s for s in names if s in open_stages]
        if clash:
            problems.append(
                Problem(
                    file, key, f"{key} names open stages: {', '.join(clash)}", hint=_HINT_REASONS
                )
            )
    won_stage = str(raw.get("won_stage", "Closed Won"))
    lost_stage = str(raw.get("lost_stage", "Closed Lost"))
    both = [s for s in won if s in {*lost, lost_stage}] + [s for s in lost if s == won_stage]
    if both:
        problems.append(
            Problem(
                file,
                "lost_reasons",
                f"stages both won and lost: {', '.join(dict.fromkeys(both))}",
                hint="Each closed stage means won or lost, not both",
            )
        )
    for key in ("stage_probabilities", "stage_forecast_categories"):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            problems.append(
                Problem(
                    file,
                    key,
                    f"{key} must map open stages to values",
                    hint=f"e.g. {key}: {{Demo: 0.3}}"
                    if key == "stage_probabilities"
                    else "{Demo: Pipeline}",
                )
            )
            continue
        unknown = [str(s) for s in value if str(s) not in open_stages]
        if unknown:
            problems.append(
                Problem(
                    file,
                    key,
                    f"{key} names stages that are not open stages: {', '.join(unknown)}",
                    hint="Use the names of open_stages (closed stages need no default)",
                )
            )
        if key == "stage_probabilities":
            bad = [f"{s}: {v}" for s, v in value.items() if not _fraction(v)]
            if bad:
                problems.append(
                    Problem(
                        file,
                        key,
                        f"stage_probabilities must be from 0 to 1: {', '.join(bad)}",
                        hint="Write 0.3 for 30%",
                    )
                )
    return problems


def _fraction(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def _rows(frame: pd.DataFrame, mask: pd.Series, *cols: str) -> tuple[str, ...]:
    hits = frame[mask.fillna(False).astype(bool)].head(5)
    return tuple(
        f"row {int(i) + 1}: " + " / ".join(repr(str(hits.at[i, c])) for c in cols)
        for i in hits.index
    )


def _label(columns: Mapping[str, str] | None, col: str) -> str:
    src = (columns or {}).get(col)
    return f"{src} ({col})" if src and src != col else col


def check_opportunity_stages(
    opp: pd.DataFrame,
    config: DatasetConfig,
    file: str,
    columns: Mapping[str, str] | None = None,
) -> list[Problem]:
    """The deals' ``pipeline`` (known, and holding the deal's stage) and ``probability`` (0-1).

    Examples
    --------
    >>> cfg = DatasetConfig.from_dict({"pipelines": {"New": ["Demo"], "Renewal": ["Due"]}})
    >>> opp = pd.DataFrame({"stage": ["Demo", "Due", "Closed Won"],
    ...     "pipeline": ["New", "New", "Upsell"], "probability": [0.3, 1.5, None]})
    >>> for p in check_opportunity_stages(opp, cfg, "deals.csv"):
    ...     print(p.rule)
    1 deal in a pipeline that dataset.yml does not list (pipelines: New, Renewal)
    1 deal in a stage that is not one of its pipeline's stages
    1 probability outside 0-1
    """
    problems: list[Problem] = []
    if config.pipelines:
        if "pipeline" not in opp.columns:
            return [
                Problem(
                    file,
                    "pipeline",
                    "the deals follow several pipelines but have no pipeline column",
                    hint="Map the CRM's pipeline column to `pipeline`",
                )
            ]
        label = _label(columns, "pipeline")
        unknown = ~opp["pipeline"].isin(list(config.pipelines)).fillna(False).astype(bool)
        if unknown.any():
            n = int(unknown.sum())
            problems.append(
                Problem(
                    file,
                    label,
                    f"{n:,} deal{'' if n == 1 else 's'} in a pipeline that dataset.yml does not "
                    f"list (pipelines: {', '.join(config.pipelines)})",
                    _rows(opp, unknown, "pipeline"),
                    "Add the pipeline and its stages to `pipelines:`, or correct the deals",
                )
            )
        problems += _outside_pipeline(opp, ~unknown, config, file, _label(columns, "stage"))
    if "probability" in opp.columns:
        p = opp["probability"]
        bad = (p.notna() & ((p < 0) | (p > 1))).fillna(False).astype(bool)
        if bad.any():
            n = int(bad.sum())
            problems.append(
                Problem(
                    file,
                    _label(columns, "probability"),
                    f"{n:,} probabilit{'y' if n == 1 else 'ies'} outside 0-1",
                    _rows(opp, bad, "probability"),
                    "Write 0.3 for 30% (a mapping turns percents into fractions with "
                    "`scale: {probability: 0.01}`)",
                )
            )
    return problems


def _outside_pipeline(frame, known, config, file, label) -> list[Problem]:
    closed = {config.won_stage, config.lost_stage}
    allowed = {(p, s) for p, stages in config.pipelines.items() for s in (*stages, *closed)}
    pairs = pd.Series(list(zip(frame["pipeline"], frame["stage"], strict=True)), index=frame.index)
    bad = known & frame["stage"].isin(list(config.stages)).fillna(False).astype(bool)
    bad &= ~pairs.isin(allowed)
    if not bad.any():
        return []
    n = int(bad.sum())
    return [
        Problem(
            file,
            label,
            f"{n:,} deal{'' if n == 1 else 's'} in a stage that is not one of its pipeline's "
            "stages",
            _rows(frame, bad, "pipeline", "stage"),
            "Add the stage to that pipeline in `pipelines:`, or correct the deal's pipeline",
        )
    ]


def check_history_pipelines(
    history: pd.DataFrame, opp: pd.DataFrame, config: DatasetConfig, file: str
) -> list[Problem]:
    """Stage-history rows whose stage is not one of their deal's pipeline's stages."""
    if not config.pipelines or "pipeline" not in opp.columns or history.empty:
        return []
    pipeline = history["opp_id"].map(opp.drop_duplicates("opp_id").set_index("opp_id")["pipeline"])
    frame = history.assign(pipeline=pipeline)
    known = frame["pipeline"].isin(list(config.pipelines)).fillna(False).astype(bool)
    out = _outside_pipeline(frame, known, config, file, "stage")
    return [
        Problem(
            p.file,
            p.column,
            p.rule.replace("deal", "stage change", 1),
            p.rows,
            p.hint,
        )
        for p in out
    ]
