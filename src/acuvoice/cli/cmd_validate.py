"""``acuvoice validate``: report every problem in one or more routines."""

from __future__ import annotations

import click

from acuvoice.compiler import CompileOptions, compile_timeline, cue_lengths
from acuvoice.errors import CompileError, Problem, RoutineError, Severity
from acuvoice.measure import WordsPerMinute
from acuvoice.points.library import builtin_library
from acuvoice.routine.lint import lint_routine
from acuvoice.routine.loader import load_routine, resolve_routine_path


@click.command("validate")
@click.argument("routines", nargs=-1, required=True, metavar="ROUTINE...")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def command(routines: tuple[str, ...], strict: bool) -> None:
    """Check ROUTINE files and report every problem as file:line:col.

    Exit status 0 when every routine is valid, 2 when any has an error (or, with --strict,
    a warning). Warnings point out what is valid but may mislead a listener, such as a point
    not advised in pregnancy with no caution for it.
    """
    library = builtin_library()
    failed = 0
    for source in routines:
        problems: list[Problem] = []
        try:
            routine = load_routine(source, library=library)
        except RoutineError as exc:
            problems = list(exc.problems)
        else:
            problems = lint_routine(routine, library)
            try:
                compile_timeline(
                    routine,
                    library,
                    WordsPerMinute(rate=routine.voice.rate),
                    CompileOptions(cue_ms=cue_lengths(routine.sound.cues)),
                )
            except CompileError as exc:
                _, shown, _ = resolve_routine_path(source)
                problems.append(Problem(shown, 0, 0, str(exc)))
        errors = [p for p in problems if p.severity is Severity.ERROR or strict]
        for p in problems:
            click.echo(str(p), err=True)
        if errors:
            failed += 1
            click.echo(
                f"{source}: invalid ({len(errors)} error{'s' * (len(errors) != 1)})", err=True
            )
        else:
            warnings = len(problems)
            note = f" ({warnings} warning{'s' * (warnings != 1)})" if warnings else ""
            click.echo(f"{source}: ok{note}")
    if failed:
        raise click.exceptions.Exit(2)
