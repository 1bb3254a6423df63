"""Compile a routine into a timeline: pure, no audio, no engines, no files.

The routine's steps become a flat list of blocks (speech, gaps, cues, holds, breathing).
With a target length, the elastic blocks (holds, elastic pauses, find times, breathing
cycles) are scaled by one common factor, each within its bounds, so the session lasts the
target to the millisecond: breathing takes the whole number of cycles nearest that factor
that leaves the continuous parts able to take up the rest. ``target_range`` says which
targets can be met. The blocks are then laid out in time as events.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from acuvoice.errors import CompileError
from acuvoice.measure import Measure
from acuvoice.phrases import Catalog, load_catalog
from acuvoice.points.i18n import localize
from acuvoice.points.library import PointLibrary
from acuvoice.points.model import Point
from acuvoice.routine.model import (
    BreatheStep,
    BreathGuide,
    ChapterStep,
    CueStep,
    PauseStep,
    PressStep,
    Routine,
    SayStep,
    Side,
    Step,
    admitted,
)
from acuvoice.timeline import Chapter, Event, EventKind, Omission, Timeline, sort_events
from acuvoice.units import MAX_SESSION_MS, describe_ms, format_ms, round_ms
from acuvoice.validation import did_you_mean

#: Cue lengths used until real cue sounds are measured (the renderer passes real lengths).
DEFAULT_CUE_MS: Mapping[str, int] = MappingProxyType(
    {
        "start": 2500,
        "press": 600,
        "release": 700,
        "switch": 900,
        "tick": 150,
        "end": 3000,
        "inhale": 400,
        "exhale": 400,
    }
)


def cue_lengths(cue_set: str) -> Mapping[str, int]:
    """Default cue lengths for a cue set; ``none`` has silent, zero-length markers."""
    if cue_set == "none":
        return MappingProxyType(dict.fromkeys(DEFAULT_CUE_MS, 0))
    return DEFAULT_CUE_MS


@dataclass(frozen=True, slots=True)
class Pacing:
    """Fixed gaps of generated narration and the bounds of target fitting.

    Attributes:
        sentence_gap_ms: Between sentences of one block of text.
        phrase_gap_ms: Between generated phrases of a press step.
        cue_gap_ms: Between a cue and speech next to it.
        section_gap_ms: After the welcome, the safety notice and other notices.
        tick_every_ms: Spacing of countdown ticks.
        voiced_breaths: Cycles spoken aloud when breathing is guided by ``both``.
        hold_min_ms: Fitting never shortens a hold below this (unless written shorter).
        hold_max_ms: Fitting never lengthens a hold beyond this (unless written longer).
        min_factor: Smallest factor fitting applies to other elastic parts.
        max_factor: Largest factor fitting applies to other elastic parts.
    """

    sentence_gap_ms: int = 350
    phrase_gap_ms: int = 500
    cue_gap_ms: int = 300
    section_gap_ms: int = 1200
    tick_every_ms: int = 1000
    voiced_breaths: int = 2
    hold_min_ms: int = 10_000
    hold_max_ms: int = 300_000
    min_factor: float = 0.25
    max_factor: float = 4.0


@dataclass(frozen=True, slots=True)
class CompileOptions:
    """What the caller decides beyond the routine.

    Attributes:
        target_ms: Length to fit; overrides the routine's ``target``. ``0`` turns fitting off.
        avoid: Listener conditions (``pregnancy``): contraindicated points are left out.
        cue_ms: Length of each cue sound.
        pacing: Fixed gaps and fitting bounds.
        voice: A description of the voice the measure came from (carried into the timeline).
    """

    target_ms: int | None = None
    avoid: tuple[str, ...] = ()
    cue_ms: Mapping[str, int] = field(default_factory=lambda: DEFAULT_CUE_MS)
    pacing: Pacing = field(default_factory=Pacing)
    voice: str | None = None


# -- blocks -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Speech:
    text: str
    role: str
    step: int | None


@dataclass(frozen=True, slots=True)
class _Gap:
    ms: int
    step: int | None
    elastic: bool = False
    label: str | None = None


@dataclass(frozen=True, slots=True)
class _Cue:
    sound: str
    step: int | None


@dataclass(frozen=True, slots=True)
class _Hold:
    point: str
    side: str
    ms: int
    reminders_ms: int
    countdown: int
    step: int


@dataclass(frozen=True, slots=True)
class _Breath:
    cycles: int
    inhale_ms: int
    hold_ms: int
    exhale_ms: int
    voiced: int
    step: int


@dataclass(frozen=True, slots=True)
class _Chapter:
    title: str


_Block = _Speech | _Gap | _Cue | _Hold | _Breath | _Chapter

_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=\S)")


def split_sentences(text: str) -> list[str]:
    """Split narration into sentences (each becomes one speech event and one transcript cue)."""
    return [s for s in (" ".join(part.split()) for part in _SENTENCES.split(text.strip())) if s]


# -- public entry point -----------------------------------------------------------------------


def compile_timeline(
    routine: Routine,
    library: PointLibrary,
    measure: Measure,
    options: CompileOptions | None = None,
) -> Timeline:
    """Compile a routine into a timeline.

    Args:
        routine: A loaded routine.
        library: The point library (the routine's custom points are added to it).
        measure: ``measure(text) -> ms``, the length of a text in the chosen voice.
        options: Target, listener profile, cue lengths, pacing.

    Returns:
        The timeline, obeying the timing rules of the format spec.

    Raises:
        CompileError: The routine is unsuitable for the listener profile, an ``--avoid``
            condition is unknown, or the target length is outside :func:`target_range`.
        TranslationError: The language's phrase catalog or point translation lacks a key.
    """
    options = _with_max_hold(options or CompileOptions(), routine)
    library, catalog, avoid, omitted, blocks = _prepare(routine, library, options)
    measured = _Measured(measure)
    target = options.target_ms if options.target_ms is not None else routine.target_ms
    shortened_from: int | None = None
    if target and routine.max_hold_ms is not None:
        dose = _dose_ms(blocks, measured, options)
        if target > dose:
            # The target needs longer holds than the routine allows: the session is made
            # shorter, and says so.
            blocks = _Builder(routine, library, catalog, options, omitted, shortened=True).build()
            shortened_from = target
            target = min(target, _dose_ms(blocks, measured, options))
    sizes = _fit(blocks, measured, options, target or None)
    events, chapters, end_ms = _layout(blocks, sizes, measured, catalog, options)
    used = {b.point for b in blocks if isinstance(b, _Hold)} | {o.point for o in omitted}
    return Timeline(
        title=routine.title,
        language=routine.language,
        duration_ms=end_ms,
        chapters=tuple(chapters),
        events=sort_events(events),
        points={p.code: p.name for p in library if p.code in used},
        omitted=tuple(omitted),
        avoid=avoid,
        target_ms=target or None,
        voice=options.voice,
        max_hold_ms=routine.max_hold_ms,
        shortened_from_ms=shortened_from,
    )


def _with_max_hold(options: CompileOptions, routine: Routine) -> CompileOptions:
    """Options whose fitting bounds keep holds within the routine's ``min_hold`` and
    ``max_hold``."""
    pacing = options.pacing
    if routine.max_hold_ms is not None:
        pacing = dataclasses.replace(pacing, hold_max_ms=routine.max_hold_ms)
    if routine.min_hold_ms is not None:
        pacing = dataclasses.replace(pacing, hold_min_ms=routine.min_hold_ms)
    return options if pacing is options.pacing else dataclasses.replace(options, pacing=pacing)


def _dose_ms(blocks: list[_Block], measured: _Measured, options: CompileOptions) -> int:
    """The longest session whose holds stay within ``pacing.hold_max_ms`` (the routine's
    ``max_hold``) and whose other elastic parts grow no more than the holds do.

    That is the length at the smallest common factor at which every hold has reached the
    maximum (or, for a hold written longer, its written length); the other parts stretch by
    that factor within their own bounds. Fitting to a longer target would only pad the
    session with longer find times, pauses and breathing, so it is shortened instead.
    """
    plan = _plan(blocks, measured, options)
    holds = [b.ms for b in blocks if isinstance(b, _Hold)]
    cap = options.pacing.hold_max_ms
    factor = max([1.0, *(cap / ms for ms in holds if ms < cap)])
    factor = min(factor, options.pacing.max_factor)
    total = plan.base_ms + sum(e.at(factor) for e in plan.smooth)
    total += sum(e.at(factor) * e.unit_ms for e in plan.breaths)
    return max(plan.shortest_ms, min(plan.longest_ms, math.floor(total)))


def check_profile(
    routine: Routine, library: PointLibrary, avoid: tuple[str, ...]
) -> tuple[str, ...]:
    """The listener profile's conditions, checked against the library and the routine.

    What :func:`compile_timeline` checks first, for front ends that check a request before
    any synthesis.

    Returns:
        The conditions, each once, in the order given.

    Raises:
        CompileError: A condition is unknown, or the routine lists one under ``cautions``.
    """
    library = library.with_points(routine.points) if routine.points else library
    return _check_avoid(routine, library, avoid)


def _prepare(
    routine: Routine, library: PointLibrary, options: CompileOptions
) -> tuple[PointLibrary, Catalog, tuple[str, ...], list[Omission], list[_Block]]:
    """The library with the routine's points, the catalog, the profile, omissions and blocks."""
    library = library.with_points(routine.points) if routine.points else library
    catalog = load_catalog(routine.language)
    library = localize(library, routine.language)
    avoid = _check_avoid(routine, library, options.avoid)
    omitted = _omissions(routine, library, avoid)
    blocks = _Builder(routine, library, catalog, options, omitted).build()
    return library, catalog, avoid, omitted, blocks


def target_range(
    routine: Routine,
    library: PointLibrary,
    measure: Measure,
    options: CompileOptions | None = None,
) -> tuple[int, int]:
    """The shortest and longest session (ms) that fitting to a target can make.

    Every whole millisecond from the first to the second, both included, is a target that
    :func:`compile_timeline` meets exactly, holding the timing rules and the fitting bounds
    (holds 10 s to 5 min unless written outside it, other parts 1/4 to 4 times their length);
    every other target is refused with a :class:`CompileError` naming this range. The range
    always holds the length the routine has without a target (up to the 6-hour limit).

    Breathing changes by whole cycles while holds, pauses and find times change by the
    millisecond. A breathe step whose cycle is longer than what the rest can stretch across
    would leave gaps of lengths no count of cycles reaches; such a step keeps its written
    number of cycles, so the range has no gaps. That only happens in routines with few or
    short elastic parts (no press step, short pauses).

    Args:
        routine: A loaded routine.
        library: The point library.
        measure: ``measure(text) -> ms``, as for :func:`compile_timeline`.
        options: Listener profile, cue lengths and pacing; ``target_ms`` is ignored.

    Returns:
        ``(shortest_ms, longest_ms)``; the longest is at most 6 hours.

    Raises:
        CompileError: As :func:`compile_timeline` does for the profile, or the session would
            last more than 6 hours even at its shortest.
    """
    options = _with_max_hold(options or CompileOptions(), routine)
    _, _, _, _, blocks = _prepare(routine, library, options)
    measured = _Measured(measure)
    plan = _plan(blocks, measured, options)
    if routine.max_hold_ms is not None:
        return plan.shortest_ms, _dose_ms(blocks, measured, options)
    return plan.shortest_ms, plan.longest_ms


def _check_avoid(
    routine: Routine, library: PointLibrary, avoid: tuple[str, ...]
) -> tuple[str, ...]:
    wanted: list[str] = []
    for cond in avoid:
        if cond not in library.conditions:
            raise CompileError(
                f"unknown condition {cond!r} to avoid{did_you_mean(cond, library.conditions)} "
                f"(known: {', '.join(library.conditions)})"
            )
        if cond not in wanted:
            wanted.append(cond)
    unsuitable = [c for c in wanted if c in routine.cautions]
    if unsuitable:
        spoken = ", ".join(library.conditions[c].spoken for c in unsuitable)
        raise CompileError(
            f"{routine.title!r} is not suitable with {spoken}: the routine lists "
            f"{', '.join(unsuitable)} under `cautions`, so no session is made. Choose another "
            "routine (`acuvoice routines`), and ask a clinician before self-treatment."
        )
    return tuple(wanted)


def _omissions(routine: Routine, library: PointLibrary, avoid: tuple[str, ...]) -> list[Omission]:
    out: list[Omission] = []
    for i, step in enumerate(routine.steps):
        if isinstance(step, PressStep) and admitted(step.gates, avoid):
            hits = tuple(c for c in library.get(step.point).contraindications if c in avoid)
            if hits:
                out.append(Omission(step.point, i, hits))
    return out


# -- building blocks --------------------------------------------------------------------------


class _Builder:
    def __init__(
        self,
        routine: Routine,
        library: PointLibrary,
        catalog: Catalog,
        options: CompileOptions,
        omitted: list[Omission],
        *,
        shortened: bool = False,
    ) -> None:
        self.routine = routine
        self.avoid = options.avoid
        self.shortened = shortened
        self.library = library
        self.catalog = catalog
        self.pacing = options.pacing
        self.omitted = omitted
        self.blocks: list[_Block] = []
        self.pressed_any = False

    def add_text(self, text: str, role: str, step: int | None, after_ms: int) -> None:
        """Narrate ``text`` sentence by sentence, then keep ``after_ms`` of silence."""
        sentences = split_sentences(text)
        for k, sentence in enumerate(sentences):
            self.blocks.append(_Speech(sentence, role, step))
            last = k == len(sentences) - 1
            gap = after_ms if last else self.pacing.sentence_gap_ms
            if gap:
                self.blocks.append(_Gap(gap, step))

    def build(self) -> list[_Block]:
        c, p = self.catalog, self.pacing
        self.blocks.append(_Chapter(c.say("chapter_welcome")))
        self.blocks.append(_Cue("start", None))
        self.blocks.append(_Gap(p.cue_gap_ms, None))
        self.add_text(c.say("welcome", title=self.routine.title), "welcome", None, p.section_gap_ms)
        if self.routine.safety_notice:
            self.add_text(c.say("safety_notice"), "safety", None, p.section_gap_ms)
            if self.routine.cautions:
                self.add_text(self.cautions_notice(), "safety", None, p.section_gap_ms)
        if self.omitted:
            self.add_text(self.avoid_notice(), "notice", None, p.section_gap_ms)
        if self.shortened:
            duration = c.duration(self.pacing.hold_max_ms)
            self.add_text(
                c.say("shortened_notice", duration=duration), "notice", None, p.section_gap_ms
            )
        skipped = {o.step for o in self.omitted}
        for index, step in enumerate(self.routine.steps):
            if index not in skipped and admitted(step.gates, self.avoid):
                self.add_step(index, step)
        self.add_text(c.say("closing"), "closing", None, p.cue_gap_ms)
        self.blocks.append(_Cue("end", None))
        return self.blocks

    def cautions_notice(self) -> str:
        """The routine's own ``cautions``, spoken with the conditions' names."""
        spoken = [self.library.conditions[x].spoken for x in self.routine.cautions]
        return self.catalog.say("cautions_notice", conditions=self.catalog.join(spoken))

    def avoid_notice(self) -> str:
        c = self.catalog
        conditions = sorted({cond for o in self.omitted for cond in o.conditions})
        spoken = c.join([self.library.conditions[x].spoken for x in conditions])
        names = c.join(list(dict.fromkeys(self.library.get(o.point).name for o in self.omitted)))
        key = "avoid_notice_one" if len(self.omitted) == 1 else "avoid_notice_many"
        return c.say(key, conditions=spoken, count=len(self.omitted), names=names)

    def add_step(self, index: int, step: Step) -> None:
        p = self.pacing
        if isinstance(step, SayStep):
            self.add_text(step.text, "say", index, step.then_ms)
        elif isinstance(step, PauseStep):
            self.blocks.append(_Gap(step.pause_ms, index, elastic=step.elastic, label="pause"))
        elif isinstance(step, CueStep):
            self.blocks.append(_Cue(step.sound, index))
            self.blocks.append(_Gap(p.cue_gap_ms, index))
        elif isinstance(step, ChapterStep):
            self.blocks.append(_Chapter(step.title))
        elif isinstance(step, BreatheStep):
            self.add_breathe(index, step)
        else:
            self.add_press(index, step)

    def add_breathe(self, index: int, step: BreatheStep) -> None:
        voiced = {
            BreathGuide.VOICE: step.cycles,
            BreathGuide.TONES: 0,
            BreathGuide.BOTH: min(self.pacing.voiced_breaths, step.cycles),
        }[step.guide]
        intro = self.catalog.say(f"breathe_intro_{step.guide.value}")
        self.add_text(intro, "guide", index, self.pacing.phrase_gap_ms)
        self.blocks.append(
            _Breath(step.cycles, step.inhale_ms, step.hold_ms, step.exhale_ms, voiced, index)
        )
        self.blocks.append(_Gap(self.pacing.phrase_gap_ms, index))

    def add_press(self, index: int, step: PressStep) -> None:
        c, p = self.catalog, self.pacing
        point = self.library.get(step.point)
        for rep in range(step.repeat):
            if rep == 0:
                key = "point_intro" if self.pressed_any else "point_intro_first"
                self.add_text(c.say(key, name=point.spoken_name), "point", index, p.phrase_gap_ms)
                self.add_text(point.location, "point", index, p.phrase_gap_ms)
                if point.caution:
                    self.add_text(point.caution, "caution", index, p.phrase_gap_ms)
                self.add_text(self.technique_text(step, point), "technique", index, p.phrase_gap_ms)
                if step.say:
                    self.add_text(step.say, "say", index, p.phrase_gap_ms)
            else:
                self.add_text(c.say("repeat"), "repeat", index, p.phrase_gap_ms)
            self.pressed_any = True
            self.add_text(c.say("find"), "find", index, 0)
            self.blocks.append(_Gap(step.find_ms, index, elastic=True, label="find"))
            sides = ["left", "right"] if step.side is Side.ALTERNATE else [step.side.value]
            for k, side in enumerate(sides):
                if k:
                    self.blocks.append(_Cue("switch", index))
                    self.blocks.append(_Gap(p.cue_gap_ms, index))
                    self.add_text(c.say("switch"), "switch", index, 0)
                    self.blocks.append(_Gap(step.find_ms, index, elastic=True, label="find"))
                self.blocks.append(
                    _Hold(step.point, side, step.hold_ms, step.reminders_ms, step.countdown, index)
                )
                self.blocks.append(_Cue("release", index))
                self.blocks.append(_Gap(p.cue_gap_ms, index))
                self.add_text(c.say("release"), "release", index, p.phrase_gap_ms)

    def technique_text(self, step: PressStep, point: Point) -> str:
        c = self.catalog
        pressure = c.choice("pressures", step.pressure.value)
        parts = [
            c.choice("sides", step.side.value),
            c.choice("techniques", step.technique.value, pressure=pressure),
        ]
        if point.hint:
            parts.append(point.hint)
        return " ".join(part for part in parts if part)


# -- fitting ----------------------------------------------------------------------------------


class _Measured:
    """Caches ``measure`` so each distinct text is measured once per compile."""

    def __init__(self, measure: Measure) -> None:
        self.measure = measure
        self.cache: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        if text not in self.cache:
            ms = int(self.measure(text))
            if ms < 0:
                raise CompileError(f"speech length of {text!r} came out negative ({ms} ms)")
            self.cache[text] = ms
        return self.cache[text]


@dataclass(frozen=True, slots=True)
class _Elastic:
    """One elastic block: its written size and bounds (ms, or cycles for breathing)."""

    index: int
    written: int
    lo: int
    hi: int
    unit_ms: int = 1  # ms per unit: 1 for time, the cycle length for breathing

    def at(self, factor: float) -> float:
        value = min(max(self.written * factor, self.lo), self.hi)
        if self.unit_ms != 1:
            return float(min(max(round(self.written * factor), self.lo), self.hi))
        return value


@dataclass(frozen=True, slots=True)
class _Plan:
    """What target fitting can do with a routine's blocks.

    Attributes:
        fixed_ms: Everything that never changes: narration, cues, fixed gaps.
        smooth: Continuous parts (holds, elastic pauses, find times), in ms.
        breaths: Breathing that changes by whole cycles, shortest cycle first.
        frozen: Breathing whose cycle is longer than the other parts can take up; it keeps
            its written number of cycles (otherwise some targets would fall between counts).
        shortest_ms: The shortest session fitting can make.
        longest_ms: The longest one (at most 6 hours).
    """

    fixed_ms: int
    smooth: tuple[_Elastic, ...]
    breaths: tuple[_Elastic, ...]
    frozen: tuple[_Elastic, ...]
    shortest_ms: int
    longest_ms: int

    @property
    def base_ms(self) -> int:
        """The fixed parts plus the breathing that keeps its cycles."""
        return self.fixed_ms + sum(e.written * e.unit_ms for e in self.frozen)


def _elastic_parts(blocks: list[_Block], pacing: Pacing) -> tuple[list[_Elastic], list[_Elastic]]:
    """(continuous parts in ms, breathing parts in cycles)."""
    smooth: list[_Elastic] = []
    breaths: list[_Elastic] = []
    for i, b in enumerate(blocks):
        if isinstance(b, _Hold):
            smooth.append(
                _Elastic(i, b.ms, min(pacing.hold_min_ms, b.ms), max(pacing.hold_max_ms, b.ms))
            )
        elif isinstance(b, _Gap) and b.elastic:
            lo = round_ms(b.ms * pacing.min_factor)
            smooth.append(_Elastic(i, b.ms, lo, round_ms(b.ms * pacing.max_factor)))
        elif isinstance(b, _Breath):
            cycle = b.inhale_ms + b.hold_ms + b.exhale_ms
            lo = max(1, math.ceil(b.cycles * pacing.min_factor))
            breaths.append(
                _Elastic(i, b.cycles, lo, math.floor(b.cycles * pacing.max_factor), cycle)
            )
    return smooth, breaths


def _fixed_ms(block: _Block, measured: _Measured, cue_ms: Mapping[str, int]) -> int:
    if isinstance(block, _Speech):
        return measured(block.text)
    if isinstance(block, _Gap):
        return 0 if block.elastic else block.ms
    if isinstance(block, _Cue):
        return cue_ms.get(block.sound, 0)
    return 0


def _plan(blocks: list[_Block], measured: _Measured, options: CompileOptions) -> _Plan:
    """The parts fitting may change, and the range of lengths they can reach without gaps.

    The continuous parts reach every whole millisecond between their shortest and longest
    sum. Breathing moves by whole cycles; taken shortest cycle first, a breathing part whose
    cycle is at most one millisecond longer than the span already reachable keeps that span
    gapless (each extra cycle lands inside or right after it) and widens it. A longer cycle
    would leave lengths that no count of cycles reaches, so that part keeps its cycles.
    """
    smooth, breathing = _elastic_parts(blocks, options.pacing)
    fixed = sum(_fixed_ms(b, measured, options.cue_ms) for b in blocks)
    lo = sum(e.lo for e in smooth)
    hi = sum(e.hi for e in smooth)
    breaths: list[_Elastic] = []
    frozen: list[_Elastic] = []
    for e in sorted(breathing, key=lambda e: e.unit_ms):
        if e.unit_ms <= hi - lo + 1:
            breaths.append(e)
            lo += e.lo * e.unit_ms
            hi += e.hi * e.unit_ms
        else:
            frozen.append(e)
    base = fixed + sum(e.written * e.unit_ms for e in frozen)
    if base + lo > MAX_SESSION_MS:
        raise CompileError(
            f"the session would last at least {describe_ms(base + lo)}; the most is 6 hours"
        )
    return _Plan(
        fixed,
        tuple(smooth),
        tuple(breaths),
        tuple(frozen),
        base + lo,
        min(base + hi, MAX_SESSION_MS),
    )


def _fit(
    blocks: list[_Block], measured: _Measured, options: CompileOptions, target: int | None
) -> dict[int, int]:
    """Sizes of the elastic blocks (ms, or cycles for breathing), fitted to ``target``."""
    if target is None:
        parts = [e for group in _elastic_parts(blocks, options.pacing) for e in group]
        fixed = sum(_fixed_ms(b, measured, options.cue_ms) for b in blocks)
        total = fixed + sum(e.written * e.unit_ms for e in parts)
        if total > MAX_SESSION_MS:
            raise CompileError(f"the session would last {describe_ms(total)}; the most is 6 hours")
        return {e.index: e.written for e in parts}
    plan = _plan(blocks, measured, options)
    if not plan.shortest_ms <= target <= plan.longest_ms:
        raise CompileError(_range_message(target, plan, options.pacing))
    smooth, breaths, base = plan.smooth, plan.breaths, plan.base_ms

    def total_at(factor: float, cycles: Mapping[int, int] | None = None) -> float:
        out = base + sum(e.at(factor) for e in smooth)
        for e in breaths:
            n = cycles[e.index] if cycles is not None else e.at(factor)
            out += n * e.unit_ms
        return out

    top = max([options.pacing.max_factor, *(e.hi / max(e.written, 1) for e in smooth)]) * 2
    # The smallest common factor that reaches the target gives each breathing part its count
    # of cycles. Several parts may gain a cycle at that same factor, together more than the
    # continuous parts can take up: then parts give back the cycle gained there, shortest
    # cycle first, until the continuous parts can take up the rest.
    below, factor = _bisect(lambda f: total_at(f) >= target, 0.0, top)
    cycles = {e.index: int(e.at(factor)) for e in breaths}
    span = (sum(e.lo for e in smooth), sum(e.hi for e in smooth))

    def rest() -> int:
        return target - base - sum(cycles[e.index] * e.unit_ms for e in breaths)

    for e in breaths:
        while rest() < span[0] and cycles[e.index] > e.at(below):
            cycles[e.index] -= 1
    if not span[0] <= rest() <= span[1]:
        # Only a longer cycle than the continuous parts span gets here; the shorter
        # breathing parts bridge it (that is what _plan checked).
        cycles = _settle_cycles(breaths, span, target - base, cycles)
    _, f = _bisect(lambda x: total_at(x, cycles) >= target, 0.0, top)
    sizes = {e.index: round_ms(e.at(f)) for e in smooth}
    sizes.update(cycles)
    sizes.update({e.index: e.written for e in plan.frozen})
    residual = target - (
        base
        + sum(sizes[e.index] for e in smooth)
        + sum(sizes[e.index] * e.unit_ms for e in breaths)
    )
    # Rounding to whole ms leaves a few ms over or under: give them to parts with room.
    for e in sorted(smooth, key=lambda e: -sizes[e.index]):
        if residual == 0:
            break
        room = (e.hi - sizes[e.index]) if residual > 0 else (e.lo - sizes[e.index])
        step = max(residual, room) if residual < 0 else min(residual, room)
        sizes[e.index] += step
        residual -= step
    if residual:
        raise AssertionError(f"fitting to {target} ms left {residual} ms over (a bug)")
    return sizes


def _settle_cycles(
    breaths: tuple[_Elastic, ...], span: tuple[int, int], total: int, wanted: Mapping[int, int]
) -> dict[int, int]:
    """Cycle counts as near ``wanted`` as lets the continuous parts (``span``) fill ``total``.

    ``breaths`` come shortest cycle first, each cycle no longer than the span of the
    continuous parts and the breathing before it, so every total in between is reachable.
    Longest cycle first, each part takes the count nearest the wanted one that leaves a
    remainder the parts before it can still reach.
    """
    lo = span[0] + sum(e.lo * e.unit_ms for e in breaths)
    hi = span[1] + sum(e.hi * e.unit_ms for e in breaths)
    cycles: dict[int, int] = {}
    for e in reversed(breaths):
        lo -= e.lo * e.unit_ms
        hi -= e.hi * e.unit_ms
        fewest = max(e.lo, -((hi - total) // e.unit_ms))
        most = min(e.hi, (total - lo) // e.unit_ms)
        cycles[e.index] = min(max(wanted[e.index], fewest), most)
        total -= cycles[e.index] * e.unit_ms
    return cycles


def _bisect(reached: Callable[[float], bool], lo: float, hi: float) -> tuple[float, float]:
    """Narrow ``(lo, hi)`` around where ``reached`` turns true (it must be true at ``hi``)."""
    for _ in range(100):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break  # adjacent floats: further halving changes nothing
        if reached(mid):
            hi = mid
        else:
            lo = mid
    return lo, hi


def _range_message(target: int, plan: _Plan, pacing: Pacing) -> str:
    if target < plan.fixed_ms:
        why = f"the narration alone lasts {describe_ms(plan.fixed_ms)}"
    elif target > MAX_SESSION_MS:
        why = "a session lasts at most 6 hours"
    else:
        why = (
            f"holds stay between {describe_ms(pacing.hold_min_ms)} and "
            f"{describe_ms(pacing.hold_max_ms)} and other parts within "
            "1/4 and 4 times their length"
        )
        if plan.frozen:
            why += (
                ", and breathing keeps its number of cycles where the rest cannot take up "
                "a whole cycle"
            )
    return (
        f"cannot fit the session to {describe_ms(target)}: {why}; with this voice it can last "
        f"from {_describe_range(plan.shortest_ms, plan.longest_ms)}. Choose a target in that "
        "range, or change the routine."
    )


def _describe_range(lo: int, hi: int) -> str:
    """``"A to B"`` with A rounded up and B down to what is shown, so both can be met."""

    def step(ms: int) -> int:
        return 60_000 if ms >= 3_600_000 else 1000 if ms >= 1000 else 1

    shown_lo = -(-lo // step(lo)) * step(lo)
    shown_hi = hi // step(hi) * step(hi)
    if shown_lo > shown_hi:  # a range narrower than the rounding: show it to the millisecond
        return f"{format_ms(lo, precise=True)} to {format_ms(hi, precise=True)}"
    return f"{describe_ms(shown_lo)} to {describe_ms(shown_hi)}"


# -- layout -----------------------------------------------------------------------------------


def _layout(
    blocks: list[_Block],
    sizes: Mapping[int, int],
    measured: _Measured,
    catalog: Catalog,
    options: CompileOptions,
) -> tuple[list[Event], list[Chapter], int]:
    cue_ms, pacing = options.cue_ms, options.pacing
    events: list[Event] = []
    chapters: list[Chapter] = []
    reminders = _cycle(catalog.variants("reminders"))
    t = 0
    for i, b in enumerate(blocks):
        if isinstance(b, _Chapter):
            if chapters and chapters[-1].start_ms == t:
                chapters[-1] = Chapter(t, b.title)  # a chapter with nothing in it gives way
            else:
                chapters.append(Chapter(t, b.title))
        elif isinstance(b, _Speech):
            ms = measured(b.text)
            events.append(Event(EventKind.SPEECH, t, t + ms, b.step, text=b.text, role=b.role))
            t += ms
        elif isinstance(b, _Gap):
            ms = sizes.get(i, b.ms)
            if b.label and ms:
                events.append(Event(EventKind.PAUSE, t, t + ms, b.step, label=b.label))
            t += ms
        elif isinstance(b, _Cue):
            ms = cue_ms.get(b.sound, 0)
            events.append(Event(EventKind.CUE, t, t + ms, b.step, sound=b.sound))
            t += ms
        elif isinstance(b, _Hold):
            ms = sizes.get(i, b.ms)
            events.extend(_hold_events(b, t, ms, measured, catalog, reminders, cue_ms, pacing))
            t += ms
        elif isinstance(b, _Breath):
            cycles = sizes.get(i, b.cycles)
            events.extend(_breath_events(b, t, cycles, measured, catalog, cue_ms, pacing))
            t += cycles * (b.inhale_ms + b.hold_ms + b.exhale_ms)
    return events, chapters, t


def _cycle(items: tuple[str, ...] | list[str] | object) -> Iterator[str]:
    assert isinstance(items, (tuple, list))
    while True:
        yield from items


def _hold_events(
    b: _Hold,
    start: int,
    hold_ms: int,
    measured: _Measured,
    catalog: Catalog,
    reminders: Iterator[str],
    cue_ms: Mapping[str, int],
    pacing: Pacing,
) -> list[Event]:
    """The press cue, the hold, spoken prompts that fit inside it, and countdown ticks."""
    end = start + hold_ms
    press_end = start + cue_ms.get("press", 0)
    out = [
        Event(EventKind.CUE, start, press_end, b.step, sound="press"),
        Event(EventKind.HOLD, start, end, b.step, point=b.point, side=b.side),
    ]
    tick_ms = cue_ms.get("tick", 0)
    ticks = [end - k * pacing.tick_every_ms for k in range(b.countdown, 0, -1)]
    ticks = [s for s in ticks if s >= press_end + pacing.cue_gap_ms]
    # Speech must end before the first tick (or the release cue), with a small gap.
    window_end = (ticks[0] if ticks else end) - pacing.cue_gap_ms
    cursor = press_end + pacing.cue_gap_ms

    def speak(text: str, at: int, role: str) -> bool:
        nonlocal cursor
        ms = measured(text)
        begin = max(at, cursor)
        if begin + ms > window_end:
            return False
        out.append(Event(EventKind.SPEECH, begin, begin + ms, b.step, text=text, role=role))
        cursor = begin + ms + pacing.phrase_gap_ms
        return True

    # Saying how long to hold helps a listener with closed eyes; where the longer phrase
    # does not fit before the first reminder window closes, the short one is said instead.
    said = hold_ms <= catalog.max_duration_ms and speak(
        catalog.say("press_hold", duration=catalog.duration(hold_ms)), cursor, "press"
    )
    if not said:
        speak(catalog.say("press"), cursor, "press")
    if b.reminders_ms:
        k = 1
        while start + k * b.reminders_ms < window_end:
            if not speak(next(reminders), start + k * b.reminders_ms, "reminder"):
                break  # a reminder that does not fit is dropped, never moved past the hold
            k += 1
    out.extend(Event(EventKind.CUE, s, s + tick_ms, b.step, sound="tick") for s in ticks)
    return out


def _breath_events(
    b: _Breath,
    start: int,
    cycles: int,
    measured: _Measured,
    catalog: Catalog,
    cue_ms: Mapping[str, int],
    pacing: Pacing,
) -> list[Event]:
    """Breath phases, each with its word (on voiced cycles, when it fits) or its soft tone."""
    out: list[Event] = []
    t = start
    phases = [
        ("in", b.inhale_ms, "breathe_in", "inhale"),
        ("hold", b.hold_ms, "breathe_hold", None),
        ("out", b.exhale_ms, "breathe_out", "exhale"),
    ]
    for n in range(1, cycles + 1):
        for phase, ms, phrase, tone in phases:
            if not ms:
                continue
            out.append(Event(EventKind.BREATH, t, t + ms, b.step, phase=phase, cycle=n))
            text = catalog.say(phrase)
            if n <= b.voiced and measured(text) + pacing.cue_gap_ms <= ms:
                out.append(
                    Event(EventKind.SPEECH, t, t + measured(text), b.step, text=text, role="breath")
                )
            elif tone is not None:
                out.append(
                    Event(EventKind.CUE, t, t + min(cue_ms.get(tone, 0), ms), b.step, sound=tone)
                )
            t += ms
    return out
