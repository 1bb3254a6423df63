"""``acuvoice render``: compile, voice, mix, master and write a session."""

from __future__ import annotations

import re
import time
from pathlib import Path

import click

from acuvoice.cli.options import (
    ClickProgress,
    check_sound_options,
    report_omissions,
    timeline_options,
)
from acuvoice.export.audio import AUDIO_FORMATS, EncodeOptions, audio_format
from acuvoice.export.scripts import format_script
from acuvoice.export.tags import read_cover
from acuvoice.files import write_text_atomic
from acuvoice.render import OutputOptions, SessionOptions, prepare_session, render_session
from acuvoice.routine.loader import resolve_routine_path
from acuvoice.units import format_ms


@click.command("render")
@click.argument("routine")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Output file; the format follows the suffix ({', '.join('.' + s for s in AUDIO_FORMATS)}). Default: ROUTINE-NAME.mp3 here.",
)
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
    "--bundle",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write everything into this folder: the audio, transcripts (vtt, srt, txt), chapters (Podcasting 2.0 JSON, WebVTT), Audacity labels, the companion sheet (HTML, and PDF where Chromium is installed), stems with --stems, and manifest.json.",
)
@click.option(
    "--stems",
    is_flag=True,
    help="Also write voice, cues and ambience as separate, sample-aligned 24-bit WAV files (FILE.voice.wav, ...) that sum to the master before limiting.",
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
@click.option("--year", help="Year (or date, YYYY-MM-DD) tag.")
@click.option(
    "--cover",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
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
      acuvoice render my-routine.yaml --avoid pregnancy --transcript -o mine.mp3

    Every phrase is synthesized once and cached, so a second render is quick. A failed or
    interrupted render leaves no partial file.
    """
    started = time.perf_counter()
    if output is None:
        _, _, name = resolve_routine_path(routine)
        output = Path(f"{name}.mp3")
    audio_format(output)  # a bad suffix is a usage error before any work is done
    check_sound_options(cues, ambience)
    if engine == "estimate":
        raise click.BadParameter(
            "'estimate' has no voice; it is for `acuvoice script` only", param_hint="--engine"
        )
    progress = ClickProgress(not quiet)
    session = prepare_session(
        routine,
        SessionOptions(
            engine=engine,
            voice=voice,
            rate=rate,
            target_ms=target,
            avoid=avoid,
            cues=cues,
            ambience=ambience,
            ambience_db=ambience_db,
            duck_db=duck_db,
            loudness_lufs=loudness,
            cache_dir=cache_dir,
            use_cache=not no_cache,
            sample_rate=sample_rate,
        ),
        progress=progress,
    )
    report_omissions(session.timeline)
    if year is not None and not re.fullmatch(r"\d{4}(-\d{2}-\d{2})?", year):
        raise click.BadParameter(
            f"{year!r} is not a year (2026) or a date (2026-11-24)", param_hint="--year"
        )
    tags = {
        "title": title,
        "artist": artist,
        "album": album,
        "genre": genre,
        "comment": comment,
        "year": year,
    }
    options = OutputOptions(
        cover=read_cover(cover) if cover is not None else None,
        generate_cover=not no_cover,
        stems_dir=output.parent if stems else None,
        channels=channels,
        encode=EncodeOptions(bitrate_kbps=bitrate),
        tags={k: v for k, v in tags.items() if v},
        chapters=chapters,
    )
    if bundle is not None:
        from acuvoice.export.bundle import write_bundle
        from acuvoice.points.library import builtin_library

        made = write_bundle(
            session, bundle, output.name, builtin_library(), options, progress=progress
        )
        result, output = made.render, bundle / output.name
        if not quiet:
            click.echo(
                f"{bundle}: {len(made.files)} files ({', '.join(p.name for p in made.files)})"
            )
    else:
        result = render_session(session, output, options, progress=progress)
        if transcript:
            write_text_atomic(output.with_suffix(".vtt"), format_script(session.timeline, "vtt"))
    if not quiet:
        voice_info = session.speech.voice
        click.echo(
            f"{output}: {format_ms(result.duration_ms, precise=True)}, {result.loudness_lufs:.1f} LUFS, "
            f"{result.true_peak_dbtp:.1f} dBTP, voice {session.speech.engine.name}/{voice_info.id} "
            f"({voice_info.license}); {result.synthesized} phrases synthesized, {result.cached} from cache; "
            f"{time.perf_counter() - started:.1f} s"
        )
