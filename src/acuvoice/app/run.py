"""Run a render request into a folder, all-or-nothing; make a request's script; check routines."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from acuvoice.app.bundle import listed_files, manifest, write_deliverables, write_manifest
from acuvoice.app.checks import MANIFEST, CheckedRequest, validate
from acuvoice.app.request import RenderRequest, RoutineRef
from acuvoice.audio.cues import cue_lengths_ms, load_cues
from acuvoice.cache import SynthesisCache, default_cache_dir
from acuvoice.compiler import CompileOptions, compile_timeline, cue_lengths, target_range
from acuvoice.engines.base import VoiceInfo
from acuvoice.errors import CompileError, OutputError, Problem, RoutineError, UsageError
from acuvoice.export.audio import EncodeOptions
from acuvoice.export.cover import generate_cover
from acuvoice.export.scripts import format_script
from acuvoice.export.tags import Tags
from acuvoice.measure import Measure, WordsPerMinute
from acuvoice.points.library import PointLibrary, builtin_library
from acuvoice.progress import EXTRAS, Progress, Silent
from acuvoice.render import (
    ESTIMATE,
    OutputOptions,
    RenderResult,
    SessionOptions,
    check_options,
    cover_subtitle,
    plan_session,
    render_session,
    voice_session,
)
from acuvoice.routine.lint import lint_routine
from acuvoice.routine.loader import builtin_routines
from acuvoice.routine.model import AMBIENCES, CUE_SETS, Routine
from acuvoice.timeline import EventKind, Omission, Timeline, shortening_warning


@dataclass(frozen=True)
class RenderOutcome:
    """What a render made.

    Attributes:
        key: The request's content key.
        folder: Where the files are.
        audio: The audio file.
        files: Every file written, the audio first (``manifest.json`` last in a bundle).
        result: Length, loudness, true peak, gain, synthesis counts of the audio.
        timeline: The compiled session.
        engine: The engine's name.
        voice: The voice.
        warnings: What was allowed but probably unintended.
    """

    key: str
    folder: Path
    audio: Path
    files: tuple[Path, ...]
    result: RenderResult
    timeline: Timeline
    engine: str
    voice: VoiceInfo
    warnings: tuple[str, ...]
    _manifest: Callable[[], dict[str, Any]] = field(repr=False, compare=False)

    @functools.cached_property
    def manifest(self) -> dict[str, Any]:
        """What ``manifest.json`` holds: a bundle's own; for a render that writes none, made
        from its files when first asked for (hashing an hour of WAV takes a second or two)."""
        return self._manifest()

    @property
    def omitted(self) -> tuple[Omission, ...]:
        """Points left out for the listener profile."""
        return self.timeline.omitted


def render(
    request: RenderRequest,
    folder: Path,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
    library: PointLibrary | None = None,
    live_copy: Path | None = None,
) -> RenderOutcome:
    """Check a request, voice it, and write its files into ``folder``, all or nothing.

    Every check runs before any synthesis (:func:`~acuvoice.app.checks.validate`). Files
    are made in a hidden folder inside ``folder`` and moved into place only when all are
    complete; a folder that did not exist is made, and removed again if the render fails.
    A bundle written over an earlier one removes the earlier files its new manifest does
    not list. Nothing is left behind on failure or interruption.

    Args:
        request: What to render.
        folder: Where the files go.
        cache_dir: The synthesis cache (default: ``$ACUVOICE_CACHE_DIR``, else
            ``$XDG_CACHE_HOME/acuvoice``).
        use_cache: ``False`` synthesizes every phrase and keeps nothing.
        progress: Told of each phase and of warnings.
        library: The point library (the built-in one by default).
        live_copy: For MP3: a file the audio is also written to as it is encoded, front
            to back, so a listener can hear the session before it is finished (the caller
            removes it).

    Raises:
        AcuvoiceError: As :func:`~acuvoice.app.checks.validate` before any work; then
            ``EngineError`` (synthesis failed), ``CompileError`` (the target cannot be met
            with the voice's real lengths), ``RenderError``/``ExportError`` (writing failed).
    """
    progress = progress or Silent()
    library = library or builtin_library()
    folder = Path(os.path.abspath(folder))
    checked = validate(request, folder, library=library)
    for warning in checked.warnings:
        progress.warn(warning)
    key = checked.key
    cache = SynthesisCache(cache_dir or default_cache_dir()) if use_cache else None
    session = voice_session(checked.plan, cache=cache, progress=progress)
    warnings = checked.warnings + _timeline_warnings(session.timeline)
    for warning in warnings[len(checked.warnings) :]:
        progress.warn(warning)
    output = request.output
    final_tags = _tags_with_cover(checked, session.routine.title)
    previous = listed_files(folder) if output.bundle else []
    with _Staging(folder) as staging:
        result = render_session(
            session,
            staging.path / checked.audio_name,
            OutputOptions(
                channels=output.channels,
                encode=EncodeOptions(bitrate_kbps=output.bitrate_kbps),
                tags=final_tags,
                chapters=output.chapters,
                stems_dir=staging.path if output.stems else None,
                live_copy=live_copy if output.format == "mp3" else None,
                encode_jobs=output.encode_jobs,
            ),
            progress=progress,
        )
        written = [result.path, *result.stems]
        if output.bundle:
            progress.start("Writing transcripts, chapters and the companion sheet", 1, EXTRAS)
            written += write_deliverables(
                session,
                staging.path,
                checked.stem,
                checked.audio_name,
                library,
                cover=_cover_of(final_tags()),
                pdf=output.pdf,
            )
            progress.advance()
            progress.finish()
        elif output.transcript:
            vtt = staging.path / f"{checked.stem}.vtt"
            vtt.write_text(format_script(session.timeline, "vtt"), encoding="utf-8")
            written.append(vtt)
        last = None
        if output.bundle:
            data = manifest(session, result, written, audio_name=checked.audio_name, key=key)
            last = staging.path / MANIFEST
            write_manifest(last, data)
        moved = staging.commit(written, last=last, remove=previous)
    final = [folder / p.name for p in written]

    def describe() -> dict[str, Any]:
        if output.bundle:
            return data
        return manifest(session, result, final, audio_name=checked.audio_name, key=key)

    return RenderOutcome(
        key=key,
        folder=folder,
        audio=folder / checked.audio_name,
        files=tuple(moved),
        result=dataclasses.replace(
            result,
            path=folder / checked.audio_name,
            stems=tuple(folder / p.name for p in result.stems),
        ),
        timeline=session.timeline,
        engine=session.speech.engine.name,
        voice=session.speech.voice,
        warnings=warnings,
        _manifest=describe,
    )


def _cover_of(tags: Tags) -> tuple[bytes, str] | None:
    return (tags.cover, tags.cover_mime) if tags.cover else None


def _tags_with_cover(checked: CheckedRequest, title: str) -> Callable[[], Tags]:
    """The request's tags, with a cover drawn from the title when one is asked for; made on
    first use (after the audio), then kept."""
    made: list[Tags] = []

    def tags() -> Tags:
        if not made:
            tags = checked.tags
            if tags.cover is None and checked.request.cover.generate:
                image = generate_cover(title, cover_subtitle(tags.language or "en"))
                tags = dataclasses.replace(tags, cover=image, cover_mime="image/png")
            made.append(tags)
        return made[0]

    return tags


class _Staging:
    """A hidden folder inside the output folder whose files move into place together."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.created: list[Path] = []
        self.path = folder

    def __enter__(self) -> _Staging:
        missing: list[Path] = []
        here = self.folder
        while not here.exists() and here.parent != here:
            missing.append(here)
            here = here.parent
        try:
            for folder in reversed(missing):
                folder.mkdir()
                self.created.append(folder)
            self.path = Path(tempfile.mkdtemp(prefix=".acuvoice-", dir=self.folder))
        except OSError as exc:
            self._remove_created()
            raise OutputError(f"cannot write into {self.folder}: {exc.strerror or exc}") from exc
        return self

    def commit(self, files: list[Path], *, last: Path | None, remove: list[str]) -> list[Path]:
        """Move ``files`` into the folder, delete ``remove`` (unless replaced), then ``last``.

        Returns:
            Where the files are now, in order, ``last`` at the end.
        """
        moved: list[Path] = []
        names = {p.name for p in files} | ({last.name} if last else set())
        try:
            for p in files:
                os.replace(p, self.folder / p.name)
                moved.append(self.folder / p.name)
            for name in remove:
                if name not in names:
                    (self.folder / name).unlink(missing_ok=True)
            if last is not None:
                os.replace(last, self.folder / last.name)
                moved.append(self.folder / last.name)
        except OSError as exc:
            raise OutputError(
                f"cannot move the files into {self.folder}: {exc.strerror or exc}"
            ) from exc
        return moved

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.path != self.folder:
            shutil.rmtree(self.path, ignore_errors=True)
        if kind is not None:
            self._remove_created()

    def _remove_created(self) -> None:
        for folder in reversed(self.created):
            with contextlib.suppress(OSError):  # not empty: someone else wrote there meanwhile
                folder.rmdir()


@dataclass(frozen=True)
class ScriptOutcome:
    """A request's timed script: the routine, its timeline, and warnings."""

    routine: Routine
    timeline: Timeline
    warnings: tuple[str, ...]


def script(
    request: RenderRequest,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
    library: PointLibrary | None = None,
) -> ScriptOutcome:
    """The timeline a render of ``request`` would have, without mixing or writing audio.

    With a real engine, phrases are synthesized (or found in the cache) so the lengths are
    exact; with the ``estimate`` engine they come from 150 words a minute, with no voice.

    Raises:
        AcuvoiceError: As :func:`~acuvoice.app.checks.validate` (output choices aside),
            and ``EngineError``/``CompileError`` as :func:`render`.
    """
    library = library or builtin_library()
    options = request.session
    routine = request.routine.load(library)
    if (options.engine or routine.voice.engine) == ESTIMATE:
        check_options(options)
        rate = options.rate if options.rate is not None else routine.voice.rate
        cue_set = options.cues or routine.sound.cues
        cue_ms = (
            cue_lengths(cue_set)
            if cue_set in CUE_SETS
            else cue_lengths_ms(load_cues(cue_set, options.sample_rate))
        )
        measure = WordsPerMinute(rate=rate)
        compile_options = CompileOptions(
            target_ms=options.target_ms,
            avoid=options.avoid,
            cue_ms=cue_ms,
            voice=f"estimate: {measure.wpm:g} words per minute at rate {rate:g}",
        )
        timeline = compile_timeline(routine, library, measure, compile_options)
        extra = _timeline_warnings(timeline)
        for warning in extra:
            (progress or Silent()).warn(warning)
        return ScriptOutcome(routine, timeline, extra)
    plan = plan_session(routine, options, library=library)
    progress = progress or Silent()
    for warning in plan.warnings:
        progress.warn(warning)
    cache = SynthesisCache(cache_dir or default_cache_dir()) if use_cache else None
    session = voice_session(plan, cache=cache, progress=progress)
    extra = _timeline_warnings(session.timeline)
    for warning in extra:
        progress.warn(warning)
    return ScriptOutcome(routine, session.timeline, plan.warnings + extra)


def _timeline_warnings(timeline: Timeline) -> tuple[str, ...]:
    """Warnings only the compiled timeline can tell: a session shorter than its target."""
    warning = shortening_warning(timeline)
    return (warning,) if warning else ()


@dataclass(frozen=True)
class RoutineSummary:
    """A routine at a glance: for listings, galleries and catalogs.

    ``duration_ms`` is its length at 150 words a minute (exact when it has a ``target``).

    Attributes:
        names: Each point's name, by code.
        target_ms: The routine's own ``target``, if it has one.
        avoid_points: Conditions its points are contraindicated for, each with the codes a
            listener with that condition would have left out (``--avoid``).
    """

    name: str
    title: str
    summary: str
    duration_ms: int
    points: tuple[str, ...]
    cautions: tuple[str, ...]
    language: str
    names: Mapping[str, str] = field(default_factory=dict)
    cues: str = "bowl"
    ambience: str = "none"
    target_ms: int | None = None
    avoid_points: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def summarize(ref: RoutineRef, *, library: PointLibrary | None = None) -> RoutineSummary:
    """A routine summarized, with lengths at 150 words a minute (no voice is needed).

    Raises:
        RoutineError: The routine is invalid.
        CompileError: It cannot be compiled as written (an impossible ``target``).
    """
    library = library or builtin_library()
    made = script(RenderRequest(ref, SessionOptions(engine=ESTIMATE)), library=library)
    routine, timeline = made.routine, made.timeline
    points = dict.fromkeys(e.point or "" for e in timeline.of_kind(EventKind.HOLD))
    known = library.with_points(routine.points) if routine.points else library
    avoid_points: dict[str, tuple[str, ...]] = {}
    for code in points:
        for cond in known.get(code).contraindications:
            avoid_points[cond] = (*avoid_points.get(cond, ()), code)
    return RoutineSummary(
        name=routine.name,
        title=routine.title,
        summary=routine.summary,
        duration_ms=timeline.duration_ms,
        points=tuple(points),
        cautions=routine.cautions,
        language=routine.language,
        names={code: timeline.points.get(code, "") for code in points},
        cues=routine.sound.cues if routine.sound.cues in CUE_SETS else "own",
        ambience=routine.sound.ambience if routine.sound.ambience in AMBIENCES else "own",
        target_ms=routine.target_ms,
        avoid_points=avoid_points,
    )


def builtin_summaries(
    *, library: PointLibrary | None = None, language: str | None = None
) -> list[RoutineSummary]:
    """Every built-in routine (in ``language``; English by default), summarized (no voice
    is needed)."""
    library = library or builtin_library()
    return [
        summarize(RoutineRef.named(name, language=language), library=library)
        for name in builtin_routines(language)
    ]


@dataclass(frozen=True)
class FitRange:
    """The lengths a request's session can be fitted to, and what its profile leaves out.

    Attributes:
        shortest_ms: The shortest ``target`` that can be met.
        longest_ms: The longest (at most 6 hours).
        natural_ms: Its length without a target.
        measured_with: ``estimate`` (150 words a minute) or the voice's description.
        omitted: Points the profile leaves out: ``(code, name, conditions)``.
    """

    shortest_ms: int
    longest_ms: int
    natural_ms: int
    measured_with: str
    omitted: tuple[tuple[str, str, tuple[str, ...]], ...]


def fit_range(
    request: RenderRequest,
    *,
    exact: bool = False,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    library: PointLibrary | None = None,
) -> FitRange:
    """The range :func:`render` can fit ``request`` to (its ``target`` is ignored).

    With ``exact``, speech lengths come from the request's voice (phrases are synthesized
    or taken from the cache); otherwise from 150 words a minute, at once and close enough
    to offer a choice.

    Raises:
        AcuvoiceError: As :func:`script` (an unsuitable profile is a ``CompileError``).
    """
    library = library or builtin_library()
    options = dataclasses.replace(request.session, target_ms=0)
    routine = request.routine.load(library)
    cue_ms: Mapping[str, int]
    if exact and (options.engine or routine.voice.engine) != ESTIMATE:
        plan = plan_session(routine, options, library=library)
        cache = SynthesisCache(cache_dir or default_cache_dir())
        session = voice_session(plan, cache=cache, progress=progress)
        measure: Measure = session.speech.measure
        cue_ms = cue_lengths_ms(dict(plan.cues))
        measured_with = session.speech.description
        timeline = session.timeline
    else:
        check_options(options)
        measure = WordsPerMinute(rate=options.rate or routine.voice.rate)
        cue_set = options.cues or routine.sound.cues
        cue_ms = cue_lengths(cue_set if cue_set in CUE_SETS else CUE_SETS[0])
        measured_with = ESTIMATE
        timeline = compile_timeline(
            routine,
            library,
            measure,
            CompileOptions(target_ms=0, avoid=options.avoid, cue_ms=cue_ms),
        )
    shortest, longest = target_range(
        routine, library, measure, CompileOptions(avoid=options.avoid, cue_ms=cue_ms)
    )
    omitted = tuple(
        (o.point, timeline.points.get(o.point, ""), tuple(o.conditions)) for o in timeline.omitted
    )
    return FitRange(shortest, longest, timeline.duration_ms, measured_with, omitted)


def check_routine(ref: RoutineRef, *, library: PointLibrary | None = None) -> list[Problem]:
    """Every problem of a routine: errors, warnings, and whether it compiles.

    Compiling uses the 150-words-a-minute estimate, so a ``target`` is checked against
    estimated lengths.

    Returns:
        The problems, errors and warnings together; empty when all is well.
    """
    library = library or builtin_library()
    try:
        routine = ref.load(library)
    except RoutineError as exc:
        return list(exc.problems)
    except UsageError as exc:
        return [Problem(ref.label, 0, 0, str(exc))]
    problems = lint_routine(routine, library)
    try:
        compile_timeline(
            routine,
            library,
            WordsPerMinute(rate=routine.voice.rate),
            CompileOptions(cue_ms=cue_lengths(routine.sound.cues)),
        )
    except CompileError as exc:
        problems.append(Problem(ref.label, 0, 0, str(exc)))
    return problems


__all__ = [
    "CheckedRequest",
    "FitRange",
    "RenderOutcome",
    "RoutineSummary",
    "ScriptOutcome",
    "builtin_summaries",
    "check_routine",
    "fit_range",
    "render",
    "script",
    "summarize",
]
