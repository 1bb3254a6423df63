"""Audio writers by format (WAV, FLAC, OGG, MP3, M4A), streaming, and MP3 chapters with mutagen.

WAV, FLAC and OGG are written in-process by libsndfile (soundfile). MP3 and M4A are piped to
ffmpeg (found the way pydub finds it), which encodes on another core while the mixer works;
without ffmpeg, MP3 falls back to libsndfile's slower encoder.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import numpy as np
import soundfile as sf

from acuvoice.audio.buffer import Samples
from acuvoice.errors import ExportError, UsageError
from acuvoice.procs import tied_to_parent
from acuvoice.validation import did_you_mean

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class AudioWriter(Protocol):
    """Takes blocks of float32 ``(channels, n)`` samples and writes them to one file."""

    def write(self, block: Samples) -> None:
        """Append a block."""
        ...

    def close(self) -> None:
        """Finish the file (raises ExportError if encoding failed)."""
        ...

    def abort(self) -> None:
        """Stop at once; the caller deletes the file."""
        ...


@dataclass(frozen=True, slots=True)
class EncodeOptions:
    """Encoder settings: bit rate for MP3/M4A (kbit/s), quality 0..1 for OGG Vorbis, an
    FFMETADATA document (tags and chapters) for the formats ffmpeg writes with chapters (M4A),
    and for MP3 a live copy: a second file the encoder writes as it goes, never rewritten
    afterwards, so it can be streamed to a listener while the session is still being made."""

    bitrate_kbps: int = 128
    ogg_quality: float = 0.5
    ffmetadata: str | None = None
    live_copy: Path | None = None


def ffmpeg_path() -> str | None:
    """The ffmpeg pydub would use, or ``None``."""
    try:
        with warnings.catch_warnings():
            # pydub imports audioop, deprecated in Python 3.11-3.12 (audioop-lts serves 3.13+).
            warnings.simplefilter("ignore", DeprecationWarning)
            from pydub.utils import which

        found = which("ffmpeg")
    except ImportError:  # pragma: no cover - pydub is a dependency
        found = None
    return found or shutil.which("ffmpeg")


class SoundfileWriter:
    """Writes WAV, FLAC or OGG in-process with libsndfile (keyword arguments go to ``sf.SoundFile``)."""

    def __init__(self, path: Path, sample_rate: int, channels: int, **kwargs: object) -> None:
        try:
            self.file = sf.SoundFile(str(path), "w", sample_rate, channels, **kwargs)
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise ExportError(f"cannot write {path}: {exc}") from exc
        self.path = path

    def write(self, block: Samples) -> None:
        try:
            self.file.write(np.ascontiguousarray(block.T))
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise ExportError(_explain(self.path, exc)) from exc

    def close(self) -> None:
        try:
            self.file.close()
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise ExportError(_explain(self.path, exc)) from exc

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # the file is being thrown away
            self.file.close()


#: Bytes the pipe to the encoder holds: about three seconds of stereo audio, 12 ms of LAME's
#: work, so the encoder never waits while the writing thread waits for the GIL (with the
#: default 64 KiB it went hungry for a second over an hour's encode).
PIPE_BYTES = 1 << 20


def _widen_pipe(stream: IO[bytes]) -> None:
    """Make a pipe's kernel buffer :data:`PIPE_BYTES` where the system allows (Linux)."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setpipe is None:
        return
    with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep the default
        fcntl.fcntl(stream.fileno(), setpipe, PIPE_BYTES)


class _FfmpegWriter:
    def __init__(
        self,
        path: Path,
        sample_rate: int,
        channels: int,
        codec_args: list[str],
        container: str,
        metadata: str | None = None,
        *,
        target: str | None = None,
    ) -> None:
        exe = ffmpeg_path()
        if exe is None:
            raise ExportError(
                f"writing {path.suffix} needs ffmpeg; install it (sudo apt-get install ffmpeg)"
            )
        self.path = path
        self.meta: Path | None = None
        extra: list[str] = []
        if metadata is not None:
            # An FFMETADATA file as a second input carries tags and chapters (M4A chapter atoms).
            fd, meta = tempfile.mkstemp(prefix=".acuvoice-meta-", suffix=".txt", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(metadata)
            self.meta = Path(meta)
            extra = [
                "-f",
                "ffmetadata",
                "-i",
                meta,
                "-map",
                "0:a",
                "-map_metadata",
                "1",
                "-map_chapters",
                "1",
            ]
        args = [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                "-f", "f32le", "-ar", str(sample_rate), "-ac", str(channels), "-i", "pipe:0",
                *extra, *codec_args, "-f", container, target or str(path)]  # fmt: skip
        # stderr goes to a file, not a pipe: a pipe nobody reads could fill and stall ffmpeg.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close() or abort()
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stderr=self.log, preexec_fn=tied_to_parent()
        )
        assert self.proc.stdin is not None
        _widen_pipe(self.proc.stdin)

    def write(self, block: Samples) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(np.ascontiguousarray(block.T, dtype="<f4").tobytes())
        except BrokenPipeError:
            self._fail()

    def close(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        if self.proc.wait() != 0:
            self._fail()
        self.log.close()
        self._forget_meta()

    def _forget_meta(self) -> None:
        if self.meta is not None:
            self.meta.unlink(missing_ok=True)

    def _fail(self) -> None:
        self.proc.wait()
        self.log.seek(0)
        err = self.log.read().decode("utf-8", "replace").strip()
        self.log.close()
        self._forget_meta()
        raise ExportError(
            _explain(self.path, OSError(err.splitlines()[-1] if err else "ffmpeg failed"))
        )

    def abort(self) -> None:
        self.proc.kill()
        self.proc.wait()
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self.log.close()
        self._forget_meta()


class ThreadedWriter:
    """Runs a writer on its own thread, so encoding overlaps with mixing the next blocks."""

    def __init__(self, inner: AudioWriter, depth: int = 3) -> None:
        self.inner = inner
        self.queue: queue.Queue[Samples | None] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="acuvoice-encoder", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            block = self.queue.get()
            if block is None:
                return
            if self.error is None:
                try:
                    self.inner.write(block)
                except BaseException as exc:
                    self.error = exc

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def write(self, block: Samples) -> None:
        self._check()
        self.queue.put(block)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        self._check()
        self.inner.close()

    def abort(self) -> None:
        self.error = self.error or ExportError("aborted")
        # Drop what is queued and let the thread finish its current block before the file is
        # closed under it (closing a libsndfile handle mid-write crashes the process).
        with contextlib.suppress(queue.Empty):
            while True:
                self.queue.get_nowait()
        self.queue.put(None)
        self.thread.join(timeout=10)
        self.inner.abort()  # also unblocks a thread stuck writing to a dead ffmpeg pipe
        self.thread.join()


def _tee_name(path: Path) -> str:
    """A file name for ffmpeg's tee muxer, which gives ``|[]:\\`` and quotes a meaning."""
    name = str(path)
    if set(name) & set("|[]:\\'\""):
        raise ExportError(
            f"cannot stream a copy to {name}: the name has a character ffmpeg's tee output reserves"
        )
    return name


def _explain(path: Path, exc: BaseException) -> str:
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    if (isinstance(exc, OSError) and exc.errno == 28) or (free is not None and free < 1_000_000):
        return f"the disk is full while writing {path.name}; free some space and try again"
    return f"cannot write {path.name}: {exc}"


Opener = Callable[[Path, int, int, EncodeOptions], AudioWriter]


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """An output format: its name, whether it is lossy, and how to open a writer.

    A lossy encoder changes what is heard a little, and the master makes up for it, so the
    delivered file (decoded, as a player or ``ffmpeg ebur128`` reads it) has the loudness
    and true peak asked for:

    Attributes:
        level_loss_db: How much quieter the encoded file reads than the master (integrated
            loudness); the master is made this much louder. LAME's quantizer rounds toward
            zero and takes 0.4-0.5 LU off every session measured, speech and beds alike.
        peak_headroom_db: How far under the requested true peak the master's limiter aims:
            decoding a lossy file rebuilds peaks higher (measured: LAME up to +0.4 dB,
            Vorbis +0.8 dB, AAC +0.5 dB on most sessions and up to +2 dB on a dense,
            limited passage).
        check_peak: The written file is decoded and its true peak measured, and written
            again with a lower ceiling when it went over: for the encoders whose overshoot
            depends on the content (AAC, Vorbis). MP3's is small and steady, and decoding
            an hour of it would cost as much as encoding it.
    """

    name: str
    lossy: bool
    open: Opener
    description: str
    level_loss_db: float = 0.0
    peak_headroom_db: float = 0.0
    check_peak: bool = False


def _open_mp3(path: Path, rate: int, channels: int, o: EncodeOptions) -> AudioWriter:
    codec = ["-c:a", "libmp3lame", "-b:a", f"{o.bitrate_kbps}k"]
    if ffmpeg_path() and o.live_copy is not None:
        # Two copies of one encode: the file itself (its Xing header is filled in at the end)
        # and the live copy, written front to back only (no Xing frame to rewrite later).
        return _FfmpegWriter(
            path,
            rate,
            channels,
            [*codec, "-map", "0:a"],
            "tee",
            target=f"[f=mp3]{_tee_name(path)}|[f=mp3:write_xing=0:onfail=ignore]"
            f"{_tee_name(o.live_copy)}",
        )
    if ffmpeg_path():
        return _FfmpegWriter(path, rate, channels, codec, "mp3")
    level = min(1.0, max(0.0, (320 - o.bitrate_kbps) / 288))
    return SoundfileWriter(path, rate, channels, format="MP3", subtype="MPEG_LAYER_III",
                            compression_level=level, bitrate_mode="CONSTANT")  # fmt: skip


#: Output formats by file suffix.
AUDIO_FORMATS: dict[str, AudioFormat] = {
    "wav": AudioFormat(
        "wav",
        False,
        lambda p, r, c, o: SoundfileWriter(p, r, c, format="WAV", subtype="PCM_16"),
        "16-bit PCM WAV",
    ),
    "flac": AudioFormat(
        "flac",
        False,
        lambda p, r, c, o: SoundfileWriter(p, r, c, format="FLAC", subtype="PCM_16"),
        "16-bit FLAC",
    ),
    "ogg": AudioFormat(
        "ogg",
        True,
        lambda p, r, c, o: SoundfileWriter(
            p, r, c, format="OGG", subtype="VORBIS", compression_level=1.0 - o.ogg_quality
        ),
        "Ogg Vorbis",
        level_loss_db=0.05,
        peak_headroom_db=1.2,
        check_peak=True,
    ),
    "mp3": AudioFormat(
        "mp3", True, _open_mp3, "MP3, constant bit rate", level_loss_db=0.45, peak_headroom_db=0.5
    ),
    "m4a": AudioFormat(
        "m4a",
        True,
        lambda p, r, c, o: _FfmpegWriter(
            p, r, c, ["-c:a", "aac", "-b:a", f"{o.bitrate_kbps}k"], "ipod", o.ffmetadata
        ),
        "AAC in MP4 (needs ffmpeg)",
        level_loss_db=0.05,
        peak_headroom_db=1.0,
        check_peak=True,
    ),
}


def decoded_true_peak(path: Path, sample_rate: int, channels: int) -> float:
    """The true peak (dBTP) of an encoded file as a player decodes it, in bounded memory.

    ffmpeg decodes (to the rate and channels it was encoded from) and the samples are
    metered as they arrive, a second at a time.

    Raises:
        ExportError: ffmpeg is missing or cannot decode the file.
    """
    from acuvoice.audio.loudness import TruePeakMeter

    exe = ffmpeg_path()
    if exe is None:
        raise ExportError(f"cannot check the true peak of {path}: ffmpeg is not installed")
    cmd = [exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path),
           "-map", "0:a:0", "-f", "f32le", "-ac", str(channels), "-ar", str(sample_rate), "-"]  # fmt: skip
    meter = TruePeakMeter(sample_rate, channels)
    step = sample_rate * channels * 4  # one second of float32
    with tempfile.TemporaryFile() as log, subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
        preexec_fn=tied_to_parent(),
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        rest = b""
        while chunk := proc.stdout.read(step):
            data = rest + chunk
            usable = len(data) - len(data) % (4 * channels)
            rest = data[usable:]
            if usable:
                frames = np.frombuffer(data[:usable], dtype="<f4").reshape(-1, channels)
                meter.add(np.ascontiguousarray(frames.T))
        proc.wait()
        log.seek(0)
        err = log.read().decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        raise ExportError(f"cannot check the true peak of {path}: {err or 'ffmpeg failed'}")
    return meter.peak_dbtp()


def audio_format(path: Path) -> AudioFormat:
    """The format a file name asks for.

    Raises:
        UsageError: The suffix is not a supported format.
    """
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("m4b", "aac", "mp4"):
        suffix = "m4a"
    if suffix not in AUDIO_FORMATS:
        hint = did_you_mean(suffix, AUDIO_FORMATS) if suffix else ""
        raise UsageError(
            f"cannot tell the audio format of {path.name!r}{hint}; end the file name with "
            f"{', '.join('.' + s for s in AUDIO_FORMATS)}"
        )
    return AUDIO_FORMATS[suffix]


def write_chapters(path: Path, fmt: AudioFormat, chapters: list[tuple[int, int, str]]) -> None:
    """Embed chapters where the format has a standard for them (MP3: ID3v2 CHAP + CTOC).

    The CHAP frames are stored in time order too, for players that list them as stored
    rather than by the CTOC.

    Raises:
        ExportError: The chapters could not be written.
    """
    if fmt.name != "mp3" or not chapters:
        return
    from mutagen import id3

    try:
        try:
            tag = id3.ID3(str(path))
        except id3.ID3NoHeaderError:
            tag = id3.ID3()
        ids = _chapter_ids([title for _, _, title in chapters])
        tag.add(
            id3.CTOC(
                element_id="toc",
                flags=id3.CTOCFlags.TOP_LEVEL | id3.CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[id3.TIT2(encoding=3, text="Chapters")],
            )
        )
        for element_id, (start, end, title) in zip(ids, chapters, strict=True):
            tag.add(
                id3.CHAP(
                    element_id=element_id,
                    start_time=start,
                    end_time=end,
                    sub_frames=[id3.TIT2(encoding=3, text=title)],
                )
            )
        tag.save(str(path), v2_version=3)
    except Exception as exc:
        raise ExportError(f"cannot write chapters to {path.name}: {exc}") from exc


def _chapter_ids(titles: list[str]) -> list[str]:
    """Element ids that make mutagen store the CHAP frames in time order.

    mutagen writes frames ordered by size, then by ``"CHAP:" + element_id``. ID3v2.3 text is
    UTF-16 (mutagen turns UTF-8 into it), so a title's TIT2 sub-frame costs a 10-byte header,
    an encoding byte, the ``encode("utf-16")`` bytes (a byte-order mark, then the text) and
    a 2-byte terminator; an empty title is left out altogether. Each id is padded with one
    ASCII byte per byte its title is short of the longest, so every CHAP frame has the same
    size, and the zero-padded numbers in front sort the ids in time order. The ids are
    internal (the CTOC lists them); players show the titles.
    """
    sizes = [13 + len(title.encode("utf-16")) if title else 0 for title in titles]
    width = max(3, len(str(len(titles) - 1)))
    longest = max(sizes)
    return [f"chp{i:0{width}d}" + "_" * (longest - size) for i, size in enumerate(sizes)]
