"""What every report builder returns: a :class:`Report` of sections made of tables, figures and
text, with its headline first and its recorded values for tests and mail.

A builder (``build_<kind>_report(dataset, scope, params)``) does all the work: it computes the
tables, chooses what to show and words the sentences. A notebook only displays the result
(:func:`spmlib.reports.notebook.show`), and tests read the same object without a kernel.

Text conventions: headline sentences, intros and text blocks are Markdown; text that comes from
the data (names of reps, teams, accounts) is escaped with :func:`escape` when put in a sentence,
and escaped by the formatter in tables. Figures are drawn only when shown (:meth:`Figure.draw`),
so building a report costs no plotting, and a renderer may draw a figure at the size it needs.
"""

from __future__ import annotations

import html
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from spmlib.reports.columns import Column
from spmlib.reports.formatter import LOCALE, RowFormat, format_frame, stacked_html, table_html
from spmlib.reports.scope import Scope

__all__ = [
    "MAIL_COLUMNS",
    "Text",
    "Table",
    "Figure",
    "Section",
    "Report",
    "escape",
    "bullets",
    "by_name",
]

#: An email shows a table of at most this many columns as a table; a wider one is stacked
#: (one block per row), so nothing is cut off or scrolled on a phone.
MAIL_COLUMNS = 5


def escape(value: Any) -> str:
    """Text from the data, safe in Markdown rendered to HTML (``<``, ``>``, ``&`` escaped).

    Examples
    --------
    >>> escape("O'Neil & <Co>")
    "O'Neil &amp; &lt;Co&gt;"
    """
    return html.escape(str(value), quote=False)


def by_name(frame: pd.DataFrame) -> pd.DataFrame:
    """People by name: the ``rep_id`` column left out of a table that has ``rep_name``.

    Examples
    --------
    >>> list(by_name(pd.DataFrame({"rep_id": ["R1"], "rep_name": ["Ann"], "won": [3]})).columns)
    ['rep_name', 'won']
    """
    if "rep_id" in frame.columns and "rep_name" in frame.columns:
        return frame.drop(columns="rep_id")
    return frame


def bullets(lines: Sequence[str]) -> str:
    """Markdown bullet list of the lines."""
    return "\n".join(f"- {line}" for line in lines)


@dataclass(frozen=True)
class Text:
    """A paragraph (or list) of Markdown."""

    markdown: str


@dataclass(frozen=True)
class Table:
    """A table to show: the raw tidy frame and how to show it.

    Attributes
    ----------
    frame : the rows and columns shown, raw values (formatted only when rendered).
    title : a short line above the table (Markdown).
    note : a line below it, e.g. "20 of 41 shown" (Markdown).
    columns : column definitions that override the vocabulary for this table.
    rows : formats that change by row (:class:`spmlib.reports.formatter.RowFormat`).
    shade : columns coloured by value (attainment-like shares).
    bars : columns drawn with in-cell bars.
    highlight : a boolean column of ``frame`` marking highlighted rows; it is not shown.
    """

    frame: pd.DataFrame
    title: str = ""
    note: str = ""
    columns: Mapping[str, Column] = field(default_factory=dict)
    rows: RowFormat | None = None
    shade: tuple[str, ...] = ()
    bars: tuple[str, ...] = ()
    highlight: str | None = None

    @property
    def shown(self) -> pd.DataFrame:
        """The columns shown: all but the highlight marker and, in a table with rows, the
        columns without any value (data that does not exist is not shown as a column of
        dashes)."""
        frame = self.frame if self.highlight is None else self.frame.drop(columns=self.highlight)
        if len(frame):
            frame = frame.loc[:, [frame[c].notna().any() for c in frame.columns]]
        return frame

    def formatted(self, currency: str = "USD", locale: str = LOCALE) -> pd.DataFrame:
        """Every cell as text, columns labelled for people."""
        return format_frame(self.shown, self.columns, currency, locale, self.rows)

    def to_html(self, currency: str = "USD", locale: str = LOCALE) -> str:
        """The table as escaped HTML."""
        marks = self.frame[self.highlight] if self.highlight else None
        return table_html(
            self.shown,
            self.columns,
            currency,
            locale,
            self.rows,
            shade=self.shade,
            bars=self.bars,
            highlight=marks,
        )

    def to_mail_html(self, currency: str = "USD", locale: str = LOCALE) -> str:
        """The table for an email: as :meth:`to_html` up to :data:`MAIL_COLUMNS` columns,
        stacked beyond (:func:`spmlib.reports.formatter.stacked_html`)."""
        if len(self.shown.columns) <= MAIL_COLUMNS:
            return self.to_html(currency, locale)
        marks = self.frame[self.highlight] if self.highlight else None
        return stacked_html(
            self.shown, self.columns, currency, locale, self.rows, shade=self.shade,
            highlight=marks,
        )  # fmt: skip


@dataclass(frozen=True)
class Figure:
    """A chart, drawn when shown: ``plot(data, **options)`` (a ``spmlib.reports.plotting``
    function returning its Axes, or an array of Axes).

    Attributes
    ----------
    plot : the plotting function.
    data : its first argument (the computed table).
    options : its other keyword arguments.
    alt : a sentence saying what the chart shows (alt text).
    """

    plot: Callable[..., Any]
    data: Any
    options: Mapping[str, Any] = field(default_factory=dict)
    alt: str = ""

    def draw(self, canvas: str = "browser", currency: str | None = None):
        """Draw the chart for ``canvas`` (``browser``, or ``phone`` for the email: narrower,
        one panel per row, text that reads on a phone); returns the matplotlib Figure (the
        caller closes it).

        ``currency`` (the report's) is passed to a plotting function that takes one, unless
        the options set it.
        """
        from spmlib.reports.plotting import style

        options = dict(self.options)
        if currency is not None and "currency" not in options:
            if "currency" in inspect.signature(self.plot).parameters:
                options["currency"] = currency
        with style.canvas(canvas):
            axes = self.plot(self.data, **options)
        first = axes.flat[0] if hasattr(axes, "flat") else axes
        return first.figure


Block = Text | Table | Figure


@dataclass(frozen=True)
class Section:
    """A titled part of a report: a short Markdown intro, then blocks in order."""

    title: str
    intro: str = ""
    blocks: tuple[Block, ...] = ()

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]


@dataclass(frozen=True)
class Report:
    """A report for people.

    Attributes
    ----------
    kind : the report kind (the notebook's name, a key of ``REPORT_PARAMS``).
    title : e.g. "Funnel and pipeline: team Atlas".
    scope : who the report is about (:class:`spmlib.reports.scope.Scope`); None for a report
        on a plain series.
    headline : the answer first: short Markdown sentences, people and accounts by name.
    sections : the body, in order.
    method : the closing "How this is worked out" section: definitions and test statistics.
    values : the numbers recorded for tests and the mail's text part, by name (``title`` and
        ``headline`` are added when they are recorded, see :meth:`recorded`).
    currency : ISO code of money (``dataset.yml``).
    as_of : the data's reference date.
    email : the sections of the report's email, when the email is a short version of the
        report (the team brief: about two phone screens, with a link to the full report);
        None = the email shows the whole report.
    """

    kind: str
    title: str
    scope: Scope | None
    headline: list[str]
    sections: list[Section]
    method: Section | None = None
    values: dict[str, Any] = field(default_factory=dict)
    currency: str = "USD"
    as_of: pd.Timestamp | None = None
    email: list[Section] | None = None

    @property
    def all_sections(self) -> list[Section]:
        """The body and the closing section."""
        return [*self.sections, *([self.method] if self.method is not None else [])]

    def tables(self) -> Iterator[Table]:
        """Every table of the report, in order."""
        for section in self.all_sections:
            yield from section.tables

    def recorded(self) -> dict[str, Any]:
        """What a notebook records (glues): title, headline, :attr:`values`, and the email
        version's blocks (``email``, see :meth:`email_blocks`) when the report has one."""
        email = self.email_blocks()
        extra = {"email": email} if email is not None else {}
        return {"title": self.title, "headline": list(self.headline), **self.values, **extra}

    def email_blocks(self) -> list[dict[str, str]] | None:
        """The email version as blocks for the mail renderer: ``{"markdown": text}`` for the
        headline, titles, intros and text, ``{"html": table}`` for tables (formatted and
        escaped); None when the email shows the whole report. Figures are left out."""
        if self.email is None:
            return None
        out = [{"markdown": bullets(self.headline)}]
        for section in self.email:
            out.append({"markdown": f"## {section.title}\n\n{section.intro}".strip()})
            for block in section.blocks:
                if isinstance(block, Text):
                    out.append({"markdown": block.markdown})
                elif isinstance(block, Table):
                    if block.title:
                        out.append({"markdown": block.title})
                    out.append({"html": block.to_html(self.currency)})
                    if block.note:
                        out.append({"markdown": block.note})
        return out

    def scope_line(self) -> str:
        """One Markdown line: who the report covers and the data's date."""
        who = escape(self.scope.label) if self.scope is not None else "the series given"
        when = f" **Data as of:** {self.as_of.date()}." if self.as_of is not None else ""
        return f"**Scope:** {who}.{when}"
