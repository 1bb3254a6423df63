"""Timelines without audio: a request's script, routine summaries, fit ranges, routine checks.

With the ``estimate`` engine nothing here loads the audio stack (numpy, soundfile, the
engines): ``validate``, ``routines`` and ``script --engine estimate`` stay quick. A real
voice's lengths are measured through :mod:`acuvoice.render`, imported only then.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from acuvoice.app.request import RenderRequest, RoutineRef
from acuvoice.compiler import CompileOptions, compile_timeline, cue_lengths, target_range
from acuvoice.errors import CompileError, Problem, RoutineError, UsageError
from acuvoice.measure import Measure, WordsPerMinute
from acuvoice.points.library import PointLibrary, builtin_library
from acuvoice.progress import Progress, Silent
from acuvoice.routine.lint import lint_routine
from acuvoice.routine.loader import builtin_routines
from acuvoice.routine.model import AMBIENCES, CUE_SETS, Routine
from acuvoice.session import ESTIMATE, SessionOptions, check_options
from acuvoice.timeline import EventKind, Timeline, shortening_warning


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
        if cue_set in CUE_SETS:
            cue_ms = cue_lengths(cue_set)
        else:  # a folder of the user's own sounds: decoded to be measured
            from acuvoice.audio.cues import cue_lengths_ms, load_cues

            cue_ms = cue_lengths_ms(load_cues(cue_set, options.sample_rate))
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
    from acuvoice.cache import SynthesisCache, default_cache_dir
    from acuvoice.render import plan_session, voice_session

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
        from acuvoice.audio.cues import cue_lengths_ms
        from acuvoice.cache import SynthesisCache, default_cache_dir
        from acuvoice.render import plan_session, voice_session

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
    "FitRange",
    "RoutineSummary",
    "ScriptOutcome",
    "builtin_summaries",
    "check_routine",
    "fit_range",
    "script",
    "summarize",
]
