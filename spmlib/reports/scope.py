"""Who a report is about and who may read it: the one scope resolver of every report.

A report covers the **company**, one **team**, one **manager**'s reps, or one **rep**.
:func:`resolve_scope` checks that the team, manager or rep exists (a :class:`ParameterError`
naming the value and listing the valid ones otherwise), and returns a :class:`Scope` with the
label people read, the data the report may show, and the peers it may compare with:

- a rep's report shows that rep's own data only; its peers are the other reps of their team,
  used only for anonymous benchmarks (see the privacy rules of each report);
- a team's or a manager's report covers those reps only; their peers are the whole company;
- the company report covers everyone.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from spmlib.exceptions import ParameterError
from spmlib.io.as_of import dataset_as_of
from spmlib.io.schema import Dataset

__all__ = ["SCOPE_KINDS", "Scope", "resolve_scope", "scope_as_of"]

#: The kinds of scope, widest first.
SCOPE_KINDS = ("company", "team", "manager", "rep")


@dataclass(frozen=True)
class Scope:
    """A resolved scope.

    Attributes
    ----------
    kind : one of :data:`SCOPE_KINDS`.
    label : how the scope is named for people ("the whole company", "team Atlas",
        "Ann Lee's team", "Ann Lee").
    data : the dataset restricted to the scope.
    peers : the dataset the scope is compared with (a rep's team, the company for a team or a
        manager); ``data`` itself for the company.
    team, manager, rep_id : the values that define the scope (None when not part of it).
    rep_name : the rep's name, for a rep scope.
    """

    kind: str
    label: str
    data: Dataset
    peers: Dataset
    team: str | None = None
    manager: str | None = None
    rep_id: str | None = None
    rep_name: str | None = None

    @property
    def is_rep(self) -> bool:
        return self.kind == "rep"

    @property
    def name(self) -> str:
        """The scope in a title: "company", "team Atlas", "Ann Lee's team", "Ann Lee"."""
        return "company" if self.kind == "company" else self.label

    @property
    def subject(self) -> str:
        """The label as the subject of a sentence: "The whole company", "Team Atlas"."""
        return self.label[:1].upper() + self.label[1:]

    def parameters(self) -> dict[str, str]:
        """The scope as report parameters (``team``, ``manager``, ``rep_id``)."""
        keys = {"team": self.team, "manager": self.manager, "rep_id": self.rep_id}
        if self.kind == "rep":
            return {"rep_id": str(self.rep_id)}
        return {k: v for k, v in keys.items() if v is not None and k == self.kind}


def _by_reps(ds: Dataset, mask: pd.Series) -> Dataset:
    return ds.for_reps(ds.reps.loc[mask.fillna(False).to_numpy(dtype=bool), "rep_id"])


def _unknown(what: str, value: object, valid: pd.Series, hint: str) -> ParameterError:
    names = sorted({str(v) for v in valid.dropna()})
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    return ParameterError(f"{what} {str(value)!r} is not in the data; {hint}: {shown or 'none'}.")


def resolve_scope(
    ds: Dataset, team: str | None = None, rep_id: str | None = None, manager: str | None = None
) -> Scope:
    """The scope of a report: one rep, one manager's reps, one team, or the company.

    ``rep_id`` wins over ``team`` (which, when also given, must be the rep's team); ``manager``
    cannot be combined with the others.

    Raises
    ------
    ParameterError : an unknown team, manager or rep (the message lists the valid ones), a rep
        not in the team given, or a manager combined with a team or a rep.

    Examples
    --------
    >>> from spmlib.io.schema import DatasetConfig
    >>> reps = pd.DataFrame({"rep_id": ["r1", "r2"], "rep_name": ["Ann", "Bo"],
    ...                      "team": ["A", "A"], "manager": ["Meg", "Meg"]})
    >>> opps = pd.DataFrame({"opp_id": ["o1"], "rep_id": ["r1"],
    ...     "created_date": pd.to_datetime(["2026-01-01"]),
    ...     "close_date": pd.to_datetime(["2026-02-01"]),
    ...     "stage": ["Won"], "amount": [10.0], "status": ["won"]})
    >>> ds = Dataset(DatasetConfig(("Open",), "Won", "Lost"), reps, opps)
    >>> s = resolve_scope(ds, rep_id="r1")
    >>> s.kind, s.label, len(s.data.reps), len(s.peers.reps)
    ('rep', 'Ann', 1, 2)
    >>> resolve_scope(ds, team="B")
    Traceback (most recent call last):
    ...
    spmlib.exceptions.ParameterError: team 'B' is not in the data; teams: A.
    """
    reps = ds.reps
    if manager is not None and (team is not None or rep_id is not None):
        raise ParameterError("give either manager or team/rep_id, not both.")
    if rep_id is not None:
        rep_id = str(rep_id)
        match = reps[reps["rep_id"] == rep_id]
        if match.empty:
            raise _unknown("rep_id", rep_id, reps["rep_id"], "rep ids (`spm kpis PATH --by rep`)")
        rep = match.iloc[0]
        if team is not None and str(team) != str(rep["team"]):
            raise ParameterError(
                f"rep_id {rep_id!r} is in team {rep['team']!r}, not {team!r}; leave team empty "
                "or fix it."
            )
        name = str(rep["rep_name"]) if pd.notna(rep["rep_name"]) else rep_id
        return Scope(
            kind="rep",
            label=name,
            data=_by_reps(ds, reps["rep_id"] == rep_id),
            peers=_by_reps(ds, reps["team"] == rep["team"]),
            team=str(rep["team"]),
            rep_id=rep_id,
            rep_name=name,
        )
    if manager is not None:
        column = reps["manager"] if "manager" in reps.columns else pd.Series(dtype="string")
        if not (column == str(manager)).any():
            raise _unknown("manager", manager, column, "managers")
        return Scope(
            kind="manager",
            label=f"{manager}'s team",
            data=_by_reps(ds, column == str(manager)),
            peers=ds,
            manager=str(manager),
        )
    if team is not None:
        if not (reps["team"] == str(team)).any():
            raise _unknown("team", team, reps["team"], "teams")
        return Scope(
            kind="team",
            label=f"team {team}",
            data=_by_reps(ds, reps["team"] == str(team)),
            peers=ds,
            team=str(team),
        )
    return Scope(kind="company", label="the whole company", data=ds, peers=ds)


def scope_as_of(
    ds: Dataset, scope: Scope, as_of: pd.Timestamp | str | None
) -> tuple[Dataset, Scope]:
    """The dataset and the scope as they stood at the end of day ``as_of`` (a report's
    ``as_of`` parameter): the data cut by :func:`spmlib.io.as_of.dataset_as_of`, the same
    team, manager or rep resolved again in it. None, or the data's own reference date, returns
    them unchanged.

    Raises
    ------
    ParameterError : ``as_of`` after the data's reference date, or a rep not hired yet.
    """
    if as_of is None or pd.Timestamp(as_of).normalize() == ds.as_of:
        return ds, scope
    cut = dataset_as_of(ds, as_of)
    return cut, resolve_scope(cut, **scope.parameters())
