"""The one exception tree of acuvoice; ``cli.main()`` turns these into messages and exit codes.

::

    AcuvoiceError                   exit_code 1 unless a subclass says otherwise
    ├── UsageError                  a request that cannot be done as asked (exit 2)
    │   ├── SoundError              a cue or ambience file cannot be used (exit 2)
    │   └── OutputError             an output file or folder cannot be written as asked (exit 2)
    ├── RoutineError                a routine file is unreadable or invalid (exit 2)
    │   ├── UnknownPointError       a point code or alias is not in the library (exit 2)
    │   └── CatalogError            a catalog file is invalid (exit 2; acuvoice.batch)
    ├── CompileError                the timing cannot be met, or the routine is unsuitable (exit 2)
    │   └── TranslationError        a phrase catalog or point translation lacks a key (exit 2)
    ├── EngineError                 speech engine unavailable, synthesis failed (exit 1)
    │   └── UnknownEngineError      no engine or voice by that name (exit 2)
    │       └── UnknownVoiceError   no voice by that name, or no such voice file (exit 2)
    ├── RenderError                 mixing or mastering failed (exit 1)
    ├── ExportError                 an output file could not be written (exit 1)
    └── Cancelled                   the work was asked to stop (exit 130)

A ``RoutineError`` carries every :class:`Problem` found in a file (errors and warnings), so
all of them are reported together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    """How bad a problem is: errors stop compilation, warnings do not (unless ``--strict``)."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a routine file, with a 1-based line and column.

    Attributes:
        path: The file the problem is in, as the user named it (or the built-in name).
        line: 1-based line; 0 when unknown.
        column: 1-based column; 0 when unknown.
        message: What is wrong and how to fix it.
        severity: Error or warning.
    """

    path: str
    line: int
    column: int
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        tag = "" if self.severity is Severity.ERROR else "warning: "
        return f"{where}: {tag}{self.message}"


class AcuvoiceError(Exception):
    """Base of every error acuvoice raises on purpose."""

    exit_code = 1


class UsageError(AcuvoiceError):
    """A request (from the command line, the web or a catalog) that cannot be done as asked."""

    exit_code = 2


class SoundError(UsageError):
    """A cue or ambience sound file is missing, unreadable, or too long or short to use."""


class OutputError(UsageError):
    """An output file or folder cannot be written as asked (read-only, a folder, bad name)."""


class RoutineError(AcuvoiceError):
    """A routine could not be read or is invalid; carries every problem found."""

    exit_code = 2

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[RoutineError], tuple[tuple[Problem, ...]]]:
        # Rebuilt from the problems, not the message, when it crosses a process boundary.
        return (type(self), (self.problems,))

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Only the problems of error severity."""
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)


class UnknownPointError(RoutineError):
    """A point code or alias is not in the library; the message suggests close matches."""


class CompileError(AcuvoiceError):
    """The routine is valid but cannot be compiled as asked (impossible target, unsuitable)."""

    exit_code = 2


class TranslationError(CompileError):
    """A phrase catalog or a translation of the point library is incomplete or malformed.

    The message names the file and the key path (``points/data/i18n/es.yaml:
    points.BL23.location``); acuvoice never falls back to English on its own.
    """


class EngineError(AcuvoiceError):
    """A speech engine is unknown, unavailable, or failed to synthesize."""


class UnknownEngineError(EngineError):
    """No engine or voice has the name asked for; the message lists the valid ones."""

    exit_code = 2


class UnknownVoiceError(UnknownEngineError):
    """No installed voice has the name asked for (or the voice file named does not exist)."""


class RenderError(AcuvoiceError):
    """Mixing or mastering the session failed."""


class ExportError(AcuvoiceError):
    """An output file could not be written."""


class Cancelled(AcuvoiceError):
    """Someone asked for the work to stop (a web page's Cancel); nothing is left behind."""

    exit_code = 130
