"""The YAML reader of data settings (``dataset.yml``, mapping files, a database's settings).

YAML 1.1 guesses types that surprise in data settings: ``Yes``/``No``/``on`` become booleans
(a stage named ``No`` would vanish) and ``2024-13-45`` is a date the parser itself rejects
with a traceback. :class:`DataLoader` keeps only ``true``/``false`` as booleans and every date
as the text written, so the checks that follow name the key of a wrong value.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["DataLoader", "read_yaml"]


class DataLoader(yaml.SafeLoader):
    """A SafeLoader without YAML 1.1 surprises: only true/false (any case) are booleans, and
    dates stay the text written (see the module notes)."""


DataLoader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
DataLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def read_yaml(text: str) -> Any:
    """Parse YAML ``text`` with :class:`DataLoader` (raises ``yaml.YAMLError`` when invalid).

    Examples
    --------
    >>> read_yaml("as_of: 2024-13-45\\nopen_stages: [Yes, No]\\nx: true")
    {'as_of': '2024-13-45', 'open_stages': ['Yes', 'No'], 'x': True}
    """
    return yaml.load(text, Loader=DataLoader)  # noqa: S506 - a SafeLoader subclass
