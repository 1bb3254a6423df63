"""``acuvoice script``: print the timed narration script of a routine."""

from __future__ import annotations

from pathlib import Path

import click

from acuvoice.cli.options import (
    ClickProgress,
    UserPath,
    language_option,
    report_omissions,
    routine_arg,
    session_options,
    timeline_options,
)
from acuvoice.export.formats import SCRIPT_FORMAT_NAMES
from acuvoice.files import write_text_atomic


@click.command("script")
@click.argument("routine")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(list(SCRIPT_FORMAT_NAMES)),
    default="text",
    show_default=True,
    help="text: readable timed script; json: the timeline (see the format docs); vtt/srt/txt: "
    "transcripts; ssml: speech markup; chapters-vtt, chapters-json (Podcasting 2.0), audacity "
    "(label track), ffmetadata: chapters.",
)
@click.option(
    "-o",
    "--output",
    type=UserPath(),
    help="Write to this file instead of standard output.",
)
@language_option
@timeline_options
def command(
    routine: str,
    language: str | None,
    fmt: str,
    output: Path | None,
    engine: str | None,
    voice: str | None,
    rate: float | None,
    target: int | None,
    avoid: tuple[str, ...],
    cues: str | None,
    cache_dir: Path | None,
) -> None:
    """Print the timed narration script of ROUTINE.

    \b
    Examples:
      acuvoice script lower-back-pain
      acuvoice script lower-back-pain --target 12m --format json
      acuvoice script my-routine.yaml --avoid pregnancy --format vtt -o my-routine.vtt
      acuvoice script lower-back-pain --engine estimate     (no voice: quick, approximate)

    Speech lengths come from the voice that `render` would use (synthesized once and cached),
    so the script is exactly the session `render` makes with the same options.
    """
    from acuvoice.app import RenderRequest, script
    from acuvoice.export.scripts import format_script

    request = RenderRequest(
        routine=routine_arg(routine).in_language(language),
        session=session_options(
            engine=engine, voice=voice, rate=rate, target=target, avoid=avoid, cues=cues
        ),
    )
    timeline = script(request, cache_dir=cache_dir, progress=ClickProgress()).timeline
    report_omissions(timeline)
    text = format_script(timeline, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
