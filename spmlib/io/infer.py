"""Stages inferred from a CRM export: what a preset decides, and the evidence it shows for it.

A mapping with ``infer: salesforce`` or ``infer: hubspot`` does not list the org's stages: the
preset reads them from the export (:mod:`spmlib.io.infer_salesforce`,
:mod:`spmlib.io.infer_hubspot`) and returns a :class:`StageInference`: the ``dataset.yml``
settings it inferred (open stages in order, won and lost stages, close reasons, pipelines, stage
probabilities and forecast categories, currency, fiscal year), recodes of the raw values (e.g.
labels that differ only in case), every decision as an :class:`Inference` with its evidence, and
the problems that stop the load (stages it cannot classify).

Settings the user gives (the mapping's ``dataset:`` and the export folder's ``dataset.yml``) win
over the inference, key by key; the inference uses them as evidence too.

Shared rules
------------
* **Labels** match regardless of case and surrounding or repeated spaces (:func:`label_key`).
* **Order from stage history** (:func:`stage_precedence`): each deal's first entry into each
  open stage, in date order; stage A comes before B when more deals entered A before B than B
  before A. Stages are ranked by how many others they come before (Copeland score); ties go to
  weaker evidence (:func:`chain_order`), last to the mean position of their first entry.
* **Won and lost names** (:func:`closed_settings`): one won stage keeps its CRM name as
  ``won_stage``; several are loaded as ``Closed Won`` with the CRM stage in ``close_reason``
  (``won_reasons``); the same for lost.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from spmlib.exceptions import Problem, UnknownNameError

__all__ = [
    "INFERENCES",
    "Inference",
    "StageInference",
    "get_inference",
    "label_key",
    "canonical_labels",
    "Precedence",
    "stage_precedence",
    "chain_order",
    "closed_settings",
    "stage_kinds_from_status",
    "given_kinds",
    "text_values",
    "percent_label",
]

#: The stage inferences a mapping may name with ``infer:``.
INFERENCES = ("salesforce", "hubspot")


@dataclass(frozen=True)
class Inference:
    """One decision a preset took from the export.

    Attributes
    ----------
    subject : what was decided, e.g. ``stage 'Lost - Price'`` or ``open-stage order``.
    decision : the decision, e.g. ``lost (loaded as Closed Lost, kept as close_reason)``.
    evidence : where it comes from, e.g. ``OpportunityStage.csv: IsClosed true, IsWon false``.
    """

    subject: str
    decision: str
    evidence: str = ""

    def __str__(self) -> str:
        return f"{self.subject}: {self.decision}" + (f" ({self.evidence})" if self.evidence else "")


@dataclass
class StageInference:
    """What a preset inferred from an export (see the module notes).

    Attributes
    ----------
    config : ``dataset.yml`` settings inferred (the user's settings are merged over them).
    recodes : table -> column -> {raw value: model value}, applied to the mapped tables.
    inferences : every decision with its evidence, in reading order.
    problems : errors (and warnings) found while inferring, e.g. stages it cannot classify.
    """

    config: dict[str, Any] = field(default_factory=dict)
    recodes: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    inferences: list[Inference] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def note(self, subject: str, decision: str, evidence: str = "") -> None:
        self.inferences.append(Inference(subject, decision, evidence))


def get_inference(name: str) -> Callable[..., StageInference]:
    """The ``infer(tables, source, given, mapping)`` function of a preset inference.

    Raises
    ------
    UnknownNameError
        For a name not in :data:`INFERENCES` (lists the valid ones).
    """
    if name not in INFERENCES:
        raise UnknownNameError("stage inference", name, INFERENCES)
    return importlib.import_module(f"spmlib.io.infer_{name}").infer


def label_key(values: pd.Series) -> pd.Series:
    """Labels as compared: lower case (casefold), runs of spaces as one, no surrounding spaces.

    Examples
    --------
    >>> label_key(pd.Series([" Closed  won ", "CLOSED WON", None], dtype="string")).tolist()
    ['closed won', 'closed won', <NA>]
    """
    text = values.astype("string").str.strip().str.replace(r"\s+", " ", regex=True)
    return text.str.casefold().mask(text == "")


def canonical_labels(values: pd.Series, preferred: Iterable[str] = ()) -> dict[str, str]:
    """{raw label: canonical spelling} for labels that differ only in case and spaces.

    The canonical spelling of a label is the one in ``preferred`` (e.g. the user's or the CRM's
    default names) when there is one, else the most frequent spelling (the first seen on a tie).

    Examples
    --------
    >>> canonical_labels(pd.Series(["Demo", "demo ", "Demo", "closed won"]), ["Closed Won"])
    {'Demo': 'Demo', 'demo ': 'Demo', 'closed won': 'Closed Won'}
    """
    preferred = list(preferred)
    raw = values.astype("string").dropna()
    raw = raw[raw.str.strip() != ""]
    if raw.empty:
        return {}
    keys = label_key(raw)
    pref_keys = label_key(pd.Series(preferred, dtype="string"))
    pref = {k: p for p, k in zip(preferred, pref_keys, strict=True)}
    spelled = raw.str.strip().str.replace(r"\s+", " ", regex=True)
    counts = pd.DataFrame({"key": keys, "spelled": spelled, "first": np.arange(len(raw))})
    best = (
        counts.groupby(["key", "spelled"], sort=False)
        .agg(n=("first", "size"), first=("first", "min"))
        .reset_index()
        .sort_values(["key", "n", "first"], ascending=[True, False, True])
        .drop_duplicates("key")
        .set_index("key")["spelled"]
    )
    canon = {k: pref.get(k, best[k]) for k in best.index}
    pairs = pd.DataFrame({"raw": raw, "key": keys}).drop_duplicates()
    return {str(r): str(canon[k]) for r, k in zip(pairs["raw"], pairs["key"], strict=True)}


def stage_kinds_from_status(stage: pd.Series, status: pd.Series) -> pd.DataFrame:
    """Per stage, how many deals the CRM's closed/won flags call open, won and lost.

    Returns
    -------
    DataFrame indexed by stage, columns ``open``, ``won``, ``lost`` (int), ``kind`` (the most
    frequent; ties go open, then won) and ``deals``.

    Examples
    --------
    >>> stage_kinds_from_status(pd.Series(["A", "A", "X", "X", "X"]),
    ...     pd.Series(["open", "open", "lost", "lost", "won"]))[["deals", "lost", "kind"]]
       deals  lost  kind
    A      2     0  open
    X      3     2  lost
    """
    frame = pd.DataFrame({"stage": stage.astype("string"), "status": status.astype("string")})
    frame = frame.dropna()
    counts = pd.crosstab(frame["stage"], frame["status"])
    counts = counts.reindex(columns=["open", "won", "lost"], fill_value=0).astype("int64")
    counts["kind"] = counts[["open", "won", "lost"]].idxmax(axis=1)
    counts["deals"] = counts[["open", "won", "lost"]].sum(axis=1)
    counts.index.name = None
    counts.columns.name = None
    return counts[["open", "won", "lost", "kind", "deals"]]


@dataclass(frozen=True)
class Precedence:
    """How deals moved between open stages in the stage history.

    Attributes
    ----------
    stages : the stages found in the history.
    before : ``before.loc[a, b]`` = deals whose first entry into ``a`` came before their first
        entry into ``b``.
    mean_position : per stage, the mean position of its first entry in a deal's path (0 = first).
    """

    stages: list[str]
    before: pd.DataFrame
    mean_position: pd.Series

    @property
    def wins(self) -> pd.Series:
        """Per stage, how many other stages it comes before by majority (Copeland score)."""
        b = self.before.to_numpy()
        return pd.Series((b > b.T).sum(axis=1), index=self.stages)

    def evidence(self, order: list[str]) -> list[str]:
        """One sentence per consecutive pair of ``order`` (stages of this history)."""
        out = []
        for a, b in itertools.pairwise([s for s in order if s in self.stages]):
            ab, ba = int(self.before.at[a, b]), int(self.before.at[b, a])
            if ab + ba:
                n = "deal" if ab + ba == 1 else "deals"
                out.append(f"{a} before {b} in {ab} of {ab + ba} {n}")
            else:
                out.append(f"{a}, {b}: no deal entered both, ordered by weaker evidence")
        return out


def stage_precedence(history: pd.DataFrame, stages: Iterable[str]) -> Precedence:
    """Count, for each pair of ``stages``, the deals that entered one before the other.

    Parameters
    ----------
    history : ``opp_id``, ``stage`` and ``entered_date`` (text or dates); rows in file order
        break ties between entries of the same time.
    stages : the open stages to compare (other stages in the history are ignored).

    Notes
    -----
    Each deal contributes its first entry into each stage, so a deal sent back to an earlier
    stage does not reverse the order it first went through. Ranking the stages by
    :attr:`Precedence.wins` (how many stages each comes before, by majority) gives the order in
    which deals move most often.

    Examples
    --------
    >>> hist = pd.DataFrame({"opp_id": ["1", "1", "1", "2", "2", "3", "3"],
    ...     "stage": ["Demo", "Offer", "Demo", "Intro", "Offer", "Intro", "Demo"],
    ...     "entered_date": ["2024-01-01", "2024-01-05", "2024-01-09",
    ...                      "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]})
    >>> prec = stage_precedence(hist, ["Offer", "Demo", "Intro"])
    >>> prec.wins.to_dict()
    {'Offer': 0, 'Demo': 1, 'Intro': 2}
    >>> prec.evidence(["Intro", "Demo", "Offer"])
    ['Intro before Demo in 1 of 1 deal', 'Demo before Offer in 1 of 1 deal']
    """
    wanted = list(dict.fromkeys(stages))
    h = history[["opp_id", "stage", "entered_date"]].copy()
    h["stage"] = text_values(h["stage"])
    h = h[h["stage"].isin(wanted).fillna(False)]
    when = h["entered_date"]
    if not pd.api.types.is_datetime64_any_dtype(when):
        when = pd.to_datetime(when.astype("string"), errors="coerce", utc=True, format="ISO8601")
    h = h.assign(_when=when, _row=np.arange(len(h))).dropna(subset=["_when", "opp_id"])
    h = h.sort_values(["opp_id", "_when", "_row"], kind="stable").drop_duplicates(
        ["opp_id", "stage"]
    )
    present = set(h["stage"].unique())
    found = [s for s in wanted if s in present]
    h["_pos"] = h.groupby("opp_id").cumcount()
    pos = h.pivot(index="opp_id", columns="stage", values="_pos").reindex(columns=found)
    p = pos.to_numpy(dtype="float64")
    before = np.zeros((len(found), len(found)), dtype=np.int64)
    for i in range(len(found)):
        before[i] = (p[:, [i]] < p).sum(axis=0)  # comparisons with NaN are False
    return Precedence(
        stages=found,
        before=pd.DataFrame(before, index=found, columns=found),
        mean_position=pd.Series(np.nanmean(p, axis=0) if len(p) else [], index=found),
    )


def chain_order(
    stages: Iterable[str], sources: Iterable[tuple[str, Mapping[str, Any]]]
) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Order ``stages`` by the first source that ranks them.

    ``sources`` are ``(label, {stage: sort key})`` by priority: the stages the first source
    ranks come first in its order, then those the next one ranks, and so on; stages no source
    ranks come last in their given order. Stages a source ranks equal are ordered by the later
    sources (then by their given order).

    Returns
    -------
    (order, used): the order, and ``(label, stages)`` for each source that placed stages
    (label ``"no evidence"`` for the last ones).

    Examples
    --------
    >>> chain_order(["C", "B", "A", "Z"], [("metadata", {"B": 2, "C": 1}), ("history", {"A": 0})])
    (['C', 'B', 'A', 'Z'], [('metadata', ['C', 'B']), ('history', ['A']), ('no evidence', ['Z'])])
    >>> chain_order(["B", "A"], [("history", {"A": 0, "B": 0}), ("default", {"A": 2, "B": 1})])
    (['B', 'A'], [('history', ['B', 'A'])])
    """
    rest = list(dict.fromkeys(stages))
    given = {s: i for i, s in enumerate(rest)}
    sources = list(sources)
    order: list[str] = []
    used: list[tuple[str, list[str]]] = []
    for i, (label, key) in enumerate(sources):
        ranked = [s for s in rest if s in key]
        if not ranked:
            continue
        later = [k for _, k in sources[i + 1 :]]
        ranked.sort(key=lambda s: (key[s], *(k.get(s, np.inf) for k in later), given[s]))
        order += ranked
        used.append((label, ranked))
        rest = [s for s in rest if s not in key]
    if rest:
        order += rest
        used.append(("no evidence", rest))
    return order, used


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name} ({n})", n + 1
    return out


def closed_settings(
    won: list[str], lost: list[str], open_stages: Iterable[str], given: Mapping[str, Any]
) -> dict[str, Any]:
    """``won_stage``, ``lost_stage`` and the close reasons for these closed CRM stages.

    One won stage keeps its name; several become ``won_reasons`` loaded as ``Closed Won`` (a
    name no open stage uses). The same for lost. Names the user gave win.

    Examples
    --------
    >>> for key, value in closed_settings(["Signed"], ["Lost - Price", "Lost - Gone"],
    ...                                   ["Demo"], {}).items():
    ...     print(key, value)
    won_stage Signed
    lost_stage Closed Lost
    lost_reasons ['Lost - Price', 'Lost - Gone']
    """
    out: dict[str, Any] = {}
    open_ = set(open_stages)
    for kind, names, others, default in (
        ("won", won, lost, "Closed Won"),
        ("lost", lost, won, "Closed Lost"),
    ):
        name = given.get(f"{kind}_stage")
        if name is None:
            taken = open_ | set(others) | {out.get("won_stage")}
            name = names[0] if len(names) == 1 else _unique(default, taken)
        name = str(name)
        out[f"{kind}_stage"] = name
        reasons = [s for s in names if s != name]
        if reasons:
            out[f"{kind}_reasons"] = reasons
    return out


def given_kinds(given: Mapping[str, Any]) -> dict[str, str]:
    """Stage -> ``open`` / ``won`` / ``lost`` as the user's dataset settings classify it.

    Examples
    --------
    >>> given_kinds({"open_stages": ["Demo"], "lost_reasons": ["Lost - Price"]})
    {'Demo': 'open', 'Lost - Price': 'lost'}
    """
    kinds: dict[str, str] = {}
    opens = given.get("open_stages")
    if isinstance(given.get("pipelines"), Mapping):
        opens = [s for v in given["pipelines"].values() if isinstance(v, list) for s in v]
    for s in opens if isinstance(opens, list) else []:
        kinds[str(s)] = "open"
    for kind in ("won", "lost"):
        if given.get(f"{kind}_stage") is not None:
            kinds[str(given[f"{kind}_stage"])] = kind
        reasons = given.get(f"{kind}_reasons") or []
        for s in [reasons] if isinstance(reasons, str) else reasons:
            kinds[str(s)] = kind
    return kinds


def text_values(values: pd.Series) -> pd.Series:
    """Stripped text, blank as missing (how the loader reads text)."""
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def percent_label(p: float) -> str:
    """``0.25`` -> ``25%``."""
    return f"{100 * p:.0f}%" if float(100 * p).is_integer() else f"{100 * p:.1f}%"
