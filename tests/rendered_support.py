"""Checks of what a rendered report shows its readers, in the browser and in the email.

A reader must never see: a snake_case table header, a number in scientific notation, stream
output (warnings, log lines, "ERROR!"), a rep id without the rep's name, or (in an email) a
table of more than five columns.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat

from spmlib.reports.mail_html import render_email
from spmlib.reports.report import MAIL_COLUMNS

SNAKE_CASE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
SCIENTIFIC = re.compile(r"\b\d(\.\d+)?[eE][+-]?\d+\b")
_HIDDEN = re.compile(
    r"<(style|script)\b.*?</\1>|data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+"
    r'|<div\b[^>]*\bclass="spm-params".*?</div>',
    re.S,
)


def visible_text(page: str) -> str:
    """The text a reader sees: no styles, scripts, embedded images, or the parameter header
    (which names the report's parameters, ``rep_id = R001`` among them)."""
    text = _HIDDEN.sub(" ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def headers(page: str) -> list[str]:
    return [
        html.unescape(re.sub(r"<[^>]+>", "", h)).strip()
        for h in re.findall(r"<th\b[^>]*>(.*?)</th>", page, re.S)
    ]


def page_problems(page: str, rep_ids: set[str], where: str) -> list[str]:
    """What a reader of ``page`` should not see (empty when nothing)."""
    problems = [f"{where}: header {h!r}" for h in headers(page) if SNAKE_CASE.match(h)]
    text = visible_text(page)
    problems += [f"{where}: scientific notation {m.group(0)!r}" for m in SCIENTIFIC.finditer(text)]
    problems += [f"{where}: rep id {r}" for r in rep_ids if re.search(rf"\b{re.escape(r)}\b", text)]
    problems += [f"{where}: stream output {w!r}" for w in ("ERROR!", "Traceback", "Warning:")
                 if w in text]  # fmt: skip
    return problems


def notebook_problems(path: Path, rep_ids: set[str]) -> list[str]:
    """Problems of an executed report notebook: stream outputs kept in it (or set aside by the
    runner), its browser HTML and its email."""
    nb = nbformat.read(str(path), as_version=4)
    where = path.stem
    problems = [
        f"{where}: stream output in cell {i}: {''.join(o.get('text', ''))[:120]!r}"
        for i, cell in enumerate(nb.cells)
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream"
    ]
    problems += [
        f"{where}: stream output set aside: {s['text'][:200]!r}"
        for s in nb.metadata.get("spm", {}).get("streams", [])
    ]
    page = path.with_suffix(".html")
    if page.exists():
        problems += page_problems(page.read_text(encoding="utf-8"), rep_ids, f"{where} (browser)")
    mail = render_email(nb)
    problems += page_problems(mail.html, rep_ids, f"{where} (email)")
    # innermost rows only: a layout table's row holding a report table is not a row of it
    for row in re.findall(r"<tr\b(?:(?!<tr\b).)*?</tr>", mail.html, re.S):
        cells = len(re.findall(r"<t[dh]\b", row)) - len(re.findall(r'colspan="', row))
        if cells > MAIL_COLUMNS:
            problems.append(f"{where} (email): a row of {cells} columns")
            break
    return problems
