"""Pydantic models of the files users write: they validate input and publish the JSON Schema.

These describe the *file* format (strings, durations as written); the loader turns a
validated file into the frozen model in :mod:`acuvoice.routine.model`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from acuvoice.routine.model import (
    CUE_NAMES,
    BreathGuide,
    Pressure,
    Side,
    Technique,
)
from acuvoice.units import DURATION_HELP, MAX_SESSION_MS, describe_ms, parse_duration_ms

FORMAT_VERSION = 1
SCHEMA_ID = "https://acuvoice.invalid/schema/routine-v1.json"

_DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 21600},
        {"type": "string", "pattern": r"^\s*((\d+(\.\d+)?|\.\d+)\s*(ms|h|m|s)\s*)+$"},
    ],
    "description": f"A duration: {DURATION_HELP}.",
}


def _duration(*, positive: bool = False, max_ms: int = MAX_SESSION_MS) -> Callable[[object], int]:
    """A validator for a duration written in a routine, parsed to whole milliseconds.

    Args:
        positive: Zero is not allowed.
        max_ms: The longest allowed value.
    """

    def check(value: object) -> int:
        ms = parse_duration_ms(value)
        if positive and ms <= 0:
            raise ValueError("must be longer than zero")
        if ms > max_ms:
            raise ValueError(f"{value!r} is too long; at most {describe_ms(max_ms)}")
        return ms

    return check


_SCHEMA = WithJsonSchema(_DURATION_SCHEMA)
DurationMs = Annotated[int, BeforeValidator(_duration()), _SCHEMA]
PositiveMs = Annotated[int, BeforeValidator(_duration(positive=True)), _SCHEMA]
HoldMs = Annotated[int, BeforeValidator(_duration(positive=True, max_ms=10 * 60_000)), _SCHEMA]
FindMs = Annotated[int, BeforeValidator(_duration(max_ms=5 * 60_000)), _SCHEMA]
ThenMs = Annotated[int, BeforeValidator(_duration(max_ms=10 * 60_000)), _SCHEMA]


def _at_least_10s(ms: int) -> int:
    if ms < 10_000:
        raise ValueError("must be at least 10s, the shortest hold target fitting makes")
    return ms


MaxHoldMs = Annotated[
    int,
    BeforeValidator(_duration(positive=True, max_ms=10 * 60_000)),
    AfterValidator(_at_least_10s),
    _SCHEMA,
]
BreathMs = Annotated[int, BeforeValidator(_duration(positive=True, max_ms=60_000)), _SCHEMA]
BreathHoldMs = Annotated[int, BeforeValidator(_duration(max_ms=60_000)), _SCHEMA]


def _reminder_interval(ms: int) -> int:
    if 0 < ms < 5000:
        raise ValueError("must be 0 (no reminders) or at least 5s")
    return ms


ReminderMs = Annotated[DurationMs, AfterValidator(_reminder_interval)]


_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _text(max_length: int, description: str) -> Any:
    return Field(min_length=1, max_length=max_length, description=description)


class VoiceIn(_Strict):
    """Voice settings; command-line options override them."""

    engine: str = Field(
        "auto",
        min_length=1,
        max_length=64,
        description="auto, piper, pyttsx3 or any registered engine",
    )
    name: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="engine-specific voice id or a path to a voice file",
    )
    rate: float = Field(
        1.0,
        ge=0.5,
        le=2.0,
        description="speaking-rate multiplier of the calm default pace (about 135 words a minute), 0.5..2.0",
    )


class SoundIn(_Strict):
    """Cue set and ambience."""

    cues: str = Field(
        "bowl",
        min_length=1,
        max_length=500,
        description="bowl | chime | beep | soft | none, or a folder of sound files",
    )
    ambience: str = Field(
        "none",
        min_length=1,
        max_length=500,
        description="none | rain | ocean | pink-noise | brown-noise | path to an audio file (looped)",
    )
    ambience_db: float = Field(
        -30.0, ge=-80, le=0, description="ambience level relative to full scale, dB"
    )
    duck_db: float = Field(
        -10.0, ge=-60, le=0, description="extra ambience reduction under speech, dB"
    )


class DefaultsIn(_Strict):
    """Defaults for press steps."""

    hold: HoldMs | None = None
    technique: Technique | None = None
    pressure: Pressure | None = None
    find: FindMs | None = None
    reminders: ReminderMs | None = None
    countdown: int | None = Field(None, ge=0, le=10)
    repeat: int | None = Field(None, ge=1, le=10)
    max_hold: MaxHoldMs | None = Field(
        None,
        description=(
            "fitting to a target never lengthens a hold beyond this (10s..10m); when the "
            "target needs longer holds, the session is made shorter and says so"
        ),
    )
    min_hold: MaxHoldMs | None = Field(
        None,
        description=(
            "fitting to a target never shortens a hold below this (10s..10m, at most "
            "max_hold); a target that would need shorter holds is an error naming the range"
        ),
    )

    @model_validator(mode="after")
    def _min_not_above_max(self) -> DefaultsIn:
        if (
            self.min_hold is not None
            and self.max_hold is not None
            and self.min_hold > self.max_hold
        ):
            raise ValueError("min_hold is longer than max_hold; make it shorter or equal")
        return self


class DiagramIn(_Strict):
    """Position on a simple standing figure, normalized 0..1 (paired points: the viewer's left)."""

    view: Literal["front", "back"]
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)


class PointIn(_Strict):
    """An acupressure point: the same fields in the built-in library and in a routine's ``points``."""

    code: str = Field(min_length=1, max_length=20, description="point code, e.g. BL23 or EXTRA-1")
    name: str = _text(100, "name spoken to the listener")
    location: str = _text(1000, "where to find it, spoken in plain words")
    english: str = Field("", max_length=100)
    aliases: tuple[Annotated[str, Field(min_length=1, max_length=100)], ...] = ()
    meridian: str = Field("", max_length=60)
    region: str = Field("", max_length=40)
    side: Side = Field(Side.CENTER, description="default side for press steps")
    techniques: tuple[Technique, ...] = Field((Technique.STEADY,), min_length=1)
    pressure: Pressure = Pressure.MEDIUM
    hint: str = Field("", max_length=500, description="spoken technique hint")
    contraindications: tuple[Annotated[str, Field(min_length=1, max_length=60)], ...] = ()
    caution: str = Field("", max_length=500, description="spoken caution")
    diagram: DiagramIn | None = None
    notes: str = Field("", max_length=1000)
    used_for: tuple[Annotated[str, Field(min_length=1, max_length=60)], ...] = Field(
        (), description="topic ids this point is used for (back, neck, sleep, ...)"
    )
    sources: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = Field(
        (), description="short source ids or citations for its location and caution"
    )

    @field_validator("code")
    @classmethod
    def _code_shape(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError(
                f"{value!r} is not a point code; use letters, digits and dashes like BL23 or EXTRA-1"
            )
        return value.upper()


def _one_or_more(value: object) -> object:
    return (value,) if isinstance(value, str) else value


ConditionId = Annotated[str, Field(min_length=1, max_length=60)]
ConditionIds = Annotated[
    tuple[ConditionId, ...],
    BeforeValidator(_one_or_more),
    Field(min_length=1),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1, "maxLength": 60},
                {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": 60},
                    "minItems": 1,
                },
            ]
        }
    ),
]


class _Gated(_Strict):
    """Options every step has: whether it is heard, by the listener profile (``--avoid``)."""

    if_avoiding: ConditionIds | None = Field(
        None,
        description=(
            "condition id(s) of the point library: the step is heard only when the listener "
            "avoids one of them (the avoid profile)"
        ),
    )
    unless_avoiding: ConditionIds | None = Field(
        None,
        description=(
            "condition id(s) of the point library: the step is left out when the listener "
            "avoids one of them (the avoid profile)"
        ),
    )


class SayStepIn(_Gated):
    say: str = _text(5000, "text to narrate")
    then: ThenMs = Field(1000, description="silence after the text (default 1s)")


class PauseStepIn(_Gated):
    pause: PositiveMs
    elastic: bool = Field(True, description="let target fitting stretch or shrink this pause")


class CueStepIn(_Gated):
    cue: Literal[CUE_NAMES]  # type: ignore[valid-type]


class BreatheSpecIn(_Strict):
    cycles: int = Field(4, ge=1, le=100)
    inhale: BreathMs = 4000
    exhale: BreathMs = 6000
    hold: BreathHoldMs = 0
    guide: BreathGuide | None = None


class BreatheStepIn(_Gated):
    breathe: BreatheSpecIn
    guide: BreathGuide | None = Field(None, description="voice, tones or both (default both)")


class PressStepIn(_Gated):
    press: str = Field(min_length=1, max_length=100, description="point code or alias")
    side: Side | None = None
    hold: HoldMs | None = None
    technique: Technique | None = None
    pressure: Pressure | None = None
    find: FindMs | None = None
    reminders: ReminderMs | None = None
    countdown: int | None = Field(None, ge=0, le=10)
    repeat: int | None = Field(None, ge=1, le=10)
    say: str | None = Field(None, min_length=1, max_length=2000)


class ChapterStepIn(_Gated):
    chapter: str = _text(200, "chapter title")


class IncludeStepIn(_Gated):
    include: str = Field(
        min_length=1,
        max_length=500,
        description="routine file whose steps are inserted, relative to this file",
    )


#: The keys that name a step's action, in the order the docs list them.
STEP_ACTIONS = ("say", "pause", "cue", "breathe", "press", "chapter", "include")


def step_action(value: Any) -> str | None:
    """The action key of a step mapping, or ``None`` when there is not exactly one."""
    if not isinstance(value, dict):
        return None
    found = [key for key in STEP_ACTIONS if key in value]
    if "press" in found:
        found = [key for key in found if key != "say"]  # `say` is also an option of `press`
    return found[0] if len(found) == 1 else None


StepIn = Annotated[
    Annotated[SayStepIn, Tag("say")]
    | Annotated[PauseStepIn, Tag("pause")]
    | Annotated[CueStepIn, Tag("cue")]
    | Annotated[BreatheStepIn, Tag("breathe")]
    | Annotated[PressStepIn, Tag("press")]
    | Annotated[ChapterStepIn, Tag("chapter")]
    | Annotated[IncludeStepIn, Tag("include")],
    Discriminator(
        step_action,
        custom_error_type="step_action",
        custom_error_message="a step needs exactly one action key",
    ),
]


class RoutineFileIn(_Strict):
    """An acuvoice routine, format version 1."""

    model_config = ConfigDict(
        title="acuvoice routine",
        json_schema_extra={
            "$id": SCHEMA_ID,
            "$schema": "https://json-schema.org/draft/2020-12/schema",
        },
    )

    acuvoice: Literal[1] = Field(description="format version; this program reads 1")
    title: str = _text(200, "spoken in the intro, used in tags and file names")
    summary: str = Field("", max_length=2000)
    language: str = Field(
        "en",
        description=(
            "BCP 47 language tag (en, es, fr, de; en-GB speaks with the en catalog); picks "
            "the phrase catalog (phrases/<lang>.yaml), the point library's translation "
            "(points/data/i18n/<lang>.yaml) and a voice that speaks the language"
        ),
        examples=["en", "es", "fr", "de"],
    )
    author: str | None = Field(None, max_length=200)
    license: str | None = Field(None, max_length=100)
    tags: tuple[Annotated[str, Field(min_length=1, max_length=60)], ...] = ()
    sources: tuple[Annotated[str, Field(min_length=1, max_length=1000)], ...] = ()
    target: PositiveMs | None = Field(None, description="total length to fit")
    voice: VoiceIn = VoiceIn()
    sound: SoundIn = SoundIn()
    loudness: float = Field(
        -16.0, ge=-40, le=-5, description="integrated LUFS target of the master"
    )
    safety_notice: bool = True
    cautions: tuple[Annotated[str, Field(min_length=1, max_length=60)], ...] = ()
    defaults: DefaultsIn = DefaultsIn()
    points: tuple[PointIn, ...] = ()
    steps: tuple[StepIn, ...] = Field(min_length=1)

    @field_validator("language")
    @classmethod
    def _language_tag(cls, value: str) -> str:
        if not _LANGUAGE.match(value):
            raise ValueError(f"{value!r} is not a BCP 47 language tag like 'en' or 'en-GB'")
        return value

    @field_validator("loudness")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number of LUFS")
        return value


class IncludedFileIn(RoutineFileIn):
    """A file used by ``include``: a routine whose title may be left out."""

    title: str | None = Field(None, min_length=1, max_length=200)  # type: ignore[assignment]


class ConditionIn(_Strict):
    id: str = Field(min_length=1, max_length=60, pattern=r"^[a-z][a-z0-9-]*$")
    spoken: str = _text(200, "noun phrase a narrator says")
    description: str = Field("", max_length=1000)


class TopicIn(_Strict):
    id: str = Field(min_length=1, max_length=60, pattern=r"^[a-z][a-z0-9-]*$")
    description: str = Field("", max_length=1000)


class PointLibraryIn(_Strict):
    """The built-in point library file."""

    version: Literal[1]
    language: str = "en"
    conditions: tuple[ConditionIn, ...]
    topics: tuple[TopicIn, ...] = ()
    points: tuple[PointIn, ...] = Field(min_length=1)


def routine_json_schema() -> dict[str, Any]:
    """The JSON Schema of routine files, for editors' autocompletion."""
    return RoutineFileIn.model_json_schema(by_alias=True)
