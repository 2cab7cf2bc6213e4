"""Typing raw tables: model dtypes for every known column, ``status`` derived from the stage, the
CRM's close reasons folded into the won and lost stages, and the stages' default probability and
forecast category given to deals without their own.

Dates become datetime64[ns] at midnight (ISO 8601 unless a ``date_format`` is given; timestamps
with an offset are reduced to their date in the dataset's time zone), amounts float64 (written
with a decimal point, or a decimal comma in a file read with one), ids and text pandas
``string`` (stripped; blank text counts as missing; a whole number stored as a float, as
databases and Parquet store integers with missing values, is written without ``.0``).
Unparseable values, and dates outside the range pandas handles (:data:`DATE_RANGE`, e.g. the
"no end" marker 9999-12-31), become missing here; :func:`spmlib.io.validate.check_parsing`
reports them with their rows.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from spmlib.io.schema import TABLES, DatasetConfig

__all__ = [
    "DATE_RANGE",
    "coerce_table",
    "dates_out_of_range",
    "derive_status",
    "fold_close_reasons",
    "fill_stage_defaults",
]

#: The first and last day a date can be (pandas' nanosecond timestamps).
DATE_RANGE = (pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D"))
_YEAR = re.compile(r"^\s*([-+]?\d{4,})-\d")


def dates_out_of_range(values: pd.Series) -> pd.Series:
    """True where a raw date lies outside :data:`DATE_RANGE` (1677-09-22 .. 2262-04-11), such as
    9999-12-31 or 0001-01-01, which CRMs write for "no end" or "no start".

    Examples
    --------
    >>> dates_out_of_range(pd.Series(["9999-12-31", "2024-01-05", None, "0001-01-01T00:00Z"])
    ...     ).tolist()
    [True, False, False, True]
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_localize(None)
        ns = np.datetime_data(values.dtype)[0] == "ns"
        if ns:
            return pd.Series(False, index=values.index)
        raw = values.to_numpy()
        lo, hi = (np.datetime64(d.date()) for d in DATE_RANGE)
        return pd.Series(((raw < lo) | (raw > hi)) & ~np.isnat(raw), index=values.index)
    year = values.astype("string").str.extract(_YEAR, expand=False)
    year = pd.to_numeric(year, errors="coerce")
    out = (year < DATE_RANGE[0].year) | (year > DATE_RANGE[1].year)
    return out.fillna(False).astype(bool)


def _iso_dates_fast(text: pd.Series) -> pd.Series:
    """``YYYY-MM-DD`` text parsed by Arrow (fast); anything else is NaT for the slow path."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(text.astype("string").array)
    parsed = pc.strptime(arr, format="%Y-%m-%d", unit="s", error_is_null=True)
    # Arrow rolls impossible days over (2024-02-30 -> 03-01): keep values whose day is as written
    day_text = pc.utf8_slice_codeunits(arr, 8, 10)
    ascii_day = pc.match_substring_regex(day_text, r"^[0-9]{2}$").fill_null(False)  # not '¼'
    day_text = pc.if_else(ascii_day, day_text, "0")
    exact = pc.and_(
        pc.equal(pc.utf8_length(arr), 10), pc.equal(pc.day(parsed), pc.cast(day_text, pa.int64()))
    )
    parsed = pc.if_else(exact.fill_null(False), parsed, pa.scalar(None, parsed.type))
    values = parsed.to_numpy(zero_copy_only=False).copy()
    lo, hi = (np.datetime64(d.date()) for d in DATE_RANGE)
    values[(values < lo) | (values > hi)] = np.datetime64("NaT")  # reported by check_parsing
    return pd.Series(values, index=text.index).astype("datetime64[ns]")


def _parse_dates(s: pd.Series, fmt: str | None = None, timezone: str = "UTC") -> pd.Series:
    """Dates at midnight (datetime64[ns]); unparseable values become NaT (callers report them)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype) and dates_out_of_range(s).any():
        s = s.where(~dates_out_of_range(s))  # reported by check_parsing
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        out = s.dt.tz_convert(timezone).dt.tz_localize(None)
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s
    else:
        text = s.astype("string").str.strip()
        if fmt is None:  # plain dates first (the common case), timestamps and the rest after
            out = _iso_dates_fast(text)
            rest = out.isna() & text.notna() & ~dates_out_of_range(text)
            if rest.any():
                out[rest] = _parse_dates(text[rest], "ISO8601", timezone)
            return out
        kw = {"format": fmt, "errors": "coerce"}
        try:
            out = pd.to_datetime(text, **kw)
            if out.dtype == object:  # pandas 2 returns mixed offsets as objects; 3 raises
                raise ValueError("mixed time zone offsets")
            if isinstance(out.dtype, pd.DatetimeTZDtype):
                out = out.dt.tz_convert(timezone).dt.tz_localize(None)
        except ValueError:  # mixed offsets, or offsets mixed with naive timestamps
            aware = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).fillna(False)
            out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
            if aware.any():
                parsed = pd.to_datetime(text[aware], utc=True, **kw)
                out[aware] = parsed.dt.tz_convert(timezone).dt.tz_localize(None)
            if (~aware).any():
                out[~aware] = pd.to_datetime(text[~aware], **kw)
    if dates_out_of_range(out).any():
        out = out.where(~dates_out_of_range(out))
    return out.dt.normalize().astype("datetime64[ns]")


def coerce_table(
    name: str,
    frame: pd.DataFrame,
    timezone: str = "UTC",
    date_formats: dict[str, str] | None = None,
    decimal: str = ".",
) -> pd.DataFrame:
    """Give each known column of table ``name`` its model dtype (ids and text as stripped
    strings, blank = missing; dates as datetime64 at midnight in ``timezone``; amounts as float,
    with ``decimal`` as the decimal mark of text numbers; flags as nullable booleans from
    true/false, yes/no or 1/0, any case).
    Unknown columns are kept as they are. Unparseable values become missing: compare with the
    input (:func:`spmlib.io.validate.check_parsing`) to report them.

    Examples
    --------
    >>> raw = pd.DataFrame({"opp_id": [" O1"], "rep_id": ["R1"],
    ...     "created_date": ["2024-01-31T23:30:00Z"], "close_date": ["2024-02-03"],
    ...     "stage": ["Won"], "amount": ["12.5"]})
    >>> typed = coerce_table("opportunities", raw, timezone="Europe/Paris")
    >>> typed["opp_id"][0], str(typed["created_date"][0].date()), typed["amount"][0]
    ('O1', '2024-02-01', np.float64(12.5))
    """
    out = frame.copy()
    formats = date_formats or {}
    for col, kind in TABLES[name].columns.items():
        if col not in out.columns:
            continue
        s = out[col]
        if kind in ("id", "str"):
            text = _as_text(s).str.strip()
            out[col] = text.mask(text == "")
        elif kind == "date":
            out[col] = _parse_dates(s, formats.get(col), timezone)
        elif kind == "float":
            out[col] = _to_number(s, decimal).astype("float64")
        elif kind == "int":
            out[col] = _to_number(s, decimal).astype("Int64")
        elif kind == "bool":
            out[col] = _to_bool(s)
    return out


_BOOL_TEXT = {
    **dict.fromkeys(("true", "t", "yes", "y", "1", "1.0"), True),
    **dict.fromkeys(("false", "f", "no", "n", "0", "0.0"), False),
}


def _to_bool(s: pd.Series) -> pd.Series:
    """Nullable booleans; text other than :data:`_BOOL_TEXT` (any case) becomes missing.

    >>> _to_bool(pd.Series(["TRUE", "no", "", "maybe", None])).tolist()
    [True, False, <NA>, <NA>, <NA>]
    """
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean")
    text = s.astype("string").str.strip().str.lower()
    return text.map(_BOOL_TEXT, na_action="ignore").astype("boolean")


def _as_text(s: pd.Series) -> pd.Series:
    """Values as text; whole numbers stored as floats without ``.0`` (an id 7 stays ``7``).

    >>> _as_text(pd.Series([7.0, None, 2.5])).tolist()
    ['7', <NA>, '2.5']
    """
    if not pd.api.types.is_float_dtype(s.dtype):
        return s.astype("string")
    values = s.astype("float64")
    whole = values.notna() & np.isfinite(values) & (values % 1 == 0) & (values.abs() < 1e15)
    text = values.astype("string")
    text[whole] = values[whole].astype("int64").astype("string")
    return text


_COMMA_DECIMAL = r"[-+]?(?:\d{1,3}(?:[.\s\u00a0\u202f]\d{3})+|\d+)(?:,\d+)?"


_PLAIN_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _to_number(s: pd.Series, decimal: str = ".") -> pd.Series:
    """Numbers from text (or numbers as they are). With ``decimal=","`` a number is written
    ``1234,56`` or ``1.234,56`` (points or spaces group thousands). ``inf`` stays infinite
    (check_table reports it); text that is no number becomes missing (check_parsing reports it).

    >>> _to_number(pd.Series(["1.234,5", "12", "7,25", "x"]), ",").astype("float64").tolist()
    [1234.5, 12.0, 7.25, nan]
    >>> _to_number(pd.Series(["1e309", "-1e309", "5"])).tolist()
    [inf, -inf, 5.0]
    """
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s
    text = s.astype("string").str.strip()
    if decimal == ",":
        ok = text.str.fullmatch(_COMMA_DECIMAL).fillna(False)
        fixed = text.str.replace(r"[.\s\u00a0\u202f]", "", regex=True).str.replace(",", ".")
        text = text.where(~ok, fixed)
    out = pd.to_numeric(text, errors="coerce")
    # pandas 2 reads a number too large for a float (1e309) as missing, not infinite
    huge = out.isna() & text.str.fullmatch(_PLAIN_NUMBER).fillna(False).astype(bool)
    if huge.any():
        out = out.astype("float64")
        out[huge] = text[huge].map(float)
    return out


def derive_status(opportunities: pd.DataFrame, config: DatasetConfig) -> pd.DataFrame:
    """Copy of ``opportunities`` with ``status`` = won | lost | open derived from ``stage``.

    A ``status`` column already present is kept where given (lower-cased) and derived where empty;
    :func:`spmlib.io.validate.check_table` reports a status that disagrees with the stage.

    Examples
    --------
    >>> cfg = DatasetConfig(open_stages=("Lead",), won_stage="Won", lost_stage="Lost")
    >>> derive_status(pd.DataFrame({"stage": ["Lead", "Won", "Lost"]}), cfg)["status"].tolist()
    ['open', 'won', 'lost']
    """
    out = opportunities.copy()
    status = pd.Series("open", index=out.index, dtype="string")
    status[out["stage"] == config.won_stage] = "won"
    status[out["stage"] == config.lost_stage] = "lost"
    if "status" in out.columns:
        given = out["status"].astype("string").str.strip().str.lower()
        given = given.mask(given == "")
        status = given.fillna(status)
    out["status"] = status.astype("string")
    return out


def fold_close_reasons(
    frame: pd.DataFrame, config: DatasetConfig, keep_reason: bool = True
) -> pd.DataFrame:
    """Copy of ``frame`` (opportunities or stage history) with the CRM stages of
    ``config.won_reasons`` / ``lost_reasons`` replaced by ``won_stage`` / ``lost_stage``.

    This is how several closed-won or closed-lost stages are supported: every analysis sees one
    won and one lost stage, and with ``keep_reason`` (opportunities) the CRM stage of every closed
    deal is kept in ``close_reason`` (where that column is empty). Without close reasons in the
    configuration the frame is returned unchanged.

    Examples
    --------
    >>> cfg = DatasetConfig(("Demo",), "Won", "Lost", lost_reasons=("Lost - Price", "Lost - Gone"))
    >>> opp = fold_close_reasons(pd.DataFrame({"stage": ["Demo", "Won", "Lost - Price"]}), cfg)
    >>> opp["stage"].tolist(), opp["close_reason"].tolist()
    (['Demo', 'Won', 'Lost'], [<NA>, 'Won', 'Lost - Price'])
    """
    fold = config.closed_reasons
    if not fold or "stage" not in frame.columns:
        return frame
    out = frame.copy()
    stage = out["stage"].astype("string")
    if not keep_reason:
        out["stage"] = stage.replace(fold)
        return out
    closed = stage.isin([*fold, config.won_stage, config.lost_stage]).fillna(False)
    reason = stage.where(closed)
    if "close_reason" in out.columns:
        given = out["close_reason"].astype("string")
        reason = given.where(given.notna(), reason)
    out["close_reason"] = reason.astype("string")
    out["stage"] = stage.replace(fold)
    return out


def fill_stage_defaults(opportunities: pd.DataFrame, config: DatasetConfig) -> pd.DataFrame:
    """Copy of ``opportunities`` where open deals without a ``probability`` or
    ``forecast_category`` take their stage's default (``config.stage_probabilities``,
    ``stage_forecast_categories``, e.g. from Salesforce's OpportunityStage metadata). A value the
    deal carries is kept. Nothing changes without stage defaults.

    Examples
    --------
    >>> cfg = DatasetConfig(("A", "B"), "Won", "Lost", stage_probabilities={"A": 0.1, "B": 0.5})
    >>> opp = pd.DataFrame({"stage": ["A", "B", "Won"], "status": ["open", "open", "won"],
    ...     "probability": [0.2, None, 1.0]})
    >>> fill_stage_defaults(opp, cfg)["probability"].tolist()
    [0.2, 0.5, 1.0]
    """
    out = opportunities
    for col, defaults, dtype in (
        ("probability", config.stage_probabilities, "float64"),
        ("forecast_category", config.stage_forecast_categories, "string"),
    ):
        if not defaults or "stage" not in out.columns:
            continue
        if out is opportunities:
            out = opportunities.copy()
        default = out["stage"].map(defaults).where(out["status"] == "open")
        if col in out.columns:
            out[col] = out[col].astype(dtype).fillna(default.astype(dtype))
        else:
            out[col] = default.astype(dtype)
    return out
