"""Clips of audio and the small operations every stage needs: channels, resampling, trimming."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from acuvoice.units import db_to_gain

Samples = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Clip:
    """A piece of audio: float32 samples shaped ``(channels, n)`` at ``sample_rate``."""

    samples: Samples
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.ndim != 2 or self.samples.dtype != np.float32:
            raise ValueError("a Clip holds float32 samples shaped (channels, n)")

    @property
    def channels(self) -> int:
        """Number of channels."""
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        """Number of samples per channel."""
        return int(self.samples.shape[1])

    @property
    def duration_ms(self) -> int:
        """Length in whole milliseconds, rounded up, so an event of this length holds the clip."""
        return -(-self.frames * 1000 // self.sample_rate)

    def to(self, sample_rate: int, channels: int) -> Clip:
        """This clip at another sample rate and channel count."""
        return Clip(
            with_channels(resample(self.samples, self.sample_rate, sample_rate), channels),
            sample_rate,
        )


def as_samples(data: NDArray[np.generic]) -> Samples:
    """Any array of audio as float32 ``(channels, n)``; 1-D input is one channel.

    Integer input is scaled to full scale 1.0.
    """
    arr = np.asarray(data)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max + 1)
    return np.ascontiguousarray(arr, dtype=np.float32)


def with_channels(samples: Samples, channels: int) -> Samples:
    """Mix down to mono or copy mono to every channel."""
    have = samples.shape[0]
    if have == channels:
        return samples
    if channels == 1:
        return np.ascontiguousarray(samples.mean(axis=0, keepdims=True, dtype=np.float32))
    if have == 1:
        return np.ascontiguousarray(np.repeat(samples, channels, axis=0))
    raise ValueError(f"cannot turn {have} channels into {channels}")


def resample(samples: Samples, from_rate: int, to_rate: int) -> Samples:
    """Band-limited, linear-phase resampling (libsoxr, high quality); a no-op when the rates
    match. The output has ``ceil(n * to_rate / from_rate)`` samples, aligned with the input
    (no delay)."""
    if from_rate == to_rate:
        return samples
    import soxr  # a few hundred kB; scipy.signal would cost ~80 MB and half a second to import

    if samples.shape[1] == 0:
        return np.zeros((samples.shape[0], 0), dtype=np.float32)
    out = soxr.resample(np.ascontiguousarray(samples.T), from_rate, to_rate, quality="HQ")
    want = -(-samples.shape[1] * to_rate // from_rate)
    out = out[:want]
    if out.shape[0] < want:
        out = np.pad(out, ((0, want - out.shape[0]), (0, 0)))
    return np.ascontiguousarray(out.T, dtype=np.float32)


def trim_silence(
    samples: Samples, sample_rate: int, threshold_db: float = -50.0, pad_ms: int = 15
) -> Samples:
    """Cut leading and trailing silence (below ``threshold_db`` peak), keeping ``pad_ms`` of it."""
    level = np.abs(samples).max(axis=0)
    loud = np.flatnonzero(level > db_to_gain(threshold_db))
    if loud.size == 0:
        return samples[:, :0]
    pad = pad_ms * sample_rate // 1000
    start = max(0, int(loud[0]) - pad)
    end = min(samples.shape[1], int(loud[-1]) + 1 + pad)
    return np.ascontiguousarray(samples[:, start:end])


def to_int16(samples: Samples) -> NDArray[np.int16]:
    """Float samples as int16 ``(n, channels)`` for files: scaled by 32768, rounded, clipped."""
    scaled = np.round(samples.T.astype(np.float64) * 32768.0)
    out: NDArray[np.int16] = np.clip(scaled, -32768, 32767).astype(np.int16)
    return out


def from_int16(data: NDArray[np.int16]) -> Samples:
    """int16 ``(n, channels)`` from a file back to float ``(channels, n)``; inverse of :func:`to_int16`."""
    return np.ascontiguousarray(data.T.astype(np.float32) / np.float32(32768.0))


def quantize16(samples: Samples) -> Samples:
    """The samples exactly as they come back from a 16-bit file (see :func:`to_int16`)."""
    return from_int16(to_int16(samples))


def peak_db(samples: Samples) -> float:
    """Sample peak in dBFS (``-inf`` for silence)."""
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else float("-inf")
