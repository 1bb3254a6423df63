"""Options and helpers shared by several commands: flags in, request parts out."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from acuvoice.errors import UsageError
from acuvoice.session import SessionOptions
from acuvoice.units import parse_duration_ms

if TYPE_CHECKING:  # imported where used: `--help` loads no routine machinery
    from acuvoice.app import RoutineRef
    from acuvoice.timeline import Timeline

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


def user_path(value: str | Path) -> Path:
    """A path as the user typed it: ``~`` expanded, relative to the current folder, absolute."""
    return Path(value).expanduser().absolute()


class UserPath(click.ParamType):  # type: ignore[type-arg]  # generic in click >= 8.2 only
    """A path option: ``~`` expanded and made absolute against the folder the user is in."""

    name = "path"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        if not str(value):
            self.fail("an empty path names nothing", param, ctx)
        return user_path(value)


def language_option(fn: F) -> F:
    """``--language TAG``: a built-in routine's translation; must agree with a routine file."""
    return click.option(
        "--language",
        metavar="TAG",
        help="Language of the session (es, fr, de, en...): picks a built-in routine's translation; a routine file decides its own language with `language:`, and a different --language is an error.",
    )(fn)


def scheduler_options(what: str) -> Callable[[F], F]:
    """``--scheduler`` and ``--scheduler-file``: run ``what`` on a Dask cluster."""

    def add(fn: F) -> F:
        fn = click.option(
            "--scheduler-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Like --scheduler, with the file `dask scheduler --scheduler-file` wrote.",
        )(fn)
        return click.option(
            "--scheduler",
            metavar="ADDRESS",
            help=f"Run {what} on this Dask cluster (e.g. tcp://10.0.0.5:8786) instead of "
            "here; the output and the cache must be on a file system every worker shares.",
        )(fn)

    return add


def dask_scheduler(scheduler: str | None, scheduler_file: Path | None) -> Path | None:
    """Check the two options; returns the scheduler file made absolute (or ``None``)."""
    if scheduler and scheduler_file:
        raise click.UsageError("give --scheduler or --scheduler-file, not both")
    return scheduler_file.absolute() if scheduler_file else None


def timeline_options(fn: F) -> F:
    """The options that decide a timeline: voice, target, listener profile, cue set, cache."""
    options = [
        click.option(
            "--engine",
            metavar="NAME",
            help="Speech engine: auto (the best installed voice for the language), hibari, piper, pyttsx3, or estimate (no voice: 150 words a minute; `script` only). Overrides the routine's voice.engine.",
        ),
        click.option(
            "--voice",
            metavar="ID",
            help="A voice `acuvoice voices` lists (its engine is found for you), or the path of a voice file. Overrides voice.name.",
        ),
        click.option(
            "--rate",
            type=click.FloatRange(0.5, 2.0),
            help="Speaking-rate multiplier of the calm default pace (about 135 words a minute), 0.5..2.0 (overrides the routine's voice.rate).",
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
            type=UserPath(),
            help="Where synthesized speech is kept (default: $ACUVOICE_CACHE_DIR, else $XDG_CACHE_HOME/acuvoice).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


#: Where a ROUTINE argument of ``-`` is read from.
STDIN_NAME = "<stdin>"


def routine_arg(value: str) -> RoutineRef:
    """A ROUTINE argument: a path, a built-in routine's name, or ``-`` for YAML on stdin.

    A routine read from stdin has no folder (no includes or sound files) and is named after
    its title.
    """
    from acuvoice.app import RoutineRef

    if value == "-":
        stream = sys.stdin
        if stream.isatty():
            raise UsageError(
                "ROUTINE '-' reads a routine from standard input; pipe one in, as in "
                "`acuvoice render - < my-routine.yaml`"
            )
        return RoutineRef.yaml(stream.read(), shown=STDIN_NAME)
    return RoutineRef.from_argument(value, Path.cwd())


def sound_arg(key: str, value: str | None) -> str | None:
    """A ``--cues``/``--ambience`` value as a request takes it: a built-in name or an absolute path.

    Raises:
        UsageError: Not a built-in name, and no such folder (cues) or file (ambience) here.
    """
    from acuvoice.routine.loader import sound_spec_problem
    from acuvoice.routine.model import AMBIENCES, CUE_SETS

    if value is None:
        return None
    names = CUE_SETS if key == "cues" else AMBIENCES
    if value in names:
        return value
    why = sound_spec_problem(key, value, Path.cwd())
    if why:
        raise UsageError(f"--{key} {why}")
    return str(user_path(value))


def voice_arg(value: str | None) -> str | None:
    """A ``--voice`` value: a voice file's path made absolute, a voice id as typed."""
    from acuvoice.routine.loader import looks_like_voice_file

    if value is None:
        return None
    path = user_path(value)
    if looks_like_voice_file(value) or path.is_file():
        return str(path)
    return value


def session_options(
    *,
    engine: str | None,
    voice: str | None,
    rate: float | None,
    target: int | None,
    avoid: tuple[str, ...],
    cues: str | None,
    ambience: str | None = None,
    ambience_db: float | None = None,
    duck_db: float | None = None,
    loudness: float | None = None,
    sample_rate: int = 44_100,
) -> SessionOptions:
    """The session part of a request, from the command line's flags."""
    return SessionOptions(
        engine=engine,
        voice=voice_arg(voice),
        rate=rate,
        target_ms=target,
        avoid=avoid,
        cues=sound_arg("cues", cues),
        ambience=sound_arg("ambience", ambience),
        ambience_db=ambience_db,
        duck_db=duck_db,
        loudness_lufs=loudness,
        sample_rate=sample_rate,
    )


class ClickProgress:
    """A progress bar on stderr (shown only on a terminal), one per phase; warnings always."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def start(self, label: str, total: int, phase: str = "") -> None:
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

    def warn(self, message: str) -> None:
        click.echo(f"warning: {message}", err=True)


def report_omissions(timeline: Timeline) -> None:
    """A ``note:`` line on stderr for every point left out for the listener profile."""
    for o in timeline.omitted:
        name = timeline.points.get(o.point, "")
        click.echo(
            f"note: left out {o.point} {name} (step {o.step}): not advised with {', '.join(o.conditions)}",
            err=True,
        )
