"""The routine model: frozen dataclasses a loaded, validated routine is made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from acuvoice._compat import StrEnum
from acuvoice.points.model import Point


class Side(StrEnum):
    """Which side(s) of the body a press step works on."""

    BOTH = "both"
    LEFT = "left"
    RIGHT = "right"
    ALTERNATE = "alternate"
    CENTER = "center"


class Technique(StrEnum):
    """How the point is pressed."""

    STEADY = "steady"
    CIRCLES = "circles"
    KNEADING = "kneading"
    TAPPING = "tapping"


class Pressure(StrEnum):
    """How firmly the point is pressed."""

    LIGHT = "light"
    MEDIUM = "medium"
    FIRM = "firm"


class BreathGuide(StrEnum):
    """How paced breathing is guided: spoken words, soft tones, or words first then tones."""

    VOICE = "voice"
    TONES = "tones"
    BOTH = "both"


#: Names a cue set provides; ``inhale`` and ``exhale`` are the breathing tones.
CUE_NAMES = ("start", "press", "release", "switch", "tick", "end", "inhale", "exhale")
#: Built-in cue sets; ``none`` plays no cue sounds (the timeline keeps zero-length markers).
CUE_SETS = ("bowl", "chime", "beep", "soft", "none")
#: Built-in ambience beds.
AMBIENCES = ("none", "rain", "ocean", "pink-noise", "brown-noise")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a step was written: file (as shown to the user), 1-based line and column."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Gate:
    """When a step is heard, by the listener profile (``--avoid``).

    Attributes:
        avoiding: ``True`` (``if_avoiding``): the step is heard only when the profile has
            at least one of ``conditions``; ``False`` (``unless_avoiding``): only when it
            has none of them.
        conditions: Condition ids of the point library.
    """

    avoiding: bool
    conditions: tuple[str, ...]

    def admits(self, avoid: tuple[str, ...] | frozenset[str]) -> bool:
        """Whether a listener avoiding ``avoid`` hears the step."""
        hit = any(c in avoid for c in self.conditions)
        return hit if self.avoiding else not hit


def admitted(gates: tuple[Gate, ...], avoid: tuple[str, ...] | frozenset[str]) -> bool:
    """Whether every gate of a step lets a listener avoiding ``avoid`` hear it."""
    return all(g.admits(avoid) for g in gates)


@dataclass(frozen=True, slots=True)
class SayStep:
    """Narrate ``text``, then keep ``then_ms`` of silence."""

    text: str
    then_ms: int
    origin: Origin
    gates: tuple[Gate, ...] = ()


@dataclass(frozen=True, slots=True)
class PauseStep:
    """Silence; ``elastic`` pauses may be stretched or shrunk to fit a target length."""

    pause_ms: int
    elastic: bool
    origin: Origin
    gates: tuple[Gate, ...] = ()


@dataclass(frozen=True, slots=True)
class CueStep:
    """Play one cue sound of the session's cue set."""

    sound: str
    origin: Origin
    gates: tuple[Gate, ...] = ()


@dataclass(frozen=True, slots=True)
class BreatheStep:
    """Paced breathing: ``cycles`` of inhale, hold, exhale."""

    cycles: int
    inhale_ms: int
    exhale_ms: int
    hold_ms: int
    guide: BreathGuide
    origin: Origin
    gates: tuple[Gate, ...] = ()


@dataclass(frozen=True, slots=True)
class PressStep:
    """Press one point; every option is resolved (step, then routine defaults, then point)."""

    point: str
    side: Side
    hold_ms: int
    technique: Technique
    pressure: Pressure
    find_ms: int
    reminders_ms: int
    countdown: int
    repeat: int
    say: str | None
    origin: Origin
    gates: tuple[Gate, ...] = ()


@dataclass(frozen=True, slots=True)
class ChapterStep:
    """Start a chapter (also a transcript heading)."""

    title: str
    origin: Origin
    gates: tuple[Gate, ...] = ()


Step = SayStep | PauseStep | CueStep | BreatheStep | PressStep | ChapterStep


@dataclass(frozen=True, slots=True)
class Voice:
    """Voice settings of a routine; the command line overrides them."""

    engine: str = "auto"
    name: str | None = None
    rate: float = 1.0


@dataclass(frozen=True, slots=True)
class Sound:
    """Cue set and ambience: built-in names, or absolute paths (the loader resolves a path
    written in a routine against the routine's folder)."""

    cues: str = "bowl"
    ambience: str = "none"
    ambience_db: float = -30.0
    duck_db: float = -10.0


@dataclass(frozen=True, slots=True)
class RoutineFile:
    """One file a routine was read from, and the SHA-256 of its text.

    Attributes:
        path: Relative to the routine's own folder, with ``/`` separators (``routine.yaml``,
            ``common/closing.yaml``); ``<text>`` for a routine given as YAML text.
        sha256: Hex digest of the file's text as read (UTF-8).
    """

    path: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Routine:
    """A loaded, validated routine with includes expanded and point codes resolved.

    Attributes:
        name: The built-in name or the file stem.
        path: The file it came from (``None`` for routines made in code or given as text).
        files: Every file read, the routine's own first, then its includes in the order
            they are first used; what the content key and the manifest's hash cover.
        points: Custom points defined by the routine (and its includes), by code.
        steps: Every step, includes expanded, in order; the index is the timeline's ``step``.
        max_hold_ms: ``defaults.max_hold``: fitting to a target never lengthens a hold beyond
            it, and shortens the session instead.
        min_hold_ms: ``defaults.min_hold``: fitting to a target never shortens a hold below
            it (a hold written shorter stays as written).
    """

    title: str
    steps: tuple[Step, ...]
    name: str = "routine"
    path: Path | None = None
    summary: str = ""
    language: str = "en"
    author: str | None = None
    license: str | None = None
    tags: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    target_ms: int | None = None
    voice: Voice = field(default_factory=Voice)
    sound: Sound = field(default_factory=Sound)
    loudness_lufs: float = -16.0
    safety_notice: bool = True
    cautions: tuple[str, ...] = ()
    points: tuple[Point, ...] = ()
    files: tuple[RoutineFile, ...] = ()
    max_hold_ms: int | None = None
    min_hold_ms: int | None = None
