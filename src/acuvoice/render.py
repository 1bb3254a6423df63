"""Render a session: voice and cues placed to the sample, mastered to loudness, encoded.

Two stages with side effects, called by every front end:

- :func:`prepare_session` loads the routine, picks the engine and voice, synthesizes every
  phrase (through the cache) and compiles the timeline from the real clip lengths;
- :func:`render_session` mixes the timeline in blocks, measures its loudness (first pass),
  then applies the gain, a true-peak limiter and streams it to the encoder (second pass).
  The output is written to a temporary file and renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from acuvoice.audio.ambience import open_ambience
from acuvoice.audio.buffer import Clip, Samples
from acuvoice.audio.cues import cue_lengths_ms, load_cues
from acuvoice.audio.loudness import Limiter, LoudnessMeter, TruePeakMeter, normalization_gain_db
from acuvoice.audio.mixer import DEFAULT_BLOCK, MixPlan, Source, mix_blocks
from acuvoice.cache import SynthesisCache, default_cache_dir
from acuvoice.compiler import CompileOptions, compile_timeline
from acuvoice.engines.registry import pick_engine
from acuvoice.errors import CompileError
from acuvoice.export.audio import (
    AudioFormat,
    AudioWriter,
    EncodeOptions,
    ThreadedWriter,
    audio_format,
    write_chapters,
)
from acuvoice.export.chapters import chapter_spans, ffmetadata
from acuvoice.export.cover import generate_cover
from acuvoice.export.tags import Tags, write_tags
from acuvoice.files import atomic_output
from acuvoice.measure import WordsPerMinute
from acuvoice.phrases import load_catalog
from acuvoice.points.library import PointLibrary, builtin_library
from acuvoice.routine.loader import load_routine
from acuvoice.routine.model import AMBIENCES, CUE_SETS, Routine
from acuvoice.speech import Speech
from acuvoice.timeline import EventKind, Timeline
from acuvoice.units import db_to_gain, ms_to_samples

#: Level of a generated ambience bed before ``ambience_db`` is applied (dBFS RMS).
BED_LEVEL_DB = -20.0


class Progress(Protocol):
    """Where long work reports how far it has come (the CLI draws a progress bar)."""

    def start(self, label: str, total: int) -> None:
        """Begin a phase of ``total`` units."""
        ...

    def advance(self, units: int = 1) -> None:
        """``units`` more are done."""
        ...

    def finish(self) -> None:
        """The phase is over."""
        ...


class _Silent:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, units: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Choices that override the routine (``None`` keeps the routine's own)."""

    engine: str | None = None
    voice: str | None = None
    rate: float | None = None
    target_ms: int | None = None
    avoid: tuple[str, ...] = ()
    cues: str | None = None
    ambience: str | None = None
    ambience_db: float | None = None
    duck_db: float | None = None
    loudness_lufs: float | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    sample_rate: int = 44_100


@dataclass(frozen=True, slots=True)
class Session:
    """A compiled session ready to render: the timeline and the sounds it needs."""

    routine: Routine
    timeline: Timeline
    speech: Speech
    cues: Mapping[str, Clip]
    sample_rate: int
    ambience: str
    ambience_db: float
    duck_db: float
    loudness_lufs: float
    base_dir: Path


@dataclass(frozen=True, slots=True)
class OutputOptions:
    """How the file is written."""

    channels: int = 2
    encode: EncodeOptions = field(default_factory=EncodeOptions)
    tags: Mapping[str, str] = field(default_factory=dict)
    true_peak_dbtp: float = -1.0
    chapters: bool = True
    stems_dir: Path | None = None
    cover: tuple[bytes, str] | None = None
    generate_cover: bool = True


@dataclass(frozen=True, slots=True)
class RenderResult:
    """What a render produced, for the summary line and manifests."""

    path: Path
    format: str
    duration_ms: int
    frames: int
    sample_rate: int
    channels: int
    loudness_lufs: float
    true_peak_dbtp: float
    gain_db: float
    synthesized: int
    cached: int
    seconds: float


def prepare_session(
    source: str | os.PathLike[str] | Routine,
    options: SessionOptions | None = None,
    *,
    library: PointLibrary | None = None,
    progress: Progress | None = None,
) -> Session:
    """Load a routine, pick its voice, synthesize its phrases and compile the exact timeline.

    Raises:
        RoutineError: The routine is invalid.
        EngineError: The engine or voice is unknown or unavailable, or synthesis failed.
        CompileError: The target cannot be met, or the routine is unsuitable for ``avoid``.
        RenderError: A cue or ambience sound cannot be read.
    """
    options = options or SessionOptions()
    progress = progress or _Silent()
    library = library or builtin_library()
    routine = source if isinstance(source, Routine) else load_routine(source, library=library)
    base_dir = routine.path.parent if routine.path else Path.cwd()
    engine = pick_engine(options.engine or routine.voice.engine, routine.language)
    voice = engine.resolve_voice(options.voice or routine.voice.name, routine.language)
    rate = options.rate if options.rate is not None else routine.voice.rate
    cache = SynthesisCache(options.cache_dir or default_cache_dir()) if options.use_cache else None
    speech = Speech(engine, voice, rate, cache)
    spec = options.cues or routine.sound.cues
    cues = load_cues(
        spec if spec in CUE_SETS else str(base_dir / Path(spec).expanduser()), options.sample_rate
    )
    compile_options = CompileOptions(
        target_ms=options.target_ms,
        avoid=options.avoid,
        cue_ms=cue_lengths_ms(dict(cues)),
        voice=f"{speech.description}; {voice.license}",
    )
    texts = _phrases(routine, library, compile_options)
    progress.start(f"Voicing with {engine.name}/{voice.id}", len(texts))
    speech.prepare(texts, progress.advance)
    progress.finish()
    timeline = compile_timeline(routine, library, speech.measure, compile_options)
    return Session(
        routine=routine,
        timeline=timeline,
        speech=speech,
        cues=cues,
        sample_rate=options.sample_rate,
        ambience=options.ambience or routine.sound.ambience,
        ambience_db=options.ambience_db
        if options.ambience_db is not None
        else routine.sound.ambience_db,
        duck_db=options.duck_db if options.duck_db is not None else routine.sound.duck_db,
        loudness_lufs=options.loudness_lufs
        if options.loudness_lufs is not None
        else routine.loudness_lufs,
        base_dir=base_dir,
    )


def _phrases(routine: Routine, library: PointLibrary, options: CompileOptions) -> list[str]:
    """Every text the session may speak, found by compiling once with estimated lengths."""
    catalog = load_catalog(routine.language)
    extra = [
        *catalog.variants("reminders"),
        catalog.say("breathe_in"),
        catalog.say("breathe_out"),
        catalog.say("breathe_hold"),
    ]
    try:
        timeline = compile_timeline(
            routine, library, WordsPerMinute(rate=routine.voice.rate), options
        )
    except CompileError:
        return []  # the real compile reports it (or succeeds with the real lengths)
    spoken = [e.text for e in timeline.of_kind(EventKind.SPEECH) if e.text]
    return list(dict.fromkeys([*spoken, *extra]))


def mix_plan(session: Session, channels: int) -> MixPlan:
    """The mixer's view of a session: clips at exact frames, ambience and ducking."""
    rate = session.sample_rate
    timeline = session.timeline

    voice: list[Source] = []
    spans: list[tuple[int, int]] = []
    for e in timeline.of_kind(EventKind.SPEECH):
        start = ms_to_samples(e.start_ms, rate)
        voice.append(Source(start, _speech_load(session, e.text or "", channels)))
        spans.append((start, ms_to_samples(e.end_ms, rate)))
    cue_sources = [
        Source(ms_to_samples(e.start_ms, rate), _cue_load(session, e.sound or "", channels))
        for e in timeline.of_kind(EventKind.CUE)
        if session.cues.get(e.sound or "") is not None and session.cues[e.sound or ""].frames
    ]
    ambience = session.ambience
    gain = 0.0 if ambience == "none" else db_to_gain(session.ambience_db - BED_LEVEL_DB)
    return MixPlan(
        sample_rate=rate,
        channels=channels,
        frames=ms_to_samples(timeline.duration_ms, rate),
        voice=voice,
        cues=cue_sources,
        ambience=lambda: open_ambience(
            ambience
            if ambience in AMBIENCES
            else str(session.base_dir / Path(ambience).expanduser()),
            rate,
            channels,
            seed=0,
        ),
        ambience_gain=gain,
        duck_gain=db_to_gain(session.duck_db),
        speech_spans=spans,
        duck_attack=rate // 5,
        duck_release=rate // 2,
        fade_in=3 * rate,
        fade_out=5 * rate,
    )


def _speech_load(session: Session, text: str, channels: int) -> Callable[[], Samples]:
    return lambda: session.speech.clip(text).to(session.sample_rate, channels).samples


def _cue_load(session: Session, sound: str, channels: int) -> Callable[[], Samples]:
    return lambda: session.cues[sound].to(session.sample_rate, channels).samples


#: Stems are 24-bit WAV: what editors import, and fine enough to sum back to the master.
STEM_FORMAT = AudioFormat(
    "wav",
    False,
    lambda p, r, c, o: _stem_writer(p, r, c),
    "24-bit PCM WAV",
)
STEM_NAMES = ("voice", "cues", "ambience")


def _stem_writer(path: Path, rate: int, channels: int) -> AudioWriter:
    from acuvoice.export.audio import SoundfileWriter

    return SoundfileWriter(path, rate, channels, format="WAV", subtype="PCM_24")


def stem_files(output: Path, folder: Path) -> dict[str, Path]:
    """Where the stems of ``output`` go: ``FOLDER/NAME.voice.wav`` and so on."""
    return {name: folder / f"{output.stem}.{name}.wav" for name in STEM_NAMES}


def render_session(
    session: Session,
    path: Path,
    output: OutputOptions | None = None,
    *,
    progress: Progress | None = None,
) -> RenderResult:
    """Mix, master and write the session to ``path`` (format from the suffix).

    Raises:
        UsageError: Unknown output format.
        ExportError: The file cannot be written (no partial file is left).
        RenderError: Mixing failed.
    """
    output = output or OutputOptions()
    progress = progress or _Silent()
    fmt = audio_format(path)
    started = time.perf_counter()
    plan = mix_plan(session, output.channels)
    blocks = max(1, -(-plan.frames // DEFAULT_BLOCK))
    rate, channels = plan.sample_rate, plan.channels

    gain_db = _master_gain_db(plan, session.loudness_lufs, output.true_peak_dbtp, blocks, progress)
    gain = db_to_gain(gain_db)

    progress.start(f"Writing {path.name}", blocks)
    out_meter = LoudnessMeter(rate, channels)
    peak_meter = TruePeakMeter(rate, channels)
    limiter = Limiter(rate, channels, ceiling_dbtp=output.true_peak_dbtp)
    stem_paths = stem_files(path, output.stems_dir) if output.stems_dir is not None else {}
    with contextlib.ExitStack() as files:
        tmp = files.enter_context(atomic_output(path))
        stem_tmps = {name: files.enter_context(atomic_output(p)) for name, p in stem_paths.items()}
        encode = output.encode
        if fmt.name == "m4a" and output.chapters:
            encode = dataclasses.replace(
                encode, ffmetadata=ffmetadata(session.timeline, _tags(session, output))
            )
        writer = ThreadedWriter(fmt.open(tmp, rate, channels, encode))
        stems = {
            name: STEM_FORMAT.open(t, rate, channels, output.encode)
            for name, t in stem_tmps.items()
        }
        try:

            def emit(samples: Samples) -> None:
                if samples.shape[1]:
                    out_meter.add(samples)
                    peak_meter.add(samples)
                    writer.write(samples)

            for block in mix_blocks(plan):
                emit(limiter.process(block.master * gain))
                # Stems carry the same gain, before the limiter: they sum to the unlimited master.
                for name, stem in stems.items():
                    stem.write(getattr(block, name) * gain)
                progress.advance()
            emit(limiter.flush())
            writer.close()
            for stem in stems.values():
                stem.close()
        except BaseException:
            writer.abort()
            for stem in stems.values():
                stem.abort()
            raise
        finally:
            progress.finish()
        # Chapters first: write_tags merges into the ID3 tag that write_chapters saved.
        if output.chapters:
            write_chapters(tmp, fmt, chapter_spans(session.timeline))
        write_tags(tmp, fmt.name, _file_tags(session, output))
    return RenderResult(
        path=path,
        format=fmt.name,
        duration_ms=session.timeline.duration_ms,
        frames=plan.frames,
        sample_rate=rate,
        channels=channels,
        loudness_lufs=out_meter.integrated(),
        true_peak_dbtp=peak_meter.peak_dbtp(),
        gain_db=gain_db,
        synthesized=session.speech.synthesized,
        cached=session.speech.from_cache,
        seconds=time.perf_counter() - started,
    )


def _loudness_pass(
    plan: MixPlan,
    gain_db: float | None,
    ceiling_dbtp: float,
    label: str,
    blocks: int,
    progress: Progress,
) -> tuple[float, float]:
    """Mix once and measure (integrated LUFS, true peak dBTP).

    Without a gain: the raw mix, its loudness and true peak. With a gain: through the
    limiter, loudness only (the limiter keeps the peak; ``nan`` is returned for it).
    """
    rate, channels = plan.sample_rate, plan.channels
    meter = LoudnessMeter(rate, channels)
    peaks = TruePeakMeter(rate, channels) if gain_db is None else None
    limiter = Limiter(rate, channels, ceiling_dbtp=ceiling_dbtp) if gain_db is not None else None
    gain = db_to_gain(gain_db or 0.0)
    progress.start(label, blocks)
    for block in mix_blocks(plan):
        if limiter is None:
            samples = block.master
            assert peaks is not None
            peaks.add(samples)
        else:
            samples = limiter.process(block.master * gain)
        meter.add(samples)
        progress.advance()
    if limiter is not None:
        meter.add(limiter.flush())
    progress.finish()
    return meter.integrated(), peaks.peak_dbtp() if peaks is not None else float("nan")


def _master_gain_db(
    plan: MixPlan, target: float, ceiling: float, blocks: int, progress: Progress
) -> float:
    """The gain that brings the limited master to ``target`` LUFS.

    The first pass measures the mix. Where that gain pushes peaks past the ceiling, the
    limiter takes some loudness away; one more pass measures the limited result and
    corrects the gain by the difference (the limiter then works a little harder, so the
    result lands within a few tenths of a LU; the tests hold it to -16 +- 1).
    """
    lufs, peak = _loudness_pass(plan, None, ceiling, "Measuring loudness", blocks, progress)
    gain_db = normalization_gain_db(lufs, target)
    if peak + gain_db <= ceiling:
        return gain_db
    limited, _ = _loudness_pass(plan, gain_db, ceiling, "Correcting loudness", blocks, progress)
    return gain_db + normalization_gain_db(limited, target)


def _tags(session: Session, output: OutputOptions) -> dict[str, str]:
    routine = session.routine
    tags = {
        "title": routine.title,
        "artist": routine.author or "acuvoice",
        "album": "acuvoice sessions",
        "genre": "Health & Fitness",
        "comment": routine.summary,
        "language": routine.language,
    }
    tags.update({k: v for k, v in output.tags.items() if v is not None})
    return tags


def _file_tags(session: Session, output: OutputOptions) -> Tags:
    values = _tags(session, output)
    cover = output.cover
    if cover is None and output.generate_cover:
        cover = (generate_cover(session.routine.title, "Guided acupressure"), "image/png")
    return Tags(
        title=values.get("title"),
        artist=values.get("artist"),
        album=values.get("album"),
        year=values.get("year"),
        genre=values.get("genre"),
        comment=values.get("comment"),
        language=values.get("language"),
        cover=cover[0] if cover else None,
        cover_mime=cover[1] if cover else "image/png",
    )
