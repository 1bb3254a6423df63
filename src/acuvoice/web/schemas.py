"""The HTTP API's request and response shapes, and their translation to a render request."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from acuvoice.app import (
    CoverChoice,
    OutputChoices,
    PlanRequest,
    RenderRequest,
    RoutineRef,
    SessionOptions,
    TagOverrides,
)
from acuvoice.errors import UsageError
from acuvoice.routine.loader import MAX_TEXT_BYTES, builtin_languages, builtin_routines
from acuvoice.routine.model import AMBIENCES, CUE_SETS
from acuvoice.units import parse_duration_ms
from acuvoice.validation import did_you_mean

Text = Field(None, max_length=200)


class RenderBody(BaseModel):
    """A render, as the page and API clients ask for it.

    Exactly one of ``routine`` (a built-in routine's name) and ``yaml`` (a routine's text).
    Sounds are built-in names only, and a voice is one ``GET /api/voices`` lists: no part of
    a request names a file on the server.
    """

    model_config = ConfigDict(extra="forbid")

    routine: str | None = Field(None, max_length=100, description="a built-in routine's name")
    yaml: str | None = Field(None, max_length=MAX_TEXT_BYTES, description="a routine's YAML")
    language: str | None = Field(
        None,
        max_length=35,
        description=(
            "es, fr, de... (GET /api/languages): a built-in routine's translation, spoken "
            "in that language; it is part of the render's key. YAML must agree with its own "
            "`language:` (leave it out to use the YAML's)"
        ),
    )
    target: float | str | None = Field(
        None, description="fit to this length: seconds, or text like '10m' or '1m30s'; 0: off"
    )
    avoid: list[str] = Field(default_factory=list, max_length=20, description="conditions")
    engine: str | None = Field(None, max_length=40, description="auto, or an engine's name")
    voice: str | None = Field(None, max_length=200, description="a voice id from /api/voices")
    rate: float | None = Field(None, ge=0.5, le=2.0, description="speaking rate")
    cues: str | None = Field(None, description="bowl, chime, beep, soft or none")
    ambience: str | None = Field(None, description="none, rain, ocean, pink-noise, brown-noise")
    ambience_db: float | None = Field(None, ge=-80, le=0)
    duck_db: float | None = Field(None, ge=-60, le=0)
    loudness: float | None = Field(None, ge=-40, le=-5, description="LUFS")
    format: Literal["mp3", "wav", "flac", "ogg", "m4a"] = "mp3"
    bitrate: int = Field(128, ge=32, le=320)
    channels: Literal[1, 2] = 2
    title: str | None = Text
    artist: str | None = Text
    album: str | None = Text
    genre: str | None = Text
    comment: str | None = Field(None, max_length=1000)
    year: str | None = Field(None, max_length=10)
    cover: bool = True

    @field_validator("cues")
    @classmethod
    def _cue_set(cls, value: str | None) -> str | None:
        if value is not None and value not in CUE_SETS:
            raise ValueError(
                f"unknown cue set {value!r}{did_you_mean(value, CUE_SETS)}; "
                f"choose one of {', '.join(CUE_SETS)}"
            )
        return value

    @field_validator("ambience")
    @classmethod
    def _bed(cls, value: str | None) -> str | None:
        if value is not None and value not in AMBIENCES:
            raise ValueError(
                f"unknown ambience {value!r}{did_you_mean(value, AMBIENCES)}; "
                f"choose one of {', '.join(AMBIENCES)}"
            )
        return value


def to_request(body: RenderBody, voices: set[str]) -> RenderRequest:
    """The render request for ``body``; the web's bundle: audio, transcripts, sheet, chapters.

    Args:
        body: The request body.
        voices: The voice ids installed here (a voice must be one of them).

    Raises:
        UsageError: No routine or two, an unknown built-in routine, an unknown voice, or a
            target that is not a length.
    """
    if (body.routine is None) == (body.yaml is None):
        raise UsageError("give either `routine` (a built-in routine's name) or `yaml`, not both")
    if body.routine is not None:
        builtins = builtin_routines(body.language)
        if body.routine not in builtins:
            if body.language is not None and body.routine in builtin_routines():
                raise UsageError(
                    f"the built-in routine {body.routine!r} is not written in "
                    f"{body.language!r}; it is in {', '.join(builtin_languages(body.routine))}"
                )
            raise UsageError(
                f"no built-in routine is called {body.routine!r}"
                f"{did_you_mean(body.routine, builtins)}; GET /api/routines lists them"
            )
        # English is the built-in routines' own language: asking for it is not asking for a
        # translation, and the request shares its render (and key) with one that does not.
        language = None if (body.language or "").lower() == "en" else body.language
        ref = RoutineRef.named(body.routine, language=language)
    else:
        assert body.yaml is not None
        ref = RoutineRef.yaml(body.yaml, shown="routine.yaml", builtin_includes=True)
        ref = ref.in_language(body.language)
    if body.voice is not None and body.voice not in voices:
        raise UsageError(
            f"no installed voice is called {body.voice!r}{did_you_mean(body.voice, voices)}; "
            "GET /api/voices lists them"
        )
    target_ms = None
    if body.target is not None:
        try:
            target_ms = parse_duration_ms(body.target)
        except ValueError as exc:
            raise UsageError(f"target: {exc}") from None
    return RenderRequest(
        routine=ref,
        session=SessionOptions(
            engine=body.engine,
            voice=body.voice,
            rate=body.rate,
            target_ms=target_ms,
            avoid=tuple(body.avoid),
            cues=body.cues,
            ambience=body.ambience,
            ambience_db=body.ambience_db,
            duck_db=body.duck_db,
            loudness_lufs=body.loudness,
        ),
        output=OutputChoices(
            format=body.format,
            bitrate_kbps=body.bitrate,
            channels=body.channels,
            bundle=True,
        ),
        tags=TagOverrides(
            title=body.title,
            artist=body.artist,
            album=body.album,
            genre=body.genre,
            comment=body.comment,
            year=body.year,
        ),
        cover=CoverChoice() if body.cover else CoverChoice.none(),
    )


class ProblemOut(BaseModel):
    """One problem, with its line and column in the routine (0 when it has no place)."""

    line: int
    column: int
    message: str
    severity: Literal["error", "warning"] = "error"


class ValidateOut(BaseModel):
    """``POST /api/validate``: whether the routine is valid, and every problem."""

    ok: bool
    problems: list[ProblemOut]


class ProblemsOut(BaseModel):
    """A 4xx answer: what is wrong, and where in the routine."""

    detail: str
    problems: list[ProblemOut] = []


class RoutineOut(BaseModel):
    """A routine at a glance (lengths at 150 words a minute, exact with its own target)."""

    name: str
    title: str
    summary: str
    duration_ms: int
    points: list[str]
    names: dict[str, str] = Field(description="each point's name, by code")
    cautions: list[str]
    language: str = Field(description="the language it is written in (BCP 47)")
    languages: list[str] = Field(
        default_factory=list,
        description="the languages a built-in routine is written in (English first, then "
        "sorted); for pasted YAML, its own language",
    )
    cues: str = Field(description="its cue set ('own' for a folder of its own)")
    ambience: str = Field(description="its ambience bed ('own' for a file of its own)")
    target_ms: int | None = Field(description="its own target length, if it sets one")


class LanguageOut(BaseModel):
    """A language the page offers: built-in routines are written in it and a voice speaks it."""

    tag: str = Field(description="BCP 47 primary tag: en, es, fr, de")
    name: str = Field(description="the language's name in itself: English, Español...")
    routines: int = Field(description="built-in routines written in it")
    voices: int = Field(description="installed, available voices that speak it")


class VoiceOut(BaseModel):
    """One voice an engine offers."""

    id: str
    name: str
    language: str
    license: str
    quality: str
    description: str


class EngineOut(BaseModel):
    """An engine, whether it works here (and why not), and its voices."""

    name: str
    license: str
    available: bool
    reason: str
    voices: list[VoiceOut]


class RangeOut(BaseModel):
    """``POST /api/range``: the lengths a session can be fitted to.

    ``natural_ms`` is its length without fitting; ``target_ms`` the routine's own target
    (a render without ``target`` lasts that long).
    """

    shortest_ms: int
    longest_ms: int
    natural_ms: int
    target_ms: int | None
    measured_with: str
    omitted: list[dict[str, Any]]


class AcceptedOut(BaseModel):
    """``202``: where to follow a render."""

    id: str
    key: str
    status_url: str
    events_url: str
    stream_url: str
    state: str


class FileOut(BaseModel):
    """A file a render made."""

    name: str
    url: str
    bytes: int


class JobOut(BaseModel):
    """``GET /api/renders/{id}``: where a render is, and what it made."""

    id: str
    key: str = Field(description="the request's content key: equal requests, equal keys")
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float
    phase: str
    label: str
    eta_s: float | None
    queue_position: int | None
    error: str | None
    files: list[FileOut]
    warnings: list[str]
    live: bool
    stream_url: str


Name = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class PlanBody(BaseModel):
    """``POST /api/plan``: what a listener asks a personal session for.

    The plan builder checks the answers (how many concerns, which conditions, the minutes'
    bounds) and says in plain words what is wrong; this shape only keeps bodies small.
    """

    model_config = ConfigDict(extra="forbid")

    concerns: list[Name] = Field(
        ..., max_length=10, description="topic ids (GET /api/plan/options), one to three"
    )
    minutes: int = Field(..., description="the session's length in whole minutes")
    avoid: list[Name] = Field(
        default_factory=list, max_length=20, description="conditions (GET /api/conditions)"
    )
    level: Name = Field("beginner", description="a level from GET /api/plan/options")
    language: Name = Field("en", description="the routine's language (English only so far)")


class LeftOutOut(BaseModel):
    """A point a concern uses that the plan leaves out, and why."""

    code: str
    name: str
    why: str


class PlanOut(BaseModel):
    """``POST /api/plan``: the routine built, as YAML to render like pasted YAML, and an
    account of it for people."""

    yaml: str = Field(description="the routine's YAML (commented); render it as `yaml`")
    title: str
    points: list[str] = Field(description="the codes pressed, in session order")
    names: dict[str, str] = Field(description="each point's name, by code")
    holds_ms: list[int] = Field(
        description="the fitted holds in session order (ms, at 150 words a minute)"
    )
    left_out: list[LeftOutOut]
    lines: list[str] = Field(description="a short account: points, holds, what was left out")


class PlanAnswersOut(BaseModel):
    """Answers that do make a session."""

    concerns: list[str]
    minutes: int
    avoid: list[str]
    level: str


class PlanRefusedOut(BaseModel):
    """``422`` from ``POST /api/plan``: why no session is made, and what can be made."""

    detail: str
    kind: str | None = Field(
        None,
        description="unsuitable, too-short, too-long or no-points; null for other bad answers",
    )
    offer: PlanAnswersOut | None = Field(None, description="answers that do make a session")
    problems: list[ProblemOut] = []


class ChoiceOut(BaseModel):
    """One choice of the plan form, with what it means."""

    id: str
    description: str


class PlanOptionsOut(BaseModel):
    """``GET /api/plan/options``: what the plan form offers."""

    concerns: list[ChoiceOut]
    max_concerns: int
    levels: list[ChoiceOut]
    min_minutes: int
    max_minutes: int
    languages: list[str] = Field(description="the languages plans are written in")


def to_plan_request(body: PlanBody) -> PlanRequest:
    """The plan request for ``body`` (one routine, not a practice plan)."""
    return PlanRequest(
        concerns=tuple(body.concerns),
        minutes=body.minutes,
        avoid=tuple(body.avoid),
        level=body.level,
        language=body.language,
    )
