"""MP3 encoded in parallel chunks (one ffmpeg/LAME each) and joined gaplessly under one
Xing/LAME "Info" header.

LAME's output frame ``i`` decodes to input samples ``[i*1152 - 1105, (i+1)*1152 - 1105)``
(576 samples of encoder delay, 529 of decoder delay), whatever the input. So a chunk whose
input starts ``m`` frames before a frame boundary of the whole session, with its first ``m``
frames dropped, continues the frame sequence of the chunk before it exactly. Every chunk is
encoded without a bit reservoir, so no frame borrows bits from a frame of another chunk;
each chunk also encodes a few frames of real signal past its last kept frame, so the frames
on both sides of a join saw the same signal around it.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from acuvoice.audio.buffer import Samples
from acuvoice.errors import ExportError
from acuvoice.export.audio import _FfmpegWriter

#: Samples per MPEG-1 Layer III frame.
SPF = 1152
#: LAME's encoder delay (written in the LAME tag) and the decoder's own (added by readers).
ENCODER_DELAY = 576
DECODER_DELAY = 529
#: Sample rates of MPEG-1 Layer III, the only ones chunked.
RATES = (44_100, 48_000, 32_000)
#: Frames each later chunk encodes and drops before its first kept frame.
PRE_ROLL = 8
#: Frames of signal each chunk encodes past its last kept frame.
TAIL = 8
_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
#: What the LAME tag names as its writer (the frames are libmp3lame's).
LAME_VERSION = b"LAME3.100"

#: Yields the master samples of frames ``[start, stop)``, float32 ``(channels, n)``.
Source = Callable[[int, int], Iterable[Samples]]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One encode: input samples ``[start, stop)``, its first ``skip`` MP3 frames dropped
    and then ``keep`` kept (``None``: all the rest)."""

    start: int
    stop: int
    skip: int
    keep: int | None


def plan_chunks(frames: int, jobs: int) -> list[Chunk]:
    """Cut a session of ``frames`` samples into ``jobs`` chunks at MP3 frame boundaries."""
    total = -(-(frames + ENCODER_DELAY + DECODER_DELAY) // SPF)
    jobs = max(1, min(jobs, total // (4 * (PRE_ROLL + TAIL))))
    bounds = [round(k * total / jobs) for k in range(jobs)]
    chunks = []
    for k, first in enumerate(bounds):
        start = max(0, (first - PRE_ROLL) * SPF)
        if k + 1 < len(bounds):
            stop, keep = min(frames, (bounds[k + 1] + TAIL) * SPF), bounds[k + 1] - first
        else:
            stop, keep = frames, None
        chunks.append(Chunk(start, stop, first - start // SPF, keep))
    return chunks


def encode_chunked(
    path: Path,
    source: Source,
    frames: int,
    sample_rate: int,
    channels: int,
    bitrate_kbps: int,
    jobs: int,
    *,
    advance: Callable[[int], None] | None = None,
) -> None:
    """Encode ``frames`` samples from ``source`` to the MP3 file ``path``, ``jobs`` at a time.

    The chunks are encoded to temporary files beside ``path``, which are removed whatever
    happens. ``advance`` is told, on the calling thread, how many samples were encoded since.

    Raises:
        ExportError: An encoder failed, or its output cannot be joined.
    """
    chunks = plan_chunks(frames, jobs)
    temps: list[Path] = []
    try:
        for k in range(len(chunks)):
            fd, name = tempfile.mkstemp(
                prefix=f".{path.name}.{k}.", suffix=".part", dir=path.parent
            )
            os.close(fd)
            temps.append(Path(name))
        kept = _run(chunks, temps, source, sample_rate, channels, bitrate_kbps, advance, path.name)
        _join(path, kept, temps, frames, bitrate_kbps)
    except OSError as exc:
        raise ExportError(f"cannot write {path.name}: {exc}") from exc
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


class _Stopped(Exception):
    """Another chunk failed, or the render was interrupted."""


def _run(
    chunks: list[Chunk],
    temps: list[Path],
    source: Source,
    rate: int,
    channels: int,
    bitrate_kbps: int,
    advance: Callable[[int], None] | None,
    name: str,
) -> list[_Kept]:
    """Encode every chunk on its own thread; each then finds the frames it keeps."""
    codec = ["-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-reservoir", "0",
             "-write_xing", "0", "-id3v2_version", "0", "-write_id3v1", "0"]  # fmt: skip
    stop = threading.Event()
    done = [0] * len(chunks)
    errors: list[BaseException | None] = [None] * len(chunks)
    kept: list[_Kept | None] = [None] * len(chunks)

    def encode(k: int) -> None:
        writer = None
        try:
            writer = _FfmpegWriter(temps[k], rate, channels, codec, "mp3")
            for block in source(chunks[k].start, chunks[k].stop):
                if stop.is_set():
                    raise _Stopped
                writer.write(block)
                done[k] += block.shape[1]
            writer.close()
            kept[k] = _keep(chunks[k], temps[k], name)
        except BaseException as exc:
            errors[k] = exc
            stop.set()
            if writer is not None:
                writer.abort()

    threads = [
        threading.Thread(target=encode, args=(k,), name=f"acuvoice-mp3-{k}", daemon=True)
        for k in range(len(chunks))
    ]
    reported = 0
    try:
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            time.sleep(0.1)
            if advance is not None and sum(done) > reported:
                advance(sum(done) - reported)
                reported = sum(done)
    except BaseException:
        stop.set()
        for t in threads:
            t.join()
        raise
    failed = [e for e in errors if e is not None and not isinstance(e, _Stopped)]
    if failed:
        raise failed[0]
    return [k for k in kept if k is not None]


def mpeg_frames(data: bytes, name: str) -> list[tuple[int, int]]:
    """``(offset, size)`` of every MPEG-1 Layer III frame in ``data``."""
    return _walk(data, 0, name)[0]


def _walk(data: bytes, base: int, name: str) -> tuple[list[tuple[int, int]], int]:
    """The frames whose headers lie in ``data`` (byte ``base`` onwards of the stream), with
    offsets from the stream's start, and where the next frame starts, relative to ``data``
    (past its end when the last frame runs on)."""
    found = []
    pos = 0
    while pos + 4 <= len(data):
        b1, b2 = data[pos + 1], data[pos + 2]
        if data[pos] != 0xFF or (b1 & 0xFE) != 0xFA or not 0 < b2 >> 4 < 15 or (b2 >> 2) & 3 == 3:
            raise ExportError(
                f"cannot join the MP3 chunks of {name}: no frame at byte {base + pos}"
            )
        size = 144_000 * _BITRATES[b2 >> 4] // RATES[(b2 >> 2) & 3] + ((b2 >> 1) & 1)
        found.append((base + pos, size))
        pos += size
    return found, pos


#: Bytes of a chunk's file read at a time when finding and checking its frames, so memory
#: stays flat however long the chunk (half an hour is 29 MB).
_PIECE = 4 << 20


def _file_frames(fh: BinaryIO, name: str) -> tuple[list[tuple[int, int]], bytes]:
    """What :func:`mpeg_frames` finds in a whole file, read a piece at a time; and the
    file's first four bytes."""
    found: list[tuple[int, int]] = []
    first = b""
    base, tail = 0, b""
    while True:
        piece = fh.read(_PIECE)
        data = tail + piece
        first = first or data[:4]
        frames, pos = _walk(data, base, name)
        if piece and frames and pos > len(data):
            # The last frame runs past this piece: it is walked again with the next one.
            pos = frames.pop()[0] - base
        found += frames
        if not piece:
            return found, first
        base, tail = base + pos, data[pos:]


@dataclass(frozen=True, slots=True)
class _Kept:
    """What one chunk keeps: bytes ``[first, end)`` of its file, those frames' sizes and
    CRC, and its first frame header."""

    header: bytes
    first: int
    end: int
    sizes: list[int]
    crc: int


def _keep(chunk: Chunk, tmp: Path, name: str) -> _Kept:
    with tmp.open("rb") as fh:
        found, header = _file_frames(fh, name)
        end = len(found) if chunk.keep is None else chunk.skip + chunk.keep
        if end > len(found) or chunk.skip >= end:
            raise ExportError(f"cannot join the MP3 chunks of {name}: a chunk is too short")
        kept = found[chunk.skip : end]
        a, b = kept[0][0], kept[-1][0] + kept[-1][1]
        crc = 0
        fh.seek(a)
        for left in range(b - a, 0, -_PIECE):
            crc = crc16(crc, fh.read(min(left, _PIECE)))
    return _Kept(header, a, b, [size for _, size in kept], crc)


def _join(path: Path, kept: list[_Kept], temps: list[Path], frames: int, bitrate: int) -> None:
    """Write the kept frames of every chunk to ``path`` behind one Info frame."""
    sizes = [size for k in kept for size in k.sizes]
    padding = len(sizes) * SPF - ENCODER_DELAY - frames
    if not DECODER_DELAY <= padding < 4096:
        raise ExportError(
            f"cannot join the MP3 chunks of {path.name}: {padding} samples of padding"
        )
    crc = 0
    for k in kept:  # the CRC of A then B: A's register run through B's zeros, xor B's
        crc = _zeros(k.end - k.first)(crc) ^ k.crc
    info = _info_frame(kept[0].header, sizes, bitrate, padding, crc)
    with path.open("wb") as out:
        out.write(info)
        for k, tmp in zip(kept, temps, strict=True):
            with tmp.open("rb") as fh:
                fh.seek(k.first)
                left = k.end - k.first
                while left:
                    piece = fh.read(min(left, 1 << 20))
                    out.write(piece)
                    left -= len(piece)


def _info_frame(header: bytes, sizes: list[int], bitrate: int, padding: int, crc: int) -> bytes:
    """The Xing "Info" frame (CBR) with a LAME tag: frame and byte counts, a 100-point seek
    table, encoder delay and padding, and the tag's and the music's CRCs."""
    mono = header[3] >> 6 == 3
    tag = 4 + (17 if mono else 32)
    rate_index = (header[2] >> 2) & 3
    index = next(
        i
        for i in range(1, 15)
        if _BITRATES[i] >= bitrate and 144_000 * _BITRATES[i] // RATES[rate_index] >= tag + 156
    )
    size = 144_000 * _BITRATES[index] // RATES[rate_index]
    frame = bytearray(size)
    frame[:4] = bytes([0xFF, 0xFB, index << 4 | rate_index << 2, header[3]])
    audio = sum(sizes)
    total_bytes = size + audio
    offsets = size + np.concatenate(([0], np.cumsum(sizes[:-1], dtype=np.int64)))
    picks = offsets[(np.arange(100) * len(sizes)) // 100]
    toc = np.minimum(255, picks * 256 // total_bytes).astype(np.uint8)
    body = bytearray()
    body += b"Info" + (0x0F).to_bytes(4, "big") + len(sizes).to_bytes(4, "big")
    body += total_bytes.to_bytes(4, "big") + toc.tobytes() + bytes(4)  # quality: unknown
    body += LAME_VERSION + bytes([0x01])  # tag revision 0, CBR
    body += bytes(1 + 4 + 2 + 2 + 1)  # lowpass, peak, replay gains, flags: not recorded
    body += bytes([min(bitrate, 255)])
    body += (ENCODER_DELAY << 12 | padding).to_bytes(3, "big")
    body += bytes(1 + 1 + 2)  # misc, MP3 gain, preset
    body += total_bytes.to_bytes(4, "big") + crc.to_bytes(2, "big")
    frame[tag : tag + len(body)] = body
    frame[tag + len(body) : tag + len(body) + 2] = crc16(
        0, bytes(frame[: tag + len(body)])
    ).to_bytes(2, "big")
    return bytes(frame)


# --- CRC-16 (polynomial 0x8005, reflected, as the LAME tag uses) --------------------------

_TABLE = np.array(
    [
        (lambda c: [c := (c >> 1) ^ 0xA001 if c & 1 else c >> 1 for _ in range(8)][-1])(b)
        for b in range(256)
    ],
    dtype=np.uint32,
)
#: Bytes run side by side: the data is cut into this many lanes, each CRC'd at once.
_LANES = 4096


def crc16(crc: int, data: bytes) -> int:
    """CRC-16 of ``data`` continuing from the register ``crc`` (0 to start).

    Long data is cut into equal lanes CRC'd side by side with numpy, then joined: the CRC
    is linear, so a register followed by ``n`` bytes is the register shifted through ``n``
    zero bytes, xor the CRC of those bytes from zero.
    """
    lane = len(data) // _LANES
    if lane < 64:
        return _crc_from(crc, data)
    body = np.frombuffer(data, dtype=np.uint8, count=lane * _LANES).reshape(_LANES, lane)
    columns = np.ascontiguousarray(body.T)
    regs = np.zeros(_LANES, dtype=np.uint32)
    for col in columns:
        regs = (regs >> 8) ^ _TABLE[(regs ^ col) & 0xFF]
    shift = _zeros(lane)
    for reg in regs.tolist():
        crc = shift(crc) ^ reg
    return _crc_from(crc, data[lane * _LANES :])


def _crc_from(crc: int, data: bytes) -> int:
    for byte in data:
        crc = (crc >> 8) ^ int(_TABLE[(crc ^ byte) & 0xFF])
    return crc


def _zeros(n: int) -> Callable[[int], int]:
    """The register map of ``n`` zero bytes, as two 256-entry tables (it is linear)."""
    Map = tuple[list[int], list[int]]

    def compose(first: Map, then: Map) -> Map:
        return (
            [_apply(then, _apply(first, b)) for b in range(256)],
            [_apply(then, _apply(first, b << 8)) for b in range(256)],
        )

    step: Map = (
        [int(_TABLE[b]) for b in range(256)],  # one zero byte: (c >> 8) ^ T[c & 0xFF]
        [b for b in range(256)],
    )
    result: Map = ([b for b in range(256)], [b << 8 for b in range(256)])
    while n:
        if n & 1:
            result = compose(result, step)
        step = compose(step, step)
        n >>= 1
    return lambda c: _apply(result, c)


def _apply(t: tuple[list[int], list[int]], c: int) -> int:
    return t[0][c & 0xFF] ^ t[1][c >> 8]
