"""``spm mapping init``: a preset's inferences from one export, written out for review and reuse.

:func:`draft_mapping` runs a preset (``salesforce`` or ``hubspot``) on an export and writes its
mapping with everything it inferred made explicit: the ``dataset:`` section lists the stages in
order, the won and lost stages, the close reasons, the pipelines, the stage probabilities, the
currency and the fiscal year, under a comment block giving every inference and its evidence. The
table rules are the preset's, copied as they are (comments included). ``infer:`` stays, so that
labels keep matching regardless of case; the written settings win over it, so a stage the
settings do not name is reported, not silently added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spmlib.exceptions import Problem, SpmError
from spmlib.io.infer import INFERENCES, Inference
from spmlib.io.load import read_raw
from spmlib.io.mappings import load_mapping, mapping_text

__all__ = ["MappingDraft", "draft_mapping", "dataset_yaml", "KEY_NOTES"]

#: The comment written beside each dataset setting.
KEY_NOTES = {
    "open_stages": "open stages in funnel order",
    "pipelines": "each pipeline's open stages in funnel order",
    "won_stage": "the won stage as analyses name it",
    "lost_stage": "the lost stage as analyses name it",
    "won_reasons": "CRM stages also meaning won: loaded as won_stage, kept in close_reason",
    "lost_reasons": "CRM stages also meaning lost: loaded as lost_stage, kept in close_reason",
    "stage_probabilities": "the CRM's default win probability of each open stage (0-1)",
    "stage_forecast_categories": "the CRM's default forecast category of each open stage",
    "currency": "ISO code of the amounts",
    "fiscal_year_start_month": "1-12: quarters and year-to-date start here",
    "as_of": "extraction date",
    "timezone": "where timestamps are reduced to dates",
}


@dataclass(frozen=True)
class MappingDraft:
    """A preset's mapping for one export: the YAML text to write, the ``dataset.yml`` text when
    the settings go to a separate file, and what the preset found (inferences, problems)."""

    mapping: str
    dataset: str | None
    inferences: list[Any] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def dataset_yaml(settings: dict[str, Any], indent: int = 0) -> str:
    """``settings`` as YAML, each top-level key with its comment from :data:`KEY_NOTES`.

    Examples
    --------
    >>> print(dataset_yaml({"open_stages": ["Demo", "Offer"], "won_stage": "Signed"}), end="")
    open_stages:  # open stages in funnel order
    - Demo
    - Offer
    won_stage: Signed  # the won stage as analyses name it
    """
    text = yaml.safe_dump(settings, sort_keys=False, allow_unicode=True, width=100)
    lines = []
    for line in text.splitlines():
        key = re.match(r"^([a-z_]+):", line)
        if key and key.group(1) in KEY_NOTES:
            line += f"  # {KEY_NOTES[key.group(1)]}"
        lines.append(" " * indent + line)
    return "\n".join(lines) + "\n"


def draft_mapping(
    location: str | Path, preset: str, name: str | None = None, separate_dataset: bool = False
) -> MappingDraft:
    """The mapping ``preset`` infers from the export at ``location`` (module notes).

    Parameters
    ----------
    location : the export folder (or database URL).
    preset : a mapping with ``infer:`` (``salesforce``, ``hubspot``, or a file naming one).
    name : the ``name:`` of the written mapping (default ``<preset>-<folder name>``).
    separate_dataset : put the dataset settings in ``MappingDraft.dataset`` (a ``dataset.yml``
        for the export folder) instead of the mapping's ``dataset:`` section.

    Raises
    ------
    SpmError
        When ``preset`` infers nothing (it has no ``infer:``).
    """
    mapping = load_mapping(preset)
    if mapping.infer is None:
        raise SpmError(
            f"mapping {preset!r} does not infer stages; use one of: {', '.join(INFERENCES)}"
        )
    raw = read_raw(location, mapping)
    settings = dict(raw.config or {})
    for key, default in (("currency", "USD"), ("fiscal_year_start_month", 1)):
        if key not in settings:  # not in the export: the default, written out to be checked
            settings[key] = default
            raw.inferences.append(Inference(key, f"{default} (the default)", "not in the export"))
    title = name or f"{mapping.name}-{Path(str(location)).name}"
    head = [
        f"Written by `spm mapping init {location} --from {preset}`: the {mapping.name} preset",
        "with what it inferred from this export made explicit. Review the stages (order, won and",
        "lost), then load with `--mapping THIS_FILE`. The export folder's dataset.yml, if any,",
        "still wins over these settings, key by key.",
        "",
        "What the preset inferred, and why:",
        *(f"  {note}" for note in raw.inferences),
    ]
    errors = [p for p in raw.problems if p.severity == "error"]
    if errors:
        head += ["", "TO DO: the export has errors (the preset's included); fix them or this file:"]
        head += [f"  {p}" for p in errors]
    head += ["", "Warnings:", *(f"  {p}" for p in raw.problems if p.severity == "warning")]
    text = "".join(f"# {line}".rstrip() + "\n" for line in head)
    text += f"name: {_scalar(title)}\n"
    text += f"description: {_scalar(f'{mapping.description}; settings inferred from {location}')}\n"
    text += f"timezone: {mapping.timezone}\n"
    text += f"infer: {mapping.infer}  # labels match regardless of case; the settings below win\n"
    dataset = None
    if separate_dataset:
        dataset = "".join(f"# {line}".rstrip() + "\n" for line in head) + dataset_yaml(settings)
    else:
        text += "dataset:\n" + dataset_yaml(settings, indent=2)
    text += _tables_text(mapping_text(preset))
    return MappingDraft(text, dataset, list(raw.inferences), list(raw.problems))


def _scalar(value: str) -> str:
    return yaml.safe_dump(value, allow_unicode=True, width=1000).removesuffix("\n...\n").strip()


def _tables_text(preset_text: str) -> str:
    """The ``tables:`` section of a mapping file, as written (comments included)."""
    match = re.search(r"^tables:", preset_text, re.M)
    if match is None:
        raise SpmError("the preset has no `tables:` section")
    return preset_text[match.start() :]
