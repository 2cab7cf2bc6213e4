"""The SPM data model: the tables, their columns and types, and the `Dataset` that holds them.

Every table is long-format with exactly these column names. Kinds:
``id`` (string), ``str`` (string), ``date`` (datetime64 at midnight), ``float``, ``int``.
Validation rules live in :mod:`spmlib.io.validate`; loading in :mod:`spmlib.io.load`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

__all__ = [
    "TableSpec",
    "TABLES",
    "REQUIRED_TABLES",
    "SPLIT_TYPES",
    "DatasetConfig",
    "Dataset",
    "empty_table",
]


@dataclass(frozen=True)
class TableSpec:
    """Columns of one table: required and optional, each with its kind; ``key`` is the unique id."""

    name: str
    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)
    key: str | None = None

    @property
    def columns(self) -> dict[str, str]:
        return {**self.required, **self.optional}


TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in [
        TableSpec(
            "reps",
            {"rep_id": "id", "rep_name": "str", "team": "str"},
            {
                "email": "str",
                "manager": "str",
                "manager_email": "str",
                "region": "str",
                "hire_date": "date",
            },
            key="rep_id",
        ),
        TableSpec(
            "opportunities",
            {
                "opp_id": "id",
                "rep_id": "id",
                "created_date": "date",
                "close_date": "date",
                "stage": "str",
                "amount": "float",
            },
            {
                "account": "str",
                "status": "str",
                "lead_source": "str",
                "product": "str",
                "forecast_category": "str",
            },
            key="opp_id",
        ),
        TableSpec("stage_history", {"opp_id": "id", "stage": "str", "entered_date": "date"}),
        TableSpec(
            "activities",
            {"activity_id": "id", "rep_id": "id", "type": "str", "date": "date"},
            {"opp_id": "id", "outcome": "str", "duration_minutes": "float"},
            key="activity_id",
        ),
        TableSpec(
            "quotas",
            {"rep_id": "id", "period_start": "date", "period_end": "date", "quota": "float"},
        ),
        TableSpec(
            "leads",
            {"lead_id": "id", "rep_id": "id", "created_date": "date", "source": "str"},
            {"converted_date": "date", "opp_id": "id"},
            key="lead_id",
        ),
        # Credit splits of a deal between reps (spmlib.comp.credit): revenue shares of a deal
        # sum to 1; overlay credits come on top.
        TableSpec("splits", {"opp_id": "id", "rep_id": "id", "share": "float", "type": "str"}),
    ]
}
#: The kinds of credit split: ``revenue`` shares divide a deal's amount, ``overlay`` adds credit.
SPLIT_TYPES = ("revenue", "overlay")
REQUIRED_TABLES = ("reps", "opportunities")

_DTYPES = {
    "id": "string",
    "str": "string",
    "date": "datetime64[ns]",
    "float": "float64",
    "int": "int64",
}


def empty_table(name: str) -> pd.DataFrame:
    """An empty frame with the required and optional columns of table ``name`` and their dtypes."""
    spec = TABLES[name]
    return pd.DataFrame({c: pd.Series(dtype=_DTYPES[k]) for c, k in spec.columns.items()})


@dataclass(frozen=True)
class DatasetConfig:
    """What ``dataset.yml`` says: the stages, the currency and the fiscal year.

    Attributes
    ----------
    open_stages : the open stages in funnel order.
    won_stage, lost_stage : the names of the two closed stages.
    currency : ISO code used to format amounts.
    fiscal_year_start_month : 1-12; quarters and year-to-date start from it.
    as_of : the date the data was extracted; None means the latest date found in the data.
    """

    open_stages: tuple[str, ...]
    won_stage: str = "Closed Won"
    lost_stage: str = "Closed Lost"
    currency: str = "USD"
    fiscal_year_start_month: int = 1
    as_of: pd.Timestamp | None = None

    @property
    def stages(self) -> tuple[str, ...]:
        """Every valid stage: the open ones in order, then won, then lost."""
        return (*self.open_stages, self.won_stage, self.lost_stage)

    @property
    def funnel_stages(self) -> tuple[str, ...]:
        """The stages of the funnel: the open ones in order, then the won stage."""
        return (*self.open_stages, self.won_stage)

    def stage_rank(self, stage: str) -> int:
        """Position of ``stage`` in the funnel (won last); the lost stage ranks -1."""
        if stage == self.lost_stage:
            return -1
        return self.funnel_stages.index(stage)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DatasetConfig:
        as_of = raw.get("as_of")
        return cls(
            open_stages=tuple(str(s) for s in raw["open_stages"]),
            won_stage=str(raw.get("won_stage", "Closed Won")),
            lost_stage=str(raw.get("lost_stage", "Closed Lost")),
            currency=str(raw.get("currency", "USD")),
            fiscal_year_start_month=int(raw.get("fiscal_year_start_month", 1)),
            as_of=pd.Timestamp(as_of).normalize() if as_of is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "open_stages": list(self.open_stages),
            "won_stage": self.won_stage,
            "lost_stage": self.lost_stage,
            "currency": self.currency,
            "fiscal_year_start_month": self.fiscal_year_start_month,
        }
        if self.as_of is not None:
            out["as_of"] = self.as_of.date().isoformat()
        return out


@dataclass(frozen=True)
class Dataset:
    """A loaded, typed and validated dataset. Optional tables are empty frames when absent.

    ``opportunities`` always carries a ``status`` column (open | won | lost).
    """

    config: DatasetConfig
    reps: pd.DataFrame
    opportunities: pd.DataFrame
    stage_history: pd.DataFrame = field(default_factory=lambda: empty_table("stage_history"))
    activities: pd.DataFrame = field(default_factory=lambda: empty_table("activities"))
    quotas: pd.DataFrame = field(default_factory=lambda: empty_table("quotas"))
    leads: pd.DataFrame = field(default_factory=lambda: empty_table("leads"))
    splits: pd.DataFrame = field(default_factory=lambda: empty_table("splits"))
    source: str = ""
    warnings: tuple[Any, ...] = ()

    @property
    def has_stage_history(self) -> bool:
        return not self.stage_history.empty

    @property
    def as_of(self) -> pd.Timestamp:
        """The data's reference date: ``config.as_of``, else the latest event date in the data.

        Events are creations, stage entries, activities, lead creations and the close dates of
        closed deals (open deals carry an *expected* close date, which is not an event).
        """
        if self.config.as_of is not None:
            return self.config.as_of
        opp = self.opportunities
        closed = opp.loc[opp["status"] != "open", "close_date"]
        candidates = [opp["created_date"].max(), closed.max()]
        for frame, col in [
            (self.stage_history, "entered_date"),
            (self.activities, "date"),
            (self.leads, "created_date"),
        ]:
            if not frame.empty:
                candidates.append(frame[col].max())
        return max(c for c in candidates if pd.notna(c))

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the model by name."""
        return {name: getattr(self, name) for name in TABLES}

    def scoped(self, team: str | None = None, rep_id: str | None = None) -> Dataset:
        """The dataset restricted to one team, or one rep (the rep's team must match if both given).

        Every table is filtered through the reps kept: opportunities and their stage history,
        activities, quotas, leads and credit splits of those reps only.
        """
        reps = self.reps
        if team is not None:
            reps = reps[reps["team"] == team]
        if rep_id is not None:
            reps = reps[reps["rep_id"] == str(rep_id)]
        return self.for_reps(reps["rep_id"])

    def for_reps(self, rep_ids) -> Dataset:
        """The dataset restricted to these reps: their rows of every table (opportunities and
        their stage history, activities, quotas and leads), the reference date kept."""
        ids = set(pd.Series(rep_ids, dtype="string").dropna())
        reps = self.reps[self.reps["rep_id"].isin(ids)]
        opps = self.opportunities[self.opportunities["rep_id"].isin(ids)]
        return replace(
            self,
            reps=reps.reset_index(drop=True),
            opportunities=opps.reset_index(drop=True),
            stage_history=self.stage_history[
                self.stage_history["opp_id"].isin(set(opps["opp_id"]))
            ].reset_index(drop=True),
            activities=self.activities[self.activities["rep_id"].isin(ids)].reset_index(drop=True),
            quotas=self.quotas[self.quotas["rep_id"].isin(ids)].reset_index(drop=True),
            leads=self.leads[self.leads["rep_id"].isin(ids)].reset_index(drop=True),
            splits=self.splits[self.splits["rep_id"].isin(ids)].reset_index(drop=True),
            config=replace(self.config, as_of=self.as_of),
        )
