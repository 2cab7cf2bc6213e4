"""A run's ``index.html``: a portal to its reports, grouped by team.

The page lists the company's reports first with their headline numbers, then one card per team:
its manager, the team's reports, each team's headline numbers (from the values its reports
recorded, :func:`spmlib.run.job.report_summary`, kept in the manifest), and its reps by name
with their own reports. Reports of a manager scope get a card per manager; anything else is
listed at the end. A filter box (a few lines of inline script, no external resources) hides
the cards and rows that do not match what is typed. Failed reports show their status and
error, and link to their partial notebook only. Every text from the data is escaped (jinja2
autoescape).

The names of reps and managers come from the reps table of the run's data snapshot
(:func:`read_people`); without it reps are shown by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from spmlib.reports.columns import Column
from spmlib.reports.formatter import format_value
from spmlib.reports.jinja import environment

__all__ = ["HEADLINE_NUMBERS", "read_people", "render_portal"]

#: The recorded values shown as a scope's headline numbers, in order, and how they read.
HEADLINE_NUMBERS: dict[str, Column] = {
    "pipeline_p50": Column("This period's bookings, most likely (P50)", "money"),
    "p_quota": Column("Chance of reaching quota", "percent"),
    "share_at_quota": Column("Reps at or above quota", "percent"),
    "win_rate": Column("Win rate", "percent"),
}


@dataclass
class _Group:
    """A card of the portal: a title, a line under it, reports, headline numbers, reps."""

    key: str
    title: str
    subtitle: str = ""
    reports: list[dict[str, Any]] = field(default_factory=list)
    reps: dict[str, dict[str, Any]] = field(default_factory=dict)
    numbers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def find(self) -> str:
        """The text the filter box matches against the card."""
        return f"{self.title} {self.subtitle}".lower()


def read_people(snapshot: str | Path) -> tuple[pd.DataFrame | None, str]:
    """The reps (``rep_id``, ``rep_name``, ``team``, ``manager`` when present) and the currency
    of a run's data snapshot; (None, "USD") when the snapshot is not there."""
    folder = Path(snapshot)
    currency = "USD"
    config = folder / "dataset.yml"
    if config.exists():
        currency = str((yaml.safe_load(config.read_text()) or {}).get("currency") or "USD")
    for name, read in (("reps.parquet", pd.read_parquet), ("reps.csv", pd.read_csv)):
        if (folder / name).exists():
            reps = read(folder / name)
            keep = [c for c in ("rep_id", "rep_name", "team", "manager") if c in reps.columns]
            return reps[keep].astype("string"), currency
    return None, currency


def _kind_label(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def _entry(report: dict[str, Any]) -> dict[str, Any]:
    outputs = report.get("outputs") or {}
    summary = report.get("summary") or {}
    return {
        "id": report["id"],
        "kind": _kind_label(report["kind"]),
        "status": report["status"],
        "href": outputs.get("html") if report["status"] == "ok" else None,
        "ipynb": outputs.get("ipynb"),
        "partial": outputs.get("partial"),
        "error": report.get("error"),
        "seconds": report.get("seconds"),
        "title": summary.get("title") or "",
    }


def _numbers(reports: list[dict[str, Any]], currency: str) -> list[tuple[str, str]]:
    """The headline numbers recorded by a group's reports (the first report with each wins)."""
    found: dict[str, Any] = {}
    for report in reports:
        for name, value in ((report.get("summary") or {}).get("values") or {}).items():
            found.setdefault(name, value)
    return [
        (col.label, format_value(found[name], col, currency))
        for name, col in HEADLINE_NUMBERS.items()
        if isinstance(found.get(name), int | float)
    ]


def render_portal(
    manifest: dict[str, Any], people: pd.DataFrame | None = None, currency: str = "USD"
) -> str:
    """``index.html`` of a run from its ``manifest.json`` document and its reps (see the module
    docstring)."""
    reports = manifest.get("reports", [])
    counts: dict[str, int] = {}
    for r in reports:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    names, teams_of, managers = {}, {}, {}
    if people is not None:
        for row in people.itertuples(index=False):
            names[str(row.rep_id)] = str(getattr(row, "rep_name", row.rep_id))
            teams_of[str(row.rep_id)] = str(row.team)
            manager = getattr(row, "manager", None)
            if manager is not None and not pd.isna(manager):
                managers.setdefault(str(row.team), str(manager))
    company = _Group("company", "Company", "Reports on the whole company")
    teams: dict[str, _Group] = {}
    by_manager: dict[str, _Group] = {}
    other = _Group("other", "Other reports")

    def team_group(team: str) -> _Group:
        if team not in teams:
            manager = managers.get(team)
            teams[team] = _Group(
                f"team-{team}", f"Team {team}", f"Manager: {manager}" if manager else ""
            )
        return teams[team]

    raw: dict[str, list[dict[str, Any]]] = {}
    for report in reports:
        scope = report.get("scope") or {}
        rep_id = scope.get("rep_id")
        if rep_id is not None:
            group = team_group(str(scope.get("team") or teams_of.get(str(rep_id), "")))
            rep = group.reps.setdefault(
                str(rep_id), {"name": names.get(str(rep_id), str(rep_id)), "reports": []}
            )
            rep["reports"].append(_entry(report))
            continue
        if scope.get("manager") is not None:
            name = str(scope["manager"])
            group = by_manager.setdefault(name, _Group(f"manager-{name}", f"Manager {name}"))
        elif scope.get("team") is not None:
            group = team_group(str(scope["team"]))
        elif not scope:
            group = company
        else:
            group = other
        group.reports.append(_entry(report))
        raw.setdefault(group.key, []).append(report)
    for group in [company, *teams.values(), *by_manager.values()]:
        group.numbers = _numbers(raw.get(group.key, []), currency)
    groups = [g for g in [company] if g.reports]
    groups += [teams[t] for t in sorted(teams)] + [by_manager[m] for m in sorted(by_manager)]
    groups += [other] if other.reports else []
    for group in groups:
        group.reps = dict(sorted(group.reps.items(), key=lambda kv: kv[1]["name"].lower()))
    return (
        environment()
        .get_template("index_batch.html.j2")
        .render(manifest=manifest, counts=counts, total=len(reports), groups=groups)
    )
