"""Render a session: voice and cues placed to the sample, mastered to loudness, encoded.

Three stages with side effects, under the application layer (:mod:`acuvoice.app`):

- :func:`plan_session` checks everything that can be checked before any synthesis: the
  engine and voice, the cue sounds (loaded), the ambience (probed), the listener profile,
  the levels;
- :func:`voice_session` synthesizes every phrase (through the cache) and compiles the
  timeline from the real clip lengths;
- :func:`render_session` works out the master gain from the clips' loudness profiles
  (:mod:`acuvoice.audio.analysis`), then mixes the timeline in blocks and streams it, with
  that gain and a true-peak limiter, to the encoder: one pass.
  The output is written to a temporary file and renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from acuvoice.audio.ambience import check_ambience, open_ambience
from acuvoice.audio.analysis import MISS_LU, MixAnalysis
from acuvoice.audio.buffer import Clip, Samples
from acuvoice.audio.cues import cue_lengths_ms, load_cues
from acuvoice.audio.loudness import (
    LIMITER_MARGIN_DB,
    Limiter,
    LoudnessMeter,
    TruePeakMeter,
    normalization_gain_db,
)
from acuvoice.audio.mixer import DEFAULT_BLOCK, MixPlan, Source, master_blocks, mix_blocks
from acuvoice.audio.profiles import session_analysis
from acuvoice.cache import SynthesisCache
from acuvoice.compiler import CompileOptions, check_profile, compile_timeline
from acuvoice.engines.base import SpeechEngine, VoiceInfo
from acuvoice.engines.registry import pick_voice, same_language
from acuvoice.errors import CompileError, UsageError
from acuvoice.export.audio import (
    AudioFormat,
    AudioWriter,
    EncodeOptions,
    ThreadedWriter,
    audio_format,
    decoded_true_peak,
    ffmpeg_path,
    write_chapters,
)
from acuvoice.export.chapters import chapter_spans, ffmetadata
from acuvoice.export.cover import generate_cover
from acuvoice.export.mp3_chunks import RATES as CHUNK_RATES
from acuvoice.export.mp3_chunks import SPF, encode_chunked
from acuvoice.export.tags import Tags, write_tags
from acuvoice.files import atomic_output
from acuvoice.measure import WordsPerMinute
from acuvoice.phrases import load_catalog
from acuvoice.points.library import PointLibrary, builtin_library
from acuvoice.progress import MEASURING, VOICING, WRITING, Progress, Silent
from acuvoice.routine.loader import load_routine
from acuvoice.routine.model import AMBIENCES, Routine
from acuvoice.session import ESTIMATE as ESTIMATE
from acuvoice.session import SessionOptions as SessionOptions
from acuvoice.session import check_options as check_options
from acuvoice.speech import Speech
from acuvoice.timeline import EventKind, Timeline
from acuvoice.units import db_to_gain, ms_to_samples

#: Level of a generated ambience bed before ``ambience_db`` is applied (dBFS RMS).
BED_LEVEL_DB = -20.0
#: How often a file whose encoder rebuilt peaks over the limit (AAC, Vorbis) is written
#: again with a lower ceiling, and how much lower than the overshoot alone.
PEAK_RETRIES = 2
PEAK_RETRY_MARGIN_DB = 0.3


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """A session checked before any synthesis: every choice made, every sound found.

    Attributes:
        warnings: What is allowed but probably unintended (a voice of another language).
    """

    routine: Routine
    library: PointLibrary
    engine: SpeechEngine
    voice: VoiceInfo
    rate: float
    target_ms: int | None
    avoid: tuple[str, ...]
    cue_set: str
    cues: Mapping[str, Clip]
    ambience: str
    ambience_db: float
    duck_db: float
    loudness_lufs: float
    sample_rate: int
    warnings: tuple[str, ...] = ()


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
    cue_set: str = "bowl"


@dataclass(frozen=True, slots=True)
class OutputOptions:
    """How the file is written.

    Attributes:
        tags: What to write into the file, or a function that makes it (called once the
            audio is written, so a cover being drawn does not hold up the first block);
            ``None``: :func:`session_tags` with a cover made from the title.
        stems_dir: Also write the voice, cue and ambience stems into this folder (a stem
            that would be silence, like ambience when there is none, is not written).
        live_copy: For MP3 written by ffmpeg: also write the encoded audio here as it is
            made, for streaming to a listener before the render is done (left in place).
        encode_jobs: For MP3 written by ffmpeg: encode in this many chunks at once, joined
            gaplessly (:mod:`acuvoice.export.mp3_chunks`). Used for sessions over
            :data:`CHUNKED_MIN_S` at 32, 44.1 or 48 kHz without a live copy or stems, and
            with a built-in ambience (a user's file is measured as it is written); 1, or
            any other session, writes one stream.
    """

    channels: int = 2
    encode: EncodeOptions = field(default_factory=EncodeOptions)
    tags: Tags | Callable[[], Tags] | None = None
    true_peak_dbtp: float = -1.0
    chapters: bool = True
    stems_dir: Path | None = None
    live_copy: Path | None = None
    encode_jobs: int = 1


#: Shortest session (seconds) whose MP3 is encoded in parallel chunks.
CHUNKED_MIN_S = 120
#: Seconds the limiter runs before a chunk, so its state is the whole run's.
LIMITER_PRE_ROLL_S = 3


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
    stems: tuple[Path, ...] = ()
    #: ``true_peak_dbtp`` is the master's, before a lossy encoder (MP3) had its say (the
    #: master keeps the format's ``peak_headroom_db`` under the true peak asked for);
    #: otherwise it is the written file's (for AAC and Vorbis: measured decoded).
    peak_before_encoding: bool = False


def plan_session(
    routine: Routine, options: SessionOptions | None = None, *, library: PointLibrary | None = None
) -> SessionPlan:
    """Check a session before any synthesis and make every choice it needs.

    Raises:
        UsageError: A value is out of range, or the ``estimate`` engine was asked to speak.
        SoundError: The cue folder or ambience file cannot be used.
        UnknownEngineError: No engine or voice by that name (the message lists them).
        EngineError: The engine is not available here, or none speaks the language.
        CompileError: The listener profile names an unknown condition, or one the routine
            is unsuitable for.
    """
    options = options or SessionOptions()
    library = library or builtin_library()
    check_options(options)
    avoid = check_profile(routine, library, options.avoid)
    engine_name = options.engine or routine.voice.engine
    if engine_name == ESTIMATE:
        raise UsageError(
            "the estimate engine has no voice (it only times scripts at 150 words a minute); "
            "choose a speech engine: auto, or one `acuvoice voices` lists"
        )
    engine, voice = pick_voice(engine_name, options.voice or routine.voice.name, routine.language)
    warnings: list[str] = []
    if not same_language(voice, routine.language):
        warnings.append(
            f"voice {voice.id} speaks {voice.language}, but the routine is in "
            f"{routine.language}: it will read the words with the wrong accent and rules"
        )
    cue_set = options.cues or routine.sound.cues
    ambience = options.ambience or routine.sound.ambience
    check_ambience(ambience)
    return SessionPlan(
        routine=routine,
        library=library,
        engine=engine,
        voice=voice,
        rate=options.rate if options.rate is not None else routine.voice.rate,
        target_ms=options.target_ms,
        avoid=avoid,
        cue_set=cue_set,
        cues=load_cues(cue_set, options.sample_rate),
        ambience=ambience,
        ambience_db=_pick(options.ambience_db, routine.sound.ambience_db),
        duck_db=_pick(options.duck_db, routine.sound.duck_db),
        loudness_lufs=_pick(options.loudness_lufs, routine.loudness_lufs),
        sample_rate=options.sample_rate,
        warnings=tuple(warnings),
    )


def _pick(override: float | None, own: float) -> float:
    return own if override is None else override


def voice_session(
    plan: SessionPlan,
    *,
    cache: SynthesisCache | None = None,
    progress: Progress | None = None,
) -> Session:
    """Synthesize every phrase of a planned session and compile its exact timeline.

    Args:
        plan: From :func:`plan_session`.
        cache: Where clips are kept between runs; ``None`` keeps them in memory for this run.
        progress: Told of the voicing phase and of a cache that cannot be written.

    Raises:
        EngineError: Synthesis failed.
        CompileError: The target cannot be met with this voice's real lengths.
    """
    progress = progress or Silent()
    routine, library = plan.routine, plan.library
    speech = Speech(plan.engine, plan.voice, plan.rate, cache, warn=progress.warn)
    compile_options = CompileOptions(
        target_ms=plan.target_ms,
        avoid=plan.avoid,
        cue_ms=cue_lengths_ms(dict(plan.cues)),
        voice=f"{speech.description}; {plan.voice.license}",
    )
    texts = _phrases(routine, library, compile_options)
    progress.start(f"Voicing with {plan.engine.name}/{plan.voice.id}", len(texts), VOICING)
    speech.prepare(texts, progress.advance)
    progress.finish()
    timeline = compile_timeline(routine, library, speech.measure, compile_options)
    return Session(
        routine=routine,
        timeline=timeline,
        speech=speech,
        cues=plan.cues,
        sample_rate=plan.sample_rate,
        ambience=plan.ambience,
        ambience_db=plan.ambience_db,
        duck_db=plan.duck_db,
        loudness_lufs=plan.loudness_lufs,
        cue_set=plan.cue_set,
    )


def prepare_session(
    source: str | Path | Routine,
    options: SessionOptions | None = None,
    *,
    library: PointLibrary | None = None,
    cache: SynthesisCache | None = None,
    progress: Progress | None = None,
) -> Session:
    """Load (when given a name or path), plan and voice a session: the three steps in one.

    Raises:
        RoutineError: The routine is invalid.
        AcuvoiceError: As :func:`plan_session` and :func:`voice_session`.
    """
    library = library or builtin_library()
    routine = source if isinstance(source, Routine) else load_routine(source, library=library)
    plan = plan_session(routine, options, library=library)
    return voice_session(plan, cache=cache, progress=progress)


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


def mix_plan(session: Session, channels: int, workdir: Path | None = None) -> MixPlan:
    """The mixer's view of a session: clips at exact frames, ambience and ducking.

    ``workdir`` is where an ambience file that must be converted first is kept between the
    measuring and the writing pass.
    """
    rate = session.sample_rate
    timeline = session.timeline

    voice: list[Source] = []
    spans: list[tuple[int, int]] = []
    for e in timeline.of_kind(EventKind.SPEECH):
        start, end = ms_to_samples(e.start_ms, rate), ms_to_samples(e.end_ms, rate)
        voice.append(
            Source(start, _speech_load(session, e.text or "", channels, end - start), end - start)
        )
        spans.append((start, end))
    cue_sources = [
        Source(ms_to_samples(e.start_ms, rate), _cue_load(session, e.sound or "", channels))
        for e in timeline.of_kind(EventKind.CUE)
        if session.cues.get(e.sound or "") is not None and session.cues[e.sound or ""].frames
    ]
    ambience = session.ambience
    gain = 0.0 if ambience == "none" else db_to_gain(session.ambience_db - BED_LEVEL_DB)
    kept = session.speech.cache.root if session.speech.cache is not None else None
    return MixPlan(
        sample_rate=rate,
        channels=channels,
        frames=ms_to_samples(timeline.duration_ms, rate),
        voice=voice,
        cues=cue_sources,
        ambience=lambda: open_ambience(
            ambience, rate, channels, seed=0, workdir=workdir, cache_dir=kept
        ),
        ambience_gain=gain,
        duck_gain=db_to_gain(session.duck_db),
        speech_spans=spans,
        duck_attack=rate // 5,
        duck_release=rate // 2,
        fade_in=3 * rate,
        fade_out=5 * rate,
    )


def _speech_load(session: Session, text: str, channels: int, frames: int) -> Callable[[], Samples]:
    """The clip at the mix's rate, cut to its event's ``frames``: an event lasts the clip's
    length rounded up to a millisecond at the clip's own rate, which at another rate can be a
    sample shorter than the resampled clip; speech never sounds outside its event."""
    return lambda: session.speech.clip(text).to(session.sample_rate, channels).samples[:, :frames]


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


def stem_files(output: Path, folder: Path, session: Session | None = None) -> dict[str, Path]:
    """Where the stems of ``output`` go: ``FOLDER/NAME.voice.wav`` and so on.

    With a ``session``, only the stems that hold sound: no cue stem when the cue set is
    ``none``, no ambience stem without ambience.
    """
    names = [n for n in STEM_NAMES if session is None or _has_stem(session, n)]
    return {name: folder / f"{output.stem}.{name}.wav" for name in names}


def _has_stem(session: Session, name: str) -> bool:
    if name == "ambience":
        return session.ambience != "none"
    if name == "cues":
        return any(clip.frames for clip in session.cues.values())
    return True


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
        SoundError: The ambience file cannot be read.
        RenderError: Mixing failed.
    """
    output = output or OutputOptions()
    progress = progress or Silent()
    fmt = audio_format(path)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        workdir = None
        if session.ambience not in AMBIENCES:
            folder = path.parent if str(path.parent) else Path(".")
            workdir = Path(
                stack.enter_context(
                    tempfile.TemporaryDirectory(prefix=".acuvoice-work-", dir=folder)
                )
            )
        plan = mix_plan(session, output.channels, workdir)
        return _render(session, path, fmt, output, plan, progress, started)
    raise AssertionError("unreachable")  # pragma: no cover - the with block returns


def _render(
    session: Session,
    path: Path,
    fmt: AudioFormat,
    output: OutputOptions,
    plan: MixPlan,
    progress: Progress,
    started: float,
) -> RenderResult:
    blocks = max(1, -(-plan.frames // DEFAULT_BLOCK))
    rate, channels = plan.sample_rate, plan.channels

    # The master aims where the delivered file should land once the encoder has had its say.
    target = session.loudness_lufs + fmt.level_loss_db
    ceiling = output.true_peak_dbtp - fmt.peak_headroom_db
    analysis = session_analysis(
        plan, session.timeline, session.speech, session.cues, session.ambience
    )
    gain_db = _master_gain_db(analysis, plan, target, ceiling, blocks, progress)
    # Tags (a generated cover takes a third of a second) are made beside the audio, once its
    # first blocks are out, unless ffmpeg needs them up front (M4A chapters): the listener's
    # first block should not wait, nor the finished file.
    make_tags = output.tags if output.tags is not None else _default_tags(session)
    tags: Tags | _Later[Tags]
    if not callable(make_tags):
        tags = make_tags
    elif fmt.name == "m4a":
        tags = make_tags()
    else:
        tags = _Later(make_tags)

    stem_paths = stem_files(path, output.stems_dir, session) if output.stems_dir is not None else {}
    with contextlib.ExitStack() as files:
        tmp = files.enter_context(atomic_output(path))
        stem_tmps = {name: files.enter_context(atomic_output(p)) for name, p in stem_paths.items()}
        encode = dataclasses.replace(output.encode, live_copy=output.live_copy)
        if fmt.name == "m4a" and output.chapters:
            assert isinstance(tags, Tags)
            encode = dataclasses.replace(
                encode, ffmetadata=ffmetadata(session.timeline, _ffmpeg_tags(tags))
            )

        chunked = (
            fmt.name == "mp3"
            and output.encode_jobs > 1
            and analysis is not None
            and output.live_copy is None
            and not stem_tmps
            and rate in CHUNK_RATES
            and plan.frames > CHUNKED_MIN_S * rate
            and ffmpeg_path() is not None
        )

        def counter() -> Callable[[int], None]:
            """Advances the progress a block per ``DEFAULT_BLOCK`` samples encoded."""
            seen = [0]

            def advance(samples: int) -> None:
                before = seen[0] // DEFAULT_BLOCK
                seen[0] += samples
                for _ in range(min(blocks, seen[0] // DEFAULT_BLOCK) - min(blocks, before)):
                    progress.advance()

            return advance

        def write(
            gain: float, ceiling: float, label: str
        ) -> tuple[LoudnessMeter, TruePeakMeter] | None:
            """Mix, master and write the whole session once.

            Without an analysis (a user's ambience file) what is written is measured too;
            with one, the analysis already knows (within hundredths of a LU), and measuring
            would cost more CPU than mixing.
            """
            progress.start(label, blocks, WRITING)
            if chunked:
                if isinstance(tags, _Later):
                    tags.start()
                try:
                    encode_chunked(
                        tmp,
                        lambda a, b: master_range(plan, gain, ceiling, a, b),
                        plan.frames,
                        rate,
                        channels,
                        output.encode.bitrate_kbps,
                        output.encode_jobs,
                        advance=counter(),
                    )
                finally:
                    progress.finish()
                return None
            meters = None
            if analysis is None:
                meters = LoudnessMeter(rate, channels), TruePeakMeter(rate, channels)
            limiter = Limiter(rate, channels, ceiling_dbtp=ceiling)
            writer = ThreadedWriter(fmt.open(tmp, rate, channels, encode))
            stems = {
                name: STEM_FORMAT.open(t, rate, channels, output.encode)
                for name, t in stem_tmps.items()
            }
            try:

                def emit(samples: Samples) -> None:
                    if samples.shape[1]:
                        if meters is not None:
                            meters[0].add(samples)
                            meters[1].add(samples)
                        writer.write(samples)

                for index, master in enumerate(_masters(plan, stems, gain)):
                    emit(limiter.process(master))
                    progress.advance()
                    if index == TAGS_AFTER_BLOCKS and isinstance(tags, _Later):
                        tags.start()
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
            return meters

        meters = write(db_to_gain(gain_db), ceiling, f"Writing {path.name}")
        if meters is not None:
            # A measured master that misses the target by more than MISS_LU is written once
            # more, with the gain corrected by what the first one measured.
            loudness = meters[0].integrated()
            if math.isfinite(loudness) and abs(loudness - target) > MISS_LU:
                gain_db += normalization_gain_db(loudness, target)
                # The live copy keeps the first pass: a listener may be hearing it.
                encode = dataclasses.replace(encode, live_copy=None)
                label = f"Writing {path.name} again (it measured {loudness:.1f} LUFS)"
                meters = write(db_to_gain(gain_db), ceiling, label)
        delivered = None
        for attempt in range(PEAK_RETRIES + 1 if fmt.check_peak else 0):
            progress.start(f"Checking the peaks of {path.name}", 1, MEASURING)
            delivered = decoded_true_peak(tmp, rate, channels)
            progress.advance()
            progress.finish()
            if delivered <= output.true_peak_dbtp or attempt == PEAK_RETRIES:
                break
            # The encoder rebuilt peaks over the limit: limit lower by as much, and more.
            ceiling -= delivered - output.true_peak_dbtp + PEAK_RETRY_MARGIN_DB
            if analysis is not None:
                gain_db = analysis.gain_db(target, ceiling)
            encode = dataclasses.replace(encode, live_copy=None)
            label = f"Writing {path.name} again (the encoder made peaks of {delivered:+.1f} dBTP)"
            meters = write(db_to_gain(gain_db), ceiling, label)
        if meters is None:
            assert analysis is not None
            loudness = analysis.loudness(gain_db, ceiling)
            true_peak = min(analysis.true_peak_dbtp() + gain_db, ceiling - LIMITER_MARGIN_DB)
        else:
            loudness, true_peak = meters[0].integrated(), meters[1].peak_dbtp()
        if delivered is not None:
            true_peak = delivered
        # Chapters first: write_tags merges into the ID3 tag that write_chapters saved.
        if output.chapters:
            write_chapters(tmp, fmt, chapter_spans(session.timeline))
        write_tags(tmp, fmt.name, tags.get() if isinstance(tags, _Later) else tags)
    return RenderResult(
        path=path,
        format=fmt.name,
        duration_ms=session.timeline.duration_ms,
        frames=plan.frames,
        sample_rate=rate,
        channels=channels,
        loudness_lufs=loudness - fmt.level_loss_db,
        true_peak_dbtp=true_peak,
        gain_db=gain_db,
        synthesized=session.speech.synthesized,
        cached=session.speech.from_cache,
        seconds=time.perf_counter() - started,
        stems=tuple(stem_paths.values()),
        peak_before_encoding=fmt.lossy and not fmt.check_peak,
    )


def master_range(
    plan: MixPlan, gain: float, ceiling_dbtp: float, start: int, stop: int
) -> Iterator[Samples]:
    """The limited master of frames ``[start, stop)``, as a whole run makes it.

    The limiter starts :data:`LIMITER_PRE_ROLL_S` before ``start`` (on a multiple of an
    MP3 frame, so of its control step) and runs past ``stop`` by more than its look-ahead;
    its state has forgotten where it started by then (measured: see the tests). ``start``
    must be a multiple of the limiter's 8-sample control step, as MP3 frame starts are.
    """
    rate, channels = plan.sample_rate, plan.channels
    lead = min(start, -(-LIMITER_PRE_ROLL_S * rate // SPF) * SPF)
    first, end = start - lead, min(plan.frames, stop + rate // 10)
    limiter = Limiter(rate, channels, ceiling_dbtp=ceiling_dbtp)
    pos = first

    def cut(samples: Samples) -> Iterator[Samples]:
        nonlocal pos
        a, b = max(start - pos, 0), min(stop - pos, samples.shape[1])
        pos += samples.shape[1]
        if a < b:
            yield samples[:, a:b]

    for block in master_blocks(plan, start=first, stop=end):
        block *= gain
        yield from cut(limiter.process(block))
    yield from cut(limiter.flush())


def _masters(plan: MixPlan, stems: Mapping[str, AudioWriter], gain: float) -> Iterator[Samples]:
    """The master of each block with ``gain`` applied; with stems, each block's stems are
    written on the way (with the same gain, before the limiter: they sum to the unlimited
    master)."""
    if not stems:
        for master in master_blocks(plan):
            master *= gain
            yield master
        return
    for block in mix_blocks(plan):
        yield block.master * gain
        for name, stem in stems.items():
            stem.write(getattr(block, name) * gain)


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
    for samples in master_blocks(plan):
        if limiter is None:
            assert peaks is not None
            peaks.add(samples)
        else:
            samples *= gain
            samples = limiter.process(samples)
        meter.add(samples)
        progress.advance()
    if limiter is not None:
        meter.add(limiter.flush())
    progress.finish()
    return meter.integrated(), peaks.peak_dbtp() if peaks is not None else float("nan")


def _master_gain_db(
    analysis: MixAnalysis | None,
    plan: MixPlan,
    target: float,
    ceiling: float,
    blocks: int,
    progress: Progress,
) -> float:
    """The gain that brings the limited master to ``target`` LUFS.

    Worked out from the clips' loudness profiles, without mixing the session
    (:class:`~acuvoice.audio.analysis.MixAnalysis`: a few hundredths of a LU from the limited
    master in the measurements there). A session with a user's ambience file (no
    analysis) is measured by mixing it: the first pass measures the mix; where that gain
    pushes peaks past the ceiling, the limiter takes some loudness away, and one more pass
    measures the limited result and corrects the gain by the difference (the limiter then
    works a little harder, so the result lands within a few tenths of a LU).
    """
    if analysis is not None:
        return analysis.gain_db(target, ceiling)
    lufs, peak = _loudness_pass(plan, None, ceiling, "Measuring loudness", blocks, progress)
    gain_db = normalization_gain_db(lufs, target)
    if peak + gain_db <= ceiling:
        return gain_db
    limited, _ = _loudness_pass(plan, gain_db, ceiling, "Correcting loudness", blocks, progress)
    return gain_db + normalization_gain_db(limited, target)


def cover_subtitle(language: str) -> str:
    """The line under the title on a generated cover, in the session's language."""
    return load_catalog(language).label("cover_subtitle")


def session_tags(routine: Routine, *, cover: bool | tuple[bytes, str] = False) -> Tags:
    """The tags a session of ``routine`` gets by default.

    Title, the routine's ``author`` as the artist (no artist tag without one), album and
    genre (from the ``labels`` of the routine's phrase catalog), the summary as the comment and the language; no year (it is written only when
    asked for, so renders stay reproducible).

    Args:
        routine: The routine.
        cover: ``True`` for a cover generated from the title, image data and its MIME type
            for that image, ``False`` for none.
    """
    catalog = load_catalog(routine.language)
    image: tuple[bytes, str] | None
    if cover is True:
        image = (generate_cover(routine.title, catalog.label("cover_subtitle")), "image/png")
    else:
        image = cover or None
    return Tags(
        title=routine.title,
        artist=routine.author,
        album=catalog.label("album"),
        genre=catalog.label("genre"),
        comment=routine.summary or None,
        language=routine.language,
        cover=image[0] if image else None,
        cover_mime=image[1] if image else "image/png",
    )


#: Blocks written before the default tags (and their cover) start being made beside the audio.
TAGS_AFTER_BLOCKS = 2

T = TypeVar("T")


class _Later(Generic[T]):
    """A value made in a thread of its own once :meth:`start` is called, or here, when
    :meth:`get` comes first."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._future: Future[T] = Future()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None and not self._future.done():
            self._thread = threading.Thread(target=self._run, name="acuvoice-tags", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._future.set_result(self._make())
        except BaseException as exc:  # raised by get()
            self._future.set_exception(exc)

    def get(self) -> T:
        if self._thread is None and not self._future.done():
            self._run()
        return self._future.result()


def _default_tags(session: Session) -> Callable[[], Tags]:
    return lambda: session_tags(session.routine, cover=True)


def _ffmpeg_tags(tags: Tags) -> dict[str, str]:
    """Tags by ffmpeg's generic names, for an FFMETADATA document."""
    values = {
        "title": tags.title,
        "artist": tags.artist,
        "album": tags.album,
        "genre": tags.genre,
        "comment": tags.comment,
        "date": tags.year,
    }
    return {k: v for k, v in values.items() if v}
