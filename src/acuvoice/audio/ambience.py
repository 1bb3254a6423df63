"""Endless ambience beds (noise, rain, ocean, a looped file), generated or read block by block."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from acuvoice.audio.buffer import Samples, resample
from acuvoice.audio.decode import (
    CODEC_PADDING_S,
    AudioInfo,
    SoundStream,
    open_stream,
    probe,
    read_all,
    read_start,
)
from acuvoice.errors import ExportError, SoundError, UsageError
from acuvoice.files import atomic_output
from acuvoice.routine.model import AMBIENCES
from acuvoice.units import db_to_gain
from acuvoice.validation import did_you_mean

#: RMS level of every bed this module returns, user files included (dBFS); the mixer sets
#: the final level relative to it.
BED_RMS_DB = -20.0
#: Longest ambience file accepted.
MAX_AMBIENCE_FILE_S = 3600.0
#: Files up to this long are loaded, converted and looped in memory; longer ones are streamed.
LOAD_FULLY_S = 600.0
#: Length of the equal-power crossfade that hides a looped file's seam.
LOOP_CROSSFADE_S = 0.5
#: Shortest ambience file that can be looped.
MIN_AMBIENCE_FILE_S = 1.0

_BED_RMS = db_to_gain(BED_RMS_DB)
_FILE_BLOCK = 1 << 16

Float64 = NDArray[np.float64]


def _signal() -> Any:
    """``scipy.signal``, imported when a bed is first generated (it costs ~80 MB and half a
    second; a render that reads its beds from the cache never needs it)."""
    from scipy import signal

    return signal


class Ambience(Protocol):
    """An endless background bed, read block after block.

    Each ``read`` continues exactly where the previous one stopped, so reading ``N`` frames
    at once or in pieces gives the same samples; memory does not grow with the time read.
    """

    def read(self, frames: int) -> Samples:
        """The next ``frames`` frames, float32 ``(channels, frames)`` at the bed's sample rate."""
        ...


# --- generated beds ----------------------------------------------------------------------

# Julius O. Smith's -3 dB/octave pink-noise filter (0.3 dB ripple over the audio band).
_PINK_B = (0.049922035, -0.095993537, 0.050612699, -0.004408786)
_PINK_A = (1.0, -2.494956002, 2.017265875, -0.522189400)


def _highpass(freq_hz: float, sample_rate: int, order: int = 2) -> Float64:
    sos: Float64 = _signal().butter(order, freq_hz, "highpass", fs=sample_rate, output="sos")
    return sos


def _lowpass(freq_hz: float, sample_rate: int, order: int = 2) -> Float64:
    sos: Float64 = _signal().butter(
        order, min(freq_hz, 0.4 * sample_rate), "lowpass", fs=sample_rate, output="sos"
    )
    return sos


def _pink(sample_rate: int) -> Float64:
    """Pink noise (-3 dB/octave) with no content below 20 Hz, so no DC or drift."""
    pink: Float64 = _signal().tf2sos(_PINK_B, _PINK_A)
    return np.vstack([pink, _highpass(20.0, sample_rate)])


def _brown(sample_rate: int) -> Float64:
    """Brown noise (-6 dB/octave above 25 Hz): a leaky integrator, then a 20 Hz high-pass."""
    r = math.exp(-2.0 * math.pi * 25.0 / sample_rate)
    leaky = np.array([[1.0 - r, 0.0, 0.0, 1.0, -r, 0.0]])
    return np.vstack([leaky, _highpass(20.0, sample_rate)])


class _White:
    """Gaussian white noise, independent per channel, continuing across reads."""

    def __init__(self, channels: int, entropy: list[int]) -> None:
        seeds = np.random.SeedSequence(entropy).spawn(channels)
        self._rngs = [np.random.default_rng(s) for s in seeds]

    def read(self, frames: int) -> Float64:
        return np.stack([rng.standard_normal(frames) for rng in self._rngs])


class _Shaper:
    """A filter scaled to unit output RMS for unit white input; keeps its state across calls."""

    def __init__(self, sos: Float64, channels: int, sample_rate: int) -> None:
        self._sos = sos
        self._zi = np.zeros((sos.shape[0], channels, 2))
        # Output power for unit white input is the energy of the impulse response; one second
        # covers many time constants of the slowest pole at any rate.
        impulse = np.zeros(sample_rate)
        impulse[0] = 1.0
        response = _signal().sosfilt(sos, impulse)
        self._gain = 1.0 / math.sqrt(float(np.sum(response**2)))
        #: The normalized impulse response (unit energy).
        self.response: Float64 = response * self._gain

    def __call__(self, white: Float64) -> Float64:
        out, self._zi = _signal().sosfilt(self._sos, white, axis=-1, zi=self._zi)
        result: Float64 = out * self._gain
        return result


class _Bed:
    """Shared plumbing of the generated beds: the frame counter and float32 output."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self._pos = 0

    def read(self, frames: int) -> Samples:
        """The next ``frames`` frames."""
        if frames < 0:
            raise ValueError(f"cannot read {frames} frames")
        if frames == 0:
            return np.zeros((self.channels, 0), dtype=np.float32)
        out = self._render(self._pos, frames)
        self._pos += frames
        return np.ascontiguousarray(out, dtype=np.float32)

    def _render(self, start: int, frames: int) -> Float64:
        """Frames ``[start, start + frames)`` of the bed, float64."""
        raise NotImplementedError

    def _slowly(self, fn: Callable[[Float64], Float64], start: int, frames: int) -> Float64:
        """A slow function of time at every frame, computed on a fixed 10 ms grid.

        The grid is anchored at frame 0, not at the read, so the result does not depend on
        how the stream is cut into reads; linear interpolation of envelopes this slow is
        exact to about 1e-5.
        """
        step = max(1, self.sample_rate // 100)
        first, last = start // step, (start + frames - 1) // step + 1
        values = fn(np.arange(first, last + 1) * step / self.sample_rate)
        # Straight lines between the knots, one row per 10 ms (cheaper than np.interp).
        ramps = values[:-1, None] + np.diff(values)[:, None] * (np.arange(step) / step)
        offset = start - first * step
        result: Float64 = ramps.reshape(-1)[offset : offset + frames]
        return result


class _NoiseBed(_Bed):
    """Plain coloured noise at the bed level."""

    def __init__(self, sos: Float64, sample_rate: int, channels: int, seed: int) -> None:
        super().__init__(sample_rate, channels)
        self._white = _White(channels, [seed, 1])
        self._shape = _Shaper(sos, channels, sample_rate)

    def _render(self, start: int, frames: int) -> Float64:
        return _BED_RMS * self._shape(self._white.read(frames))


class _Events:
    """Short sounds scattered in time, deterministic per chunk of the timeline.

    Chunk ``k`` holds the events that start in ``[k*chunk, (k+1)*chunk)``; their sound may
    ring ``tail`` frames into the next chunk. Chunks are drawn from their own seed, so the
    result never depends on how the stream is cut into reads.
    """

    def __init__(
        self, channels: int, chunk: int, tail: int, make: Callable[[int], Float64]
    ) -> None:
        self._chunk = chunk
        self._tail = tail
        self._make = make
        self._buf = np.zeros((channels, 0))
        self._pos = 0
        self._next = 0

    def read(self, frames: int) -> Float64:
        end = self._pos + frames
        last = -(-end // self._chunk)  # the chunks that start before ``end``
        need = max(frames, last * self._chunk + self._tail - self._pos)
        if self._buf.shape[1] < need:  # grow once per read, not once per chunk
            grown = np.zeros((self._buf.shape[0], need))
            grown[:, : self._buf.shape[1]] = self._buf
            self._buf = grown
        for k in range(self._next, last):
            offset = k * self._chunk - self._pos
            self._buf[:, offset : offset + self._chunk + self._tail] += self._make(k)
        self._next = max(self._next, last)
        out: Float64 = self._buf[:, :frames].copy()
        self._buf = self._buf[:, frames:]
        self._pos = end
        return out


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float], count: int) -> Float64:
    lo, hi = bounds
    values: Float64 = np.exp(rng.uniform(math.log(lo), math.log(hi), count))
    return values


class _Rain(_Bed):
    """Soft pink hiss plus scattered droplets (rising 'plinks'), gently swelling in intensity."""

    DROPS_PER_S = 50.0
    DROP_SHARE = 0.25  # of the bed's power
    DROP_DB = (-30.0, -12.0)  # droplet amplitudes, log-uniform
    DROP_TAU_S = (0.0015, 0.008)  # droplet decay time constants, log-uniform
    DROP_HZ = (1200.0, 5000.0)
    DROP_SHAPES = 128  # distinct droplet sounds, made once; each drop picks one
    MOD_DEPTHS = (0.2, 0.1)  # intensity swells, periods 19 s and 7.7 s

    def __init__(self, sample_rate: int, channels: int, seed: int) -> None:
        super().__init__(sample_rate, channels)
        hiss: Float64 = _signal().tf2sos(_PINK_B, _PINK_A)
        sos = np.vstack([hiss, _highpass(400.0, sample_rate), _lowpass(8000.0, sample_rate)])
        self._white = _White(channels, [seed, 2])
        self._hiss = _Shaper(sos, channels, sample_rate)
        self._seed = seed
        phases = np.random.default_rng([seed, 3]).uniform(0.0, 2.0 * np.pi, 2)
        self._phases = (float(phases[0]), float(phases[1]))
        d1, d2 = self.MOD_DEPTHS
        self._mod_max = 1.0 + d1 + d2
        self._hiss_gain = _BED_RMS * math.sqrt(
            (1.0 - self.DROP_SHARE) / (1.0 + (d1**2 + d2**2) / 2)
        )
        self._shapes, self._starts, self._lengths = self._droplets(np.random.default_rng([seed, 8]))
        # Mean droplet power per channel: rate * E[A^2] * mean energy of a shape, shared out
        # between the channels (the pan's squared gains sum to one).
        lo_db, hi_db = self.DROP_DB
        e_a2 = (10.0 / math.log(10.0)) * (10 ** (hi_db / 10) - 10 ** (lo_db / 10)) / (hi_db - lo_db)
        energy = float(np.dot(self._shapes, self._shapes)) / self.DROP_SHAPES
        drop_power = self.DROPS_PER_S * e_a2 * energy / sample_rate / channels
        self._drop_gain = _BED_RMS * math.sqrt(self.DROP_SHARE / drop_power)
        self._tail = int(self._lengths.max())
        self._drops = _Events(channels, sample_rate, self._tail, self._chunk)

    def _droplets(
        self, rng: np.random.Generator
    ) -> tuple[Float64, NDArray[np.int64], NDArray[np.int64]]:
        """The droplet sounds, side by side in one flat array, with their starts and lengths.

        Each is a decaying sine that glides up in pitch as the bubble shrinks, with a 0.5 ms
        attack and a fade between 4 and 6 time constants, so no edge clicks.
        """
        sr, count = self.sample_rate, self.DROP_SHAPES
        tau = _log_uniform(rng, self.DROP_TAU_S, count)
        hz = np.minimum(_log_uniform(rng, self.DROP_HZ, count), 0.4 * sr)
        rise = rng.uniform(0.0, 0.6, count)
        lengths = np.ceil(6.0 * tau * sr).astype(np.int64)
        starts = np.cumsum(lengths) - lengths
        which = np.repeat(np.arange(count), lengths)
        t = (np.arange(which.size) - starts[which]) / sr
        u = t / tau[which]
        env = np.exp(-u) * np.clip(3.0 - u / 2.0, 0.0, 1.0) * np.minimum(t * 2000.0, 1.0)
        glide = rise[which] / (12.0 * tau[which])  # the pitch rises by ``rise`` over 6 tau
        shapes: Float64 = env * np.sin(2.0 * np.pi * hz[which] * t * (1.0 + glide * t))
        return shapes, starts, lengths

    def _mod(self, t: Float64) -> Float64:
        """Intensity: slow swells of about +-2.5 dB."""
        (p1, p2), (d1, d2) = self._phases, self.MOD_DEPTHS
        return 1.0 + d1 * np.sin(2 * np.pi * t / 19.0 + p1) + d2 * np.sin(2 * np.pi * t / 7.7 + p2)

    def _chunk(self, k: int) -> Float64:
        """The droplets that start in second ``k``, with their tails."""
        sr, channels = self.sample_rate, self.channels
        out = np.zeros((channels, sr + self._tail))
        rng = np.random.default_rng([self._seed, 4, k])
        count = int(rng.poisson(self.DROPS_PER_S * self._mod_max))
        onset = rng.integers(0, sr, count)
        # Thinning: a drop survives with probability mod(t) / max, so the rate follows mod(t).
        keep = rng.random(count) * self._mod_max < self._mod((k * sr + onset) / sr)
        amp = 10.0 ** (rng.uniform(*self.DROP_DB, count) / 20.0) * self._drop_gain
        shape = rng.integers(0, self.DROP_SHAPES, count)
        if channels > 1:
            pan = np.sqrt(rng.dirichlet(np.ones(channels), count))
        else:
            pan = np.ones((count, 1))
        onset, amp, shape, pan = onset[keep], amp[keep], shape[keep], pan[keep]
        lengths = self._lengths[shape]
        n = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        values = self._shapes[np.repeat(self._starts[shape], lengths) + n]
        values *= np.repeat(amp, lengths)
        index = np.repeat(onset, lengths) + n
        for c in range(channels):
            weights = values * np.repeat(pan[:, c], lengths)
            out[c] += np.bincount(index, weights=weights, minlength=out.shape[1])
        return out

    def _render(self, start: int, frames: int) -> Float64:
        mod = self._slowly(self._mod, start, frames)
        hiss = self._hiss(self._white.read(frames))
        return self._hiss_gain * mod * hiss + self._drops.read(frames)


class _Ocean(_Bed):
    """Waves: a brown-noise wash and a brighter surf, swelling every 8 to 12.5 seconds."""

    RUMBLE_SHARE = 0.55  # of the bed's power; the rest is surf
    CHANNEL_DELAY_S = 0.6  # each channel's swell lags the previous one's (width)
    _BLEND = math.asin(0.64) / 2  # 2 cos(b) sin(b) = 0.64: the stereo correlation

    def __init__(self, sample_rate: int, channels: int, seed: int) -> None:
        super().__init__(sample_rate, channels)
        # Wash and surf are shaped from the same white noise (they share the 150-500 Hz band
        # anyway), which halves the cost.
        self._white = _White(channels, [seed, 5])
        self._rumble = _Shaper(_brown(sample_rate), channels, sample_rate)
        pink: Float64 = _signal().tf2sos(_PINK_B, _PINK_A)
        surf_sos = np.vstack([pink, _highpass(150.0, sample_rate), _lowpass(5000.0, sample_rate)])
        self._surf = _Shaper(surf_sos, channels, sample_rate)
        phases = np.random.default_rng([seed, 7]).uniform(0.0, 2.0 * np.pi, 2)
        self._phases = (float(phases[0]), float(phases[1]))
        # Mean powers of the envelopes over a long stretch of time (they are deterministic),
        # and the correlation of wash and surf, which share their white noise.
        rumble_env, surf_env = self._envelopes(self._wave(np.arange(0.0, 3000.0, 0.05)))
        rho = float(np.dot(self._rumble.response, self._surf.response))
        rumble_gain = math.sqrt(self.RUMBLE_SHARE)
        surf_gain = math.sqrt(1.0 - self.RUMBLE_SHARE)
        power = (
            rumble_gain**2 * np.mean(rumble_env**2)
            + surf_gain**2 * np.mean(surf_env**2)
            + 2.0 * rumble_gain * surf_gain * rho * np.mean(rumble_env * surf_env)
        )
        scale = _BED_RMS / math.sqrt(float(power))
        self._rumble_gain = rumble_gain * scale
        self._surf_gain = surf_gain * scale

    def _wave(self, t: Float64) -> Float64:
        """Height of the swell (0 to 1) at times ``t``: a wave builds, breaks and recedes."""
        p, q = self._phases
        # The swell's rate wanders between 0.08 and 0.12 Hz; its phase is the exact integral.
        phase = (
            2.0
            * np.pi
            * 0.1
            * (t - 0.2 * 61.0 / (2.0 * np.pi) * (np.cos(2 * np.pi * t / 61.0 + p) - math.cos(p)))
        )
        height = 0.8 + 0.2 * np.sin(2.0 * np.pi * t / 37.0 + q)  # some waves are bigger
        wave: Float64 = height * ((1.0 - np.cos(phase)) / 2.0) ** 1.5
        return wave

    @staticmethod
    def _envelopes(wave: Float64) -> tuple[Float64, Float64]:
        """Levels of the wash and of the surf, which only sounds near the crest."""
        return 0.35 + 0.65 * wave, 0.08 + 0.92 * wave**2

    def _mix(self, noise: Float64) -> Float64:
        """Blend each channel's noise with its neighbour's: in stereo they correlate at 0.64."""
        if self.channels == 1:
            return noise
        own, other = math.cos(self._BLEND), math.sin(self._BLEND)
        return own * noise + other * np.roll(noise, -1, axis=0)

    def _render(self, start: int, frames: int) -> Float64:
        lag = round(self.CHANNEL_DELAY_S * self.sample_rate)
        wave = np.stack(
            [self._slowly(self._wave, start - c * lag, frames) for c in range(self.channels)]
        )
        rumble_env, surf_env = self._envelopes(wave)
        white = self._white.read(frames)
        rumble = self._mix(self._rumble(white))
        surf = self._mix(self._surf(white))
        return self._rumble_gain * rumble_env * rumble + self._surf_gain * surf_env * surf


# --- looped files ------------------------------------------------------------------------

Fetch = Callable[[int, int], Float64]


class _Looper:
    """A source played once from its start, then looped with an equal-power crossfaded seam.

    The stream is ``x[0:c]`` followed forever by ``x[c:n-c]`` and a crossfade of the tail
    ``x[n-c:n]`` into the head ``x[0:c]``, so every sample joins its neighbour smoothly.
    """

    def __init__(self, fetch: Fetch, length: int, fade: int) -> None:
        self._fetch = fetch
        self._n = length
        self._c = fade
        self._head = fetch(0, fade)
        ramp = (np.arange(fade) + 0.5) / fade
        self._fade_in = np.sin(0.5 * np.pi * ramp)
        self._fade_out = np.cos(0.5 * np.pi * ramp)
        self._pos = 0

    def _piece(self, limit: int) -> Float64:
        n, c, p = self._n, self._c, self._pos
        if p < c:
            return self._fetch(p, min(c, p + limit))
        body = n - 2 * c
        q = (p - c) % (n - c)
        if q < body:
            return self._fetch(c + q, c + min(body, q + limit))
        i = q - body
        j = min(c, i + limit)
        tail = self._fetch(n - c + i, n - c + j)
        mixed: Float64 = tail * self._fade_out[i:j] + self._head[:, i:j] * self._fade_in[i:j]
        return mixed

    def skip(self, frames: int) -> None:
        """Move forward by ``frames`` (each piece is a function of the position alone)."""
        self._pos += frames

    def read(self, frames: int) -> Float64:
        pieces = []
        left = frames
        while left > 0:
            piece = self._piece(left)
            pieces.append(piece)
            self._pos += piece.shape[1]
            left -= piece.shape[1]
        if not pieces:
            return self._head[:, :0]
        return np.concatenate(pieces, axis=1)


class _Resampler:
    """Streaming polyphase resampling: exactly ``resample_poly`` of the whole stream.

    Input is cut into blocks of a multiple of ``down`` frames, each filtered with enough
    context on both sides to cover the filter, so blocks join without seams.
    """

    def __init__(
        self, source: Callable[[int], Float64], channels: int, from_rate: int, to_rate: int
    ) -> None:
        g = math.gcd(from_rate, to_rate)
        self._up, self._down = to_rate // g, from_rate // g
        # resample_poly's filter reaches 10 * max(up, down) taps at the upsampled rate.
        reach = 10.0 * max(self._up, self._down) / self._up
        self._ctx = self._down * math.ceil((reach + 2.0) / self._down)
        self._block = self._down * max(1, round(from_rate / self._down))
        self._source = source
        self._in = np.zeros((channels, self._ctx))
        self._out = np.zeros((channels, 0))

    def read(self, frames: int) -> Float64:
        while self._out.shape[1] < frames:
            need = 2 * self._ctx + self._block - self._in.shape[1]
            self._in = np.concatenate([self._in, self._source(need)], axis=1)
            y = _signal().resample_poly(self._in, self._up, self._down, axis=1)
            lo = self._ctx * self._up // self._down
            hi = (self._ctx + self._block) * self._up // self._down
            self._out = np.concatenate([self._out, y[:, lo:hi]], axis=1)
            self._in = self._in[:, self._block :]
        out = self._out[:, :frames]
        self._out = self._out[:, frames:]
        return out


_F = TypeVar("_F", np.float32, np.float64)


def _fit_channels(samples: NDArray[_F], channels: int) -> NDArray[_F]:
    """``samples`` with ``channels`` channels: mono is copied out, anything else mixed down."""
    have = samples.shape[0]
    if have == channels:
        return samples
    mono = samples if have == 1 else samples.mean(axis=0, keepdims=True)
    return np.repeat(mono, channels, axis=0)


class _LoopedFile:
    """A user's audio file, converted, normalized to the bed level and looped without a click."""

    def __init__(
        self,
        stream: Callable[[int], Float64],
        channels: int,
        gain: float,
        release: Callable[[], None] | None = None,
    ) -> None:
        self.channels = channels
        self._stream = stream
        self._gain = gain
        self._release = release

    def read(self, frames: int) -> Samples:
        """The next ``frames`` frames."""
        if frames < 0:
            raise ValueError(f"cannot read {frames} frames")
        out = _fit_channels(self._stream(frames), self.channels) * self._gain
        return np.ascontiguousarray(out, dtype=np.float32)

    def close(self) -> None:
        """Close a streamed file and remove its temporary folder now rather than when dropped."""
        if self._release is not None:
            self._release()


_WHAT = "ambience file"
#: How much of a file :func:`check_ambience` decodes.
_CHECK_S = 1.0


def _gain_for(sum_squares: float, count: int) -> float:
    """Gain that brings audio of this mean square to the bed level (silence is left alone)."""
    rms = math.sqrt(sum_squares / count) if count else 0.0
    return _BED_RMS / rms if rms > 1e-9 else 1.0


def _check_format(sample_rate: int, channels: int) -> None:
    if sample_rate <= 0:
        raise UsageError(f"the sample rate must be a positive number of Hz, not {sample_rate}")
    if channels <= 0:
        raise UsageError(f"the channel count must be 1 or more, not {channels}")


def _file_path(spec: str) -> Path:
    """The file ``spec`` names, or a SoundError that names both a bed and the file looked for."""
    path = Path(spec).expanduser()
    if not path.exists():
        raise SoundError(
            f"no built-in ambience bed or file named {spec!r}{did_you_mean(spec, AMBIENCES)} "
            f"({path.absolute()} does not exist); use a built-in bed "
            f"({', '.join(AMBIENCES)}) or the path of a sound file"
        )
    return path


def _probe_bed(path: Path) -> AudioInfo:
    """Probe a bed file and refuse one too long or too short to loop."""
    info = probe(path, what=_WHAT)
    # A length ffmpeg reads from a container may be off by a codec frame: let that pass.
    slack = 0.0 if info.native else CODEC_PADDING_S
    if info.seconds - slack > MAX_AMBIENCE_FILE_S:
        minutes, seconds = divmod(round(info.seconds), 60)
        raise SoundError(
            f"ambience file {path} lasts {minutes} min {seconds} s, more than the "
            f"{MAX_AMBIENCE_FILE_S / 60:.0f} min allowed; use a shorter file (it is looped)"
        )
    if info.seconds + slack < MIN_AMBIENCE_FILE_S:
        raise SoundError(
            f"ambience file {path} is too short to loop ({info.seconds * 1000:.0f} ms); "
            f"use a file of at least {MIN_AMBIENCE_FILE_S:.0f} s"
        )
    return info


def _close_stream(stream: SoundStream, folder: Path | None) -> None:
    with contextlib.suppress(Exception):  # closing twice, or at interpreter exit
        stream.close()
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _open_file(path: Path, sample_rate: int, channels: int, workdir: Path | None) -> _LoopedFile:
    info = _probe_bed(path)
    if info.seconds <= LOAD_FULLY_S:
        data, rate = read_all(path, MAX_AMBIENCE_FILE_S, what=_WHAT)
        data = resample(_fit_channels(data, channels), rate, sample_rate)
        gain = _gain_for(_energy(data), data.size)
        n = data.shape[1]
        fade = min(round(LOOP_CROSSFADE_S * sample_rate), n // 4)
        looper = _Looper(lambda a, b: data[:, a:b].astype(np.float64), n, fade)
        return _LoopedFile(looper.read, channels, gain)
    # A long file is read from disk as it plays; one ffmpeg decodes is converted to a WAV
    # first (libsndfile seeks in it for the loop), in a folder of our own unless given one.
    own = None
    if workdir is None and not info.native:
        own = Path(tempfile.mkdtemp(prefix="acuvoice-ambience-"))
    try:
        stream = open_stream(path, workdir or own, what=_WHAT)
        gain = _gain_for(*_sum_squares(stream))
    except BaseException:
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)
        raise
    rate, frames = stream.info.sample_rate, stream.info.frames
    fade = min(round(LOOP_CROSSFADE_S * rate), frames // 4)
    looper = _Looper(_file_fetch(stream), frames, fade)
    read = looper.read
    if rate != sample_rate:
        read = _Resampler(looper.read, stream.info.channels, rate, sample_rate).read
    bed = _LoopedFile(read, channels, gain)
    # Closed and removed when the bed is dropped, or earlier by its close().
    bed._release = weakref.finalize(bed, _close_stream, stream, own)
    return bed


def _energy(data: Samples) -> float:
    """Sum of squares, accumulated in float64 a million samples at a time."""
    flat = data.reshape(-1)
    step = 1 << 20
    return sum(
        float(np.dot(c, c))
        for c in (flat[i : i + step].astype(np.float64) for i in range(0, flat.size, step))
    )


def _sum_squares(stream: SoundStream) -> tuple[float, int]:
    """Sum of squares and number of samples of a long file, read block by block."""
    total, count = 0.0, 0
    for block in stream.blocks(_FILE_BLOCK * 4):
        total += _energy(block)
        count += block.size
    return total, count


def _file_fetch(stream: SoundStream) -> Fetch:
    """Read frames ``[a, b)`` of an open file as float64."""

    def fetch(a: int, b: int) -> Float64:
        data: Float64 = stream.read(a, b - a).astype(np.float64)
        if data.shape[1] < b - a:  # a length reported a little long (MP3): pad with silence
            data = np.pad(data, ((0, 0), (0, b - a - data.shape[1])))
        return data

    return fetch


#: Length of the stretch a generated bed is rendered once and then looped from.
LOOP_SECONDS = 60


@functools.cache
def generator_digest() -> str:
    """A digest of this module's source: a bed kept on disk is made again when it changes."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def generated_bed(
    spec: str,
    sample_rate: int,
    channels: int,
    seed: int = 0,
    *,
    loop: bool = True,
    cache_dir: Path | None = None,
) -> Ambience | None:
    """A generated bed by name, or ``None`` when ``spec`` names none.

    With ``loop`` (the default) the bed is rendered once for :data:`LOOP_SECONDS` and then
    looped with a crossfaded seam: generating rain or surf costs seconds of CPU per hour,
    so a loop makes a long session cheap without an audible repeat at an ambience level.
    With ``cache_dir`` the rendered stretch is kept there (``beds/``, 21 MB for 44.1 kHz
    stereo) and mapped from disk by the next process instead of generated again (rain
    takes over a second).

    Raises:
        UsageError: ``sample_rate`` or ``channels`` is not positive.
    """
    _check_format(sample_rate, channels)
    makers: dict[str, Callable[[], Ambience]] = {
        "pink-noise": lambda: _NoiseBed(_pink(sample_rate), sample_rate, channels, seed),
        "brown-noise": lambda: _NoiseBed(_brown(sample_rate), sample_rate, channels, seed),
        "rain": lambda: _Rain(sample_rate, channels, seed),
        "ocean": lambda: _Ocean(sample_rate, channels, seed),
    }
    if spec not in makers:
        return None
    if not loop:
        return makers[spec]()
    return _prerendered(spec, sample_rate, channels, seed, makers[spec], cache_dir)


class _Prerendered:
    """A generated bed served from a once-rendered stretch, looped with a crossfade."""

    def __init__(self, buffer: Samples, sample_rate: int) -> None:
        fade = sample_rate // 2
        self._looper = _Looper(
            lambda a, b: buffer[:, a:b].astype(np.float64), buffer.shape[1], fade
        )

    def read(self, frames: int) -> Samples:
        if frames < 0:
            raise ValueError(f"cannot read {frames} frames")
        return np.ascontiguousarray(self._looper.read(frames), dtype=np.float32)

    def skip(self, frames: int) -> None:
        """Move forward by ``frames`` without rendering them (the loop is a function of
        position, so what follows is what reading them would have left)."""
        self._looper.skip(frames)


def _prerendered(
    spec: str,
    sample_rate: int,
    channels: int,
    seed: int,
    make: Callable[[], Ambience],
    cache_dir: Path | None,
) -> Ambience:
    # One stretch is kept in memory, so the passes of a render share it; the key leaves out
    # `make`, a fresh lambda each call.
    key = (spec, sample_rate, channels, seed)
    if key not in _BUFFERS:
        _BUFFERS.clear()
        name = f"{spec}-{sample_rate}hz-{channels}ch-seed{seed}-{generator_digest()}.npy"
        kept = cache_dir / "beds" / name if cache_dir is not None else None
        buffer = _load_bed(kept, (channels, LOOP_SECONDS * sample_rate))
        if buffer is None:
            buffer = _render_bed(make(), sample_rate, channels)
            if kept is not None:
                _keep_bed(kept, buffer)
        buffer.flags.writeable = False
        _BUFFERS[key] = buffer
    return _Prerendered(_BUFFERS[key], sample_rate)


def _render_bed(bed: Ambience, sample_rate: int, channels: int) -> Samples:
    # Generated in 5 s pieces: the generators' float64 temporaries for a whole minute at
    # once would cost ~100 MB more than the loop itself.
    piece = 5 * sample_rate
    buffer = np.empty((channels, LOOP_SECONDS * sample_rate), dtype=np.float32)
    for start in range(0, buffer.shape[1], piece):
        stop = min(start + piece, buffer.shape[1])
        buffer[:, start:stop] = bed.read(stop - start)
    return buffer


def _load_bed(path: Path | None, shape: tuple[int, int]) -> Samples | None:
    """A kept stretch, mapped read-only, or ``None`` (missing, damaged or another shape)."""
    if path is None:
        return None
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None
    if data.shape != shape or data.dtype != np.float32:
        return None
    return data  # type: ignore[no-any-return]


def _keep_bed(path: Path, buffer: Samples) -> None:
    """Keep a stretch for the next process, atomically; a cache that cannot be written is
    only slower."""
    with contextlib.suppress(OSError, ExportError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, buffer, allow_pickle=False)


_BUFFERS: dict[tuple[str, int, int, int], Samples] = {}


def open_ambience(
    spec: str,
    sample_rate: int,
    channels: int,
    seed: int = 0,
    *,
    workdir: Path | None = None,
    cache_dir: Path | None = None,
) -> Ambience | None:
    """The ambience bed a routine asks for, ready to be read block by block.

    Generated beds (``pink-noise``, ``brown-noise``, ``rain``, ``ocean``) are deterministic
    for a ``seed``. Every bed, a user's file included, plays at :data:`BED_RMS_DB` RMS with
    no DC offset; fades, ducking and the final level are the mixer's job. A file, in any
    format libsndfile or ffmpeg decodes, is mixed or copied to ``channels``, resampled, and
    looped with a 500 ms equal-power crossfade. Files up to 10 minutes are held in memory;
    longer ones (up to an hour) are streamed from disk, those that ffmpeg decodes from a WAV
    it converts them to in ``workdir``.

    Args:
        spec: ``none``, a bed name from ``AMBIENCES``, or the path of a sound file (a
            relative path is relative to the working folder).
        sample_rate: Sample rate of what ``read`` returns.
        channels: Number of channels of what ``read`` returns.
        seed: Seed of the generated beds.
        workdir: Where a long file that ffmpeg decodes is converted to WAV; a second bed
            opened on the same file and ``workdir`` reuses the conversion. ``None``: a
            temporary folder, removed when the bed is closed or dropped.
        cache_dir: Where a generated bed's rendered stretch is kept for the next process
            (see :func:`generated_bed`); ``None``: made in memory each time.

    Returns:
        The bed, or ``None`` for ``none``.

    Raises:
        UsageError: ``sample_rate`` or ``channels`` is not positive.
        SoundError: ``spec`` names no bed and no file, or the file is unreadable, not
            audio, empty, shorter than a second or longer than an hour, or needs ffmpeg
            and ffmpeg is not installed.
        OutputError: ``workdir`` cannot be written, or its disk is full.
    """
    _check_format(sample_rate, channels)
    if spec == "none":
        return None
    bed = generated_bed(spec, sample_rate, channels, seed, cache_dir=cache_dir)
    if bed is not None:
        return bed
    return _open_file(_file_path(spec), sample_rate, channels, workdir)


def check_ambience(spec: str) -> None:
    """Check before any synthesis that :func:`open_ambience` can use ``spec``.

    A built-in bed passes. A file is probed (it exists, is audio, lasts 1 s to 1 h) and its
    first second decoded; the rest is not decoded, so this is quick for long files too.

    Args:
        spec: ``none``, a bed name from ``AMBIENCES``, or the path of a sound file (a
            relative path is relative to the working folder).

    Raises:
        SoundError: As :func:`open_ambience` would for this ``spec``.
    """
    if spec in AMBIENCES:
        return
    read_start(_probe_bed(_file_path(spec)), _CHECK_S, what=_WHAT)
