"""``acuvoice voices``: the speech engines and voices that work here, with their licenses."""

from __future__ import annotations

import click

from acuvoice.engines.registry import INSTALL_HINTS, engine_names, get_engine


@click.command("voices")
@click.option(
    "--language", metavar="TAG", help="Only voices for this language (en, en-GB, de, ...)."
)
@click.option(
    "--all", "show_all", is_flag=True, help="List every voice (espeak-ng alone has dozens)."
)
def command(language: str | None, show_all: bool) -> None:
    """List speech engines, their voices, languages and licenses, and why an engine is unavailable.

    `--engine auto` (the default) picks the highest-ranked available engine with a voice for
    the routine's language: a neural voice (hibari for English) where there is one.
    """
    for name in engine_names():
        engine = get_engine(name)
        status = engine.availability()
        head = f"{name}  (engine license: {engine.license})"
        if not status.ok:
            hint = status.hint or INSTALL_HINTS.get(name, "")
            click.echo(f"{head}: not available: {status.reason}" + (f"; {hint}" if hint else ""))
            continue
        voices = engine.voices()
        if language:
            want = language.lower()
            voices = [
                v
                for v in voices
                if v.language.lower() == want
                or v.language.lower().split("-")[0] == want.split("-")[0]
            ]
        click.echo(
            f"{head}: {len(voices)} voice{'s' * (len(voices) != 1)}{' for ' + language if language else ''}"
        )
        shown = voices if show_all or len(voices) <= 12 else voices[:10]
        for v in shown:
            click.echo(f"    {v.id:28} {v.language:8} {v.quality:8} {v.license}")
            if v.description:
                click.echo(f"    {'':28} {v.description}")
        if len(shown) < len(voices):
            click.echo(f"    ... and {len(voices) - len(shown)} more (--all, or --language TAG)")
