"""Cue sounds: synthesize the built-in cue sets and load a user's folder of cue files."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from acuvoice.audio.buffer import Clip, Samples, resample, with_channels
from acuvoice.audio.decode import AUDIO_SUFFIXES, read_all
from acuvoice.errors import SoundError, UsageError
from acuvoice.routine.model import CUE_NAMES, CUE_SETS
from acuvoice.units import db_to_gain
from acuvoice.validation import did_you_mean

#: Sample peak of every synthesized cue (the master is loudness-normalized later).
CUE_PEAK_DB = -6.0
#: File types a cue folder may hold (any case): those of libsndfile and of ffmpeg.
CUE_EXTENSIONS = AUDIO_SUFFIXES
#: Longest cue file accepted from a folder.
MAX_CUE_FILE_S = 30.0
#: The set whose sounds stand in for cues a folder does not provide.
FALLBACK_SET = "bowl"

# Every set plays the same score, so a listener who changes sets keeps the meaning of each
# sound: only the timbre and the key change. Shapes are chosen so that, with closed eyes, no
# two cues share length class, number of strikes and pitch direction:
#
#   start    one long, gently struck note                      long,   1 strike, level
#   end      three strikes falling below the start's note      long,   3 strikes, falling
#   press    bright note, then a fifth higher                  medium, 2 strikes, rising
#   release  mellow note, then a fifth lower                   medium, 2 strikes, falling
#   switch   the same high note struck twice                   medium, 2 strikes, level
#   tick     one very short, soft tock                         short,  1 strike, level
#   inhale   swell gliding up                                  medium, 1 onset, rising
#   exhale   swell gliding down                                medium, 1 onset, falling
#
# The loudest moment of every struck cue is its first strike: the onset is the timing mark.


@dataclass(frozen=True, slots=True)
class _Partial:
    """One sine component of a note.

    Attributes:
        ratio: Frequency relative to the note's pitch (inharmonic for bowls and bells).
        gain: Amplitude relative to the fundamental (always below it, so the pitch is clear).
        decay: Its decay time as a fraction of the note's (upper partials die sooner).
        beat_hz: A weaker copy this much higher beats against it (the bowl's slow shimmer).
    """

    ratio: float
    gain: float
    decay: float = 1.0
    beat_hz: float = 0.0


@dataclass(frozen=True, slots=True)
class _Shape:
    """How a note of one kind sounds out: held flat for ``hold_s``, then decays with ``decay_s``."""

    hold_s: float
    decay_s: float


@dataclass(frozen=True, slots=True)
class _Voice:
    """The timbre and key of one cue set."""

    key_hz: float
    partials: tuple[_Partial, ...]
    attack_s: float
    #: Note shapes by kind: ``grace`` (soon followed by another), ``mid``, ``ring``, ``long``.
    shapes: dict[str, _Shape]
    tick_semitones: float
    tick_partials: tuple[_Partial, ...]
    tick_shape: _Shape
    glide_partials: tuple[_Partial, ...]


@dataclass(frozen=True, slots=True)
class _Note:
    """One strike of a score: when, which pitch (semitones from the key), how loud, which shape."""

    at_s: float
    semitones: float
    level: float
    kind: str
    mellow: bool = False


_SCORES: dict[str, tuple[float, tuple[_Note, ...]]] = {
    "start": (2.6, (_Note(0.0, 0, 1.0, "long"),)),
    "press": (0.6, (_Note(0.0, 12, 1.0, "grace"), _Note(0.13, 19, 0.75, "ring"))),
    "release": (
        0.7,
        (_Note(0.0, 7, 1.0, "grace", mellow=True), _Note(0.15, 0, 0.7, "ring", mellow=True)),
    ),
    "switch": (0.8, (_Note(0.0, 16, 1.0, "grace"), _Note(0.2, 16, 0.9, "ring"))),
    "end": (
        3.0,
        (_Note(0.0, 4, 1.0, "mid"), _Note(0.45, 0, 0.9, "mid"), _Note(0.9, -5, 0.85, "long")),
    ),
}
_TICK_S = 0.09
_GLIDE_S = 0.42
_GLIDE_SEMITONES = (-5.0, 4.0)

_VOICES: dict[str, _Voice] = {
    # Singing bowl: inharmonic partials (measured bowls are near 1 : 2.7 : 5.1 : 8.4), each
    # beating slowly against a detuned copy, soft mallet, long ring.
    "bowl": _Voice(
        key_hz=220.0,
        partials=(
            _Partial(1.0, 1.0, 1.0, 0.8),
            _Partial(2.71, 0.45, 0.6, 1.3),
            _Partial(5.12, 0.22, 0.35, 2.1),
            _Partial(8.43, 0.08, 0.2),
        ),
        attack_s=0.004,
        shapes={
            "grace": _Shape(0.0, 0.07),
            "mid": _Shape(0.0, 0.17),
            "ring": _Shape(0.0, 0.22),
            "long": _Shape(0.0, 1.1),
        },
        tick_semitones=24,
        tick_partials=(_Partial(1.0, 1.0), _Partial(2.71, 0.3, 0.6)),
        tick_shape=_Shape(0.0, 0.014),
        glide_partials=(_Partial(1.0, 1.0, 1.0, 0.8), _Partial(2.71, 0.12)),
    ),
    # Small bell: a high key, hard attack and strong upper partials (octave, twelfth and
    # inharmonic bell modes) that fade faster than the fundamental.
    "chime": _Voice(
        key_hz=523.25,
        partials=(
            _Partial(1.0, 1.0, 1.0, 0.4),
            _Partial(2.0, 0.55, 0.55),
            _Partial(3.0, 0.3, 0.4),
            _Partial(4.16, 0.3, 0.25),
            _Partial(5.43, 0.18, 0.15),
            _Partial(6.79, 0.1, 0.1),
        ),
        attack_s=0.0015,
        shapes={
            "grace": _Shape(0.0, 0.06),
            "mid": _Shape(0.0, 0.15),
            "ring": _Shape(0.0, 0.2),
            "long": _Shape(0.0, 0.8),
        },
        tick_semitones=12,
        tick_partials=(_Partial(1.0, 1.0), _Partial(2.0, 0.3, 0.5), _Partial(4.16, 0.15, 0.3)),
        tick_shape=_Shape(0.0, 0.012),
        glide_partials=(_Partial(1.0, 1.0, 1.0, 0.4), _Partial(2.0, 0.2)),
    ),
    # Plain sine beeps: flat tones with short fades; only the start and end notes decay.
    "beep": _Voice(
        key_hz=440.0,
        partials=(_Partial(1.0, 1.0),),
        attack_s=0.006,
        shapes={
            "grace": _Shape(0.08, 0.008),
            "mid": _Shape(0.18, 0.012),
            "ring": _Shape(0.2, 0.015),
            "long": _Shape(0.3, 0.5),
        },
        tick_semitones=19,
        tick_partials=(_Partial(1.0, 1.0),),
        tick_shape=_Shape(0.025, 0.006),
        glide_partials=(_Partial(1.0, 1.0),),
    ),
    # Muffled marimba: a low key, soft mallet, weak upper bar modes (1 : 3.9 : 9.2), short
    # decays; the tick is a woodblock tock.
    "soft": _Voice(
        key_hz=196.0,
        partials=(_Partial(1.0, 1.0), _Partial(3.93, 0.18, 0.3), _Partial(9.2, 0.04, 0.12)),
        attack_s=0.005,
        shapes={
            "grace": _Shape(0.0, 0.05),
            "mid": _Shape(0.0, 0.11),
            "ring": _Shape(0.0, 0.15),
            "long": _Shape(0.0, 0.55),
        },
        tick_semitones=19,
        tick_partials=(_Partial(1.0, 1.0), _Partial(1.47, 0.45, 0.7), _Partial(2.09, 0.2, 0.5)),
        tick_shape=_Shape(0.0, 0.016),
        glide_partials=(_Partial(1.0, 1.0), _Partial(2.0, 0.08)),
    ),
}


def _pitch(voice: _Voice, semitones: float) -> float:
    return float(voice.key_hz * 2.0 ** (semitones / 12.0))


def _raised_cosine(n: int) -> np.ndarray:
    """A ramp from exactly 0 to exactly 1 over ``n`` samples."""
    if n <= 1:
        return np.ones(max(n, 0))
    return 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / (n - 1))


def _add_note(
    buf: np.ndarray,
    sample_rate: int,
    at_s: float,
    freq_hz: float,
    level: float,
    partials: tuple[_Partial, ...],
    attack_s: float,
    shape: _Shape,
    mellow: bool = False,
) -> None:
    """Add one struck (or, with ``hold_s``, held) note into ``buf`` at ``at_s``."""
    start = round(at_s * sample_rate)
    # Beyond 14 time constants the note is below -120 dB: stop computing it there.
    span_s = attack_s + shape.hold_s + 14.0 * shape.decay_s
    n = min(buf.size - start, math.ceil(span_s * sample_rate))
    if n <= 0:
        return
    t = np.arange(n) / sample_rate
    attack = np.ones(n)
    a = min(n, max(1, round(attack_s * sample_rate)))
    attack[:a] = _raised_cosine(a)
    after = np.maximum(t - attack_s - shape.hold_s, 0.0)
    nyquist_guard = 0.45 * sample_rate
    for p in partials:
        f = freq_hz * p.ratio
        if f >= nyquist_guard:
            continue  # would alias at this sample rate
        gain = p.gain * (0.35 if mellow and p.ratio > 1.0 else 1.0)
        env = attack * np.exp(-after / (shape.decay_s * p.decay))
        wave = np.sin(2.0 * np.pi * f * t)
        if p.beat_hz:
            wave = 0.75 * wave + 0.25 * np.sin(2.0 * np.pi * (f + p.beat_hz) * t)
        buf[start : start + n] += level * gain * env * wave


def _add_glide(buf: np.ndarray, sample_rate: int, voice: _Voice, rising: bool) -> None:
    """A soft swell whose pitch glides up (inhale) or down (exhale) across the clip."""
    n = buf.size
    u = np.arange(n) / n
    lo, hi = _GLIDE_SEMITONES
    semis = lo + (hi - lo) * u if rising else hi - (hi - lo) * u
    freq = voice.key_hz * 2.0 ** (semis / 12.0)
    phase = 2.0 * np.pi * np.cumsum(freq) / sample_rate
    phase -= phase[0]
    t = np.arange(n) / sample_rate
    if rising:
        # Breath drawn in: a soft start that grows, then closes quickly.
        peak = int(0.7 * n)
        env = np.empty(n)
        env[:peak] = 0.35 + 0.65 * np.arange(peak) / peak
        env[peak:] = 1.0 - _raised_cosine(n - peak)
        onset_s = 0.02
    else:
        # Breath let out: a quick swell that slowly falls away.
        onset_s = 0.04
        env = np.clip(1.0 - (t - onset_s) / (t[-1] - onset_s), 0.0, 1.0) ** 1.5
    a = round(onset_s * sample_rate)
    env[:a] *= _raised_cosine(a)
    nyquist_guard = 0.45 * sample_rate
    for p in voice.glide_partials:
        if voice.key_hz * 2.0 ** (hi / 12.0) * p.ratio >= nyquist_guard:
            continue
        wave = np.sin(p.ratio * phase)
        if p.beat_hz:
            wave = 0.75 * wave + 0.25 * np.sin(p.ratio * phase + 2.0 * np.pi * p.beat_hz * t)
        buf += p.gain * env * wave


def _finish(buf: np.ndarray, fade_s: float, sample_rate: int) -> Samples:
    """Fade the tail to exactly zero, remove DC, set the peak; read-only float32 ``(1, n)``."""
    n = buf.size
    f = min(n, round(fade_s * sample_rate))
    if f:
        buf[n - f :] *= 1.0 - _raised_cosine(f)
    buf[0] = 0.0
    # A Hann-shaped correction removes the tiny DC offset and keeps both ends at zero.
    window = np.hanning(n)
    buf -= window * (buf.sum() / window.sum())
    buf *= db_to_gain(CUE_PEAK_DB) / float(np.abs(buf).max())
    out = np.ascontiguousarray(buf[np.newaxis, :], dtype=np.float32)
    out.flags.writeable = False
    return out


def _render(cue: str, voice: _Voice, sample_rate: int) -> Samples:
    if cue == "tick":
        buf = np.zeros(round(_TICK_S * sample_rate))
        freq = _pitch(voice, voice.tick_semitones)
        _add_note(buf, sample_rate, 0.0, freq, 1.0, voice.tick_partials, 0.002, voice.tick_shape)
        return _finish(buf, 0.02, sample_rate)
    if cue in ("inhale", "exhale"):
        buf = np.zeros(round(_GLIDE_S * sample_rate))
        _add_glide(buf, sample_rate, voice, rising=cue == "inhale")
        return _finish(buf, 0.0, sample_rate)
    length_s, notes = _SCORES[cue]
    buf = np.zeros(round(length_s * sample_rate))
    for note in notes:
        # Long notes are struck more gently (a slower attack), still well inside 20 ms.
        attack = voice.attack_s * (2.0 if note.kind == "long" else 1.0)
        _add_note(
            buf,
            sample_rate,
            note.at_s,
            _pitch(voice, note.semitones),
            note.level,
            voice.partials,
            attack,
            voice.shapes[note.kind],
            note.mellow,
        )
    return _finish(buf, 0.4 if length_s > 1.5 else 0.12, sample_rate)


@functools.lru_cache(maxsize=16)
def _cue_set(name: str, sample_rate: int) -> tuple[tuple[str, Clip], ...]:
    if name == "none":
        silent = np.zeros((1, 0), dtype=np.float32)
        silent.flags.writeable = False
        return tuple((cue, Clip(silent, sample_rate)) for cue in CUE_NAMES)
    voice = _VOICES[name]
    return tuple((cue, Clip(_render(cue, voice, sample_rate), sample_rate)) for cue in CUE_NAMES)


def synthesize_cue_set(name: str, sample_rate: int) -> dict[str, Clip]:
    """Every cue of a built-in set, synthesized (once per set and rate, then cached).

    The sets share one score and differ in timbre: ``bowl`` (singing bowl), ``chime``
    (bright bell), ``beep`` (plain sine beeps), ``soft`` (muffled marimba, woodblock tick);
    ``none`` gives zero-length clips. Clips are mono, start and end at zero, peak at
    :data:`CUE_PEAK_DB`, and are identical on every call. Their arrays are read-only.

    Args:
        name: A set from ``CUE_SETS``.
        sample_rate: Sample rate of the clips.

    Returns:
        A new dict from every name in ``CUE_NAMES`` to its clip.

    Raises:
        UsageError: ``name`` is not a built-in set, or the sample rate is not positive.
    """
    if name not in CUE_SETS:
        raise UsageError(
            f"unknown cue set {name!r}{did_you_mean(name, CUE_SETS)}; "
            f"use one of {', '.join(CUE_SETS)}"
        )
    _check_rate(sample_rate)
    return dict(_cue_set(name, sample_rate))


def _check_rate(sample_rate: int) -> None:
    if sample_rate <= 0:
        raise UsageError(f"the sample rate must be a positive number of Hz, not {sample_rate}")


def _expected_files() -> str:
    return ", ".join(f"{cue}.wav" for cue in CUE_NAMES)


def _trim(samples: Samples, sample_rate: int) -> Samples:
    """Cut what is 50 dB below the file's own peak at both ends, keeping 5 ms of it."""
    level = np.abs(samples).max(axis=0)
    peak = float(level.max()) if level.size else 0.0
    loud = np.flatnonzero(level > peak * db_to_gain(-50.0))
    if loud.size == 0:
        return samples[:, :0]
    pad = sample_rate // 200
    start = max(0, int(loud[0]) - pad)
    end = min(samples.shape[1], int(loud[-1]) + 1 + pad)
    return samples[:, start:end]


def _read_cue_file(path: Path, sample_rate: int) -> Clip:
    """One cue file as mono float32 at ``sample_rate``, silence trimmed, edges faded."""
    data, source_rate = read_all(path, MAX_CUE_FILE_S, what="cue sound")
    samples = with_channels(data, 1)
    samples = resample(samples, source_rate, sample_rate)
    samples = _trim(samples, sample_rate)
    if samples.shape[1]:
        samples = np.array(samples, dtype=np.float32)
        # Cutting silence may leave an edge mid-waveform: 2 ms / 5 ms fades keep it click-free.
        head = min(samples.shape[1], max(1, sample_rate // 500))
        tail = min(samples.shape[1], max(1, sample_rate // 200))
        samples[:, :head] *= _raised_cosine(head).astype(np.float32)
        samples[:, samples.shape[1] - tail :] *= (1.0 - _raised_cosine(tail)).astype(np.float32)
    samples.flags.writeable = False
    return Clip(samples, sample_rate)


def load_cue_folder(folder: Path, sample_rate: int) -> dict[str, Clip]:
    """A user's cue sounds: files named after the cues (``press.wav``, ``tick.m4a``, ...).

    Files may be in any format libsndfile reads (WAV, FLAC, OGG, MP3, AIFF) or, with ffmpeg
    installed, ffmpeg decodes (M4A/AAC, Opus, WMA, WebM, ...; see ``CUE_EXTENSIONS``),
    names in any case. Each is mixed down to mono, resampled to ``sample_rate``, trimmed of
    leading and trailing silence (so the sound starts on its mark) and given 2 ms / 5 ms
    edge fades; levels are left as recorded. Cues the folder does not provide fall back to
    the ``bowl`` set's sound. Other files are ignored.

    Args:
        folder: The folder to read.
        sample_rate: Sample rate of the clips.

    Returns:
        A new dict from every name in ``CUE_NAMES`` to its clip.

    Raises:
        UsageError: The sample rate is not positive.
        SoundError: The folder is missing or holds none of the cue names, two files name
            the same cue, or a file is unreadable, corrupt, longer than 30 seconds or needs
            ffmpeg and ffmpeg is not installed.
    """
    _check_rate(sample_rate)
    if not folder.is_dir():
        state = "is a file, not a folder" if folder.exists() else "does not exist"
        raise SoundError(
            f"cue folder {folder} {state}; name a built-in cue set "
            f"({', '.join(CUE_SETS)}) or a folder with sound files such as {_expected_files()}"
        )
    found: dict[str, Path] = {}
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise SoundError(
            f"cannot list cue folder {folder}: {exc.strerror or exc}; make it readable"
        ) from exc
    for path in entries:
        stem, suffix = path.stem.lower(), path.suffix.lower()
        if suffix not in CUE_EXTENSIONS or stem not in CUE_NAMES or not path.is_file():
            continue
        if stem in found:
            raise SoundError(
                f"cue folder {folder} has two sounds for {stem!r}: {found[stem].name} and "
                f"{path.name}; keep one of them"
            )
        found[stem] = path
    if not found:
        raise SoundError(
            f"cue folder {folder} has none of the cue sounds; add one or more of "
            f"{_expected_files()} (or files of another sound format with those names: "
            ".flac, .mp3, .m4a, .opus, ...)"
        )
    fallback = synthesize_cue_set(FALLBACK_SET, sample_rate)
    return {
        cue: _read_cue_file(found[cue], sample_rate) if cue in found else fallback[cue]
        for cue in CUE_NAMES
    }


def load_cues(spec: str, sample_rate: int) -> dict[str, Clip]:
    """The cue sounds a routine asks for: a built-in set's name or a folder of files.

    Args:
        spec: A name from ``CUE_SETS`` (``none`` gives zero-length clips) or a folder path
            (a relative path is relative to the working folder).
        sample_rate: Sample rate of the clips.

    Returns:
        A new dict from every name in ``CUE_NAMES`` to its mono clip.

    Raises:
        UsageError: The sample rate is not positive.
        SoundError: ``spec`` names no set and no folder, or the folder cannot be used (see
            :func:`load_cue_folder`).
    """
    _check_rate(sample_rate)
    if spec in CUE_SETS:
        return synthesize_cue_set(spec, sample_rate)
    folder = Path(spec).expanduser()
    if not folder.exists():
        raise SoundError(
            f"no built-in cue set or folder named {spec!r}{did_you_mean(spec, CUE_SETS)} "
            f"({folder.absolute()} does not exist); use a built-in set "
            f"({', '.join(CUE_SETS)}) or a folder with sound files such as {_expected_files()}"
        )
    return load_cue_folder(folder, sample_rate)


def cue_lengths_ms(cues: dict[str, Clip]) -> dict[str, int]:
    """Length of each cue in whole milliseconds, for the compiler's timing."""
    return {name: clip.duration_ms for name, clip in cues.items()}
