"""The one Jinja set-up of spmlib: where the templates live and how they escape.

Every HTML page spmlib writes (mail bodies, the mail preview, a run's index) comes from
:func:`environment`: HTML autoescaping on (text from the data is always escaped), strict
undefined names, trimmed blocks. nbconvert's browser template is found through
:data:`TEMPLATES_DIR` too.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

__all__ = ["TEMPLATES_DIR", "environment", "render_line"]

#: Folder of spmlib's templates (shipped inside the wheel).
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared environment over :data:`TEMPLATES_DIR`; callers add filters on a copy
    (:meth:`jinja2.Environment.overlay`) rather than on this one."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(["html", "html.j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_line(text: str, values: dict) -> str:
    """Render a one-line user template (an email subject, a sender name) in a sandbox, unescaped,
    with line breaks folded to spaces so a value can never start a new header.

    Examples
    --------
    >>> render_line("Report for {{ team }}", {"team": "Atlas\\nBcc: x@y"})
    'Report for Atlas Bcc: x@y'
    """
    from jinja2.sandbox import SandboxedEnvironment

    rendered = SandboxedEnvironment(autoescape=False).from_string(text).render(**values)
    return " ".join(rendered.split())
