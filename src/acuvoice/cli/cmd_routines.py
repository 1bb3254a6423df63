"""``acuvoice routines``: list the built-in routines."""

from __future__ import annotations

import click

from acuvoice.app import builtin_summaries
from acuvoice.units import format_ms


@click.command("routines")
def command() -> None:
    """List the built-in routines with their length, points and cautions.

    Use a routine's name wherever a ROUTINE is asked for, e.g. `acuvoice script lower-back-pain`.
    Lengths are estimated at 150 words a minute; routines with a `target` last exactly that.
    """
    for routine in builtin_summaries():
        click.echo(f"{routine.name}  ({format_ms(routine.duration_ms)})  {routine.title}")
        if routine.summary:
            click.echo(f"    {routine.summary}")
        click.echo(f"    points: {', '.join(routine.points)}")
        if routine.cautions:
            click.echo(f"    not for: {', '.join(routine.cautions)}")
