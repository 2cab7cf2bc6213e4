"""Email-ready rendering of an executed report notebook.

Notebook HTML does not survive mail clients: nbconvert's page is ~400 KB with scripts and
``data:`` images, Gmail blocks ``data:`` images and clips HTML over ~102 KB, Outlook ignores most
CSS. :func:`render_email` turns an executed notebook into

- a compact HTML body from a template of its own (``templates/mail_report.html.j2``): no code,
  no scripts, no external resources, tables laid out as tables, CSS inlined into ``style``
  attributes (css-inline), numbers in tables given thousands separators;
- figures as PNG images referenced by ``cid:`` (the message builder attaches them in a
  ``multipart/related`` part), downscaled for phones and palette-optimized;
- a plain-text alternative with the title and the headline sentences the notebook glued.

What is kept, cell by cell: markdown cells; of each code cell's outputs, the report's own
email version when it has one (:data:`~spmlib.reports.notebook.MAIL_HTML_MIME`: wide tables
stacked, no table of contents; :data:`~spmlib.reports.notebook.MAIL_PNG_MIME`: charts drawn
for the phone), else ``image/png`` (and ``image/jpeg``), ``text/html``, ``text/markdown``;
glued values (:mod:`spmlib.reports.notebook`) give the title and headline. Code inputs,
streams, errors, ``text/plain``-only results, scripts and widgets are dropped. Cells tagged
``no-email`` are skipped.

Escaping: markdown (cells and ``Markdown(...)`` outputs) is rendered with raw HTML disabled, so
text from data shows as text (``O'Neil & <Co>``). HTML outputs are sanitized with nh3: an allow-list
of tags (no ``<script>``, ``<style>``, ``<img>``, forms or frames), no event-handler attributes, no
``javascript:`` or ``data:`` URLs. Report tables come from the one formatter
(:mod:`spmlib.reports.formatter`): escaped, formatted and aligned already, so they pass as they
are; bare numbers in other HTML tables get thousands separators here.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from html import unescape
from pathlib import Path
from typing import Any

import css_inline
import nbformat
import nh3
from markupsafe import Markup

from spmlib.exceptions import SpmError
from spmlib.reports.formatter import format_number
from spmlib.reports.jinja import environment
from spmlib.reports.notebook import GLUE_MIME, MAIL_HTML_MIME, MAIL_PNG_MIME

__all__ = [
    "MAX_HTML_BYTES",
    "FullReport",
    "EmailImage",
    "RenderedEmail",
    "render_email",
    "html_with_files",
    "markdown_to_text",
]

log = logging.getLogger(__name__)

#: Gmail clips a message whose HTML part is larger than about 102 KB; every email stays below.
MAX_HTML_BYTES = 102_000
#: Rendering aims below this size, leaving room for the client's own wrapping.
_TARGET_HTML_BYTES = 95_000
#: Width (CSS px) of the email's content column; images are shown at most this wide.
CONTENT_WIDTH = 568
#: Images wider than this (pixels) are downscaled; 2x the shown width stays sharp on phones.
MAX_IMAGE_PIXELS_WIDE = 2 * CONTENT_WIDTH

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p",
    "pre", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "*": {"style", "title"},
    "a": {"href"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align"},
}
_ALLOWED_STYLE = {
    "background", "background-color", "color", "font-style", "font-weight", "text-align",
    "text-decoration", "vertical-align", "white-space", "border-bottom", "border-top",
}  # fmt: skip
_NUMBER = re.compile(r"^\s*(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?\s*$")
# an already formatted number: 1,234.5 / -12% / $1,200 / 3.2x / 1,200 USD / an em dash
_FORMATTED = re.compile(
    r"^\s*([-+\u2212]?(&#36;|[$\u20ac\u00a3\u00a5])?\d[\d,]*(\.\d+)?\s?(%|x|\u00d7|[A-Z]{3})?|\u2014|-)\s*$"
)
_CELL = re.compile(r"(<td\b[^>]*>)([^<]*)(</td>)")
_TBODY = re.compile(r"(<tbody[^>]*>)(.*?)(</tbody>)", re.S)
_ROW = re.compile(r"<tr\b.*?</tr>", re.S)


@dataclass(frozen=True)
class FullReport:
    """How an email reaches the full report: ``url`` (a link built from the run's base URL),
    or, when it is None, the report's HTML attached to the message."""

    url: str | None = None

    @property
    def attached(self) -> bool:
        return self.url is None


@dataclass(frozen=True)
class EmailImage:
    """One figure of an email: PNG bytes, referenced from the HTML as ``cid:<cid>``."""

    cid: str
    filename: str
    data: bytes
    width: int
    height: int
    alt: str = ""


@dataclass
class RenderedEmail:
    """An email-ready report.

    Attributes
    ----------
    title : the report's title (glued ``title``, else the notebook's first heading).
    headline : the glued ``headline`` sentences (markdown emphasis kept).
    html : the HTML body, CSS inlined, images referenced as ``cid:``.
    text : the plain-text alternative.
    images : the figures, in order of appearance.
    glued : every glued value of the notebook, by name.
    """

    title: str
    headline: list[str]
    html: str
    text: str
    images: list[EmailImage] = field(default_factory=list)
    glued: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def html_bytes(self) -> int:
        """Size of the HTML part in bytes, the figure Gmail's clipping applies to: the larger of
        its UTF-8 text and its transfer encoding as sent (quoted-printable adds ~8%)."""
        from email.message import EmailMessage

        part = EmailMessage()
        part.set_content(self.html, subtype="html", charset="utf-8")
        encoded = len(str(part.get_payload()).encode("ascii", "replace"))
        return max(len(self.html.encode("utf-8")), encoded)


# --- number formatting (bare numbers of foreign HTML outputs) -----------------------------------


def _readable_cell(text: str) -> str | None:
    """The readable form of a table cell holding a bare number, or None if it is not one.

    Integers of four digits or fewer are left alone (years, small counts).
    """
    m = _NUMBER.match(text)
    if m is None:
        return None
    sign, whole, frac, exp = m.groups()
    if frac is None and exp is None:
        return None if len(whole) <= 4 else f"{sign}{int(whole):,}"
    return format_number(float(text))


# --- sanitizing ----------------------------------------------------------------------------------


def _sanitize(html: str) -> str:
    """Inline a fragment's own ``<style>`` (e.g. a pandas Styler's), then keep only safe markup."""
    if "<style" in html and "<style scoped>" not in html:  # pandas' plain repr: alignment only
        try:
            html = css_inline.inline_fragment(html, "")
        except Exception as exc:  # css-inline rejects broken CSS; the markup is still usable
            log.warning("could not inline the CSS of an HTML output (%s); dropping it", exc)
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        clean_content_tags={"script", "style", "noscript", "template", "iframe", "object"},
        url_schemes={"http", "https", "mailto"},
        filter_style_properties=_ALLOWED_STYLE,
        strip_comments=True,
    )


def _shape_tables(html: str, max_rows: int) -> str:
    """Give tables the email classes, right-align and format numeric cells, cap body rows."""

    def cell(m: re.Match) -> str:
        if "align=" in m.group(1):  # formatted and aligned by spmlib's table formatter
            return m.group(0)
        readable = _readable_cell(m.group(2))
        if readable is None:
            if _FORMATTED.match(m.group(2)) is None:
                return m.group(0)
            readable = m.group(2).strip()
        return f'{m.group(1)[:-1]} align="right" nowrap>{readable}{m.group(3)}'

    def body(m: re.Match) -> str:
        rows = _ROW.findall(m.group(2))
        if len(rows) <= max_rows:
            return m.group(0)
        ncols = max(rows[0].count("<td") + rows[0].count("<th"), 1)
        note = (
            f'<tr><td colspan="{ncols}" class="more">… {len(rows) - max_rows} more rows '
            "in the full report</td></tr>"
        )
        return m.group(1) + "".join(rows[:max_rows]) + note + m.group(3)

    html = _CELL.sub(cell, html)
    html = _TABLE.sub(_align_headers, html)
    html = _TBODY.sub(body, html)
    html = re.sub(r"<table\b[^>]*?>", _table_open, html)
    html = re.sub(r"<th\b(?![^>]*\balign=)", '<th align="left"', html)
    html = re.sub(r"<th\b", '<th class="th"', html)
    return html


_TABLE = re.compile(r"<table\b.*?</table>", re.S)
_THEAD = re.compile(r"(<thead[^>]*>)(.*?)(</thead>)", re.S)
_CELL_OPEN = re.compile(r"<t[hd]\b[^>]*>")


def _align_headers(m: re.Match) -> str:
    """Right-align the header of every column whose body cells are all numbers.

    Only for simple tables (one header row, no spans); others keep left-aligned headers.
    """
    table = m.group(0)
    head, body = _THEAD.search(table), _TBODY.search(table)
    if head is None or body is None or "span=" in table or head.group(2).count("<tr") != 1:
        return table
    header = _CELL_OPEN.findall(head.group(2))
    rows = [_CELL_OPEN.findall(r) for r in _ROW.findall(body.group(2))]
    rows = [r for r in rows if len(r) == len(header)]
    if not rows:
        return table
    numeric = [all('align="right"' in r[i] for r in rows) for i in range(len(header))]
    cells = iter(numeric)

    def th(c: re.Match) -> str:
        right = next(cells, False)
        return c.group(0)[:-1] + (' align="right">' if right else ">")

    new_head = head.group(1) + _CELL_OPEN.sub(th, head.group(2)) + head.group(3)
    return table[: head.start()] + new_head + table[head.end() :]


def _table_open(m: re.Match) -> str:
    style = re.search(r'style="[^"]*"', m.group(0))
    extra = f" {style.group(0)}" if style else ""
    return f'<div class="scroll"><table class="data" cellpadding="5" cellspacing="0"{extra}>'


def _close_tables(html: str) -> str:
    return html.replace("</table>", "</table></div>")


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def _markdown_html(text: str) -> str:
    """Markdown to HTML with raw HTML shown as text; then sanitized (e.g. ``javascript:`` links)."""
    return _sanitize(_markdown().render(text))


def markdown_to_text(text: str) -> str:
    """Plain text of a markdown sentence: emphasis markers and backticks dropped.

    Examples
    --------
    >>> markdown_to_text("**2 reps** closed `3` deals, _well_ done")
    '2 reps closed 3 deals, well done'
    >>> markdown_to_text("O'Neil &amp; Co")  # text from data is escaped in report sentences
    "O'Neil & Co"
    """
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])", r"\2", text)
    return unescape(text.replace("`", ""))


# --- images --------------------------------------------------------------------------------------


def _email_image(raw: bytes, index: int, alt: str) -> EmailImage:
    """Downscale to at most MAX_IMAGE_PIXELS_WIDE, flatten on white, quantize to a palette PNG."""
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as img:
        img.load()
        if img.mode in ("RGBA", "LA", "P"):
            rgba = img.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
        else:
            flat = img.convert("RGB")
    if flat.width > MAX_IMAGE_PIXELS_WIDE:
        height = round(flat.height * MAX_IMAGE_PIXELS_WIDE / flat.width)
        flat = flat.resize((MAX_IMAGE_PIXELS_WIDE, height), Image.Resampling.LANCZOS)
    small = flat.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    data = out.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:16]
    return EmailImage(
        cid=f"fig{index}.{digest}@spm",
        filename=f"figure-{index}.png",
        data=data,
        width=flat.width,
        height=flat.height,
        alt=alt,
    )


def _img_tag(image: EmailImage) -> str:
    shown = min(CONTENT_WIDTH, image.width)
    height = round(image.height * shown / image.width)
    return (
        f'<img src="cid:{image.cid}" width="{shown}" height="{height}" '
        f'alt="{_attr(image.alt)}" class="fig" style="width:100%;max-width:{shown}px">'
    )


def _attr(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


# --- the notebook walk ---------------------------------------------------------------------------


def _blocks(nb: nbformat.NotebookNode, max_rows: int):
    """Yield ("html", markup) and ("image", EmailImage) blocks; return glued values at the end."""
    glued: dict[str, Any] = {}
    blocks: list[tuple[str, Any]] = []
    heading = ""
    n_images = 0
    for cell in nb.cells:
        if "no-email" in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "markdown":
            source = cell.source
            if not blocks and source.lstrip().startswith("# "):
                # the notebook's own title: the template shows the email's title instead
                source = source.lstrip().split("\n", 1)[1] if "\n" in source.strip() else ""
            for line in source.splitlines():
                if line.startswith("#"):
                    heading = line.lstrip("#").strip()
            if source.strip():
                blocks.append(
                    ("html", _close_tables(_shape_tables(_markdown_html(source), max_rows)))
                )
            continue
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") not in ("display_data", "execute_result"):
                continue
            data = output.get("data", {})
            if GLUE_MIME in data:
                payload = data[GLUE_MIME]
                glued[payload["name"]] = payload["value"]
            elif MAIL_HTML_MIME in data:  # the report's own email version ("" = not mailed)
                html = _joined(data[MAIL_HTML_MIME])
                if html.strip():
                    blocks.append(("html", _close_tables(_shape_tables(_sanitize(html), max_rows))))
            elif MAIL_PNG_MIME in data or "image/png" in data or "image/jpeg" in data:
                mime = next(m for m in (MAIL_PNG_MIME, "image/png", "image/jpeg") if m in data)
                raw = base64.b64decode(data[mime])
                n_images += 1
                alt = output.get("metadata", {}).get(mime, {}).get("alt") or (
                    f"Chart: {heading}" if heading else f"Chart {n_images}"
                )
                blocks.append(("image", _email_image(raw, n_images, alt)))
            elif "text/html" in data:
                html = _sanitize(_joined(data["text/html"]))
                blocks.append(("html", _close_tables(_shape_tables(html, max_rows))))
            elif "text/markdown" in data:
                source = _joined(data["text/markdown"])
                for line in source.splitlines():
                    if line.startswith("#"):
                        heading = line.lstrip("#").strip()
                html = _markdown_html(source)
                blocks.append(("html", _close_tables(_shape_tables(html, max_rows))))
    return blocks, glued


def _joined(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def _first_heading(nb: nbformat.NotebookNode) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return "Report"


@lru_cache(maxsize=1)
def _env():
    env = environment().overlay()
    env.filters["inline_md"] = lambda s: Markup(_sanitize(_markdown().renderInline(str(s))))
    env.filters["plain"] = markdown_to_text
    return env


def _headline(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def render_email(
    notebook: str | Path | nbformat.NotebookNode,
    *,
    title: str | None = None,
    kicker: str = "",
    footer: str = "",
    max_table_rows: int = 40,
    link: FullReport | None = None,
    full: FullReport | None = None,
) -> RenderedEmail:
    """Render an executed notebook as an email: inlined HTML, ``cid:`` figures, a text part.

    Parameters
    ----------
    notebook : path of an executed ``.ipynb``, or the notebook itself.
    title : the email's title; default the glued ``title``, else the first markdown heading.
    kicker : a short line above the title (e.g. ``"Funnel · team Atlas"``).
    footer : a line at the bottom (e.g. the run id and data date).
    max_table_rows : body rows shown per table; longer tables end with a "… N more rows" row.
        Halved automatically (down to 5) while the HTML is over budget.
    link : how the reader reaches the full report (:class:`FullReport`: a link, or the
        HTML attached); None = the footer says it is in the batch run folder.
    full : how to reach the full report when the email is too large even with 5 rows per
        table: the email is then its title and headline with that link (or the full HTML
        attached, ``glued["email"]`` set to ``[]``), never clipped.

    Returns
    -------
    RenderedEmail
        ``title``, ``headline``, ``html``, ``text``, ``images`` and ``glued`` (see the class).

    Raises
    ------
    SpmError
        If even with 5 rows per table the HTML is over :data:`MAX_HTML_BYTES` (Gmail would clip
        it) and no ``full`` report can stand in; show fewer or narrower tables in the notebook.
    """
    nb = (
        notebook
        if isinstance(notebook, nbformat.NotebookNode)
        else nbformat.read(str(notebook), as_version=4)
    )
    rows = max_table_rows
    while True:
        rendered = _render(nb, title=title, kicker=kicker, footer=footer, max_rows=rows, link=link)
        if rendered.html_bytes <= _TARGET_HTML_BYTES:
            return rendered
        if rows <= 5:
            break
        log.info(
            "email HTML is %d bytes; retrying with %d rows per table", rendered.html_bytes, rows
        )
        rows = max(5, rows // 2)
    if rendered.html_bytes < MAX_HTML_BYTES:
        return rendered
    if full is not None:
        log.info("email of %r over budget: sent as its headline with the full report", title)
        return _render(nb, title=title, kicker=kicker, footer=footer, max_rows=5, link=full,
                       headline_only=True)  # fmt: skip
    raise SpmError(
        f"the email of {rendered.title!r} has {rendered.html_bytes:,} bytes of HTML, over the "
        f"{MAX_HTML_BYTES:,} bytes at which Gmail clips a message; show fewer or narrower "
        "tables in the notebook."
    )


def _email_version(blocks: list[dict[str, str]], max_rows: int) -> list[tuple[str, Any]]:
    """The blocks of a report's own email version (glued ``email``, see
    :meth:`spmlib.reports.report.Report.email_blocks`), rendered like the notebook's outputs."""
    out = []
    for block in blocks:
        html = _markdown_html(block["markdown"]) if "markdown" in block else block["html"]
        out.append(("html", _close_tables(_shape_tables(_sanitize(html), max_rows))))
    return out


def _render(
    nb, *, title, kicker, footer, max_rows, link=None, headline_only=False
) -> RenderedEmail:
    blocks, glued = _blocks(nb, max_rows)
    if headline_only:  # the email is the headline; the full report is linked or attached
        blocks, glued = [], {**glued, "email": []}
    elif glued.get("email"):  # the report's short email version replaces its outputs
        blocks = _email_version(glued["email"], max_rows)
    title = title or str(glued.get("title") or _first_heading(nb))
    headline = _headline(glued.get("headline"))
    env = _env()
    images = [b for kind, b in blocks if kind == "image"]
    body = [Markup(_img_tag(b)) if kind == "image" else Markup(b) for kind, b in blocks]
    page = env.get_template("mail_report.html.j2").render(
        title=title, kicker=kicker, footer=footer, headline=headline, blocks=body, link=link
    )
    inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
    html = inliner.inline(page)
    html = _compact(html)
    text = env.get_template("mail_report.txt.j2").render(
        title=title, kicker=kicker, footer=footer, headline=headline, n_images=len(images),
        link=link,
    )  # fmt: skip
    return RenderedEmail(title, headline, html, text, images, glued)


def _compact(html: str) -> str:
    """Shrink the inlined HTML: no whitespace between tags, no classes (the CSS is inlined),
    minimal style attributes. Table cells are most of a report's bytes."""
    html = re.sub(r">\s+<", ">\n<", html)
    html = re.sub(r' class="[^"]*"', "", html)

    def style(m: re.Match) -> str:
        body = re.sub(r"\s*([:;])\s*", r"\1", m.group(1)).strip().rstrip(";")
        return f'style="{body}"' if body else ""

    return re.sub(r'style="([^"]*)"', style, html)


def html_with_files(rendered: RenderedEmail, folder: str | Path) -> Path:
    """Write the email's HTML with ``cid:`` references pointing at image files beside it.

    For previews in a browser (and the screenshot test). Returns the path of the HTML file
    (``folder/email.html``); the images are written next to it under their file names.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    html = rendered.html
    for image in rendered.images:
        (folder / image.filename).write_bytes(image.data)
        html = html.replace(f"cid:{image.cid}", image.filename)
    out = folder / "email.html"
    out.write_text(html, encoding="utf-8")
    return out
