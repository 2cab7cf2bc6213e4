"""The Salesforce preset's stage inference: the org's stages, whatever they are called.

Evidence, strongest first (the user's ``dataset.yml`` settings beat all of it):

* **Open, won or lost**: ``OpportunityStage.csv`` (the stage metadata export: MasterLabel or
  ApiName, SortOrder, IsActive, IsClosed, IsWon, DefaultProbability, ForecastCategoryName) when
  the folder holds it; else the ``IsClosed`` / ``IsWon`` flags of the deals in each stage (the
  most frequent answer); Salesforce's default names; a stage found only in
  ``OpportunityHistory.csv`` is open (deals passed through it). A stage none of these classifies
  stops the load.
* **Order of the open stages**: SortOrder of the metadata; else the order in which deals move
  through them in ``OpportunityHistory.csv`` (:func:`spmlib.io.infer.stage_precedence`); else
  the median ``Probability`` of the open deals in each stage; else Salesforce's default order
  (a stage none of these places comes last, with a warning).
* **Several won or lost stages** are loaded as one won (lost) stage with the CRM stage kept in
  ``close_reason`` (:func:`spmlib.io.infer.closed_settings`).
* **Probabilities and forecast categories**: the metadata's DefaultProbability (percent) and
  ForecastCategoryName become ``stage_probabilities`` and ``stage_forecast_categories``; the
  deals' own ``Probability`` and ``ForecastCategoryName`` (mapped by the preset) win over them.
* **Currency and fiscal year**: ``Organization.csv`` (DefaultCurrencyIsoCode,
  FiscalYearStartMonth) when present; else a single ``CurrencyIsoCode`` on the deals.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from spmlib.exceptions import Problem
from spmlib.io.infer import (
    StageInference,
    chain_order,
    closed_settings,
    given_kinds,
    percent_label,
    stage_kinds_from_status,
    stage_precedence,
    text_values,
)
from spmlib.io.mapping_apply import parse_flag

__all__ = ["infer", "META_FILE", "ORG_FILE", "DEFAULT_OPEN_STAGES"]

#: The stage metadata export (object OpportunityStage).
META_FILE = "OpportunityStage.csv"
#: The organization export (object Organization): currency and fiscal year.
ORG_FILE = "Organization.csv"
#: Salesforce's default sales process, in order.
DEFAULT_OPEN_STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
)
_DEFAULT_KIND = {**dict.fromkeys(DEFAULT_OPEN_STAGES, "open"), "Closed Won": "won"}
_DEFAULT_KIND["Closed Lost"] = "lost"
_HINT_CLASSIFY = (
    "Export IsClosed and IsWon with the opportunities (or OpportunityStage.csv), or classify "
    "the stages in dataset.yml (open_stages, won_reasons, lost_reasons)"
)


def _metadata(source, seen: list[str], out: StageInference) -> pd.DataFrame | None:
    """OpportunityStage.csv as a frame indexed by stage name, or None (absent or unreadable)."""
    frame = source.read(META_FILE)
    if frame is None:
        return None
    file = source.label(META_FILE)
    names = [c for c in ("ApiName", "MasterLabel") if c in frame.columns]
    missing = [c for c in ("SortOrder", "IsClosed", "IsWon") if c not in frame.columns]
    if not names or missing:
        out.problems.append(
            Problem(
                file,
                None,
                "the stage metadata needs "
                + ", ".join([*(["MasterLabel or ApiName"] if not names else []), *missing]),
                hint="Export OpportunityStage with MasterLabel (or ApiName), SortOrder, IsActive, "
                "IsClosed, IsWon, DefaultProbability, ForecastCategoryName, or remove the file",
            )
        )
        return None
    # StageName holds the picklist value: the ApiName, which is the MasterLabel unless renamed
    name = max(names, key=lambda c: text_values(frame[c]).isin(seen).sum())
    meta = pd.DataFrame({"stage": text_values(frame[name])}, index=frame.index)
    bad_rows = []
    for col in ("IsClosed", "IsWon", "IsActive"):
        if col not in frame.columns:
            meta[col] = True
            continue
        meta[col], bad = parse_flag(frame[col])
        bad_rows += [(col, i) for i in bad[bad].index]
    meta["SortOrder"] = pd.to_numeric(text_values(frame["SortOrder"]), errors="coerce")
    bad_rows += [("SortOrder", i) for i in meta.index[meta["SortOrder"].isna()]]
    prob = frame.get("DefaultProbability", pd.Series(pd.NA, index=frame.index))
    meta["DefaultProbability"] = pd.to_numeric(text_values(prob), errors="coerce") / 100
    cat = frame.get("ForecastCategoryName", pd.Series(pd.NA, index=frame.index))
    meta["ForecastCategoryName"] = text_values(cat)
    for col, i in bad_rows:
        out.problems.append(
            Problem(
                file,
                col,
                f"{col} cannot be read" + (" as true/false" if col.startswith("Is") else ""),
                (f"row {int(i) + 1}: {str(frame.at[i, col])!r}",),
                "Correct the stage metadata export",
            )
        )
    if bad_rows:
        return None
    return meta.dropna(subset=["stage"]).drop_duplicates("stage").set_index("stage")


def _classify(
    universe: list[str],
    flags: pd.DataFrame,
    meta: pd.DataFrame | None,
    history_only: set[str],
    given: dict[str, str],
    meta_label: str,
) -> tuple[dict[str, str], dict[str, str]]:
    """Stage -> kind (open / won / lost, or None) and stage -> evidence."""
    kinds: dict[str, Any] = {}
    why: dict[str, str] = {}
    for s in universe:
        if s in given:
            kinds[s], why[s] = given[s], "given in the dataset settings"
        elif meta is not None and s in meta.index:
            closed, won = bool(meta.at[s, "IsClosed"]), bool(meta.at[s, "IsWon"])
            kinds[s] = "won" if won else "lost" if closed else "open"
            why[s] = f"{meta_label}: IsClosed {str(closed).lower()}, IsWon {str(won).lower()}"
        elif s in flags.index:
            row = flags.loc[s]
            kinds[s] = row["kind"]
            n = int(row["deals"])
            why[s] = f"IsClosed/IsWon of {n} deal{'' if n == 1 else 's'}"
            other = n - int(row[row["kind"]])
            if other:
                why[s] += f", {other} of them flagged otherwise"
        elif s in _DEFAULT_KIND:
            kinds[s], why[s] = _DEFAULT_KIND[s], "Salesforce's default stage name"
        elif s in history_only:
            kinds[s], why[s] = "open", "only in the stage history: deals passed through it"
        else:
            kinds[s] = None
    return kinds, why


def infer(tables: dict, source, given: dict, mapping) -> StageInference:
    """Infer the dataset settings of a Salesforce export (module notes).

    Parameters
    ----------
    tables : the mapped raw tables (``opportunities`` with ``stage`` and, from the IsClosed/IsWon
        flags, ``status``; ``stage_history`` when exported).
    source : the :class:`spmlib.io.sources.Source` (for the metadata and organization exports).
    given : the user's dataset settings (they win, and classify the stages they name).
    mapping : the :class:`spmlib.io.mappings.Mapping` (file names).
    """
    out = StageInference()
    opp = tables["opportunities"]
    if "stage" not in opp.columns:
        return out
    opp_file = source.label(mapping.tables["opportunities"].file)
    stage = text_values(opp["stage"])
    status = opp["status"] if "status" in opp.columns else pd.Series(pd.NA, index=opp.index)
    hist = tables.get("stage_history")
    has_hist = hist is not None and {"opp_id", "stage", "entered_date"} <= set(hist.columns)
    hist_stages = text_values(hist["stage"]) if has_hist else pd.Series(dtype="string")
    on_deals, in_history = stage.dropna().unique(), hist_stages.dropna().unique()
    seen = list(dict.fromkeys([*on_deals, *in_history]))
    meta = _metadata(source, seen, out)
    meta_label = source.label(META_FILE)
    universe = list(seen)
    if meta is not None:
        active = [s for s in meta.sort_values("SortOrder").index if bool(meta.at[s, "IsActive"])]
        universe += [s for s in active if s not in universe]
        dropped = [s for s in meta.index if s not in universe]
        if dropped:
            out.note(
                "inactive stages",
                "left out: " + ", ".join(dropped),
                f"{meta_label}: IsActive false and no deal in them",
            )
    flags = stage_kinds_from_status(stage, status)
    history_only = set(in_history) - set(on_deals)
    kinds, why = _classify(universe, flags, meta, history_only, given_kinds(given), meta_label)
    unknown = [s for s, k in kinds.items() if k is None]
    if unknown:
        out.problems.append(
            Problem(
                opp_file,
                mapping.tables["opportunities"].columns.get("stage", "stage"),
                "cannot tell whether these stages are open, won or lost: " + ", ".join(unknown),
                hint=_HINT_CLASSIFY,
            )
        )
    opens = [s for s in universe if kinds[s] in ("open", None)]
    evidence = {"meta": meta, "meta_label": meta_label, "history": hist if has_hist else None}
    where = (opp_file, mapping.tables["opportunities"].columns.get("stage", "stage"))
    order, order_notes = _open_order(opens, opp, given, where, **evidence)
    out.problems += order_notes.problems
    won = [s for s in universe if kinds[s] == "won"]
    lost = [s for s in universe if kinds[s] == "lost"]
    if meta is not None:
        rank = meta["SortOrder"].to_dict()
        won.sort(key=lambda s: rank.get(s, float("inf")))
        lost.sort(key=lambda s: rank.get(s, float("inf")))
    closed = closed_settings(won, lost, order, given)
    out.config |= {"open_stages": order, **closed}
    for s in universe:
        kind = kinds[s]
        if kind is None:
            continue
        decision = kind
        if kind != "open" and s != closed[f"{kind}_stage"]:
            decision += f", loaded as {closed[f'{kind}_stage']} with close_reason {s!r}"
        out.note(f"stage {s!r}", decision, why[s])
    out.inferences += order_notes.inferences
    _stage_defaults(meta, order, meta_label, opp, status, out)
    _organization(source, mapping, out)
    return out


def _open_order(
    opens, opp, given, where, *, meta, meta_label, history
) -> tuple[list[str], StageInference]:
    """The open stages in funnel order (module notes), and the notes saying why."""
    out = StageInference()
    hist = history
    stage = text_values(opp["stage"])
    if given.get("open_stages") is not None or given.get("pipelines") is not None:
        out.note("open-stage order", "as given in the dataset settings")
        return [str(s) for s in given.get("open_stages") or opens], out
    sources: list[tuple[str, dict]] = []
    details: dict[str, str] = {}
    if meta is not None:
        sort = {s: meta.at[s, "SortOrder"] for s in opens if s in meta.index}
        sources.append((f"{meta_label} SortOrder", sort))
        details[sources[-1][0]] = ", ".join(
            f"{s} {v:g}" for s, v in sorted(sort.items(), key=lambda kv: kv[1])
        )
    prec = stage_precedence(hist, opens) if hist is not None else None
    history_label = "stage history: the order deals move in"
    if prec is not None:
        sources.append((history_label, (-prec.wins).to_dict()))
    if "probability" in opp.columns:
        prob = pd.to_numeric(pd.Series(opp["probability"], dtype=object), errors="coerce")
        is_open = opp["status"] == "open" if "status" in opp.columns else stage.isin(opens)
        med = prob[is_open.fillna(False).astype(bool)].groupby(stage).median().dropna()
        label = "median Probability of the open deals in each stage"
        sources.append((label, med.to_dict()))
        details[label] = ", ".join(f"{s} {percent_label(v)}" for s, v in med.sort_values().items())
    default = {s: i for i, s in enumerate(DEFAULT_OPEN_STAGES)}
    sources.append(("Salesforce's default stage order", default))
    if prec is not None:
        sources.append(("mean position in the stage history", prec.mean_position.to_dict()))
    order, used = chain_order(opens, sources)
    if prec is not None:
        placed = dict(used).get(history_label, [])
        details[history_label] = "; ".join(prec.evidence(placed))
    for label, stages in used:
        if label == "no evidence":
            out.problems.append(
                Problem(
                    *where,
                    "the position of these open stages is unknown, they are placed last: "
                    + ", ".join(stages),
                    hint="Export OpportunityStage.csv or OpportunityHistory.csv, or give "
                    "open_stages in dataset.yml",
                    severity="warning",
                )
            )
            continue
        text = ", ".join(stages)
        out.note(
            "open-stage order", text, f"{label}: {details[label]}" if details.get(label) else label
        )
    return order, out


def _stage_defaults(meta, order, meta_label, opp, status, out) -> None:
    """Stage probabilities and forecast categories from the metadata, and what the deals carry."""
    if meta is not None:
        probs = {
            s: float(meta.at[s, "DefaultProbability"])
            for s in order
            if s in meta.index and pd.notna(meta.at[s, "DefaultProbability"])
        }
        cats = {
            s: str(meta.at[s, "ForecastCategoryName"])
            for s in order
            if s in meta.index and pd.notna(meta.at[s, "ForecastCategoryName"])
        }
        if probs:
            out.config["stage_probabilities"] = probs
            out.note(
                "stage probabilities",
                ", ".join(f"{s} {percent_label(p)}" for s, p in probs.items()),
                f"{meta_label} DefaultProbability",
            )
        if cats:
            out.config["stage_forecast_categories"] = cats
            out.note(
                "stage forecast categories",
                ", ".join(f"{s} {c}" for s, c in cats.items()),
                f"{meta_label} ForecastCategoryName",
            )
    is_open = (status == "open").fillna(False).astype(bool)
    for col, what in (
        ("probability", "Probability"),
        ("forecast_category", "ForecastCategoryName"),
    ):
        if col not in opp.columns or not is_open.any():
            continue
        n = int(text_values(opp.loc[is_open, col].astype("string")).notna().sum())
        rest = "take their stage's default" if meta is not None else "have none"
        out.note(
            f"deal {col.replace('_', ' ')}",
            f"{n} of {int(is_open.sum())} open deals give their own, the others {rest}",
            f"{what} on the deals",
        )


def _organization(source, mapping, out: StageInference) -> None:
    """Currency and fiscal year start from Organization.csv, else the deals' CurrencyIsoCode."""
    org = source.read(ORG_FILE)
    if org is not None and len(org):
        label = source.label(ORG_FILE)
        month = pd.to_numeric(
            text_values(org.get("FiscalYearStartMonth", pd.Series())), errors="coerce"
        )
        if len(month.dropna()) and 1 <= month.dropna().iloc[0] <= 12:
            out.config["fiscal_year_start_month"] = int(month.dropna().iloc[0])
            out.note(
                "fiscal year",
                f"starts in month {out.config['fiscal_year_start_month']}",
                f"{label} FiscalYearStartMonth",
            )
        code = text_values(org.get("DefaultCurrencyIsoCode", pd.Series(dtype="string"))).dropna()
        if len(code):
            out.config["currency"] = str(code.iloc[0])
            out.note("currency", out.config["currency"], f"{label} DefaultCurrencyIsoCode")
            return
    raw = source.read(mapping.tables["opportunities"].file)
    if raw is not None and "CurrencyIsoCode" in raw.columns:
        codes = text_values(raw["CurrencyIsoCode"]).dropna().unique()
        if len(codes) == 1:
            out.config["currency"] = str(codes[0])
            out.note("currency", str(codes[0]), "the deals' CurrencyIsoCode")
        elif len(codes) > 1:
            out.problems.append(
                Problem(
                    source.label(mapping.tables["opportunities"].file),
                    "CurrencyIsoCode",
                    f"the deals are in {len(codes)} currencies ({', '.join(map(str, codes))}); "
                    "amounts are added as they are",
                    hint="Export amounts converted to one currency (e.g. ConvertedAmount) and "
                    "set currency in dataset.yml",
                    severity="warning",
                )
            )
