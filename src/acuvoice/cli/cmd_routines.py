"""``acuvoice routines``: list the built-in routines."""

from __future__ import annotations

import click

from acuvoice.cli.options import build_timeline
from acuvoice.routine.loader import builtin_routines
from acuvoice.timeline import EventKind
from acuvoice.units import format_ms


@click.command("routines")
def command() -> None:
    """List the built-in routines with their length, points and cautions.

    Use a routine's name wherever a ROUTINE is asked for, e.g. `acuvoice script lower-back-pain`.
    Lengths are estimated at 150 words a minute; routines with a `target` last exactly that.
    """
    for name in builtin_routines():
        routine, timeline = build_timeline(name, engine="estimate")
        points = ", ".join(dict.fromkeys(e.point or "" for e in timeline.of_kind(EventKind.HOLD)))
        click.echo(f"{name}  ({format_ms(timeline.duration_ms)})  {routine.title}")
        if routine.summary:
            click.echo(f"    {routine.summary}")
        click.echo(f"    points: {points}")
        if routine.cautions:
            click.echo(f"    not for: {', '.join(routine.cautions)}")
