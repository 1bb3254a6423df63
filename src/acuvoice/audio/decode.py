"""Open a user's sound file in any format libsndfile or ffmpeg reads: probe, read whole, stream."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import os
import re
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import soundfile as sf

from acuvoice.audio.buffer import Samples
from acuvoice.errors import OutputError, SoundError

#: File name suffixes taken for sound files where a folder is searched (compare lower-cased).
#: libsndfile reads the first group itself; ffmpeg decodes the rest.
AUDIO_SUFFIXES = (
    ".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".caf",
    ".au", ".w64",
    ".m4a", ".m4b", ".mp4", ".aac", ".wma", ".asf", ".webm", ".weba", ".mka",
    ".mkv", ".ac3", ".eac3", ".amr", ".3gp", ".wv", ".ape", ".mp2", ".spx",
)  # fmt: skip

#: How far the decoded length of a lossy file may stray from the length its container
#: declares: AAC fills its last frame of 1024 samples, WMA's frames of 2048 start late
#: (at 8 kHz a frame is a quarter of a second).
CODEC_PADDING_S = 0.3

_SF_ERRORS = (sf.LibsndfileError, RuntimeError, OSError, ValueError)
_BLOCK = 1 << 16
_FORMATS_HINT = "WAV, FLAC, OGG, MP3, M4A, Opus, WMA, WebM, AIFF, ..."
_INSTALL_FFMPEG = "install ffmpeg (sudo apt-get install ffmpeg)"


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What a sound file holds, from libsndfile's header or, for other formats, ffprobe.

    Attributes:
        path: The file.
        sample_rate: Frames per second of the decoded audio.
        channels: Number of channels.
        frames: Length in frames. Exact for the formats libsndfile reads (MP3 aside);
            for the others it comes from the duration the container declares (measured by
            reading the stream when it declares none) and the decoded audio may be longer or
            shorter by up to :data:`CODEC_PADDING_S`.
        native: True when libsndfile reads the file; otherwise ffmpeg decodes it.
        codec: libsndfile's format name (``WAV``, ``FLAC``) or ffmpeg's codec (``aac``).
    """

    path: Path
    sample_rate: int
    channels: int
    frames: int
    native: bool
    codec: str

    @property
    def seconds(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


# --- pydub and ffmpeg --------------------------------------------------------------------


def _pydub() -> tuple[Any, Any, Any]:
    """pydub's ``AudioSegment``, ``mediainfo_json`` and ``which``, imported on first use."""
    with warnings.catch_warnings():
        # pydub imports audioop, deprecated in Python 3.11-3.12 (audioop-lts serves 3.13+),
        # and warns at import when ffmpeg is missing, which the callers check for themselves.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        from pydub import AudioSegment
        from pydub.utils import mediainfo_json, which
    return AudioSegment, mediainfo_json, which


def _ffmpeg() -> str | None:
    """The ffmpeg the exporters use, when ffprobe (which pydub probes with) is there too."""
    _, _, which = _pydub()
    from acuvoice.export.audio import ffmpeg_path

    exe = ffmpeg_path()
    if exe is None or not (which("ffprobe") or which("avprobe")):
        return None
    return exe


def _no_ffmpeg(path: Path, what: str, why: str | None) -> SoundError:
    said = f" ({why})" if why else ""
    return SoundError(
        f"cannot read {what} {path}: libsndfile does not read this format{said}, and other "
        f"formats (M4A, Opus, WMA, WebM, ...) need ffmpeg, which is not installed; "
        f"{_INSTALL_FFMPEG} or convert the file to WAV or FLAC"
    )


def _last_line(text: str, path: Path) -> str:
    """The last line ffmpeg logged, without its file-name prefix (the message names the file)."""
    # ffmpeg ends a failed run with a summary that says nothing about the cause.
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and line.strip() not in ("Conversion failed!", "Exiting.")
    ]
    if not lines:
        return "ffmpeg failed"
    line = lines[-1]
    for prefix in (f"{path}: ", f"{path.name}: "):
        line = line.removeprefix(prefix)
    return line


def _cannot_read(path: Path, what: str, reason: str) -> SoundError:
    return SoundError(
        f"cannot read {what} {path}: {reason}; replace it with a sound file ffmpeg or "
        f"libsndfile can decode ({_FORMATS_HINT})"
    )


# --- probing -----------------------------------------------------------------------------


def _check_file(path: Path, what: str) -> None:
    """Refuse a missing file, a folder or a file this process may not read, with its name."""
    if not path.exists():
        raise SoundError(f"{what} {path} does not exist; check the file name and folder")
    if path.is_dir():
        raise SoundError(f"{what} {path} is a folder, not a sound file; name a sound file")
    if not path.is_file():
        raise SoundError(f"{what} {path} is not a regular file; name a sound file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise SoundError(
            f"cannot open {what} {path}: {exc.strerror or exc}; make the file readable"
        ) from exc


def probe(path: Path, *, what: str = "sound file") -> AudioInfo:
    """Sample rate, channels and length of a sound file, without decoding it.

    libsndfile reads the header of the formats it knows (WAV, FLAC, OGG, MP3, AIFF, ...);
    any other file is probed with ffprobe through pydub's ``mediainfo_json``. What a file
    holds is remembered until its size or modification time changes.

    Args:
        path: The file.
        what: How messages name the file ("cue sound", "ambience file").

    Returns:
        What the file holds.

    Raises:
        SoundError: The file is missing, a folder or unreadable, is not audio that
            libsndfile or ffmpeg decodes, has no audio stream, or needs ffmpeg and ffmpeg is
            not installed.
    """
    _check_file(path, what)
    stat = path.stat()
    return _probe(path, stat.st_size, stat.st_mtime_ns, what)


# A file is often probed more than once (checked, then opened; the mixer opens a bed for
# each of its two passes), and ffprobe takes a tenth of a second to start. The size and
# modification time in the key make a changed file a new entry; errors are not cached.
@functools.lru_cache(maxsize=64)
def _probe(path: Path, size: int, mtime_ns: int, what: str) -> AudioInfo:
    try:
        info = sf.info(str(path))
    except _SF_ERRORS as exc:
        native_error: BaseException = exc
    else:
        if info.samplerate > 0 and info.channels > 0:
            return AudioInfo(
                path, int(info.samplerate), int(info.channels), max(0, int(info.frames)),
                True, str(info.format),
            )  # fmt: skip
        native_error = ValueError("no sample rate or channels in its header")
    return _probe_ffmpeg(path, what, native_error)


def _number(value: object) -> float | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _probe_ffmpeg(path: Path, what: str, native_error: BaseException) -> AudioInfo:
    exe = _ffmpeg()
    if exe is None:
        raise _no_ffmpeg(path, what, _short(native_error))
    _, mediainfo_json, _ = _pydub()
    try:
        info = mediainfo_json(str(path))
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise _cannot_read(path, what, f"ffprobe cannot read it ({exc})") from exc
    streams = (info.get("streams") or []) if isinstance(info, dict) else []
    if not streams:
        raise _cannot_read(
            path, what, "neither libsndfile nor ffmpeg recognises it as a sound file "
            "(it may be damaged, incomplete or of another kind)",
        )  # fmt: skip
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not audio:
        kinds = ", ".join(sorted({str(s.get("codec_type", "unknown")) for s in streams}))
        raise SoundError(
            f"{what} {path} holds no audio stream (only {kinds}); use a file with sound in it"
        )
    stream = audio[0]
    rate = int(_number(stream.get("sample_rate")) or 0)
    channels = int(_number(stream.get("channels")) or 0)
    if rate <= 0 or channels <= 0:
        raise _cannot_read(path, what, "ffprobe finds no sample rate or channel count in it")
    seconds = _number(stream.get("duration"))
    if seconds is None:
        seconds = _number((info.get("format") or {}).get("duration"))
    if seconds is None:
        # Streamed recordings (a browser's WebM, for one) declare no length.
        seconds = _measure_seconds(exe, path, what)
    return AudioInfo(
        path, rate, channels, round(seconds * rate), False, str(stream.get("codec_name", "?"))
    )


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text.split(": ", 1)[1] if text.startswith("Error opening") and ": " in text else text


def _measure_seconds(exe: str, path: Path, what: str) -> float:
    """The length of the first audio stream, by reading its packets (no decoding)."""
    cmd = [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path),
           "-map", "0:a:0", "-c", "copy", "-f", "null", "-progress", "pipe:1", "-"]  # fmt: skip
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    times = re.findall(rb"^out_time_us=(\d+)\s*$", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or not times:
        raise _cannot_read(
            path, what, "it declares no length and ffmpeg cannot read its audio to the end "
            f"({_last_line(proc.stderr.decode('utf-8', 'replace'), path)})",
        )  # fmt: skip
    return int(times[-1]) / 1e6


# --- reading into memory -----------------------------------------------------------------


def _read_native(path: Path, info: AudioInfo, most: int, what: str) -> Samples:
    """Up to ``most`` frames from the start, read by libsndfile in blocks into one array."""
    data = np.empty((info.channels, min(most, info.frames)), dtype=np.float32)
    filled = 0
    try:
        with sf.SoundFile(str(path)) as f:
            while filled < most:
                block = f.read(min(_BLOCK, most - filled), dtype="float32", always_2d=True)
                if not len(block):
                    break
                if filled + len(block) > data.shape[1]:  # a length reported short (MP3)
                    grow = max(filled + len(block) - data.shape[1], data.shape[1] // 4)
                    data = np.concatenate([data, np.empty_like(data[:, :grow])], axis=1)
                data[:, filled : filled + len(block)] = block.T
                filled += len(block)
    except _SF_ERRORS as exc:
        raise _cannot_read(path, what, _short(exc)) from exc
    return data[:, :filled]


def _segment_samples(segment: Any) -> Samples:
    """A pydub segment's integer PCM as float32 ``(channels, n)`` with full scale 1.0."""
    width, channels = int(segment.sample_width), int(segment.channels)
    dtype = {1: np.uint8, 2: np.int16, 4: np.int32}[width]
    ints = np.frombuffer(segment.raw_data, dtype=np.dtype(dtype).newbyteorder("<"))
    frames = ints.size // channels
    out = np.empty((channels, frames), dtype=np.float32)
    for c in range(channels):  # channel by channel: no float copy of the whole interleaved data
        out[c] = ints[c : frames * channels : channels]
    if width == 1:
        out -= 128.0  # 8-bit WAV is unsigned
    out *= np.float32(1.0 / (1 << (8 * width - 1)))
    return out


def _read_ffmpeg(path: Path, seconds: float, what: str) -> tuple[Samples, int]:
    """Up to ``seconds`` from the start, decoded by ffmpeg through pydub."""
    if _ffmpeg() is None:
        raise _no_ffmpeg(path, what, None)
    audio_segment, _, _ = _pydub()
    from pydub.exceptions import CouldntDecodeError

    try:
        segment = audio_segment.from_file(str(path), duration=seconds)
    except CouldntDecodeError as exc:
        raise _cannot_read(path, what, _last_line(str(exc), path)) from exc
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise _cannot_read(path, what, f"ffmpeg cannot decode it ({exc})") from exc
    try:
        samples = _segment_samples(segment)
    except KeyError as exc:
        raise _cannot_read(path, what, f"{segment.sample_width}-byte samples") from exc
    return samples, int(segment.frame_rate)


def read_all(path: Path, max_seconds: float, *, what: str = "sound file") -> tuple[Samples, int]:
    """A short sound file, decoded whole: libsndfile where it can, else ffmpeg through pydub.

    Never decodes much more than ``max_seconds``, whatever the file claims.

    Args:
        path: The file.
        max_seconds: Longest file accepted (lossy formats may run over by up to
            :data:`CODEC_PADDING_S`).
        what: How messages name the file ("cue sound", "ambience file").

    Returns:
        The samples, float32 shaped ``(channels, n)``, and their sample rate.

    Raises:
        SoundError: The file cannot be probed (see :func:`probe`) or decoded, holds no
            audio, or is longer than ``max_seconds``.
    """
    info = probe(path, what=what)
    too_long = SoundError(
        f"{what} {path} is longer than {max_seconds:g} s; use a shorter file (cut it or pick "
        "another)"
    )
    if info.native:
        # One frame past the limit tells a long file (MP3 lengths are not exact).
        limit = math.floor(max_seconds * info.sample_rate)
        data, rate = _read_native(path, info, limit + 1, what), info.sample_rate
    else:
        if info.seconds > max_seconds + CODEC_PADDING_S:
            raise too_long
        data, rate = _read_ffmpeg(path, max_seconds + 2 * CODEC_PADDING_S, what)
        limit = math.floor((max_seconds + CODEC_PADDING_S) * rate)
    if data.shape[1] > limit:
        raise too_long
    if not data.shape[1]:
        raise SoundError(f"{what} {path} holds no audio; use another file")
    return data, rate


def read_start(info: AudioInfo, seconds: float, *, what: str = "sound file") -> Samples:
    """The first ``seconds`` of a probed file, decoded (less when the file is shorter).

    A quick check that the file decodes at all, without decoding the rest of it.

    Args:
        info: The file, as :func:`probe` found it.
        seconds: How much to decode.
        what: How messages name the file.

    Returns:
        Float32 samples shaped ``(channels, n)`` at ``info.sample_rate``.

    Raises:
        SoundError: Nothing of the file decodes.
    """
    if info.native:
        data = _read_native(info.path, info, math.ceil(seconds * info.sample_rate), what)
    else:
        data, _ = _read_ffmpeg(info.path, seconds, what)
    if not data.shape[1]:
        raise _cannot_read(info.path, what, "no audio decodes from its start")
    return data


# --- streaming ---------------------------------------------------------------------------


class SoundStream:
    """An open sound file read block by block, so memory does not grow with its length.

    Attributes:
        info: The file's exact format and length (of the converted WAV for a file that
            ffmpeg decodes); ``info.path`` is the user's file.
    """

    def __init__(self, file: sf.SoundFile, info: AudioInfo, what: str) -> None:
        self.info = info
        self._file = file
        self._what = what
        self._at = 0

    def _fail(self, exc: BaseException) -> SoundError:
        return _cannot_read(self.info.path, self._what, _short(exc))

    def read(self, start: int, frames: int) -> Samples:
        """Frames ``[start, start + frames)`` as float32 ``(channels, n)``; fewer at the end.

        Raises:
            SoundError: The file cannot be read there.
        """
        try:
            if start != self._at:  # sequential reads, the common case, need no seek
                self._file.seek(start)
            block = self._file.read(frames, dtype="float32", always_2d=True)
        except _SF_ERRORS as exc:
            raise self._fail(exc) from exc
        self._at = start + len(block)
        return np.ascontiguousarray(block.T)

    def blocks(self, frames: int = _BLOCK) -> Iterator[Samples]:
        """The whole file from its start, ``frames`` at a time.

        Raises:
            SoundError: The file cannot be read.
        """
        start = 0
        while True:
            block = self.read(start, frames)
            if not block.shape[1]:
                return
            yield block
            start += block.shape[1]

    def close(self) -> None:
        """Close the file (reading again is an error)."""
        self._file.close()

    def __enter__(self) -> SoundStream:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def converted_name(path: Path) -> str:
    """The name the WAV conversion of ``path`` gets in a workdir: new when the file changes."""
    stat = path.stat()
    key = f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem)[:40] or "sound"
    return f"{stem}-{hashlib.sha256(key).hexdigest()[:16]}.wav"


def _convert(path: Path, workdir: Path, what: str) -> Path:
    """``path`` as a WAV in ``workdir``, converted by ffmpeg unless already there."""
    target = workdir / converted_name(path)
    if target.is_file():
        return target
    exe = _ffmpeg()
    if exe is None:
        raise _no_ffmpeg(path, what, None)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        fd, part = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".part", dir=workdir)
        os.close(fd)
    except OSError as exc:
        raise OutputError(
            f"cannot convert {what} {path} in folder {workdir}: {exc.strerror or exc}; "
            "use a writable folder with free space"
        ) from exc
    # 24-bit keeps a quiet file clean after it is normalized; RF64 past 4 GB (many channels).
    cmd = [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(path),
           "-map", "0:a:0", "-vn", "-c:a", "pcm_s24le", "-rf64", "auto", "-f", "wav", part]  # fmt: skip
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        if proc.returncode != 0:
            err = _last_line(proc.stderr.decode("utf-8", "replace"), path)
            if "No space left" in err:
                raise OutputError(
                    f"the disk is full while converting {what} {path} in {workdir}; "
                    "free some space and try again"
                )
            raise _cannot_read(path, what, err)
        os.replace(part, target)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(part)
    return target


def open_stream(path: Path, workdir: Path | None, *, what: str = "sound file") -> SoundStream:
    """A long sound file, opened to be read block by block in bounded memory.

    libsndfile reads its formats in place. Any other file is first converted by ffmpeg into
    a WAV in ``workdir``, once: opening the same, unchanged file with the same ``workdir``
    again reads the WAV already there. The caller owns ``workdir`` and removes it.

    Args:
        path: The file.
        workdir: Where converted files are kept (created when missing); ``None`` only for a
            file :func:`probe` found ``native``.
        what: How messages name the file.

    Returns:
        The open stream; close it when done.

    Raises:
        SoundError: The file cannot be probed (see :func:`probe`) or converted, or it needs
            ffmpeg and ffmpeg is not installed.
        OutputError: ``workdir`` cannot be written, or its disk is full.
        ValueError: ``workdir`` is ``None`` for a file that ffmpeg decodes.
    """
    info = probe(path, what=what)
    if info.native:
        source = path
    elif workdir is None:
        raise ValueError(f"{path} must be converted, and no workdir was given")
    else:
        source = _convert(path, workdir, what)
    try:
        f = sf.SoundFile(str(source))
    except _SF_ERRORS as exc:
        raise _cannot_read(path, what, _short(exc)) from exc
    exact = AudioInfo(
        path, int(f.samplerate), int(f.channels), int(f.frames), info.native, info.codec
    )
    return SoundStream(f, exact, what)
