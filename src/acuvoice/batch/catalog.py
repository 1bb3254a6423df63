"""Catalog files: many renders described at once (`acuvoice batch CATALOG.yaml`).

A catalog names routines and a matrix of variants; every routine in every combination of
the variants is one render request. The format is documented in docs/routine-format.md
("Catalogs") and has a JSON Schema (``acuvoice schema --catalog``).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from acuvoice.app.request import (
    CoverChoice,
    OutputChoices,
    RenderRequest,
    RoutineRef,
    TagOverrides,
)
from acuvoice.batch.feed import FeedOptions
from acuvoice.errors import Problem, RoutineError
from acuvoice.routine.loader import looks_like_voice_file
from acuvoice.routine.model import AMBIENCES, CUE_SETS
from acuvoice.schema import PositiveMs, _Strict
from acuvoice.session import SessionOptions
from acuvoice.units import describe_ms, format_ms
from acuvoice.validation import problems_from_validation
from acuvoice.yamlpos import YamlProblems, parse_yaml, read_text


class CatalogError(RoutineError):
    """A catalog file is unreadable or invalid (exit 2), with every problem positioned."""


class VoiceChoiceIn(_Strict):
    """A voice: an engine, optionally one of its voices and a rate."""

    engine: str = Field("auto", min_length=1, max_length=40, description="engine name, or auto")
    name: str | None = Field(None, min_length=1, max_length=500, description="voice name or file")
    rate: float | None = Field(None, ge=0.5, le=2.0, description="speaking rate, 1.0 calm")


AudioFormat = Literal["mp3", "wav", "flac", "ogg", "m4a"]


class VariantsIn(_Strict):
    """Lists of choices; every combination of them is one render of each routine.

    A list left out has one value: the routine's own choice (``null`` in a list means the
    same).
    """

    target: list[PositiveMs | None] = Field(
        [None], min_length=1, description="session lengths (10m, 15m...); null: the routine's own"
    )
    voice: list[str | VoiceChoiceIn | None] = Field(
        [None],
        min_length=1,
        description="engine names (hibari, piper...), {engine, name, rate}, or null: the routine's",
    )
    language: list[Annotated[str, Field(min_length=2, max_length=35)] | None] = Field(
        [None], min_length=1, description="languages of built-in routines (en, es, fr, de)"
    )
    avoid: list[list[Annotated[str, Field(min_length=1, max_length=60)]]] = Field(
        [[]], min_length=1, description="listener profiles: lists of conditions ([] for none)"
    )
    format: list[AudioFormat] = Field(["mp3"], min_length=1, description="audio formats")
    cues: list[str | None] = Field([None], min_length=1, description="cue sets or folders")
    ambience: list[str | None] = Field(
        [None], min_length=1, description="ambience beds or audio files"
    )

    @field_validator("*")
    @classmethod
    def _no_repeats(cls, value: list[Any]) -> list[Any]:
        seen: list[Any] = []
        for v in value:
            if v in seen:
                shown = describe_ms(v) if isinstance(v, int) else repr(v)  # a target, in ms
                raise ValueError(f"{shown} is listed twice")
            seen.append(v)
        return value


class CatalogTagsIn(_Strict):
    """Tags written into every render (the title stays each routine's own)."""

    artist: str | None = Field(None, max_length=200)
    album: str | None = Field(None, max_length=200)
    genre: str | None = Field(None, max_length=200)
    comment: str | None = Field(None, max_length=2000)
    year: str | None = Field(None, max_length=10)


class CatalogDefaultsIn(_Strict):
    """Output choices for every render."""

    bundle: bool = Field(True, description="transcripts, chapters, sheet, cover and manifest")
    stems: bool = False
    pdf: bool = Field(False, description="print each companion sheet to PDF (slow)")
    mono: bool = False
    bitrate: int = Field(128, ge=32, le=320, description="MP3 and M4A bit rate, kbit/s")
    tags: CatalogTagsIn = CatalogTagsIn()


class CatalogFeedIn(_Strict):
    """A podcast feed of the renders, written by the batch when it ends (as `acuvoice feed`)."""

    base_url: str = Field(
        max_length=2000,
        description="where the output folder is published, e.g. https://example.org/sessions",
    )
    title: str | None = Field(None, max_length=200, description="default: the catalog's title")
    author: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=4000)
    image: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="square PNG or JPEG, 1400-3000 px, relative to the catalog "
        "(default: a cover made from the title)",
    )
    serial: bool = Field(False, description="episodes are meant in order")

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"{value!r} is not a web address: write where the output folder is "
                "published, starting with http:// or https:// (https://example.org/sessions)"
            )
        return value


class CatalogIn(_Strict):
    """An acuvoice catalog, format version 1."""

    model_config = ConfigDict(
        title="acuvoice catalog",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    acuvoice_catalog: Literal[1] = Field(description="format version; this program reads 1")
    title: str = Field("", max_length=200, description="the catalog's name")
    routines: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        min_length=1,
        description="built-in routine names, or routine files relative to the catalog",
    )
    variants: VariantsIn = VariantsIn()
    defaults: CatalogDefaultsIn = CatalogDefaultsIn()
    feed: CatalogFeedIn | None = None


def catalog_json_schema() -> dict[str, Any]:
    """The JSON Schema of catalog files."""
    return CatalogIn.model_json_schema()


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One render of a catalog: what it is called in reports, and its request."""

    label: str
    request: RenderRequest


@dataclass(frozen=True, slots=True)
class Episode:
    """One episode of a series (a practice plan's day): its number, title, and the index
    of the item whose render it plays."""

    number: int
    title: str
    item: int


@dataclass(frozen=True, slots=True)
class Catalog:
    """A loaded catalog: its title, folder and every render it asks for; a practice plan
    also numbers its days as episodes (several days play one stage's render)."""

    title: str
    path: Path
    items: tuple[BatchItem, ...]
    episodes: tuple[Episode, ...] = ()
    feed: FeedOptions | None = None


class _StageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    days: str
    routine: Annotated[str, Field(min_length=1, max_length=500)]


class _EpisodeIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    number: int = Field(ge=1)
    title: Annotated[str, Field(min_length=1, max_length=300)]
    routine: Annotated[str, Field(min_length=1, max_length=500)]


class PracticePlanIn(BaseModel):
    """A practice plan (``plan.yaml`` of ``acuvoice plan --days``), read as a catalog."""

    model_config = ConfigDict(extra="ignore")
    acuvoice_plan: Literal[1]
    title: str = Field("", max_length=300)
    stages: list[_StageIn] = Field(min_length=1)
    episodes: list[_EpisodeIn] = Field(min_length=1)


def load_catalog(path: Path, shown: str | None = None) -> Catalog:
    """Read a catalog file and expand it into render requests (nothing is checked deeper:
    each request is validated when the batch runs, so one bad render fails alone).

    Raises:
        CatalogError: The file is unreadable, not YAML, or not a valid catalog.
    """
    shown = shown or os.fspath(path)
    try:
        doc = parse_yaml(read_text(path, shown), shown)
    except YamlProblems as exc:
        raise CatalogError(exc.problems) from None
    if not isinstance(doc.data, dict):
        raise CatalogError(
            [Problem(shown, 1, 1, "a catalog is a mapping: acuvoice_catalog, routines, ...")]
        )
    base = path.absolute().parent
    if "acuvoice_plan" in doc.data:
        try:
            plan = PracticePlanIn.model_validate(doc.data)
        except ValidationError as exc:
            raise CatalogError(problems_from_validation(exc, doc, shown, PracticePlanIn)) from None
        return _practice_catalog(plan, path.absolute(), doc, shown)
    try:
        parsed = CatalogIn.model_validate(doc.data)
    except ValidationError as exc:
        raise CatalogError(problems_from_validation(exc, doc, shown, CatalogIn)) from None
    feed = None
    if parsed.feed is not None:
        f = parsed.feed
        image = None
        if f.image is not None:
            image = base / f.image
            if not image.is_file():
                mark = doc.values.get(("feed", "image"))
                line, column = (mark.line, mark.column) if mark else (1, 1)
                why = f"the feed's image {f.image} is not there (relative to the catalog)"
                raise CatalogError([Problem(shown, line, column, why)])
        feed = FeedOptions(f.base_url, f.title, f.author, f.description, None, image, f.serial)
    return Catalog(parsed.title, path.absolute(), tuple(_expand(parsed, base)), (), feed)


def _practice_catalog(plan: PracticePlanIn, path: Path, doc: Any, shown: str) -> Catalog:
    """A render per stage (a bundle, for the feed's chapters and transcripts), and an
    episode per day playing its stage's render."""
    base = path.parent
    items: list[BatchItem] = []
    index: dict[str, int] = {}
    for stage in plan.stages:
        ref = RoutineRef.file(base / stage.routine, shown=stage.routine)
        index[stage.routine] = len(items)
        items.append(BatchItem(f"days {stage.days}", RenderRequest(ref, SessionOptions(),
                                                                   OutputChoices(bundle=True, pdf=False))))  # fmt: skip
    episodes: list[Episode] = []
    for i, ep in enumerate(plan.episodes):
        if ep.routine not in index:
            mark = doc.values.get(("episodes", i, "routine"))
            line, column = (mark.line, mark.column) if mark else (1, 1)
            raise CatalogError(
                [Problem(shown, line, column, f"{ep.routine!r} is not the routine of any stage")]
            )
        episodes.append(Episode(ep.number, ep.title, index[ep.routine]))
    return Catalog(plan.title, path, tuple(items), tuple(episodes))


def _expand(parsed: CatalogIn, base: Path) -> list[BatchItem]:
    v = parsed.variants
    d = parsed.defaults
    tags = TagOverrides(
        artist=d.tags.artist,
        album=d.tags.album,
        genre=d.tags.genre,
        comment=d.tags.comment,
        year=d.tags.year,
    )
    varying = {
        name: len(getattr(v, name)) > 1
        for name in ("target", "voice", "language", "avoid", "format", "cues", "ambience")
    }
    items: list[BatchItem] = []
    for routine, target, voice, language, avoid, fmt, cues, ambience in itertools.product(
        parsed.routines, v.target, v.voice, v.language, v.avoid, v.format, v.cues, v.ambience
    ):
        ref = RoutineRef.from_argument(routine, base)
        if language is not None:
            ref = ref.in_language(language)
        engine, name, rate = _voice(voice, base)
        session = SessionOptions(
            engine=engine,
            voice=name,
            rate=rate,
            target_ms=target,
            avoid=tuple(avoid),
            cues=_sound(cues, CUE_SETS, base),
            ambience=_sound(ambience, AMBIENCES, base),
        )
        output = OutputChoices(
            format=fmt,
            channels=1 if d.mono else 2,
            bitrate_kbps=d.bitrate,
            stems=d.stems,
            bundle=d.bundle,
            pdf=d.pdf,
        )
        parts = [routine]
        if varying["language"]:
            parts.append(language or "own language")
        if varying["target"]:
            parts.append(format_ms(target) if target else "own length")
        if varying["voice"]:
            parts.append(_voice_label(voice))
        if varying["avoid"]:
            parts.append("avoid " + "+".join(avoid) if avoid else "no profile")
        if varying["format"]:
            parts.append(fmt)
        if varying["cues"]:
            parts.append(f"cues {cues or 'own'}")
        if varying["ambience"]:
            parts.append(f"ambience {ambience or 'own'}")
        items.append(
            BatchItem(" ".join(parts), RenderRequest(ref, session, output, tags, CoverChoice()))
        )
    return items


def _voice(
    choice: str | VoiceChoiceIn | None, base: Path
) -> tuple[str | None, str | None, float | None]:
    if choice is None:
        return None, None, None
    if isinstance(choice, str):
        return choice, None, None
    name = choice.name
    if name is not None and looks_like_voice_file(name):
        name = os.fspath(base / Path(name).expanduser())
    return choice.engine, name, choice.rate


def _voice_label(choice: str | VoiceChoiceIn | None) -> str:
    if choice is None:
        return "own voice"
    if isinstance(choice, str):
        return choice
    return "/".join(x for x in (choice.engine, choice.name) if x) + (
        f" x{choice.rate:g}" if choice.rate else ""
    )


def _sound(value: str | None, names: tuple[str, ...], base: Path) -> str | None:
    if value is None or value in names:
        return value
    return os.fspath(base / Path(value).expanduser())


__all__ = [
    "BatchItem",
    "Catalog",
    "CatalogError",
    "CatalogIn",
    "catalog_json_schema",
    "load_catalog",
]
