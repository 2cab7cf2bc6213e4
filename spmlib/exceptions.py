"""The exceptions spmlib raises: one base class, with structured fields beside the text."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "SpmError",
    "Problem",
    "DataValidationError",
    "ParameterError",
    "MissingParameterError",
    "SpecError",
    "UnknownNameError",
    "KernelStartError",
    "MissingFileError",
    "PlanError",
    "ExpressionError",
    "UnsafeOutputError",
    "EngineMemoryError",
]


class SpmError(Exception):
    """Base class of every error spmlib raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One data problem: where it is, which rule it breaks, and what to do.

    Attributes
    ----------
    file : the file (or table name for databases) the problem was found in.
    column : the column concerned, or None for table-level problems.
    rule : a short sentence naming the broken rule.
    rows : the first offending row numbers (1-based data lines) or ids, as text.
    hint : what to fix.
    severity : "error", "warning" (suspicious but legal) or "note" (how the data was read,
        e.g. the encoding or delimiter detected).
    """

    file: str
    column: str | None
    rule: str
    rows: tuple[str, ...] = ()
    hint: str = ""
    severity: str = "error"

    @property
    def where_kind(self) -> str:
        """What ``column`` names: a ``key`` of a settings file, else a ``column``."""
        settings = self.file.endswith((".yml", ".yaml")) or self.file == "dataset_config"
        return "key" if settings else "column"

    def __str__(self) -> str:
        where = f"{self.file}" + (f", {self.where_kind} '{self.column}'" if self.column else "")
        text = f"{where}: {self.rule}"
        if self.rows:
            text += f" (e.g. {', '.join(self.rows)})"
        if self.hint:
            text += f". {self.hint}"
        return text


@dataclass
class DataValidationError(SpmError, ValueError):
    """Raised when a dataset breaks the data model; lists every problem found at once."""

    problems: list[Problem] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        errors = [p for p in self.problems if p.severity == "error"]
        head = f"{len(errors)} problem(s) in {self.source or 'the dataset'}:"
        return "\n".join([head, *(f"  - {p}" for p in errors)])


class ParameterError(SpmError, ValueError):
    """A parameter value is wrong: a date that is not a date, an unknown name, a range out of
    order, a notebook parameter that does not exist or has the wrong type. The message names the
    parameter (and the file and key it came from, when it came from one).

    Attributes
    ----------
    problems : one sentence per problem (a batch check reports them all at once).
    """

    def __init__(self, problems: list[str] | str = ""):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class MissingParameterError(ParameterError):
    """A required parameter (of a notebook, a batch spec or a function) was not given."""


class SpecError(ParameterError):
    """A batch spec (``params/batch.yml``) is malformed; the message names the file and key."""


class MissingFileError(SpmError, FileNotFoundError):
    """A file or folder the user named does not exist (a dataset, a series, a notebook, a spec);
    the message names it and says what was expected there."""


class KernelStartError(SpmError, RuntimeError):
    """A Jupyter kernel could not be started (or never became ready)."""


class EngineMemoryError(SpmError, MemoryError):
    """The engine ran out of its memory cap (and of what it may spill); the message says the
    cap and which settings to change."""


class UnknownNameError(ParameterError, KeyError):
    """An unknown name asked of a registry (method, mapping, metric); lists the valid ones."""

    def __init__(self, kind: str, name: str, valid: list[str] | tuple[str, ...]):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(self.valid)}")

    def __str__(self) -> str:
        return self.args[0]


@dataclass
class PlanError(SpmError, ValueError):
    """A compensation input (plan file, assignments, adjustments) breaks its schema.

    Attributes
    ----------
    file : the file the problems are in.
    problems : one ``(key, message)`` pair per problem; ``key`` is the path of the offending key
        (``rate_table.tiers[1].to``) or ``row N, column C`` for tables.
    """

    file: str
    problems: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"{len(self.problems)} problem(s) in {self.file}:"
        return "\n".join([head, *(f"  - {key}: {msg}" for key, msg in self.problems)])


class ExpressionError(SpmError, ValueError):
    """A condition of the small expression language (SPIF ``when``) cannot be parsed or typed.

    ``position`` is the 0-based character offset of the problem in ``text``.
    """

    def __init__(self, text: str, position: int, message: str):
        self.text, self.position, self.message = text, position, message
        pointer = f"{text}\n{' ' * position}^"
        super().__init__(f"{message} at character {position + 1} of:\n{pointer}")


class UnsafeOutputError(SpmError, FileExistsError):
    """An output path holds something spmlib did not write (a file, or a folder of other files):
    it is neither overwritten nor deleted; the message says what is there and what to do."""
