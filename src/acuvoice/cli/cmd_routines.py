"""``acuvoice routines``: list the built-in routines."""

from __future__ import annotations

import click

from acuvoice.errors import UsageError
from acuvoice.units import format_ms


@click.command("routines")
@click.option(
    "--language",
    metavar="TAG",
    help="List the built-in routines written in this language (es, fr, de...); default en.",
)
def command(language: str | None) -> None:
    """List the built-in routines with their length, points and cautions.

    Use a routine's name wherever a ROUTINE is asked for, e.g. `acuvoice script lower-back-pain`.
    Lengths are estimated at 150 words a minute; routines with a `target` last exactly that.
    A routine in another language is used with `--language`, as in
    `acuvoice render lower-back-pain --language es`.
    """
    from acuvoice.app import builtin_summaries
    from acuvoice.routine.loader import builtin_languages

    if language is not None:
        languages = builtin_languages()
        if language.split("-")[0].lower() not in languages:
            raise UsageError(
                f"no built-in routines in {language!r}; there are some in {', '.join(languages)}"
            )
    for routine in builtin_summaries(language=language):
        click.echo(f"{routine.name}  ({format_ms(routine.duration_ms)})  {routine.title}")
        if routine.summary:
            click.echo(f"    {routine.summary}")
        click.echo(f"    points: {', '.join(routine.points)}")
        if routine.cautions:
            click.echo(f"    not for: {', '.join(routine.cautions)}")
        left_out = [
            f"{cond} ({', '.join(codes)})"
            for cond, codes in routine.avoid_points.items()
            if cond not in routine.cautions
        ]
        if left_out:
            click.echo(f"    --avoid leaves out: {'; '.join(left_out)}")
