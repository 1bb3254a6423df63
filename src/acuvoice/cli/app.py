"""The ``acuvoice`` command group; each command lives in its own module."""

from __future__ import annotations

import click

from acuvoice import __version__
from acuvoice.cli import (
    cmd_batch,
    cmd_feed,
    cmd_new,
    cmd_plan,
    cmd_points,
    cmd_render,
    cmd_routines,
    cmd_schema,
    cmd_script,
    cmd_serve,
    cmd_validate,
    cmd_voices,
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Start here:  acuvoice render lower-back-pain -o lower-back.mp3   (the built-in 15-minute session)",
)
@click.version_option(__version__, prog_name="acuvoice")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors (for bug reports).")
def cli(debug: bool) -> None:
    """Turn acupressure routines (YAML) into timed, guided sessions.

    A ROUTINE is a path to a routine file, the name of a built-in routine
    (see `acuvoice routines`), or - to read one from standard input. Exit status: 0 success, 1 a failure while rendering,
    2 bad usage or an invalid routine, 130 interrupted (Ctrl-C; nothing is left half-written).
    """


for _module in (
    cmd_render,
    cmd_batch,
    cmd_feed,
    cmd_script,
    cmd_validate,
    cmd_routines,
    cmd_points,
    cmd_plan,
    cmd_voices,
    cmd_new,
    cmd_schema,
    cmd_serve,
):
    cli.add_command(_module.command)
