"""The HubSpot preset's stage inference: every pipeline of a deals export, each with its stages.

Evidence, strongest first (the user's ``dataset.yml`` settings beat all of it):

* **Labels** match regardless of case and surrounding spaces: ``closed won `` is ``Closed Won``
  (the canonical spelling is the user's, else HubSpot's default label, else the most frequent).
  The pipeline label ``default`` (HubSpot's internal name of the first pipeline) is
  ``Sales Pipeline``.
* **Pipelines**: every value of the Pipeline column is a pipeline with its own open stages; with
  two or more, ``dataset.yml`` gets ``pipelines:`` and opportunities keep a ``pipeline`` column.
* **Open, won or lost**, per pipeline: the export's "Is Deal Closed?" and "Is Closed Won" columns
  (HubSpot's ``hs_is_closed`` and ``hs_is_closed_won``, the most frequent answer per stage) when
  present; else HubSpot's default labels (Closed Won, Closed Lost, and the open default stages);
  else the load fails naming the stages it could not classify.
* **Order of the open stages**, per pipeline: the median "Deal probability" of the deals in each
  stage; else HubSpot's default pipeline order; else the order the export first shows them (with
  a warning, since that is no evidence).
* **Several won or lost stages** (over all pipelines) are loaded as one won (lost) stage with
  the CRM label kept in ``close_reason`` (:func:`spmlib.io.infer.closed_settings`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from spmlib.exceptions import Problem
from spmlib.io.infer import (
    StageInference,
    canonical_labels,
    chain_order,
    closed_settings,
    given_kinds,
    label_key,
    percent_label,
    stage_kinds_from_status,
    text_values,
)

__all__ = ["infer", "DEFAULT_OPEN_STAGES", "DEFAULT_PIPELINE"]

#: HubSpot's default sales pipeline, open stages in order.
DEFAULT_OPEN_STAGES = (
    "Appointment Scheduled",
    "Qualified To Buy",
    "Presentation Scheduled",
    "Decision Maker Bought-In",
    "Contract Sent",
)
#: The label of HubSpot's default pipeline (its internal name is ``default``).
DEFAULT_PIPELINE = "Sales Pipeline"
_DEFAULT_KIND = {
    **{label.casefold(): "open" for label in DEFAULT_OPEN_STAGES},
    "closed won": "won",
    "closed lost": "lost",
}
_DEFAULT_LABELS = (*DEFAULT_OPEN_STAGES, "Closed Won", "Closed Lost")
_FLAGS = '"Is Deal Closed?"/"Is Closed Won"'


def _canonical(raw: pd.Series, preferred: list[str], aliases: dict[str, str], what: str, out):
    """{raw: canonical} and a note for each label spelled several ways."""
    canon = canonical_labels(raw, preferred)
    for alias, name in aliases.items():
        canon |= {r: name for r in raw.dropna().unique() if label_key(pd.Series([r]))[0] == alias}
    spellings: dict[str, list[str]] = {}
    for r, c in canon.items():
        spellings.setdefault(c, []).append(r)
    for c, rs in spellings.items():
        if rs != [c]:
            out.note(
                f"{what} {c!r}",
                "also written " + ", ".join(repr(r) for r in rs if r != c),
                "HubSpot labels match regardless of case and surrounding spaces",
            )
    return canon


def infer(tables: dict, source, given: dict, mapping) -> StageInference:
    """Infer the dataset settings of a HubSpot deals export (module notes).

    Parameters
    ----------
    tables : the mapped raw tables (``opportunities`` with ``stage``, ``pipeline`` and, from the
        closed/won columns when exported, ``status``).
    source : the :class:`spmlib.io.sources.Source` (unused: a deals export is one file).
    given : the user's dataset settings (they win, and classify the stages they name).
    mapping : the :class:`spmlib.io.mappings.Mapping` (column names for messages).
    """
    out = StageInference()
    opp = tables["opportunities"]
    if "stage" not in opp.columns:
        return out
    tm = mapping.tables["opportunities"]
    file, stage_col = source.label(tm.file), tm.columns.get("stage", "stage")
    kinds_given = given_kinds(given)
    stage_canon = _canonical(
        text_values(opp["stage"]), [*kinds_given, *_DEFAULT_LABELS], {}, "stage", out
    )
    stage = text_values(opp["stage"]).map(stage_canon).astype("string")
    out.recodes["opportunities"] = {"stage": {r: c for r, c in stage_canon.items() if r != c}}
    if "pipeline" in opp.columns:
        given_pipes = [str(p) for p in given.get("pipelines") or {}]
        pipe_canon = _canonical(
            text_values(opp["pipeline"]),
            [*given_pipes, DEFAULT_PIPELINE],
            {"default": DEFAULT_PIPELINE},
            "pipeline",
            out,
        )
        pipeline = text_values(opp["pipeline"]).map(pipe_canon).astype("string")
        out.recodes["opportunities"]["pipeline"] = {r: c for r, c in pipe_canon.items() if r != c}
    else:
        pipeline = pd.Series(DEFAULT_PIPELINE, index=opp.index, dtype="string")
    pipelines = [str(p) for p in pipeline.dropna().unique()]
    several = len(pipelines) > 1 and given.get("open_stages") is None
    status = opp["status"] if "status" in opp.columns else pd.Series(pd.NA, index=opp.index)
    kinds: dict[str, dict[str, Any]] = {}
    for p in pipelines:
        in_p = (pipeline == p).fillna(False).astype(bool)
        kinds[p] = _classify(stage[in_p], status[in_p], kinds_given, p if several else None, out)
    unknown = [
        f"{s} ({p})" if several else s for p in pipelines for s, k in kinds[p].items() if k is None
    ]
    if unknown:
        out.problems.append(
            Problem(
                file,
                stage_col,
                "cannot tell whether these stages are open, won or lost: " + ", ".join(unknown),
                hint=f"Export the {_FLAGS} columns with the deals, or classify the stages in "
                "dataset.yml (open_stages or pipelines, won_reasons, lost_reasons)",
            )
        )
    _conflicts(kinds, file, stage_col, out)
    orders = {}
    for p in pipelines:
        opens = [s for s, k in kinds[p].items() if k in ("open", None)]
        in_p = (pipeline == p).fillna(False).astype(bool)
        where = p if several else None
        orders[p] = _open_order(opens, opp[in_p], stage[in_p], where, given, out, file, stage_col)
    won = list(dict.fromkeys(s for p in pipelines for s, k in kinds[p].items() if k == "won"))
    lost = list(dict.fromkeys(s for p in pipelines for s, k in kinds[p].items() if k == "lost"))
    all_open = list(dict.fromkeys(s for p in pipelines for s in orders[p]))
    closed = closed_settings(won, lost, all_open, given)
    if several:
        out.config["pipelines"] = orders
        out.note("pipelines", ", ".join(pipelines), "values of the Pipeline column")
    else:
        out.config["open_stages"] = all_open
    out.config |= closed
    for kind, names in (("won", won), ("lost", lost)):
        loaded = closed[f"{kind}_stage"]
        folded = [s for s in names if s != loaded]
        if folded:
            out.note(
                f"{kind} stages",
                f"{', '.join(names)} loaded as {loaded}, the HubSpot stage kept in close_reason",
                "several closed stages",
            )
    return out


def _classify(stage, status, given, pipeline, out) -> dict[str, Any]:
    """Stage -> open / won / lost (None when unknown) in one pipeline, each noted."""
    flags = stage_kinds_from_status(stage, status)
    where = f" in pipeline {pipeline!r}" if pipeline else ""
    kinds: dict[str, Any] = {}
    for s in stage.dropna().unique():
        if s in given:
            kinds[s], why = given[s], "given in the dataset settings"
        elif s in flags.index:
            row = flags.loc[s]
            kinds[s], n = row["kind"], int(row["deals"])
            why = f"{_FLAGS} of {n} deal{'' if n == 1 else 's'}"
            other = n - int(row[row["kind"]])
            if other:
                why += f", {other} of them flagged otherwise"
        elif s.casefold() in _DEFAULT_KIND:
            kinds[s], why = _DEFAULT_KIND[s.casefold()], "HubSpot's default label"
        else:
            kinds[s] = None
            continue
        out.note(f"stage {s!r}{where}", kinds[s], why)
    return kinds


def _conflicts(kinds: dict, file: str, stage_col: str, out: StageInference) -> None:
    """A stage label meaning different things in two pipelines cannot be loaded as one stage."""
    meaning: dict[str, dict[str, str]] = {}
    for p, ks in kinds.items():
        for s, k in ks.items():
            if k is not None:
                meaning.setdefault(s, {})[p] = k
    for s, by_pipe in meaning.items():
        if len(set(by_pipe.values())) > 1:
            out.problems.append(
                Problem(
                    file,
                    stage_col,
                    f"stage {s!r} means " + ", ".join(f"{k} in {p!r}" for p, k in by_pipe.items()),
                    hint="Rename the stage in one pipeline (a stage name has one meaning)",
                )
            )


def _open_order(opens, opp, stage, pipeline, given, out, file, stage_col) -> list[str]:
    """The open stages of one pipeline in funnel order, noted with the evidence."""
    subject = f"open-stage order of {pipeline!r}" if pipeline else "open-stage order"
    if pipeline and pipeline in (given.get("pipelines") or {}):
        out.note(subject, "as given in the dataset settings")
        return [str(s) for s in given["pipelines"][pipeline]]
    if given.get("open_stages") is not None:
        out.note(subject, "as given in the dataset settings")
        return [str(s) for s in given["open_stages"]]
    if len(opens) <= 1:
        out.note(subject, ", ".join(opens), "the only open stage")
        return list(opens)
    sources: list[tuple[str, dict]] = []
    details: dict[str, str] = {}
    if "probability" in opp.columns:
        prob = pd.to_numeric(text_values(opp["probability"]), errors="coerce")
        med = prob.groupby(stage).median().dropna()
        med = med[med.index.isin(opens)]
        if len(med):
            label = "median Deal probability of the deals in each stage"
            sources.append((label, med.to_dict()))
            scale = 1 if prob.max() <= 1 else 0.01
            details[label] = ", ".join(
                f"{s} {percent_label(v * scale)}" for s, v in med.sort_values().items()
            )
    default = {s: i for i, s in enumerate(DEFAULT_OPEN_STAGES)}
    sources.append(("HubSpot's default pipeline order", default))
    order, used = chain_order(opens, sources)
    of = f" of {pipeline!r}" if pipeline else ""
    for label, stages in used:
        if label == "no evidence":
            out.problems.append(
                Problem(
                    file,
                    stage_col,
                    f"the position of these open stages{of} is unknown, they are placed in the "
                    "order the export first shows them: " + ", ".join(stages),
                    hint="Export the Deal probability column, or give the order in dataset.yml "
                    "(open_stages, or pipelines: {name: [stages]})",
                    severity="warning",
                )
            )
            continue
        evidence = f"{label}: {details[label]}" if label in details else label
        out.note(subject, ", ".join(stages), evidence)
    return order
