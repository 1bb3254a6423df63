"""Options and helpers shared by several commands."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from acuvoice.compiler import CompileOptions, compile_timeline, cue_lengths
from acuvoice.errors import UsageError
from acuvoice.measure import WordsPerMinute
from acuvoice.points.library import builtin_library
from acuvoice.render import SessionOptions, prepare_session
from acuvoice.routine.loader import load_routine, sound_spec_problem
from acuvoice.routine.model import Routine
from acuvoice.timeline import Timeline
from acuvoice.units import parse_duration_ms

F = TypeVar("F", bound=Callable[..., Any])


class DurationParam(click.ParamType):  # type: ignore[type-arg]  # generic in click >= 8.2 only
    """A duration on the command line: ``12m``, ``90``, ``1m30s``."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_duration_ms(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def timeline_options(fn: F) -> F:
    """The options that decide a timeline: voice, target, listener profile, cue set."""
    options = [
        click.option(
            "--engine",
            metavar="NAME",
            help="Speech engine: auto (the best installed voice), piper, pyttsx3, or estimate (no voice: 150 words a minute; `script` only). Overrides the routine's voice.engine.",
        ),
        click.option(
            "--voice",
            metavar="ID",
            help="Voice id or path to a voice file (see `acuvoice voices`). Overrides voice.name.",
        ),
        click.option(
            "--rate",
            type=click.FloatRange(0.5, 2.0),
            help="Speaking-rate multiplier, 0.5..2.0 (overrides the routine's voice.rate).",
        ),
        click.option(
            "--target",
            type=DurationParam(),
            help="Fit the session to this length, e.g. 12m or 1m30s (overrides the routine's `target`; 0 turns fitting off).",
        ),
        click.option(
            "--avoid",
            multiple=True,
            metavar="CONDITION",
            help="Leave out points not advised with a condition, e.g. --avoid pregnancy (repeatable; `acuvoice points --conditions` lists them).",
        ),
        click.option(
            "--cues",
            metavar="SET",
            help="Cue set: bowl, chime, beep, soft or none, or a folder of sound files (overrides sound.cues).",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Where synthesized speech is kept (default: $ACUVOICE_CACHE_DIR, else $XDG_CACHE_HOME/acuvoice).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


class ClickProgress:
    """A progress bar on stderr (shown only on a terminal), one per phase."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def start(self, label: str, total: int) -> None:
        if self.enabled and total > 0:
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr, show_eta=True)
            self.bar.__enter__()

    def advance(self, units: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(units)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def build_timeline(
    source: str,
    *,
    engine: str | None = None,
    voice: str | None = None,
    rate: float | None = None,
    target: int | None = None,
    avoid: tuple[str, ...] = (),
    cues: str | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> tuple[Routine, Timeline]:
    """Load and compile a routine with the command line's options.

    With a real engine this is exactly the timeline ``render`` uses (same voice, same
    clips, from the same cache); with ``estimate`` lengths come from 150 words a minute.
    """
    library = builtin_library()
    routine = load_routine(source, library=library)
    check_sound_options(cues)
    if (engine or routine.voice.engine) == "estimate":
        speed = rate if rate is not None else routine.voice.rate
        measure = WordsPerMinute(rate=speed)
        options = CompileOptions(
            target_ms=target,
            avoid=avoid,
            cue_ms=cue_lengths(cues or routine.sound.cues),
            voice=f"estimate: {measure.wpm:g} words per minute at rate {speed:g}",
        )
        return routine, compile_timeline(routine, library, measure, options)
    session = prepare_session(
        routine,
        SessionOptions(
            engine=engine,
            voice=voice,
            rate=rate,
            target_ms=target,
            avoid=avoid,
            cues=cues,
            cache_dir=cache_dir,
        ),
        library=library,
        progress=ClickProgress(progress),
    )
    return routine, session.timeline


def check_sound_options(cues: str | None = None, ambience: str | None = None) -> None:
    """Refuse ``--cues`` and ``--ambience`` values that name nothing, before any work is done.

    Raises:
        UsageError: Not a built-in name, and no such folder (cues) or file (ambience).
    """
    for key, value in (("cues", cues), ("ambience", ambience)):
        why = sound_spec_problem(key, value, Path.cwd()) if value is not None else None
        if why:
            raise UsageError(f"--{key} {why}")


def report_omissions(timeline: Timeline) -> None:
    """A ``note:`` line on stderr for every point left out for the listener profile."""
    for o in timeline.omitted:
        name = timeline.points.get(o.point, "")
        click.echo(
            f"note: left out {o.point} {name} (step {o.step}): not advised with {', '.join(o.conditions)}",
            err=True,
        )
