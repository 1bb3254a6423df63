"""``acuvoice render``: flags in, a render request to the application layer, a summary out."""

from __future__ import annotations

import os
import time
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
from acuvoice.export.formats import AUDIO_FORMAT_NAMES
from acuvoice.units import format_ms


class RenderCommand(click.Command):
    """``render`` with a hint for ``--format``, an option it does not have."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            if exc.option_name in ("--format", "-f"):
                raise click.UsageError(
                    "render has no --format: the suffix of -o picks the format, as in "
                    f"-o session.wav ({', '.join('.' + s for s in AUDIO_FORMAT_NAMES)})",
                    ctx,
                ) from None
            raise


@click.command("render", cls=RenderCommand)
@click.argument("routine")
@click.option(
    "-o",
    "--output",
    type=UserPath(),
    help=f"Output file; its suffix picks the format ({', '.join('.' + s for s in AUDIO_FORMAT_NAMES)}); a missing folder is made. Default: ROUTINE-NAME.mp3 here. With --bundle, only its name is used.",
)
@language_option
@timeline_options
@click.option(
    "--ambience",
    metavar="BED",
    help="none, rain, ocean, pink-noise, brown-noise, or an audio file to loop (overrides sound.ambience).",
)
@click.option(
    "--ambience-db", type=click.FloatRange(-80, 0), help="Ambience level in dBFS (default -30)."
)
@click.option(
    "--duck-db",
    type=click.FloatRange(-60, 0),
    help="Extra ambience reduction under speech in dB (default -10).",
)
@click.option(
    "--loudness",
    type=click.FloatRange(-40, -5),
    help="Integrated loudness of the master in LUFS (default -16, podcast level); true peak stays at or below -1 dBTP.",
)
@click.option(
    "--sample-rate",
    type=click.IntRange(8000, 96000),
    default=44100,
    show_default=True,
    help="Output sample rate in Hz.",
)
@click.option("--mono", "channels", flag_value=1, help="Write one channel.")
@click.option(
    "--stereo", "channels", flag_value=2, default=True, help="Write two channels (default)."
)
@click.option(
    "--bitrate",
    type=click.IntRange(32, 320),
    default=128,
    show_default=True,
    help="MP3/M4A bit rate in kbit/s.",
)
@click.option(
    "--encode-jobs",
    type=click.IntRange(1, 64),
    default=None,
    metavar="N",
    help="MP3: encode in N parallel chunks, joined gaplessly (default: cores).",
)
@click.option(
    "--bundle",
    type=UserPath(),
    metavar="DIR",
    help="Write everything into this folder: the audio, transcripts (vtt, srt, txt), chapters (Podcasting 2.0 JSON, WebVTT), Audacity labels, the companion sheet (HTML, and PDF where Chromium is installed), the cover, stems with --stems, and manifest.json. An earlier bundle there is replaced.",
)
@click.option(
    "--stems",
    is_flag=True,
    help="Also write voice, cues and ambience as separate, sample-aligned 24-bit WAV files (FILE.voice.wav, ...) that sum to the master before limiting (no ambience stem without ambience, no cue stem with --cues none).",
)
@click.option(
    "--transcript/--no-transcript",
    default=False,
    help="Also write a WebVTT transcript beside the audio (FILE.vtt).",
)
@click.option(
    "--chapters/--no-chapters",
    default=True,
    help="Embed chapter marks where the format supports them (MP3: ID3 CHAP and CTOC; M4A: chapter atoms).",
)
@click.option("--title", help="Title tag (default: the routine's title).")
@click.option("--artist", help="Artist tag (default: the routine's author).")
@click.option("--album", help="Album tag.")
@click.option("--genre", help="Genre tag.")
@click.option("--comment", help="Comment tag (default: the routine's summary).")
@click.option("--year", help="Year tag: 2026, 2026-11 or 2026-11-24 (none is written without it).")
@click.option(
    "--cover",
    type=UserPath(),
    metavar="FILE",
    help="Cover image (PNG or JPEG; others are converted) for MP3, M4A, FLAC, OGG and WAV tags.",
)
@click.option(
    "--no-cover", is_flag=True, help="No cover image (by default one is generated with the title)."
)
@click.option(
    "--no-cache", is_flag=True, help="Synthesize every phrase again and do not keep the clips."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary line.")
def command(
    routine: str,
    language: str | None,
    output: Path | None,
    engine: str | None,
    voice: str | None,
    rate: float | None,
    target: int | None,
    avoid: tuple[str, ...],
    cues: str | None,
    cache_dir: Path | None,
    ambience: str | None,
    ambience_db: float | None,
    duck_db: float | None,
    loudness: float | None,
    sample_rate: int,
    channels: int,
    bitrate: int,
    encode_jobs: int | None,
    bundle: Path | None,
    stems: bool,
    transcript: bool,
    chapters: bool,
    title: str | None,
    artist: str | None,
    album: str | None,
    genre: str | None,
    comment: str | None,
    year: str | None,
    cover: Path | None,
    no_cover: bool,
    no_cache: bool,
    quiet: bool,
) -> None:
    """Render ROUTINE into an audio session, mastered to podcast loudness.

    \b
    Examples:
      acuvoice render lower-back-pain -o lower-back.mp3
      acuvoice render lower-back-pain --engine pyttsx3 --target 12m -o quick.wav
      acuvoice render calm-and-sleep --ambience rain --cues soft -o sleep.m4a
      acuvoice render my-routine.yaml --avoid pregnancy --transcript -o renders/mine.mp3
      acuvoice render lower-back-pain --bundle out/ --stems

    Every check (routine, voice, sounds, cover, year, output files) runs before any
    synthesis. Every phrase is synthesized once and cached, so a second render is quick.
    Paths you type are relative to where you are; paths in a routine, to its folder. A
    failed or interrupted render leaves no file and no half-written folder behind.
    """
    from acuvoice.app import CoverChoice, OutputChoices, RenderRequest, TagOverrides, render
    from acuvoice.export.audio import audio_format

    started = time.perf_counter()
    fmt = audio_format(output).name if output is not None else "mp3"
    # The files go into the bundle folder, or beside -o, or here.
    folder = bundle or (output.parent if output is not None else Path.cwd())
    choices = OutputChoices(
        format=fmt,
        name=output.stem if output is not None else None,
        suffix=_suffix(output, fmt),
        channels=channels,
        bitrate_kbps=bitrate,
        encode_jobs=encode_jobs or os.cpu_count() or 1,
        chapters=chapters,
        stems=stems,
        transcript=transcript,
        bundle=bundle is not None,
    )
    request = RenderRequest(
        routine=routine_arg(routine).in_language(language),
        session=session_options(
            engine=engine,
            voice=voice,
            rate=rate,
            target=target,
            avoid=avoid,
            cues=cues,
            ambience=ambience,
            ambience_db=ambience_db,
            duck_db=duck_db,
            loudness=loudness,
            sample_rate=sample_rate,
        ),
        output=choices,
        tags=TagOverrides(
            title=title, artist=artist, album=album, genre=genre, comment=comment, year=year
        ),
        cover=CoverChoice.none()
        if no_cover
        else (CoverChoice.from_file(cover) if cover else CoverChoice()),
    )
    progress = ClickProgress(not quiet)
    made = render(request, folder, cache_dir=cache_dir, use_cache=not no_cache, progress=progress)
    report_omissions(made.timeline)
    if quiet:
        return
    if bundle is not None:
        click.echo(
            f"{_shown(folder)}: {len(made.files)} files ({', '.join(p.name for p in made.files)})"
        )
    elif len(made.files) > 1:
        click.echo(f"also wrote {', '.join(_shown(p) for p in made.files[1:])}")
    result = made.result
    click.echo(
        f"{_shown(made.audio)}: {format_ms(result.duration_ms, precise=True)}, "
        f"{result.loudness_lufs:.1f} LUFS, {result.true_peak_dbtp:.1f} dBTP{' before encoding' if result.peak_before_encoding else ''}, voice "
        f"{made.engine}/{Path(made.voice.id).name if made.voice.id.startswith('/') else made.voice.id} "
        f"({made.voice.license}); {result.synthesized} phrases synthesized, {result.cached} "
        f"from cache; {time.perf_counter() - started:.1f} s"
    )


def _suffix(output: Path | None, fmt: str) -> str | None:
    """The suffix typed when it is not the format's own name (``.m4b``), else ``None``."""
    typed = output.suffix.lower().lstrip(".") if output is not None else fmt
    return None if typed == fmt else typed


def _shown(path: Path) -> str:
    """A path relative to the current folder when it is inside it, else as it is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
