"""Ambience beds: levels, spectra, seamless and bounded streaming, click-free looped files."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from acuvoice.audio import ambience as ambience_module
from acuvoice.audio.ambience import BED_RMS_DB, Ambience, open_ambience
from acuvoice.errors import RenderError

BEDS = ["pink-noise", "brown-noise", "rain", "ocean"]
RATE = 44100
HERE = Path(".")


def bed(
    spec: str, rate: int = RATE, channels: int = 2, seed: int = 0, base: Path = HERE
) -> Ambience:
    opened = open_ambience(spec, base, rate, channels, seed=seed)
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
    assert open_ambience("none", HERE, RATE, 2) is None


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
    with pytest.raises(RenderError, match=r"ambience file .*nope\.wav does not exist.*rain"):
        open_ambience("nope.wav", tmp_path, RATE, 2)


def test_a_corrupt_file(tmp_path: Path) -> None:
    (tmp_path / "bad.flac").write_bytes(b"fLaC but not really" * 50)
    with pytest.raises(RenderError, match=r"cannot read ambience file .*bad\.flac: "):
        open_ambience("bad.flac", tmp_path, RATE, 2)


def test_too_long_and_too_short_files(tmp_path: Path) -> None:
    sf.write(tmp_path / "day.wav", np.zeros(3601 * 100, dtype=np.int16), 100)  # 1 h 1 s at 100 Hz
    with pytest.raises(RenderError, match=r"day\.wav lasts 60 min, more than the 60 min allowed"):
        open_ambience(str(tmp_path / "day.wav"), HERE, RATE, 2)
    sf.write(tmp_path / "blip.wav", np.zeros(4000, dtype=np.int16), 8000)
    with pytest.raises(RenderError, match=r"blip\.wav is too short to loop"):
        open_ambience("blip.wav", tmp_path, RATE, 2)


def test_silence_stays_silence(tmp_path: Path) -> None:
    sf.write(tmp_path / "quiet.wav", np.zeros(2 * 8000, dtype=np.int16), 8000)
    assert not bed("quiet.wav", rate=8000, base=tmp_path).read(40_000).any()
