"""The ``spm`` app, whose commands are each imported when used.

``spm kpis`` imports the module defining ``kpis`` (:mod:`spmlib.cli.data`) and nothing of the
funnel, forecast, comp or mail commands (their imports, scipy and statsmodels among them, cost
more than the command's own work on a million deals). :data:`COMMANDS` names the module of every
command; listing the commands (``spm --help``, a mistyped name) imports them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

import typer
from typer.core import TyperGroup

__all__ = ["COMMANDS", "LazyGroup", "app"]

#: Every command (or group of commands) of ``spm`` -> the module of :mod:`spmlib.cli` defining
#: it, in the order ``spm --help`` lists them (a test checks every registered command is here).
COMMANDS = {
    "run": "batch",
    "batch": "batch",
    "changes": "changes",
    "validate": "data",
    "kpis": "data",
    "sample": "data",
    "forecast": "forecast",
    "backtest": "forecast",
    "funnel": "funnel",
    "pipeline": "funnel",
    "flow": "funnel",
    "email": "mail",
    "outlook": "outlook",
    "territory": "planning",
    "leaderboard": "productivity",
    "scorecards": "productivity",
    "activity": "productivity",
    "comp": "comp",
    "mapping": "mapping",
    "quota": "planning",
}


def _registered() -> dict[str, object]:
    """The click command of every command registered on the app so far, by name."""
    import typer.main as tm

    options = {
        "pretty_exceptions_short": app.pretty_exceptions_short,
        "rich_markup_mode": app.rich_markup_mode,
    }
    found = {}
    for info in app.registered_commands:
        found[info.name or tm.get_command_name(info.callback.__name__)] = info
    for info in app.registered_groups:
        found[info.name] = info
    return {
        name: (
            tm.get_command_from_info(info, **options)
            if isinstance(info, tm.CommandInfo)
            else tm.get_group_from_info(info, suggest_commands=app.suggest_commands, **options)
        )
        for name, info in found.items()
    }


class _Commands(MutableMapping):
    """Name -> click command, importing a command's module on first use."""

    def __init__(self, commands: MutableMapping) -> None:
        self._built = dict(commands)

    def _load(self, modules) -> None:
        for module in modules:
            importlib.import_module(f"spmlib.cli.{module}")
        for name, command in _registered().items():
            self._built.setdefault(name, command)

    def __getitem__(self, name: str) -> object:
        if name not in self._built and name in COMMANDS:
            self._load([COMMANDS[name]])
        return self._built[name]

    def __setitem__(self, name: str, command: object) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        if any(name not in self._built for name in COMMANDS):
            self._load(dict.fromkeys(COMMANDS.values()))
        order = list(COMMANDS)
        yield from sorted(self._built, key=lambda n: order.index(n) if n in order else len(order))

    def __len__(self) -> int:
        return len(list(iter(self)))


class LazyGroup(TyperGroup):
    """The ``spm`` group: its commands are imported when used (:data:`COMMANDS`)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.commands = _Commands(self.commands)


#: The ``spm`` app: every command module registers its commands on it.
app = typer.Typer(
    cls=LazyGroup,
    help="Sales performance management workbench: validate CRM data, compute KPIs, "
    "render and email reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
