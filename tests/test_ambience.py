"""Ambience beds: levels, spectra, seamless and bounded streaming, click-free looped files."""

from __future__ import annotations

import gc
import re
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from acuvoice.audio import ambience as ambience_module
from acuvoice.audio.ambience import BED_RMS_DB, Ambience, open_ambience
from acuvoice.errors import SoundError, UsageError
from acuvoice.routine.model import AMBIENCES
from tests.support import encode, require_encoder, require_program

BEDS = ["pink-noise", "brown-noise", "rain", "ocean"]
RATE = 44100


def bed(
    spec: str, rate: int = RATE, channels: int = 2, seed: int = 0, base: Path | None = None
) -> Ambience:
    """A bed that must exist; a file ``spec`` is looked for in ``base`` when given."""
    if base is not None and spec not in AMBIENCES:
        spec = str(base / spec)
    opened = open_ambience(spec, rate, channels, seed=seed)
    assert opened is not None
    return opened


def read(source: Ambience, frames: int, block: int) -> np.ndarray:
    parts = [source.read(min(block, frames - done)) for done in range(0, frames, block)]
    return np.concatenate(parts, axis=1).astype(np.float64)


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x**2)))


def slope_db_per_octave(x: np.ndarray, rate: int, lo_hz: float = 100, hi_hz: float = 5000) -> float:
    freqs, power = signal.welch(x, rate, nperseg=8192)
    band = (freqs >= lo_hz) & (freqs <= hi_hz)
    return float(np.polyfit(np.log2(freqs[band]), 10 * np.log10(power[band]), 1)[0])


def test_none_is_no_bed() -> None:
    assert open_ambience("none", RATE, 2) is None


@pytest.mark.parametrize("spec", BEDS)
def test_level_shape_and_no_dc(spec: str) -> None:
    rate = 16000
    seconds = 60 if spec == "ocean" else 20  # the ocean swells: average over several waves
    x = read(bed(spec, rate=rate), seconds * rate, 10 * rate)
    assert x.shape == (2, seconds * rate) and np.isfinite(x).all()
    assert abs(rms_db(x) - BED_RMS_DB) < 1.0
    assert np.abs(x.mean(axis=1)).max() < 1e-3  # no DC: under -60 dBFS
    block = bed(spec).read(1000)
    assert block.dtype == np.float32 and block.shape == (2, 1000)
    assert bed(spec, channels=1).read(1000).shape == (1, 1000)
    assert bed(spec).read(0).shape == (2, 0)


@pytest.mark.parametrize("spec", BEDS)
def test_reads_continue_seamlessly(spec: str) -> None:
    """One read of N frames equals reads of N/2 + N/2, and equals any other way of cutting."""
    n = 3 * 22050 + 17  # crosses the rain's one-second chunks and the 10 ms envelope grid
    whole = bed(spec, rate=22050).read(n)
    halves = bed(spec, rate=22050)
    np.testing.assert_array_equal(
        np.concatenate([halves.read(n // 2), halves.read(n - n // 2)], axis=1), whole
    )
    pieces = bed(spec, rate=22050)
    cuts = [1, 7, 441, 22050, 3, n - 1 - 7 - 441 - 22050 - 3]
    np.testing.assert_array_equal(np.concatenate([pieces.read(c) for c in cuts], axis=1), whole)


@pytest.mark.parametrize("spec", BEDS)
def test_deterministic_per_seed(spec: str) -> None:
    a = bed(spec, rate=16000, seed=3).read(16000)
    np.testing.assert_array_equal(a, bed(spec, rate=16000, seed=3).read(16000))
    b = bed(spec, rate=16000, seed=4).read(16000)
    assert abs(np.corrcoef(a[0], b[0])[0, 1]) < 0.5


@pytest.mark.parametrize(("spec", "expected"), [("pink-noise", -3.0), ("brown-noise", -6.0)])
def test_noise_colour(spec: str, expected: float) -> None:
    x = bed(spec, channels=1).read(20 * RATE)[0]
    assert abs(slope_db_per_octave(x, RATE) - expected) < 0.6


def test_stereo_beds_are_decorrelated() -> None:
    for spec, lo, hi in [
        ("pink-noise", -0.05, 0.05),
        ("brown-noise", -0.1, 0.1),
        ("ocean", 0.3, 0.95),
    ]:
        x = bed(spec).read(10 * RATE)
        assert lo < np.corrcoef(x)[0, 1] < hi, spec


def test_ocean_swells_every_8_to_12_seconds() -> None:
    rate = 8000
    x = bed("ocean", rate=rate, channels=1).read(120 * rate)[0].astype(np.float64)
    level = np.sqrt((x.reshape(-1, rate // 4) ** 2).mean(axis=1))  # 0.25 s windows
    spectrum = np.abs(np.fft.rfft(level - level.mean(), 8 * level.size))
    freqs = np.fft.rfftfreq(8 * level.size, 0.25)
    assert 1 / 12.5 <= freqs[np.argmax(spectrum)] <= 1 / 8
    assert 20 * np.log10(level.max() / level.min()) > 6  # waves come and go
    assert abs(slope_db_per_octave(x, rate, 100, 2000) + 4.5) < 2.0  # brown-pink


def test_rain_has_droplets_and_gentle_swells() -> None:
    def kurtosis_above_2khz(x: np.ndarray) -> float:
        y = signal.sosfilt(signal.butter(4, 2000, "highpass", fs=RATE, output="sos"), x)
        return float(np.mean(y**4) / np.mean(y**2) ** 2)

    rain = bed("rain", channels=1).read(30 * RATE)[0].astype(np.float64)
    pink = bed("pink-noise", channels=1).read(30 * RATE)[0].astype(np.float64)
    assert abs(kurtosis_above_2khz(pink) - 3.0) < 0.2  # Gaussian
    assert kurtosis_above_2khz(rain) > 4.0  # transients stick out of the hiss
    level = 10 * np.log10((rain.reshape(30, RATE) ** 2).mean(axis=1))
    assert 1.0 < level.max() - level.min() < 8.0


def test_an_hour_in_ten_second_blocks_in_bounded_memory() -> None:
    rate = 4000  # an hour of frames, kept quick
    block = 10 * rate
    source = bed("pink-noise", rate=rate, channels=1)
    tracemalloc.start()
    try:
        total = 0.0
        for _ in range(360):
            total += float(np.sum(source.read(block) ** 2))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert abs(10 * np.log10(total / (360 * block)) - BED_RMS_DB) < 0.5
    assert peak < 12 * block * 8  # a few blocks, never the hour (115 MB as float32)


@pytest.mark.parametrize("spec", ["rain", "ocean", "loop.flac"])
def test_memory_does_not_grow(spec: str, tmp_path: Path) -> None:
    rate = 8000
    block = 10 * rate
    sf.write(tmp_path / "loop.flac", np.random.default_rng(0).uniform(-0.3, 0.3, 3 * rate), rate)
    source = bed(spec, rate=rate, channels=1, base=tmp_path)
    source.read(block)
    tracemalloc.start()
    try:
        for _ in range(18):  # three minutes: growth of a block per read would show
            source.read(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * block * 8


# --- a user's file -----------------------------------------------------------------------


def test_a_looped_file_plays_then_loops_without_a_click(tmp_path: Path) -> None:
    rate = 8000
    n = 20_001  # 2.5 s: ends mid-cycle and far from where it starts
    t = np.arange(n) / rate
    x = 0.5 * np.sin(2 * np.pi * 220 * t + 1.0) + 0.3 * t / t[-1]
    sf.write(tmp_path / "drone.wav", x, rate, subtype="FLOAT")
    out = read(bed("drone.wav", rate=rate, channels=1, base=tmp_path), 5 * n, 3000)[0]
    gain = 10 ** (BED_RMS_DB / 20) / np.sqrt(np.mean(x**2))
    fade = round(ambience_module.LOOP_CROSSFADE_S * rate)
    # The first pass is the file itself, at the bed level ...
    np.testing.assert_allclose(out[: n - fade], x[: n - fade] * gain, atol=1e-5)
    # ... then the loop of n - fade frames repeats exactly.
    period = n - fade
    np.testing.assert_allclose(
        out[fade + period : fade + 3 * period], out[fade : fade + 2 * period], atol=1e-6
    )
    # No click: the biggest sample-to-sample step anywhere, seams included, is about the one
    # within the file (an equal-power crossfade of two in-phase tones swells by up to 3 dB),
    # where a plain repeat would jump by the whole ramp.
    inside = np.abs(np.diff(x)).max() * gain
    assert np.abs(np.diff(out)).max() < 1.5 * inside
    assert np.abs(np.diff(np.tile(x, 2))).max() * gain > 3 * inside


def test_a_stereo_file_becomes_mono_at_another_rate(tmp_path: Path) -> None:
    t = np.arange(3 * 22050) / 22050
    left = 0.2 * np.sin(2 * np.pi * 300 * t)
    sf.write(tmp_path / "a.ogg", np.stack([left, left], axis=1), 22050, format="OGG")
    x = read(bed("a.ogg", rate=RATE, channels=1, base=tmp_path), 10 * RATE, RATE)
    assert x.shape == (1, 10 * RATE)
    assert abs(rms_db(x) - BED_RMS_DB) < 0.5
    freqs, power = signal.welch(x[0], RATE, nperseg=1 << 14)
    assert abs(freqs[np.argmax(power)] - 300) < 5
    mono = bed("a.ogg", rate=RATE, channels=1, base=tmp_path)
    assert bed("a.ogg", rate=RATE, channels=3, base=tmp_path).read(100).shape == (3, 100)
    assert mono.read(100).shape == (1, 100)


def test_long_files_stream_from_disk_with_the_same_sound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rate_in, rate_out, n = 16000, 22050, 5 * 16000
    noise = np.random.default_rng(1).standard_normal((n, 2))
    x = signal.sosfilt(signal.butter(4, 3000, fs=rate_in, output="sos"), noise, axis=0) * 0.2
    sf.write(tmp_path / "long.flac", x, rate_in)
    in_memory = read(bed("long.flac", rate=rate_out, base=tmp_path), 3 * n, 10_000)
    monkeypatch.setattr(ambience_module, "LOAD_FULLY_S", 2.0)  # now 5 s counts as long
    streamed = read(bed("long.flac", rate=rate_out, base=tmp_path), 3 * n, 10_000)
    # Before the first seam both are the same file, resampled the same way.
    first = (n - round(ambience_module.LOOP_CROSSFADE_S * rate_in)) * rate_out // rate_in - 100
    a, b = streamed[:, :first], in_memory[:, :first]
    scale = float(np.sum(a * b) / np.sum(b * b))
    assert abs(scale - 1) < 0.02  # level: from the file vs. from the resampled audio
    assert np.abs(a - scale * b).max() < 1e-3
    assert abs(rms_db(streamed) - BED_RMS_DB) < 0.5
    # Streaming keeps reads seamless and loops without a click.
    whole = bed("long.flac", rate=rate_out, base=tmp_path).read(3 * n)
    halves = bed("long.flac", rate=rate_out, base=tmp_path)
    np.testing.assert_array_equal(
        np.concatenate([halves.read(n), halves.read(2 * n)], axis=1), whole
    )
    steps = np.abs(np.diff(streamed, axis=1)).max()
    assert steps < 1.5 * np.abs(np.diff(in_memory[:, :first], axis=1)).max()


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(
        SoundError, match=r"named '.*nope\.wav' \(.*nope\.wav does not exist\).*rain"
    ):
        open_ambience(str(tmp_path / "nope.wav"), RATE, 2)


def test_a_corrupt_file(tmp_path: Path) -> None:
    (tmp_path / "bad.flac").write_bytes(b"fLaC but not really" * 50)
    with pytest.raises(SoundError, match=r"cannot read ambience file .*bad\.flac: "):
        open_ambience(str(tmp_path / "bad.flac"), RATE, 2)


def test_too_long_and_too_short_files(tmp_path: Path) -> None:
    sf.write(tmp_path / "day.wav", np.zeros(3601 * 100, dtype=np.int16), 100)  # 1 h 1 s at 100 Hz
    with pytest.raises(
        SoundError, match=r"day\.wav lasts 60 min 1 s, more than the 60 min allowed"
    ):
        open_ambience(str(tmp_path / "day.wav"), RATE, 2)
    sf.write(tmp_path / "blip.wav", np.zeros(4000, dtype=np.int16), 8000)
    with pytest.raises(SoundError, match=r"blip\.wav is too short to loop \(500 ms\)"):
        open_ambience(str(tmp_path / "blip.wav"), RATE, 2)


def test_silence_stays_silence(tmp_path: Path) -> None:
    sf.write(tmp_path / "quiet.wav", np.zeros(2 * 8000, dtype=np.int16), 8000)
    assert not bed("quiet.wav", rate=8000, base=tmp_path).read(40_000).any()


# --- formats that ffmpeg decodes ---------------------------------------------------------


def band_noise(seconds: float, rate: int, channels: int, seed: int = 5) -> np.ndarray:
    """Independent noise per channel below 4 kHz (or 0.4 of the rate), ``(frames, channels)``."""
    white = np.random.default_rng(seed).standard_normal((round(seconds * rate), channels))
    sos = signal.butter(6, min(4000, 0.4 * rate), fs=rate, output="sos")
    return signal.sosfilt(sos, white, axis=0) * 0.15


def loop_seconds(x: np.ndarray, rate: int) -> float:
    """The length of the file a looped bed plays: its repeat period (the autocorrelation
    peak) plus the crossfade the loop overlaps."""
    y = x - x.mean()
    spectrum = np.fft.rfft(y, 2 * y.size)
    autocorrelation = np.fft.irfft(spectrum * np.conj(spectrum))[: y.size]
    lag = rate + int(np.argmax(autocorrelation[rate : y.size // 2]))  # periods over 1 s
    return lag / rate + ambience_module.LOOP_CROSSFADE_S


def best_correlation(a: np.ndarray, b: np.ndarray, max_lag: int) -> float:
    """The highest correlation of ``a`` with ``b`` shifted by up to ``max_lag`` frames."""
    a, b = a - a.mean(), b - b.mean()
    c = signal.correlate(a, b, mode="full", method="fft")[b.size - 1 - max_lag : b.size + max_lag]
    return float(c.max() / np.sqrt(np.dot(a, a) * np.dot(b, b)))


FILE_RATE = 48000  # every codec below can keep it, Opus included
# Suffix, ffmpeg arguments, encoder, and how far the decoded length may stray: one codec
# frame (AAC 1024 samples, WMA 2048, Opus 20 ms) and a millisecond of rounding.
FORMATS = [
    pytest.param("m4a", ["-c:a", "aac", "-b:a", "128k"], "aac", 0.001 + 1024 / FILE_RATE, id="m4a"),
    pytest.param("opus", ["-c:a", "libopus", "-b:a", "96k"], "libopus", 0.021, id="opus"),
    pytest.param("wma", ["-c:a", "wmav2", "-b:a", "128k"], "wmav2", 0.001 + 2048 / FILE_RATE, id="wma"),
    pytest.param("aiff", ["-c:a", "pcm_s16be"], "pcm_s16be", 0.001, id="aiff"),
    pytest.param("webm", ["-c:a", "libopus", "-b:a", "96k"], "libopus", 0.021, id="webm"),
]  # fmt: skip


@pytest.mark.parametrize(("suffix", "args", "encoder", "tolerance_s"), FORMATS)
def test_beds_in_every_format_ffmpeg_reads(
    suffix: str, args: list[str], encoder: str, tolerance_s: float, tmp_path: Path
) -> None:
    require_encoder(encoder)
    rate, seconds = 22050, 2.5
    source = band_noise(seconds, FILE_RATE, 2)
    path = encode(source, FILE_RATE, tmp_path / f"bed.{suffix}", args)
    out = read(bed(str(path), rate=rate, channels=2), round(3 * seconds * rate), rate)
    assert out.shape == (2, round(3 * seconds * rate))
    assert abs(rms_db(out) - BED_RMS_DB) < 0.5  # normalized to the bed level
    assert abs(loop_seconds(out[0], rate) - seconds) < tolerance_s
    # Left stays left and right stays right (the two are independent noises).
    expected = signal.resample_poly(source.T, 147, 320, axis=1)  # 48 kHz -> 22.05 kHz
    first = round(1.5 * rate)  # before the first seam
    shift = round((tolerance_s + 0.002) * rate)  # a codec may also delay by up to a frame
    assert best_correlation(out[0, :first], expected[0, :first], shift) > 0.9
    assert best_correlation(out[1, :first], expected[1, :first], shift) > 0.9
    assert abs(best_correlation(out[0, :first], expected[1, :first], shift)) < 0.2
    assert bed(str(path), rate=rate, channels=1).read(1000).shape == (1, 1000)
    ambience_module.check_ambience(str(path))


LONG_RATE = 8000
LONG_S = 630.0  # over the 10 minutes that are held in memory, so it is streamed


@pytest.fixture(scope="module")
def long_bed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """10.5 minutes of mono noise as Apple Lossless in M4A (lossless, so exactly checkable;
    quick to encode at 8 kHz), with the samples it holds."""
    folder = tmp_path_factory.mktemp("long")
    x = np.round(band_noise(LONG_S, LONG_RATE, 1, seed=9)[:, 0].clip(-1, 1) * 32767) / 32768
    return encode(x[:, None], LONG_RATE, folder / "long.m4a", ["-c:a", "alac"]), x


def test_a_long_m4a_bed_streams_from_one_converted_wav(
    long_bed: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    path, x = long_bed
    assert not ambience_module.probe(path).native
    workdir = tmp_path / "work"
    block = 10 * LONG_RATE
    tracemalloc.start()
    try:
        first = bed_in(path, workdir)
        out = read(first, 6 * block, block)[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Held in memory, the file would be 20 MB of float32; streamed it is a few blocks.
    assert peak < x.size * 4 / 2
    wavs = sorted(workdir.iterdir())
    assert [p.suffix for p in wavs] == [".wav"]
    assert sf.info(str(wavs[0])).frames == x.size
    gain = 10 ** (BED_RMS_DB / 20) / np.sqrt(np.mean(x**2))
    np.testing.assert_allclose(out, x[: out.size] * gain, atol=1e-6)  # lossless: exact
    before = wavs[0].stat()
    second = bed_in(path, workdir)
    after = wavs[0].stat()
    assert sorted(workdir.iterdir()) == wavs  # converted once, for both beds
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    np.testing.assert_array_equal(second.read(6 * block)[0], out.astype(np.float32))
    # The loop: the first pass ends a crossfade early, then the file plays on from there.
    fade = round(ambience_module.LOOP_CROSSFADE_S * LONG_RATE)
    second.read(x.size - 7 * block)
    seam = second.read(block + 2 * fade)[0]  # frames [n - block, n + 2 * fade)
    np.testing.assert_allclose(seam[: block - fade], x[-block:-fade] * gain, atol=1e-6)
    np.testing.assert_allclose(seam[block:], x[fade : 3 * fade] * gain, atol=1e-6)


def bed_in(path: Path, workdir: Path | None) -> Ambience:
    opened = open_ambience(str(path), LONG_RATE, 1, workdir=workdir)
    assert opened is not None
    return opened


def test_without_a_workdir_the_conversion_lives_as_long_as_the_bed(
    long_bed: tuple[Path, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = long_bed
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    first = bed_in(path, None)
    [folder] = temp.iterdir()
    assert [p.suffix for p in folder.iterdir()] == [".wav"]
    first.read(LONG_RATE)
    del first
    gc.collect()
    assert not list(temp.iterdir())
    second = bed_in(path, None)
    assert len(list(temp.iterdir())) == 1
    assert isinstance(second, ambience_module._LoopedFile)
    second.close()
    assert not list(temp.iterdir())


def test_check_ambience_probes_and_decodes_only_the_start(
    long_bed: tuple[Path, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = long_bed

    def whole_file(*args: object, **kwargs: object) -> None:
        raise AssertionError("check_ambience decoded the whole file")

    monkeypatch.setattr(ambience_module, "read_all", whole_file)
    monkeypatch.setattr(ambience_module, "open_stream", whole_file)
    started = time.perf_counter()
    ambience_module.check_ambience(str(path))
    assert time.perf_counter() - started < 2.0
    for name in ("none", "rain", "ocean", "pink-noise", "brown-noise"):
        ambience_module.check_ambience(name)


def test_check_ambience_refuses_bad_files_quickly(tmp_path: Path) -> None:
    noise = band_noise(4.0, 44100, 1)
    whole = encode(noise, 44100, tmp_path / "whole.m4a", ["-c:a", "aac"])
    short = encode(noise[: 44100 // 2], 44100, tmp_path / "short.m4a", ["-c:a", "aac"])
    cut = tmp_path / "cut.m4a"  # a download that stopped half-way: no MP4 index
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    text = tmp_path / "notes.m4a"
    text.write_text("not a sound\n" * 50)
    ambience_module.check_ambience(str(whole))
    for path, expected in [
        (tmp_path / "missing.m4a", r"missing\.m4a does not exist"),
        (short, r"short\.m4a is too short to loop"),
        (cut, r"cannot read ambience file .*cut\.m4a: "),
        (text, r"cannot read ambience file .*notes\.m4a: "),
    ]:
        started = time.perf_counter()
        with pytest.raises(SoundError, match=expected):
            ambience_module.check_ambience(str(path))
        assert time.perf_counter() - started < 2.0, path.name
        with pytest.raises(SoundError, match=expected):
            open_ambience(str(path), RATE, 2)


def test_audio_that_does_not_decode_is_refused(tmp_path: Path) -> None:
    """A container that is intact around audio that is not (its data overwritten)."""
    good = encode(band_noise(3.0, 44100, 1), 44100, tmp_path / "good.m4a",
                  ["-c:a", "aac", "-movflags", "+faststart"])  # fmt: skip
    data = bytearray(good.read_bytes())
    start = data.index(b"mdat") + 4
    data[start:] = np.random.default_rng(3).integers(0, 256, len(data) - start, np.uint8).tobytes()
    bad = tmp_path / "bad.m4a"
    bad.write_bytes(bytes(data))
    assert ambience_module.probe(bad).seconds > 2.9  # the container still says 3 s
    for call in (lambda: ambience_module.check_ambience(str(bad)),
                 lambda: open_ambience(str(bad), RATE, 2)):  # fmt: skip
        with pytest.raises(SoundError, match=rf"cannot read ambience file {bad}: "):
            call()


def test_unknown_beds_and_bad_formats_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for call, hint in [
        (lambda: open_ambience("rian", RATE, 2), "did you mean 'rain'?"),
        (lambda: ambience_module.check_ambience("ocaen"), "did you mean 'ocean'?"),
    ]:
        with pytest.raises(UsageError) as info:
            call()
        assert isinstance(info.value, SoundError)
        assert hint in str(info.value) and "--" not in str(info.value)
    for rate, channels in [(0, 2), (-8000, 2), (RATE, 0), (RATE, -1)]:
        with pytest.raises(UsageError, match="must be") as info:
            open_ambience("rain", rate, channels)
        assert "--" not in str(info.value)
        with pytest.raises(UsageError, match="must be"):
            ambience_module.generated_bed("pink-noise", rate, channels)


def test_without_ffmpeg_an_m4a_bed_says_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = encode(band_noise(2.0, 22050, 1), 22050, tmp_path / "bed.m4a", ["-c:a", "aac"])
    sf.write(tmp_path / "bed.flac", band_noise(2.0, 22050, 1), 22050)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no ffmpeg, no ffprobe
    for call in (lambda: ambience_module.check_ambience(str(path)),
                 lambda: open_ambience(str(path), RATE, 2)):  # fmt: skip
        with pytest.raises(SoundError, match=rf"{path}: .*install ffmpeg"):
            call()
    ambience_module.check_ambience(str(tmp_path / "bed.flac"))  # libsndfile needs no ffmpeg


def test_a_webm_recorded_as_a_stream_has_its_length_measured(tmp_path: Path) -> None:
    """Browsers record WebM as a stream, with no length in the file: it is measured."""
    ffmpeg = require_program("ffmpeg")
    sf.write(tmp_path / "take.wav", band_noise(3.0, 48000, 1), 48000, subtype="PCM_16")
    recorded = subprocess.run(
        [ffmpeg, "-v", "error", "-nostdin", "-i", str(tmp_path / "take.wav"),
         "-c:a", "libopus", "-f", "webm", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    path = tmp_path / "take.webm"
    path.write_bytes(recorded)
    declared = subprocess.run(
        [require_program("ffprobe"), "-v", "error", "-show_entries",
         "format=duration:stream=duration", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert not re.search(r"\d", declared), declared  # so the length must be measured
    info = ambience_module.probe(path)
    assert (info.sample_rate, info.channels, info.native) == (48000, 1, False)
    assert abs(info.seconds - 3.0) < 0.021  # one Opus frame
    out = read(bed(str(path), rate=16000, channels=1), 3 * 3 * 16000, 16000)
    assert abs(loop_seconds(out[0], 16000) - 3.0) < 0.021


def test_a_generated_bed_is_kept_on_disk_for_the_next_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rain takes over a second to generate: the next render maps the kept stretch instead.
    monkeypatch.setattr(ambience_module, "_BUFFERS", {})
    bed = open_ambience("rain", 22_050, 2, cache_dir=tmp_path)
    assert bed is not None
    first = bed.read(22_050 * 70)
    kept = list((tmp_path / "beds").glob("rain-22050hz-2ch-seed0-*.npy"))
    assert len(kept) == 1

    def no_generating(*args: object) -> None:
        raise AssertionError("generated again")

    monkeypatch.setattr(ambience_module, "_BUFFERS", {})
    monkeypatch.setattr(ambience_module, "_render_bed", no_generating)
    again = open_ambience("rain", 22_050, 2, cache_dir=tmp_path)
    assert again is not None
    assert np.array_equal(again.read(22_050 * 70), first)

    # A damaged file is made again (and replaced), never read as a bed.
    kept[0].write_bytes(kept[0].read_bytes()[:1000])
    monkeypatch.undo()
    monkeypatch.setattr(ambience_module, "_BUFFERS", {})
    fresh = open_ambience("rain", 22_050, 2, cache_dir=tmp_path)
    assert fresh is not None
    assert np.array_equal(fresh.read(22_050 * 70), first)
    assert kept[0].stat().st_size > 22_050 * 60 * 2 * 4


def test_a_bed_profile_is_kept_on_disk_and_read_back(tmp_path: Path) -> None:
    from acuvoice.audio.analysis import bed_profile

    made = bed_profile("ocean", 16_000, 1, tmp_path)
    assert made is not None
    bed_profile.cache_clear()
    (path,) = (tmp_path / "beds").glob("ocean-16000hz-1ch-*.npz")
    read = bed_profile("ocean", 16_000, 1, tmp_path)
    assert read is not None and read is not made
    assert (read.loop_frames, read.period) == (made.loop_frames, made.period)
    for name in ("energy", "peak", "level"):
        assert np.array_equal(getattr(read, name), getattr(made, name))
    path.write_bytes(b"garbage")
    bed_profile.cache_clear()
    again = bed_profile("ocean", 16_000, 1, tmp_path)
    assert again is not None and np.array_equal(again.energy, made.energy)
