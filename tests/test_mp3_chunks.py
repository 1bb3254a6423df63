"""MP3 encoded in parallel chunks: exact length, no seam, a true Xing/LAME header, chapters,
and nothing left behind when a chunk fails."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

import acuvoice.export.audio as audio_mod
import acuvoice.render as render_mod
from acuvoice.audio.buffer import Samples
from acuvoice.audio.loudness import Limiter
from acuvoice.audio.mixer import master_blocks, mix_blocks
from acuvoice.cache import SynthesisCache
from acuvoice.errors import ExportError
from acuvoice.export.chapters import chapter_spans
from acuvoice.export.mp3_chunks import (
    DECODER_DELAY,
    ENCODER_DELAY,
    SPF,
    crc16,
    mpeg_frames,
    plan_chunks,
)
from acuvoice.export.tags import Tags
from acuvoice.render import (
    OutputOptions,
    RenderResult,
    Session,
    SessionOptions,
    master_range,
    mix_plan,
    prepare_session,
    render_session,
)
from acuvoice.units import db_to_gain
from tests.support import require_encoder, require_program

ROUTINE = """\
acuvoice: 1
title: Chunk test
safety_notice: false
sound: {cues: bowl, ambience: rain}
defaults:
  hold: 50s
  find: 3s
  reminders: 15s
steps:
  - chapter: Breathing
  - say: Sit comfortably. Let your hands rest.
  - breathe: {cycles: 2, inhale: 3s, exhale: 4s}
  - chapter: Points
  - press: BL23
  - press: LI4
    side: alternate
  - chapter: Rest
  - pause: 5s
  - say: Take a moment before you get up.
"""
RATE = 44_100
JOBS = 3
CEILING = -1.5  # the MP3 master's: -1 dBTP asked for, 0.5 dB of encoder headroom


@dataclass
class Rendered:
    session: Session
    result: RenderResult
    path: Path
    folder: Path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    require_encoder("libmp3lame")
    folder = tmp_path_factory.mktemp("chunks")
    routine = folder / "chunk-test.yaml"
    routine.write_text(ROUTINE)
    session = prepare_session(
        routine, SessionOptions(engine="fake"), cache=SynthesisCache(folder / "cache")
    )
    path = folder / "chunked.mp3"
    result = render_session(session, path, OutputOptions(encode_jobs=JOBS))
    return Rendered(session, result, path, folder)


def decode(path: Path) -> np.ndarray:
    """The file as ffmpeg decodes it (encoder delay and padding trimmed), frames x 2."""
    raw = subprocess.run(
        [require_program("ffmpeg"), "-v", "error", "-i", str(path), "-map", "0:a:0",
         "-f", "f32le", "-"],
        capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype="<f4").reshape(-1, 2)


def encode_master(r: Rendered, name: str, extra: list[str]) -> np.ndarray:
    """The same master encoded as one stream by ffmpeg, decoded."""
    plan = mix_plan(r.session, 2)
    out = r.folder / name
    proc = subprocess.Popen(
        [require_program("ffmpeg"), "-v", "error", "-y", "-f", "f32le", "-ar", str(RATE),
         "-ac", "2", "-i", "-", "-c:a", "libmp3lame", "-b:a", "128k", *extra, str(out)],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None
    for block in master_range(plan, db_to_gain(r.result.gain_db), CEILING, 0, plan.frames):
        proc.stdin.write(np.ascontiguousarray(block.T).tobytes())
    proc.stdin.close()
    assert proc.wait() == 0
    return decode(out)


def joins(frames: int) -> list[int]:
    """The decoded sample index of each join."""
    return [(c.start // SPF + c.skip) * SPF - ENCODER_DELAY - DECODER_DELAY
            for c in plan_chunks(frames, JOBS)[1:]]  # fmt: skip


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(max(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))), 1e-12)))


def test_a_later_range_mixes_and_limits_as_the_whole_run(rendered: Rendered) -> None:
    plan = mix_plan(rendered.session, 2)
    whole = np.concatenate([b.master for b in mix_blocks(plan)], axis=1)
    start, stop = 100 * SPF + 7, 3_000_000
    part = np.concatenate([b.master for b in mix_blocks(plan, start=start, stop=stop)], axis=1)
    np.testing.assert_array_equal(part, whole[:, start:stop])
    # The master alone (no stems kept apart: what a render without stems mixes) is the same
    # samples, bit for bit, whole and in a range (the routine has rain, cues and speech).
    alone = np.concatenate(list(master_blocks(plan, 30_000)), axis=1)
    np.testing.assert_array_equal(alone, whole)
    alone = np.concatenate(list(master_blocks(plan, start=start, stop=stop)), axis=1)
    np.testing.assert_array_equal(alone, whole[:, start:stop])
    gain = db_to_gain(rendered.result.gain_db + 6)  # pushed into the limiter
    limiter = Limiter(RATE, 2, ceiling_dbtp=CEILING)
    limited = np.concatenate(
        [*(limiter.process(b.master * gain) for b in mix_blocks(plan)), limiter.flush()], axis=1
    )
    assert limiter.max_gain_reduction_db > 3
    a, b = 1000 * SPF, 2000 * SPF
    ranged = np.concatenate(list(master_range(plan, gain, CEILING, a, b)), axis=1)
    assert np.abs(ranged - limited[:, a:b]).max() <= 1e-6


def test_decodes_to_the_timeline_length(rendered: Rendered) -> None:
    assert rendered.session.timeline.duration_ms > 120_000  # long enough to be chunked
    assert decode(rendered.path).shape[0] == rendered.result.frames


def test_the_joins_cannot_be_told_from_a_single_stream(rendered: Rendered) -> None:
    chunked = decode(rendered.path)
    # The same encoder settings as the chunks (no bit reservoir), in one stream: the join
    # regions match it to far below the encoder's noise.
    same = encode_master(rendered, "single-noreservoir.mp3", ["-reservoir", "0"])
    # ffmpeg's default (with a reservoir): two encodes differ by encoder noise everywhere;
    # around a join they differ no more than elsewhere.
    default = encode_master(rendered, "single.mp3", [])
    assert same.shape == default.shape == chunked.shape
    width = int(0.2 * RATE)
    found = joins(chunked.shape[0])
    assert len(found) == JOBS - 1
    for at in found:
        region = slice(at - width, at + width)
        signal = rms_db(chunked[region])
        assert signal > -40  # rain and voice: not silence
        assert rms_db(chunked[region] - same[region]) - signal < -50
        assert np.abs(chunked[region] - same[region]).max() < 0.01
        seam = rms_db(chunked[region] - default[region]) - signal
        elsewhere = []
        for centre in range(RATE, chunked.shape[0] - RATE, 7 * RATE):
            w = slice(centre - width, centre + width)
            elsewhere.append(rms_db(chunked[w] - default[w]) - rms_db(chunked[w]))
        assert seam <= np.percentile(elsewhere, 90) + 1.0, (seam, sorted(elsewhere))


def audio_start(data: bytes) -> int:
    """Where the MPEG audio begins, after the ID3v2 tag."""
    assert data[:3] == b"ID3"
    size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    return 10 + size


@pytest.mark.parametrize("piece", [417, 418, 1000, 4096, 1 << 22])
def test_frames_are_found_a_piece_at_a_time(
    rendered: Rendered, piece: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A chunk's frames are found and checked reading its file in pieces (memory stays flat
    however long it is): the same frames as in the whole file, for pieces that cut frames
    and headers anywhere, and a clear error for bytes that are not a frame."""
    import io

    import acuvoice.export.mp3_chunks as chunks_mod

    data = rendered.path.read_bytes()
    audio = data[audio_start(data) :]
    monkeypatch.setattr(chunks_mod, "_PIECE", piece)
    found, first = chunks_mod._file_frames(io.BytesIO(audio), "x")
    assert found == mpeg_frames(audio, "x") and first == audio[:4]
    assert sum(size for _, size in found) == len(audio)
    at = found[20][0]  # a frame's header, overwritten
    broken = audio[:at] + b"\0" * 4 + audio[at + 4 :]
    with pytest.raises(ExportError, match=f"no frame at byte {at}"):
        chunks_mod._file_frames(io.BytesIO(broken), "x")


def test_the_xing_lame_header_is_true(rendered: Rendered) -> None:
    data = rendered.path.read_bytes()
    start = audio_start(data)
    frames = mpeg_frames(data[start:], "x")
    info_size = frames[0][1]
    info = data[start : start + info_size]
    tag = 4 + 32
    assert info[tag : tag + 4] == b"Info"
    assert int.from_bytes(info[tag + 4 : tag + 8], "big") == 0x0F
    count = int.from_bytes(info[tag + 8 : tag + 12], "big")
    assert count == len(frames) - 1
    total = int.from_bytes(info[tag + 12 : tag + 16], "big")
    assert total == len(data) - start
    toc = list(info[tag + 16 : tag + 116])
    assert toc[0] == 0 and all(a <= b for a, b in itertools.pairwise(toc))
    # Each TOC entry points at a frame start, to 1/256 of the file.
    for i in (10, 50, 90):
        offset = frames[1 + i * count // 100][0]
        assert abs(toc[i] - offset * 256 / total) < 1.0
    lame = info[tag + 120 :]
    assert lame[:4] == b"LAME"
    delay_padding = int.from_bytes(lame[21:24], "big")
    assert delay_padding >> 12 == ENCODER_DELAY
    assert count * SPF - ENCODER_DELAY - (delay_padding & 0xFFF) == rendered.result.frames
    assert int.from_bytes(lame[28:32], "big") == total
    assert int.from_bytes(lame[32:34], "big") == crc16(0, data[start + info_size :])
    assert int.from_bytes(lame[34:36], "big") == crc16(0, info[: tag + 154])
    assert MP3(rendered.path).info.length == pytest.approx(rendered.result.frames / RATE, abs=1e-6)
    # ffprobe reads the Xing frame count (its duration is every frame's samples, as for
    # ffmpeg's own MP3s) and the LAME delay (the stream starts 576 + 529 samples in).
    probe = subprocess.run(
        [require_program("ffprobe"), "-v", "error", "-select_streams", "a:0", "-show_entries",
         "stream=start_time:format=duration", "-of", "default=nw=1", str(rendered.path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    fields = dict(line.split("=") for line in probe.split())
    assert float(fields["duration"]) == pytest.approx(count * SPF / RATE, abs=1e-5)
    delay = (ENCODER_DELAY + DECODER_DELAY) / RATE
    assert float(fields["start_time"]) == pytest.approx(delay, abs=1e-5)


def test_the_chapters_start_where_the_timeline_says(rendered: Rendered) -> None:
    tag = ID3(rendered.path)
    chaps = sorted(tag.getall("CHAP"), key=lambda c: c.start_time)
    spans = chapter_spans(rendered.session.timeline)
    assert len(chaps) == len(spans) == 4  # Welcome, Breathing, Points, Rest
    for chap, (start, end, _title) in zip(chaps, spans, strict=True):
        assert abs(chap.start_time - start) * RATE / 1000 <= SPF
        assert abs(chap.end_time - end) * RATE / 1000 <= SPF
    assert spans[-1][1] == pytest.approx(MP3(rendered.path).info.length * 1000, abs=1)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_failed_chunk_leaves_nothing(
    rendered: Rendered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = audio_mod.ffmpeg_path()
    calls: list[str] = []

    def second_fails() -> str | None:
        calls.append("x")
        return real if len(calls) == 1 else "/bin/false"

    monkeypatch.setattr(audio_mod, "ffmpeg_path", second_fails)
    out = tmp_path / "broken.mp3"
    with pytest.raises(ExportError):
        render_session(rendered.session, out, OutputOptions(encode_jobs=2, tags=Tags()))
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_an_interrupted_chunk_leaves_nothing(
    rendered: Rendered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = render_mod.master_range

    def interrupted(*args: object) -> Iterator[Samples]:
        for n, block in enumerate(real(*args)):  # type: ignore[arg-type]
            if args[3] and n == 3:  # a later chunk, a few blocks in
                raise KeyboardInterrupt
            yield block

    monkeypatch.setattr(render_mod, "master_range", interrupted)
    out = tmp_path / "interrupted.mp3"
    with pytest.raises(KeyboardInterrupt):
        render_session(rendered.session, out, OutputOptions(encode_jobs=2, tags=Tags()))
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_the_crc_is_lame_s() -> None:
    def bitwise(data: bytes) -> int:
        crc = 0
        for byte in data:
            crc ^= byte
            for _ in range(8):
                crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        return crc

    assert crc16(0, b"123456789") == 0xBB3D  # CRC-16/ARC's check value
    data = np.random.default_rng(1).integers(0, 256, 300_001, dtype=np.uint8).tobytes()
    assert crc16(0, data) == bitwise(data)
    assert crc16(crc16(0, data[:77]), data[77:]) == bitwise(data)
