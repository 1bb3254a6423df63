"""Loudness, true peak and the limiter, against pyloudnorm, EBU test signals and ffmpeg."""

from __future__ import annotations

import math
import re
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile
from scipy.signal import butter, sosfilt

from acuvoice.audio.buffer import Samples
from acuvoice.audio.loudness import (
    Limiter,
    LoudnessMeter,
    TruePeakMeter,
    k_weighting_sos,
    measure_file,
    normalization_gain_db,
)
from acuvoice.errors import RenderError

from .support import require_program

RATES = (22050, 44100, 48000)


# --- test signals ----------------------------------------------------------------------


def speech_like(seconds: float, rate: int, channels: int, seed: int, rms: float = 0.1) -> Samples:
    """Voice-band noise in syllables (~4 Hz) and phrases with pauses: speech's rhythm."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    band = butter(4, [150, 4000], btype="bandpass", fs=rate, output="sos")
    x = sosfilt(band, rng.standard_normal((channels, n)), axis=1)
    t = np.arange(n) / rate
    x *= np.sin(2 * np.pi * 3.7 * t + rng.uniform(0, 6)) ** 2
    x *= np.sin(2 * np.pi * 0.23 * t + rng.uniform(0, 6)) > -0.4
    x *= rms / np.sqrt(np.mean(x**2))
    return x.astype(np.float32)


def pink(seconds: float, rate: int, channels: int, seed: int, rms: float = 0.1) -> Samples:
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    spectrum = np.fft.rfft(rng.standard_normal((channels, n)), axis=1)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    spectrum[:, 1:] /= np.sqrt(freqs[1:])
    spectrum[:, 0] = 0
    x = np.fft.irfft(spectrum, n, axis=1)
    return (x * rms / x.std()).astype(np.float32)


def white(seconds: float, rate: int, channels: int, seed: int, rms: float = 0.05) -> Samples:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((channels, int(seconds * rate))) * rms).astype(np.float32)


def with_gaps(x: Samples, rate: int) -> Samples:
    """A 4 s silence and a 3 s passage 34 dB down: work for both gates."""
    y = x.copy()
    n = y.shape[1]
    y[:, n // 5 : n // 5 + 4 * rate] = 0.0
    y[:, n // 2 : n // 2 + 3 * rate] *= 0.02
    return y


def sine(
    dbfs: float,
    seconds: float,
    rate: int,
    freq: float = 997.0,
    channels: int = 2,
    phase: float = 0.0,
) -> Samples:
    """A sine whose peak is ``dbfs``, on every channel."""
    t = np.arange(round(seconds * rate)) / rate
    wave = 10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t + phase)
    return np.tile(wave.astype(np.float32), (channels, 1))


def faded(x: Samples, rate: int, ms: int = 100) -> Samples:
    """Raised-cosine fades, so that no edge rings above the steady-state peak."""
    n = rate * ms // 1000
    ramp = np.sin(np.linspace(0, np.pi / 2, n)) ** 2
    y = x.copy()
    y[:, :n] *= ramp
    y[:, -n:] *= ramp[::-1]
    return y.astype(np.float32)


def splits(n: int, seed: int, low: int = 1, high: int = 20_000) -> Iterator[slice]:
    """Random block boundaries covering ``0..n``, with a run of tiny blocks early on."""
    rng = np.random.default_rng(seed)
    i = 0
    while i < n:
        size = int(rng.integers(1, 8)) if i < 3000 else int(rng.integers(low, high))
        yield slice(i, min(n, i + size))
        i += size


def loudness(x: Samples, rate: int, seed: int | None = None) -> LoudnessMeter:
    meter = LoudnessMeter(rate, x.shape[0])
    for part in [slice(None)] if seed is None else splits(x.shape[1], seed):
        meter.add(x[:, part])
    return meter


def true_peak(x: Samples, rate: int, seed: int | None = None) -> float:
    meter = TruePeakMeter(rate, x.shape[0])
    for part in [slice(None)] if seed is None else splits(x.shape[1], seed):
        meter.add(x[:, part])
    return meter.peak_dbtp()


def limit(x: Samples, rate: int, seed: int | None = None, **options: float) -> Samples:
    limiter = Limiter(rate, x.shape[0], **options)  # type: ignore[arg-type]
    parts = [slice(None)] if seed is None else splits(x.shape[1], seed)
    out = [limiter.process(x[:, part]) for part in parts]
    out.append(limiter.flush())
    return np.concatenate(out, axis=1)


def pyloudnorm_lufs(x: Samples, rate: int, filter_class: str = "K-weighting") -> float:
    return float(
        pyloudnorm.Meter(rate, filter_class=filter_class).integrated_loudness(
            x.T.astype(np.float64)
        )
    )


# --- (a) agreement with pyloudnorm ---------------------------------------------------------

SIGNALS = {
    "speech": lambda rate, ch: speech_like(30, rate, ch, seed=1),
    "pink-with-gaps": lambda rate, ch: with_gaps(pink(40, rate, ch, seed=2), rate),
    "tones-with-gaps": lambda rate, ch: with_gaps(
        sine(-20, 25, rate, 440.0, ch) + sine(-26, 25, rate, 3000.0, ch), rate
    ),
}


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("kind", sorted(SIGNALS))
def test_integrated_loudness_matches_pyloudnorm(rate: int, channels: int, kind: str) -> None:
    x = SIGNALS[kind](rate, channels)
    ours = loudness(x, rate).integrated()
    # pyloudnorm's default K-weighting is built from RBJ cookbook biquads, which read
    # 0.04 LU (44.1/48 kHz) to 0.09 LU (22.05 kHz) lower than BS.1770's own filter: it
    # puts the EBU reference sine at -23.04 LUFS instead of -23.0.
    assert ours == pytest.approx(pyloudnorm_lufs(x, rate), abs=0.1)
    # Its "DeMan" filters are BS.1770's, derived for any rate as ours are.
    assert ours == pytest.approx(pyloudnorm_lufs(x, rate, "DeMan"), abs=0.01)


@pytest.mark.parametrize("rate", RATES)
def test_white_noise_matches_pyloudnorm_with_bs1770_filters(rate: int) -> None:
    x = with_gaps(white(20, rate, 2, seed=3), rate)
    assert loudness(x, rate).integrated() == pytest.approx(
        pyloudnorm_lufs(x, rate, "DeMan"), abs=0.01
    )


# --- (b) block sizes do not matter -----------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_loudness_does_not_depend_on_block_sizes(channels: int) -> None:
    rate = 44100
    x = with_gaps(speech_like(40, rate, channels, seed=4), rate)
    whole = loudness(x, rate)
    pieces = loudness(x, rate, seed=5)
    assert pieces.frames == x.shape[1]
    assert abs(pieces.integrated() - whole.integrated()) < 1e-6
    assert abs(pieces.momentary_max() - whole.momentary_max()) < 1e-6
    assert abs(pieces.loudness_range() - whole.loudness_range()) < 1e-6


def test_true_peak_does_not_depend_on_block_sizes() -> None:
    rate = 48000
    x = speech_like(20, rate, 2, seed=6, rms=0.2)
    x[:, 12345] = 0.9  # an isolated click
    assert abs(true_peak(x, rate, seed=7) - true_peak(x, rate)) < 1e-6


def test_loudness_at_odd_sample_rate_keeps_exact_100_ms_segments() -> None:
    rate = 11025  # 100 ms is 1102.5 samples
    x = sine(-23, 20, rate)
    assert loudness(x, rate).integrated() == pytest.approx(-23.0, abs=0.1)
    assert abs(loudness(x, rate, seed=8).integrated() - loudness(x, rate).integrated()) < 1e-6


# --- (c) EBU Tech 3341 / 3342 and the BS.1770 filter -------------------------------------------


def test_k_weighting_at_48k_is_the_bs1770_table() -> None:
    sos = k_weighting_sos(48000)
    table = [
        [
            1.53512485958697,
            -2.69169618940638,
            1.19839281085285,
            1.0,
            -1.69065929318241,
            0.73248077421585,
        ],
        [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
    ]
    np.testing.assert_allclose(sos, table, atol=1e-9)


TECH_3341 = {
    # case: ([(dBFS per channel, seconds), ...], expected integrated LUFS)
    "1: -23 dBFS": ([(-23, 20)], -23.0),
    "2: -33 dBFS": ([(-33, 20)], -33.0),
    "3: relative gate": ([(-36, 10), (-23, 60), (-36, 10)], -23.0),
    "4: both gates": ([(-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)], -23.0),
    "5: steps": ([(-26, 20), (-20, 20.1), (-26, 20)], -23.0),
}


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("case", sorted(TECH_3341))
def test_ebu_tech_3341_stereo_sines_read_as_specified(rate: int, case: str) -> None:
    parts, expected = TECH_3341[case]
    meter = LoudnessMeter(rate, 2)
    for dbfs, seconds in parts:
        meter.add(sine(dbfs, seconds, rate))
    assert meter.integrated() == pytest.approx(expected, abs=0.1)


def test_mono_is_measured_as_one_channel() -> None:
    # BS.1770: a 0 dBFS 997 Hz sine in one channel reads -3.01 LUFS.
    assert loudness(sine(-23, 20, 48000, channels=1), 48000).integrated() == pytest.approx(
        -26.01, abs=0.05
    )


TECH_3342 = {
    "1": ([(-20, 20), (-30, 20)], 10.0),
    "2": ([(-20, 20), (-15, 20)], 5.0),
    "3": ([(-40, 20), (-20, 20)], 20.0),
    "4": ([(-50, 20), (-35, 20), (-20, 20), (-35, 20), (-50, 20)], 15.0),
}


@pytest.mark.parametrize("case", sorted(TECH_3342))
def test_ebu_tech_3342_loudness_range(case: str) -> None:
    parts, expected = TECH_3342[case]
    meter = LoudnessMeter(48000, 2)
    for dbfs, seconds in parts:
        meter.add(sine(dbfs, seconds, 48000))
    assert meter.loudness_range() == pytest.approx(expected, abs=1.0)


def test_momentary_max_of_a_steady_sine() -> None:
    assert loudness(sine(-23, 10, 48000), 48000).momentary_max() == pytest.approx(-23.0, abs=0.1)


# --- (d) silence -------------------------------------------------------------------------------


def test_silence_and_too_short_input_read_minus_infinity() -> None:
    silent = loudness(np.zeros((2, 48000 * 5), dtype=np.float32), 48000)
    assert silent.integrated() == float("-inf")
    assert silent.momentary_max() == float("-inf")
    assert silent.loudness_range() == 0.0
    assert LoudnessMeter(48000, 2).integrated() == float("-inf")  # nothing added
    assert loudness(sine(-10, 0.3, 48000), 48000).integrated() == float("-inf")  # < 400 ms
    assert loudness(sine(-75, 10, 48000), 48000).integrated() == float("-inf")  # under -70
    assert true_peak(np.zeros((2, 1000), dtype=np.float32), 48000) == float("-inf")


def test_normalization_gain() -> None:
    assert normalization_gain_db(-20.0, -16.0) == 4.0
    assert normalization_gain_db(-12.5, -16.0) == -3.5
    assert normalization_gain_db(float("-inf"), -16.0) == 0.0


def test_meters_reject_bad_blocks() -> None:
    meter = LoudnessMeter(44100, 2)
    with pytest.raises(ValueError, match="shaped"):
        meter.add(np.zeros((1, 100), dtype=np.float32))
    bad = np.zeros((2, 5000), dtype=np.float32)
    bad[1, 2000] = np.nan
    with pytest.raises(ValueError, match="finite"):
        meter.add(bad)
    with pytest.raises(ValueError, match="finite"):
        TruePeakMeter(44100, 2).add(bad)
    with pytest.raises(ValueError, match="finite"):
        Limiter(44100, 2).process(bad)


# --- (e) true peak -----------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [44100, 48000])
def test_true_peak_of_a_quarter_rate_sine_between_samples(rate: int) -> None:
    # At fs/4 with a 45 degree phase every sample sits at 0.707 of the crest: the sample
    # peak reads 3 dB low, the true peak must not.
    x = faded(sine(-6.0, 5, rate, freq=rate / 4, phase=math.pi / 4), rate)
    sample_peak = 20 * math.log10(float(np.abs(x).max()))
    assert sample_peak == pytest.approx(-6.0 - 3.01, abs=0.01)
    assert true_peak(x, rate) == pytest.approx(-6.0, abs=0.2)


@pytest.mark.parametrize("freq", [997.0, 5000.0, 9000.0, 14000.0])
def test_true_peak_of_sines_reads_their_amplitude(freq: float) -> None:
    x = faded(sine(-3.0, 3, 44100, freq=freq, phase=0.3), 44100)
    assert true_peak(x, 44100) == pytest.approx(-3.0, abs=0.2)


def test_true_peak_is_never_below_the_sample_peak() -> None:
    x = white(5, 44100, 2, seed=9, rms=0.2)
    assert true_peak(x, 44100) >= 20 * math.log10(float(np.abs(x).max()))


FFMPEG_EBUR128 = ["-af", "ebur128=peak=true", "-f", "null", "-"]


def ffmpeg_ebur128(ffmpeg: str, path: Path) -> tuple[float, float]:
    """ffmpeg's integrated loudness and true peak (printed to 0.1)."""
    result = subprocess.run(
        [ffmpeg, "-nostats", "-hide_banner", "-i", str(path), *FFMPEG_EBUR128],
        capture_output=True,
        text=True,
        check=True,
    )
    integrated = re.findall(r"I:\s+(-?[\d.]+) LUFS", result.stderr)[-1]
    peak = re.findall(r"Peak:\s+(-?[\d.]+) dBFS", result.stderr)[-1]
    return float(integrated), float(peak)


@pytest.mark.parametrize(
    "kind",
    ["speech", "quarter-rate sine", "pink-with-gaps"],
)
def test_agrees_with_ffmpeg_ebur128(tmp_path: Path, kind: str) -> None:
    ffmpeg = require_program("ffmpeg")
    rate = 48000
    x = {
        "speech": lambda: speech_like(20, rate, 2, seed=10, rms=0.15),
        "quarter-rate sine": lambda: faded(sine(-6, 5, rate, rate / 4, phase=math.pi / 4), rate),
        "pink-with-gaps": lambda: with_gaps(pink(20, rate, 2, seed=11, rms=0.1), rate),
    }[kind]()
    path = tmp_path / "signal.wav"
    soundfile.write(path, x.T, rate, subtype="FLOAT")
    lufs, dbtp = measure_file(path)
    ff_lufs, ff_dbtp = ffmpeg_ebur128(ffmpeg, path)
    assert lufs == pytest.approx(ff_lufs, abs=0.1 + 0.05)  # ffmpeg rounds to 0.1
    assert dbtp == pytest.approx(ff_dbtp, abs=0.2 + 0.05)


def test_measure_file_reads_in_blocks(tmp_path: Path) -> None:
    path = tmp_path / "tone.flac"
    soundfile.write(path, sine(-23, 25, 44100).T, 44100, subtype="PCM_24")
    lufs, dbtp = measure_file(path)
    assert lufs == pytest.approx(-23.0, abs=0.1)
    assert dbtp == pytest.approx(-23.0, abs=0.1)


def test_measure_file_says_what_it_could_not_read(tmp_path: Path) -> None:
    path = tmp_path / "not-audio.wav"
    path.write_text("hello")
    with pytest.raises(RenderError, match="cannot measure"):
        measure_file(path)


# --- (f) limiter -------------------------------------------------------------------------------


def test_limiter_latency_and_output_lengths() -> None:
    limiter = Limiter(44100, 2)
    assert limiter.latency == 253  # 5 ms look-ahead, rounded up to the gain's control rate
    assert Limiter(48000, 2).latency == 269
    block = np.zeros((2, 1000), dtype=np.float32)
    assert limiter.process(block).shape == (2, 1000 - 253)
    assert limiter.process(block).shape == (2, 1000)
    assert limiter.flush().shape == (2, 253)
    # A stream shorter than the latency comes out of flush() whole.
    assert limiter.process(block[:, :100]).shape == (2, 0)
    assert limiter.flush().shape == (2, 100)


@pytest.mark.parametrize("seed", [None, 12, 13])
def test_limiter_keeps_every_sample_in_place(seed: int | None) -> None:
    rate = 44100
    x = np.zeros((2, rate * 2), dtype=np.float32)
    x[0, 12345] = 0.5  # quiet clicks come out untouched...
    x[1, 54321] = -0.7
    x[:, 70001] = 3.0  # ...and a loud one is turned down where it is
    y = limit(x, rate, seed)
    assert y.shape == x.shape
    assert y[0, 12345] == np.float32(0.5) and y[1, 54321] == np.float32(-0.7)
    assert int(np.argmax(np.abs(y[0]))) == 70001
    assert y[0, 70001] == pytest.approx(10 ** (-1.1 / 20), rel=1e-4)
    np.testing.assert_array_equal(y[:, :60000], x[:, :60000])


def loud_material(rate: int) -> Samples:
    rng = np.random.default_rng(14)
    x = white(6, rate, 2, seed=15, rms=0.3)  # 7 dB over the ceiling, continuously
    clicks = rng.integers(0, x.shape[1], 40)
    x[:, clicks] = rng.uniform(-4.0, 4.0, (2, clicks.size))  # +12 dB transients
    x[:, : rate // 2] = sine(6, 0.5, rate, rate / 4, phase=math.pi / 4)  # intersample overs
    return x


@pytest.mark.parametrize("ceiling", [-1.0, -2.0])
def test_limiter_output_true_peak_is_under_the_ceiling(ceiling: float) -> None:
    rate = 44100
    x = loud_material(rate)
    assert true_peak(x, rate) > 10
    y = limit(x, rate, seed=16, ceiling_dbtp=ceiling)
    assert not np.isnan(y).any()
    assert true_peak(y, rate) <= ceiling
    np.testing.assert_allclose(y, limit(x, rate, ceiling_dbtp=ceiling), atol=1e-6)


def test_limiter_passes_quiet_audio_bit_for_bit() -> None:
    rate = 44100
    x = speech_like(20, rate, 2, seed=17, rms=0.05)
    assert true_peak(x, rate) < -1.2
    y = limit(x, rate, seed=18)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, x)


def test_limiter_returns_to_unity_after_a_loud_passage() -> None:
    rate = 44100
    x = speech_like(12, rate, 2, seed=19, rms=0.05)
    x[:, rate : rate + 4410] *= 20.0  # a loud 100 ms, then quiet again
    y = limit(x, rate)
    assert true_peak(y, rate) <= -1.0
    np.testing.assert_array_equal(y[:, : rate - 300], x[:, : rate - 300])
    np.testing.assert_array_equal(y[:, 5 * rate :], x[:, 5 * rate :])


def test_limiter_gain_is_smooth_and_releases_exponentially() -> None:
    rate = 44100
    # DC under the ceiling with a burst over it: the output over the input is the gain.
    x = np.full((1, rate * 2), 0.5, dtype=np.float32)
    x[:, rate // 2 : rate // 2 + 4410] = 1.8
    limiter = Limiter(rate, 1, release_ms=150)
    y = np.concatenate([limiter.process(x), limiter.flush()], axis=1)
    gain = (y / x)[0].astype(np.float64)
    assert gain.max() == 1.0
    assert np.abs(np.diff(gain)).max() <= 1 / 221 + 1e-6  # at most 1/look-ahead per sample
    assert gain[rate // 2 : rate // 2 + 4410].max() <= 10 ** (-1.1 / 20) / 1.8 + 1e-6
    # The burst's edges ring a little over 1.8 between samples, so they need a bit more.
    needed_db = 20 * math.log10(1.8 / 10 ** (-1.1 / 20))
    assert needed_db <= limiter.max_gain_reduction_db <= needed_db + 1.0
    # After the burst 1 - gain falls by e every 150 ms.
    end = rate // 2 + 4410 + 300
    step = rate * 150 // 1000
    ratio = (1 - gain[end + step]) / (1 - gain[end])
    assert ratio == pytest.approx(math.exp(-1), rel=0.05)


def test_limiter_flush_resets_for_a_new_stream() -> None:
    rate = 44100
    x = loud_material(rate)[:, : rate * 2]
    limiter = Limiter(rate, 2)
    first = np.concatenate([limiter.process(x), limiter.flush()], axis=1)
    second = np.concatenate([limiter.process(x), limiter.flush()], axis=1)
    np.testing.assert_array_equal(first, second)


# --- (g) an hour in bounded memory ---------------------------------------------------------------


def stream(
    blocks: list[Samples], seconds: int, rate: int
) -> tuple[LoudnessMeter, Limiter, TruePeakMeter, int]:
    """Mastering's three stages over ``seconds`` of audio cycled from ``blocks``."""
    loud = LoudnessMeter(rate, 2)
    limiter = Limiter(rate, 2)
    peak = TruePeakMeter(rate, 2)
    frames = 0
    for i in range(seconds * rate // blocks[0].shape[1]):
        block = blocks[i % len(blocks)]
        loud.add(block)
        out = limiter.process(block)
        peak.add(out)
        frames += out.shape[1]
    tail = limiter.flush()
    peak.add(tail)
    return loud, limiter, peak, frames + tail.shape[1]


@pytest.fixture(scope="module")
def ten_second_blocks() -> list[Samples]:
    """Speech-like blocks from -20 to -7 LUFS: the limiter works on some, not others."""
    levels = [0.08, 0.12, 0.15, 0.1, 0.2, 0.05]
    return [speech_like(10, 44100, 2, seed=s, rms=r) for s, r in enumerate(levels)]


@pytest.mark.slow
def test_an_hour_streams_through_all_three(ten_second_blocks: list[Samples]) -> None:
    start = time.perf_counter()
    loud, limiter, peak, frames = stream(ten_second_blocks, 3600, 44100)
    elapsed = time.perf_counter() - start
    print(
        f"\n60 min of 44.1 kHz stereo through LoudnessMeter + Limiter + TruePeakMeter: "
        f"{elapsed:.2f} s ({loud.integrated():.2f} LUFS in, {peak.peak_dbtp():.2f} dBTP out, "
        f"gain reduction up to {limiter.max_gain_reduction_db:.1f} dB)"
    )
    assert frames == 3600 * 44100
    assert math.isfinite(loud.integrated())
    assert limiter.max_gain_reduction_db > 0.5
    assert peak.peak_dbtp() <= -1.0


def test_memory_does_not_grow_with_duration(ten_second_blocks: list[Samples]) -> None:
    peaks = []
    for seconds in (60, 240):
        tracemalloc.start()
        try:
            stream(ten_second_blocks, seconds, 44100)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    # A few 10 s blocks' worth of temporaries (one block is 3.5 MB), whatever the length;
    # pyloudnorm on a whole hour needs 5-6 GB.
    assert peaks[0] < 30e6
    assert peaks[1] < peaks[0] + 1e6
