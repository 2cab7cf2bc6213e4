"""The SPM data model: the tables, their columns and types, and the `Dataset` that holds them.

Every table is long-format with exactly these column names. Kinds:
``id`` (string), ``str`` (string), ``date`` (datetime64 at midnight), ``float``, ``int``,
``bool`` (nullable boolean; written true/false, yes/no or 1/0).
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
                "probability": "float",
                "close_reason": "str",
                "pipeline": "str",
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
        TableSpec(
            "accounts",
            {"account_id": "id", "account_name": "str", "rep_id": "id", "potential": "float"},
            {
                "region": "str",
                "segment": "str",
                "workload": "float",
                "latitude": "float",
                "longitude": "float",
                "locked": "bool",
            },
            key="account_id",
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
    "bool": "boolean",
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
    open_stages : the open stages in funnel order (with several pipelines: every pipeline's open
        stages, each once, in the order the pipelines list them; the funnels use ``pipelines``).
    won_stage, lost_stage : the names analyses give the two closed stages.
    currency : ISO code used to format amounts.
    fiscal_year_start_month : 1-12; quarters and year-to-date start from it.
    as_of : the date the data was extracted; None means the latest date found in the data.
    won_reasons, lost_reasons : other CRM stages that mean won (lost). A deal in one of them is
        loaded in ``won_stage`` (``lost_stage``) with the CRM stage kept in its ``close_reason``
        (:func:`spmlib.io.coerce.fold_close_reasons`), so that every analysis sees one won and
        one lost stage.
    pipelines : pipeline name -> its open stages in order, when the deals follow several
        pipelines (opportunities then carry a ``pipeline`` column); empty for one pipeline.
    stage_probabilities : open stage -> the CRM's default win probability (0-1) of a deal in it.
    stage_forecast_categories : open stage -> the CRM's default forecast category.
    """

    open_stages: tuple[str, ...]
    won_stage: str = "Closed Won"
    lost_stage: str = "Closed Lost"
    currency: str = "USD"
    fiscal_year_start_month: int = 1
    as_of: pd.Timestamp | None = None
    won_reasons: tuple[str, ...] = ()
    lost_reasons: tuple[str, ...] = ()
    pipelines: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stage_probabilities: dict[str, float] = field(default_factory=dict)
    stage_forecast_categories: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "open_stages", tuple(self.open_stages))
        set_(self, "won_reasons", tuple(self.won_reasons))
        set_(self, "lost_reasons", tuple(self.lost_reasons))
        set_(self, "pipelines", {str(k): tuple(v) for k, v in self.pipelines.items()})
        set_(self, "stage_probabilities", dict(self.stage_probabilities))
        set_(self, "stage_forecast_categories", dict(self.stage_forecast_categories))

    @property
    def stages(self) -> tuple[str, ...]:
        """Every valid stage: the open ones in order, then won, then lost."""
        return (*self.open_stages, self.won_stage, self.lost_stage)

    @property
    def funnel_stages(self) -> tuple[str, ...]:
        """The stages of the funnel: the open ones in order, then the won stage."""
        return (*self.open_stages, self.won_stage)

    @property
    def closed_reasons(self) -> dict[str, str]:
        """CRM stage -> the closed stage it is loaded in (won_reasons, lost_reasons)."""
        return {
            **{s: self.won_stage for s in self.won_reasons},
            **{s: self.lost_stage for s in self.lost_reasons},
        }

    def stage_rank(self, stage: str) -> int:
        """Position of ``stage`` in the funnel (won last); the lost stage ranks -1."""
        if stage == self.lost_stage:
            return -1
        return self.funnel_stages.index(stage)

    def for_pipeline(self, name: str) -> DatasetConfig:
        """The configuration of one pipeline: its open stages, no other pipeline.

        Examples
        --------
        >>> cfg = DatasetConfig.from_dict({"pipelines": {"New": ["Demo", "Offer"],
        ...     "Renewal": ["Due", "Offer"]}})
        >>> cfg.open_stages, cfg.for_pipeline("Renewal").open_stages
        (('Demo', 'Offer', 'Due'), ('Due', 'Offer'))
        """
        return replace(self, open_stages=self.pipelines[name], pipelines={})

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DatasetConfig:
        as_of = raw.get("as_of")
        pipelines = {
            str(k): tuple(str(s) for s in v) for k, v in (raw.get("pipelines") or {}).items()
        }
        if pipelines:
            open_stages = tuple(dict.fromkeys(s for v in pipelines.values() for s in v))
        else:
            open_stages = tuple(str(s) for s in raw["open_stages"])
        return cls(
            open_stages=open_stages,
            won_stage=str(raw.get("won_stage", "Closed Won")),
            lost_stage=str(raw.get("lost_stage", "Closed Lost")),
            currency=str(raw.get("currency", "USD")),
            fiscal_year_start_month=int(raw.get("fiscal_year_start_month", 1)),
            as_of=pd.Timestamp(as_of).normalize() if as_of is not None else None,
            won_reasons=tuple(str(s) for s in raw.get("won_reasons") or ()),
            lost_reasons=tuple(str(s) for s in raw.get("lost_reasons") or ()),
            pipelines=pipelines,
            stage_probabilities={
                str(k): float(v) for k, v in (raw.get("stage_probabilities") or {}).items()
            },
            stage_forecast_categories={
                str(k): str(v) for k, v in (raw.get("stage_forecast_categories") or {}).items()
            },
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``dataset.yml`` content (settings left at their empty default are omitted)."""
        out: dict[str, Any] = {}
        if self.pipelines:
            out["pipelines"] = {k: list(v) for k, v in self.pipelines.items()}
        else:
            out["open_stages"] = list(self.open_stages)
        out |= {
            "won_stage": self.won_stage,
            "lost_stage": self.lost_stage,
            "currency": self.currency,
            "fiscal_year_start_month": self.fiscal_year_start_month,
        }
        if self.as_of is not None:
            out["as_of"] = self.as_of.date().isoformat()
        for key in ("won_reasons", "lost_reasons"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        for key in ("stage_probabilities", "stage_forecast_categories"):
            if getattr(self, key):
                out[key] = dict(getattr(self, key))
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
    accounts: pd.DataFrame = field(default_factory=lambda: empty_table("accounts"))
    splits: pd.DataFrame = field(default_factory=lambda: empty_table("splits"))
    source: str = ""
    warnings: tuple[Any, ...] = ()
    inferences: tuple[Any, ...] = ()

    @property
    def has_stage_history(self) -> bool:
        return not self.stage_history.empty

    def for_pipeline(self, name: str) -> Dataset:
        """The deals of one pipeline (and their stage history) with that pipeline's stages; the
        reps, activities, quotas and leads are kept whole, the reference date too."""
        opps = self.opportunities[self.opportunities["pipeline"] == name]
        return replace(
            self,
            config=replace(self.config.for_pipeline(name), as_of=self.as_of),
            opportunities=opps.reset_index(drop=True),
            stage_history=self.stage_history[
                self.stage_history["opp_id"].isin(set(opps["opp_id"]))
            ].reset_index(drop=True),
        )

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
        """Every table of :data:`TABLES` by name."""
        return {name: getattr(self, name) for name in TABLES}

    def scoped(self, team: str | None = None, rep_id: str | None = None) -> Dataset:
        """The dataset restricted to one team, or one rep (the rep's team must match if both given).

        Every table is filtered through the reps kept: opportunities and their stage history,
        activities, quotas, leads, the accounts they own and their credit splits.
        """
        reps = self.reps
        if team is not None:
            reps = reps[reps["team"] == team]
        if rep_id is not None:
            reps = reps[reps["rep_id"] == str(rep_id)]
        return self.for_reps(reps["rep_id"])

    def for_reps(self, rep_ids) -> Dataset:
        """The dataset restricted to these reps: their rows of every table (opportunities and
        their stage history, activities, quotas, leads and the accounts they own), the reference
        date kept."""
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
            accounts=self.accounts[self.accounts["rep_id"].isin(ids)].reset_index(drop=True),
            splits=self.splits[self.splits["rep_id"].isin(ids)].reset_index(drop=True),
            config=replace(self.config, as_of=self.as_of),
        )
