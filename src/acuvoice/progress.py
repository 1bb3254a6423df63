"""How long work reports what it is doing: phases with a size, steps done, and warnings."""

from __future__ import annotations

from typing import Protocol

#: The phases of a render, in order; front ends weigh them to show one overall fraction.
VOICING = "voicing"
MEASURING = "measuring"
WRITING = "writing"
EXTRAS = "extras"
PHASES = (VOICING, MEASURING, WRITING, EXTRAS)


class Progress(Protocol):
    """Where long work reports how far it has come (the CLI draws a bar; the web streams events).

    A render goes through phases (voicing, measuring loudness, writing); each phase is
    started with its size in units, advanced as units are done, and finished.
    """

    def start(self, label: str, total: int, phase: str = "") -> None:
        """Begin a phase of ``total`` units; ``label`` is for people, ``phase`` one of
        :data:`PHASES` (or empty) for programs."""
        ...

    def advance(self, units: int = 1) -> None:
        """``units`` more are done."""
        ...

    def finish(self) -> None:
        """The phase is over."""
        ...

    def warn(self, message: str) -> None:
        """Something the user should know that does not stop the work."""
        ...


class Silent:
    """A :class:`Progress` that reports nothing and keeps the warnings it is given."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def start(self, label: str, total: int, phase: str = "") -> None:
        """Nothing to show."""

    def advance(self, units: int = 1) -> None:
        """Nothing to show."""

    def finish(self) -> None:
        """Nothing to show."""

    def warn(self, message: str) -> None:
        """Kept in :attr:`warnings`."""
        self.warnings.append(message)
