"""Podcast mastering in bounded memory: streaming BS.1770-4 loudness, true peak, and a limiter.

Every class here takes audio block by block (``float32`` shaped ``(channels, n)``, any
block sizes) and keeps only a few floats per 100 ms, so an hour-long session is measured
and limited in a few megabytes. Results do not depend on how the stream is split.

- :class:`LoudnessMeter` — integrated loudness (LUFS), loudness range, momentary maximum,
  as ITU-R BS.1770-4 / EBU R 128 define them.
- :class:`TruePeakMeter` — true peak (dBTP) by 4x oversampling, BS.1770-4 Annex 2.
- :class:`Limiter` — a look-ahead true-peak limiter that compensates its own latency.
- :func:`measure_file` and :func:`normalization_gain_db` — the glue for tests and the bench.

Mastering a session is two passes over the mix: measure with :class:`LoudnessMeter`, then
apply ``normalization_gain_db(measured, -16.0)`` and run the result through
:class:`Limiter` on its way to the encoder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from acuvoice.audio.buffer import Samples
from acuvoice.errors import RenderError
from acuvoice.units import ms_to_samples

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
Indices = NDArray[np.intp]

#: Gating blocks below this loudness never count (BS.1770-4 absolute gate).
ABSOLUTE_GATE_LUFS = -70.0
#: Gating blocks this far below the absolute-gated loudness do not count (relative gate).
RELATIVE_GATE_LU = -10.0
#: How far under the ceiling the limiter aims, for meters that read true peaks a little higher.
LIMITER_MARGIN_DB = 0.1

_LOUDNESS_OFFSET = -0.691  # BS.1770-4 eq. 2: makes a 0 dBFS 997 Hz sine read -3.01 LUFS per channel
_SEGMENTS_PER_SECOND = 10  # the 100 ms hop of the 75 %-overlapped 400 ms gating blocks
_GATE_SEGMENTS = 4  # 400 ms momentary / gating block
_SHORT_TERM_SEGMENTS = 30  # 3 s short-term block (EBU Tech 3342)
_LRA_RELATIVE_GATE_LU = -20.0
_LRA_PERCENTILES = (10.0, 95.0)
_PART = 65536  # samples per internal pass, so temporaries stay small and in cache
# Nyquist-rate ripple added before K-weighting: it reads about -294 LUFS, so block energies
# under _SILENT (-200 LUFS) are digital silence.
_DITHER = 1e-15
_SILENT = 1e-20


def _energy_gate(loudness_lufs: float) -> float:
    """The mean square (summed over channels) that reads ``loudness_lufs``."""
    return float(10.0 ** ((loudness_lufs - _LOUDNESS_OFFSET) / 10.0))


def _lufs(energy: float) -> float:
    return _LOUDNESS_OFFSET + 10.0 * math.log10(energy) if energy > 0.0 else float("-inf")


def k_weighting_sos(sample_rate: int) -> F64:
    """The two K-weighting biquads of BS.1770-4 at any sample rate, as second-order sections.

    The pre-filter (a high shelf, +4 dB above ~1.7 kHz) and the RLB high-pass (~38 Hz) are
    derived from their analog prototypes by the bilinear transform with pre-warping, as
    libebur128 and ffmpeg do; at 48 kHz this reproduces the coefficients tabled in
    BS.1770-4 to about 1e-12.

    Args:
        sample_rate: Sampling rate in Hz, 8000 or more.

    Returns:
        A ``(2, 6)`` array ``[b0, b1, b2, a0, a1, a2]`` per section, for ``scipy.signal.sosfilt``.
    """
    # Stage 1: high shelf. Prototype parameters fitted to the BS.1770 table (libebur128).
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / q + k * k) / a0,
    ]
    # Stage 2: RLB high-pass; BS.1770 keeps its numerator at exactly [1, -2, 1].
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)


def _as_block(block: Samples, channels: int) -> Samples:
    x = np.asarray(block)
    if x.ndim != 2 or x.shape[0] != channels:
        raise ValueError(f"expected samples shaped ({channels}, n), got {x.shape}")
    return x if x.dtype == np.float32 else x.astype(np.float32)


def _check_rate(sample_rate: int, channels: int) -> None:
    if sample_rate < 8000:
        raise ValueError(f"sample_rate must be 8000 Hz or more, got {sample_rate}")
    if channels < 1:
        raise ValueError(f"channels must be 1 or more, got {channels}")


class LoudnessMeter:
    """Streaming integrated loudness, ITU-R BS.1770-4 / EBU R 128.

    Feed blocks of any size with :meth:`add`, read :meth:`integrated` at any time. The
    signal is K-weighted with filter state carried across blocks, and only the K-weighted
    energy of each 100 ms segment is kept (36,000 floats for an hour), from which the
    400 ms gating blocks (75 % overlap) and 3 s short-term blocks are formed.

    Every channel has weight 1.0: right for mono and stereo. Surround weights (1.41 for
    Ls/Rs) are not applied and an LFE channel is not excluded. Mono is measured as one
    channel, as BS.1770 says, so a mono file reads 3.01 LU below the same audio as
    dual-mono stereo.

    Silence convention: when no 400 ms block is above the -70 LUFS absolute gate (silence,
    or less than 400 ms of audio), the loudness is ``float("-inf")``.

    Args:
        sample_rate: Sampling rate in Hz (8000 or more; any rate, coefficients are derived).
        channels: Number of channels in each block.
    """

    def __init__(self, sample_rate: int, channels: int) -> None:
        _check_rate(sample_rate, channels)
        self.sample_rate = sample_rate
        self.channels = channels
        # Two real channels go through the (real) filter as one complex signal: half the
        # passes, and |z|^2 is already the sum of both channels' squares. float32 state is
        # within 0.003 LU of float64 even for pure sub-60 Hz tones up to 48 kHz; above
        # that the poles crowd the unit circle, so use float64 there.
        precise = sample_rate > 48000
        self._rows = 1 if channels == 1 else (channels + 1) // 2
        self._complex = channels > 1
        real: type[np.floating] = np.float64 if precise else np.float32
        self._dtype: type[np.generic] = (
            (np.complex128 if precise else np.complex64) if self._complex else real
        )
        self._sos = k_weighting_sos(sample_rate).astype(real)
        self._ripple = np.resize(np.array([_DITHER, -_DITHER], dtype=real), _PART + 1)
        self._zi = np.zeros((2, self._rows, 2), dtype=self._dtype)
        self._frames = 0
        self._segment = 0  # index of the 100 ms segment being filled
        self._partial = 0.0  # its energy so far
        self._done: list[F64] = []  # energies of finished segments, in chunks
        self._energies: F64 = np.zeros(0, dtype=np.float64)

    def _boundary(self, segment: int) -> int:
        """First sample of ``segment``; segments are 100 ms, exact at any rate."""
        return segment * self.sample_rate // _SEGMENTS_PER_SECOND

    def add(self, block: Samples) -> None:
        """Measure the next block of the stream.

        Args:
            block: ``float32`` samples shaped ``(channels, n)``; ``n`` may be 0.

        Raises:
            ValueError: If the block has the wrong shape or holds NaN or infinity.
        """
        x = _as_block(block, self.channels)
        # Cache-sized parts: big temporaries cost page faults on every call.
        for first in range(0, x.shape[1], _PART):
            self._add(x[:, first : first + _PART])

    def _add(self, x: Samples) -> None:
        n = x.shape[1]
        # In digital silence the filter state would decay into denormal numbers and cycle
        # there at half speed; a ripple at the Nyquist rate (about -294 LUFS) keeps it out.
        ripple = self._ripple[self._frames % 2 :][:n]
        if self._complex:
            pairs = self.channels // 2
            z = np.empty((self._rows, n), dtype=self._dtype)
            np.add(x[0 : 2 * pairs : 2], ripple, out=z.real[:pairs])
            np.add(x[1 : 2 * pairs : 2], ripple, out=z.imag[:pairs])
            if self.channels % 2:
                np.add(x[-1], ripple, out=z.real[pairs])
                z.imag[pairs] = ripple
        else:
            z = x + ripple
        from scipy.signal import sosfilt  # here: a warm render never meters, so never pays for it

        y, self._zi = sosfilt(self._sos, z, axis=1, zi=self._zi)
        # Squares of real and imaginary parts side by side: one reduceat sums a segment
        # of both channels at once.
        flat = y.view(self._sos.dtype) if self._complex else y
        squares = np.square(flat)
        scale = 2 if self._complex else 1

        start = self._frames
        end = start + n
        last = (end * _SEGMENTS_PER_SECOND - 1) // self.sample_rate  # segment of sample end-1
        cuts = [self._boundary(k) - start for k in range(self._segment + 1, last + 1)]
        offsets = np.array([0, *cuts], dtype=np.intp) * scale
        sums = np.add.reduceat(squares, offsets, axis=1, dtype=np.float64).sum(axis=0)
        if not np.all(np.isfinite(sums)):
            raise ValueError("samples must be finite (found NaN or infinity)")
        if cuts:
            finished = sums[:-1].copy()
            finished[0] += self._partial
            self._done.append(finished)
            self._partial = float(sums[-1])
        else:
            self._partial += float(sums[0])
        self._segment = last
        self._frames = end

    def _segment_energies(self) -> F64:
        if self._done:
            self._energies = np.concatenate([self._energies, *self._done])
            self._done = []
        return self._energies

    def _block_energies(self, segments: int) -> F64:
        """Mean square (summed over channels) of every complete block of ``segments``."""
        energies = self._segment_energies()
        count = len(energies) - segments + 1
        if count <= 0:
            return np.zeros(0, dtype=np.float64)
        sums = np.convolve(energies, np.ones(segments), mode="valid")
        first = np.arange(count, dtype=np.int64)
        lengths = (first + segments) * self.sample_rate // _SEGMENTS_PER_SECOND - (
            first * self.sample_rate // _SEGMENTS_PER_SECOND
        )
        return np.asarray(sums / lengths, dtype=np.float64)

    def integrated(self) -> float:
        """Integrated (gated) loudness of everything added so far.

        Returns:
            Loudness in LUFS; ``float("-inf")`` when no 400 ms block passes the -70 LUFS
            absolute gate (silence, or less than 400 ms of audio).
        """
        blocks = self._block_energies(_GATE_SEGMENTS)
        gated = blocks[blocks > _energy_gate(ABSOLUTE_GATE_LUFS)]
        if gated.size == 0:
            return float("-inf")
        relative = float(np.mean(gated)) * 10.0 ** (RELATIVE_GATE_LU / 10.0)
        kept = gated[gated > relative]
        return _lufs(float(np.mean(kept)))

    def momentary_max(self) -> float:
        """Loudest 400 ms block (momentary loudness, 100 ms hop) in LUFS; ``-inf`` for silence."""
        blocks = self._block_energies(_GATE_SEGMENTS)
        loudest = float(blocks.max()) if blocks.size else 0.0
        return _lufs(loudest) if loudest > _SILENT else float("-inf")

    def loudness_range(self) -> float:
        """Loudness range (LRA) in LU, as EBU Tech 3342 defines it.

        The spread between the 10th and 95th percentiles of the 3 s short-term loudness
        (100 ms hop), after an absolute gate at -70 LUFS and a relative gate 20 LU below
        their energy mean.

        Returns:
            LRA in LU; 0.0 when fewer than one 3 s block passes the gates.
        """
        blocks = self._block_energies(_SHORT_TERM_SEGMENTS)
        gated = blocks[blocks > _energy_gate(ABSOLUTE_GATE_LUFS)]
        if gated.size == 0:
            return 0.0
        relative = float(np.mean(gated)) * 10.0 ** (_LRA_RELATIVE_GATE_LU / 10.0)
        kept = gated[gated >= relative]
        levels = _LOUDNESS_OFFSET + 10.0 * np.log10(kept)
        low, high = np.percentile(levels, _LRA_PERCENTILES)
        return float(high - low)

    @property
    def frames(self) -> int:
        """Samples per channel measured so far."""
        return self._frames


# --- True peak -------------------------------------------------------------------------
#
# 4x oversampling by a polyphase FIR. Phase 0 is the sample itself; phases 1-3 interpolate
# the points 1/4, 1/2 and 3/4 of a sample period later from the 12 nearest samples
# (offsets -5..+6), a Kaiser-windowed sinc (beta 5) normalized to unit DC gain. Against an
# ideal band-limited reconstruction it reads sines within 0.1 dB up to 0.35 fs (apart from
# the 4x grid itself); unlike the example filter printed in BS.1770-4, whose phases sit
# 1/8 sample off the samples and which over-reads by up to 0.2 dB near fs/4, it never
# reads below the sample peak.
#
# Phase 2 is symmetric and phase 3 mirrors phase 1, so with P_i = s_i + s_(11-i) and
# Q_i = s_i - s_(11-i): y2 = sum K2_i P_i, y1 = A + B and y3 = A - B with A = sum A1_i P_i,
# B = sum B1_i Q_i, hence max(|y1|, |y3|) = |A| + |B|. That halves the arithmetic.

_TAPS = 12
_LEAD = 5  # samples before the interpolated point that the filter reads
_TRAIL = _TAPS - 1 - _LEAD  # samples after it (6)


def _design_interpolator() -> tuple[
    tuple[float, ...], tuple[float, ...], tuple[float, ...], float, float
]:
    offsets = np.arange(-_LEAD, _TRAIL + 1, dtype=np.float64)
    half = _TAPS / 2
    phases = []
    for p in (1, 2, 3):
        t = offsets - p / 4.0
        window = np.i0(5.0 * np.sqrt(np.clip(1.0 - (t / half) ** 2, 0.0, None))) / np.i0(5.0)
        taps = np.sinc(t) * window
        phases.append(taps / taps.sum())
    k1, k2, _ = phases
    pair = np.arange(_TAPS // 2)
    a1 = (k1[pair] + k1[_TAPS - 1 - pair]) / 2.0
    b1 = (k1[pair] - k1[_TAPS - 1 - pair]) / 2.0
    bound = float(max(np.abs(k).sum() for k in phases))
    outer = float(max(np.abs(np.delete(k, [4, 5, 6, 7])).sum() for k in phases))
    return (
        tuple(float(v) for v in k2[pair]),
        tuple(float(v) for v in a1),
        tuple(float(v) for v in b1),
        bound,
        outer,
    )


# Python floats, so that arithmetic on float32 arrays stays float32 (NEP 50).
_K2, _A1, _B1, _BOUND, _OUTER = _design_interpolator()
_GROUP = 32  # samples per group in the cheap pre-scan
_SCAN = 65536  # positions per pass, so temporaries stay in cache


def _interpolated_peaks(s: Sequence[F32]) -> F32:
    """Max of |sample| and |3 interpolated points| per position; ``s[i]`` is offset ``i - 5``."""
    p = s[0] + s[11]
    q = s[0] - s[11]
    y2 = p * _K2[0]
    a = p * _A1[0]
    b = q * _B1[0]
    t = np.empty_like(p)
    for i in range(1, _TAPS // 2):
        j = _TAPS - 1 - i
        np.add(s[i], s[j], out=p)
        np.subtract(s[i], s[j], out=q)
        np.multiply(p, _K2[i], out=t)
        y2 += t
        np.multiply(p, _A1[i], out=t)
        a += t
        np.multiply(q, _B1[i], out=t)
        b += t
    np.abs(a, out=a)
    np.abs(b, out=b)
    a += b
    np.abs(y2, out=y2)
    np.maximum(a, y2, out=a)
    np.abs(s[_LEAD], out=t)
    np.maximum(a, t, out=a)
    return a


def _near_peaks_bound(s: Sequence[F32], reach: F32) -> F32:
    """An upper bound of :func:`_interpolated_peaks` from its four central taps.

    ``s`` is as for :func:`_interpolated_peaks`; ``reach[i]`` is at least the largest
    sample that position ``i`` reads. The eight outer taps add at most ``_OUTER`` times it.
    """
    p4 = s[4] + s[7]
    p5 = s[5] + s[6]
    y2 = p4 * _K2[4]
    t = p5 * _K2[5]
    y2 += t
    a = p4 * _A1[4]
    np.multiply(p5, _A1[5], out=t)
    a += t
    np.subtract(s[4], s[7], out=p4)
    np.subtract(s[5], s[6], out=p5)
    b = p4 * _B1[4]
    np.multiply(p5, _B1[5], out=t)
    b += t
    np.abs(a, out=a)
    np.abs(b, out=b)
    a += b
    np.abs(y2, out=y2)
    np.maximum(a, y2, out=a)
    np.multiply(reach, _OUTER, out=t)
    a += t
    np.abs(s[_LEAD], out=t)
    np.maximum(a, t, out=a)
    return a


def _exact_groups(row: F32, starts: Indices) -> F32:
    """Exact :func:`_interpolated_peaks` for the groups of positions beginning at ``starts``.

    Each group's samples (its ``_GROUP`` positions and their context) are copied side by
    side, and the interpolation runs over the lot in one go; the few positions that
    straddle two groups are computed and dropped.
    """
    width = _GROUP + _TAPS - 1
    compact = sliding_window_view(row, width)[starts].ravel()
    m = compact.shape[0] - (_TAPS - 1)
    peaks = np.empty(compact.shape[0], dtype=np.float32)
    peaks[:m] = _interpolated_peaks([compact[i : i + m] for i in range(_TAPS)])
    return peaks.reshape(starts.shape[0], width)[:, :_GROUP]


def _peak_envelope(buf: Samples, count: int, threshold: float, adapt: bool) -> tuple[F32, float]:
    """True peaks over all channels at positions ``0..count-1``, where they exceed ``threshold``.

    Position ``i`` is the sample ``buf[:, i + 5]`` and the three points after it; ``buf``
    holds ``count + 11`` samples per channel. Where the true peak exceeds the threshold
    the envelope is exact; elsewhere it is at most the threshold (often 0.0). Two cheap
    bounds rule out most of a signal before the exact interpolation: per group of 32
    samples, the interpolator's absolute tap sum times the largest sample the group reads;
    per position, its four central taps plus a bound for the outer eight.

    Args:
        buf: Samples with 5 of context before the first position and 6 after the last.
        count: Number of positions.
        threshold: Peaks at or under it need not be found.
        adapt: Raise the threshold to the sample peak seen so far (for a maximum, since
            the true peak is never below the sample peak).

    Returns:
        The envelope and the threshold finally used.

    Raises:
        ValueError: If the samples hold NaN or infinity.
    """
    envelope = np.zeros(-(-count // _GROUP) * _GROUP, dtype=np.float32)
    for first in range(0, count, _SCAN):
        groups = -(-min(_SCAN, count - first) // _GROUP)
        n = groups * _GROUP
        seg = buf[:, first : first + n + _TAPS - 1]
        if seg.shape[1] < n + _TAPS - 1:
            seg = np.pad(seg, ((0, 0), (0, n + _TAPS - 1 - seg.shape[1])))
        mag = np.abs(seg[0])
        for row in seg[1:]:
            np.maximum(mag, np.abs(row), out=mag)
        group_max = np.maximum.reduceat(mag, np.arange(0, mag.shape[0], _GROUP))
        top = float(group_max.max())
        if not math.isfinite(top):
            raise ValueError("samples must be finite (found NaN or infinity)")
        if adapt:
            threshold = max(threshold, top)
        if top * _BOUND <= threshold:
            continue
        # The 12 samples read at a position in group g lie within groups g and g+1.
        reach = np.maximum(group_max[:groups], group_max[1 : groups + 1])
        suspect = np.flatnonzero(reach * _BOUND > threshold)
        if suspect.size == 0:
            continue
        part = envelope[first : first + n]
        slices = [[row[i : i + n] for i in range(_TAPS)] for row in seg]
        # The per-position bound pays when the threshold is near the loudest samples (a
        # meter's running maximum); far under them, most positions are over anyway.
        if suspect.size * 4 > groups and threshold * 1.5 > top:
            spread = np.repeat(reach, _GROUP)
            bound = _near_peaks_bound(slices[0], spread)
            for more in slices[1:]:
                np.maximum(bound, _near_peaks_bound(more, spread), out=bound)
            hit_groups = np.flatnonzero(bound > threshold) // _GROUP
            suspect = hit_groups[np.flatnonzero(np.diff(hit_groups, prepend=-1))]
            if suspect.size == 0:
                continue
        if suspect.size * 2 > groups:
            for channel in slices:
                np.maximum(part, _interpolated_peaks(channel), out=part)
            continue
        by_group = part.reshape(groups, _GROUP)
        for row in seg:
            by_group[suspect] = np.maximum(by_group[suspect], _exact_groups(row, suspect * _GROUP))
    return envelope[:count], threshold


class _Oversampler:
    """Carries the few samples of context the interpolator needs from one block to the next."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self._history: Samples = np.zeros((channels, _LEAD), dtype=np.float32)

    def feed(self, x: Samples) -> tuple[Samples, int]:
        """Append ``x``; return a buffer and how many positions it completes (from index 0)."""
        buf = np.concatenate((self._history, x), axis=1)
        count = buf.shape[1] - (_TAPS - 1)
        if count <= 0:
            self._history = buf
            return buf, 0
        self._history = buf[:, count:].copy()
        return buf, count

    def pending(self) -> tuple[Samples, int]:
        """The positions still waiting for later samples, completed as if the stream ended."""
        buf = np.concatenate(
            (self._history, np.zeros((self.channels, _TRAIL), dtype=np.float32)), axis=1
        )
        return buf, buf.shape[1] - (_TAPS - 1)


class TruePeakMeter:
    """Streaming true peak, ITU-R BS.1770-4 Annex 2 (4x oversampling), over all channels.

    The reading is the largest of the sample peak and the interpolated points, so it is
    never below the sample peak. The interpolator (12 taps per phase, Kaiser-windowed
    sinc) puts its points on the quarter samples, where the annex's example filter puts
    them 1/8 sample off; both are "4x" meters. The reading does not depend on block sizes:
    each sample position is interpolated once, from context carried over from the
    previous block.

    Args:
        sample_rate: Sampling rate in Hz (the interpolator is defined relative to it).
        channels: Number of channels in each block.
    """

    def __init__(self, sample_rate: int, channels: int) -> None:
        _check_rate(sample_rate, channels)
        self.sample_rate = sample_rate
        self.channels = channels
        self._oversampler = _Oversampler(channels)
        self._peak = 0.0

    def add(self, block: Samples) -> None:
        """Measure the next block of the stream.

        Args:
            block: ``float32`` samples shaped ``(channels, n)``; ``n`` may be 0.

        Raises:
            ValueError: If the block has the wrong shape or holds NaN or infinity.
        """
        x = _as_block(block, self.channels)
        for first in range(0, x.shape[1], _PART):
            buf, count = self._oversampler.feed(x[:, first : first + _PART])
            self._peak = self._scan(buf, count, self._peak)

    @staticmethod
    def _scan(buf: Samples, count: int, peak: float) -> float:
        if count <= 0:
            return peak
        # Only points that could beat the largest sample so far need interpolating.
        envelope, floor = _peak_envelope(buf, count, peak, adapt=True)
        return max(floor, float(envelope.max()))

    @property
    def peak(self) -> float:
        """True peak as a linear amplitude (1.0 is full scale)."""
        buf, count = self._oversampler.pending()
        return self._scan(buf, count, self._peak)

    def peak_dbtp(self) -> float:
        """True peak of everything added so far, in dBTP (``-inf`` for silence)."""
        peak = self.peak
        return 20.0 * math.log10(peak) if peak > 0.0 else float("-inf")


# --- Limiter ---------------------------------------------------------------------------
#
# The gain is computed at a control rate of one point every _STEP samples and interpolated
# linearly in between: the look-ahead hold, release and attack ramp then cost almost
# nothing. Each control point already meets the needs of every sample within a group or so
# of it, and a sample's gain lies between its two control points, so the ceiling holds.

_STEP = 8  # samples per control point
_SNAP = 1e-7  # reductions under this (-0.0000009 dB) snap to exactly unity


def _sliding_max(values: F64, width: int) -> F64:
    """``out[i] = max(values[i : i + width])``, by doubling spans: log2(width) vector passes."""
    span = 1
    cur = values
    while span * 2 <= width:
        cur = np.maximum(cur[:-span], cur[span:])
        span *= 2
    count = values.shape[0] - width + 1
    # cur[i] covers [i, i + span); two overlapping spans cover the window.
    return np.maximum(cur[:count], cur[width - span : width - span + count])


class Limiter:
    """Streaming look-ahead true-peak limiter for the master, applied after the loudness gain.

    One gain for all channels (linked), so the stereo image does not move. Where the
    input's true peak (4x oversampled, as :class:`TruePeakMeter` reads it) would pass
    ``ceiling_dbtp - margin_db``, the gain comes down in a straight line over the look-ahead, holds through the peak,
    and recovers exponentially (``1 - gain`` falls by e every ``release_ms``). The gain
    moves by at most ``1 / lookahead_samples`` per sample, so it never clicks. Where the
    signal stays under the ceiling, the gain is exactly 1.0 and the output is the input,
    bit for bit.

    Latency contract: the limiter looks ``latency`` samples ahead, and hides it. After
    ``N`` samples in, exactly ``max(0, N - latency)`` have come out: the first calls
    return fewer samples than they take (nothing at all until ``latency`` samples are in)
    and, after that, every call returns exactly as many as it takes. :meth:`flush`
    returns the rest. So all outputs concatenated are exactly as long as all inputs, and
    output sample ``k`` is input sample ``k`` limited: an onset at sample ``k`` comes out
    at sample ``k``. After :meth:`flush` the limiter is reset and can take a new stream.

    Args:
        sample_rate: Sampling rate in Hz.
        channels: Number of channels in each block.
        ceiling_dbtp: Highest true peak allowed in the output.
        lookahead_ms: Attack time and look-ahead.
        release_ms: Release time constant.
        margin_db: How far under the ceiling to aim. Meters that interpolate differently
            (ffmpeg's ebur128 resamples to 192 kHz) or a perfect reconstruction can read
            up to ~0.2 dB more on heavily limited material with strong content above
            ~15 kHz (~0.02 dB on speech); raise it if a checker must agree to the last
            0.1 dB on such material.

    Attributes:
        latency: Samples of look-ahead, a little over ``lookahead_ms`` (253 at 44.1 kHz
            with the default 5 ms).
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        ceiling_dbtp: float = -1.0,
        lookahead_ms: int = 5,
        release_ms: int = 150,
        *,
        margin_db: float = LIMITER_MARGIN_DB,
    ) -> None:
        _check_rate(sample_rate, channels)
        if lookahead_ms < 1 or release_ms < 1:
            raise ValueError("lookahead_ms and release_ms must be 1 ms or more")
        if margin_db < 0.0:
            raise ValueError("margin_db must not be negative")
        self.sample_rate = sample_rate
        self.channels = channels
        self.ceiling_dbtp = ceiling_dbtp
        self._threshold = 10.0 ** ((ceiling_dbtp - margin_db) / 20.0)
        # Control points in the attack ramp.
        self._attack = max(1, -(-ms_to_samples(lookahead_ms, sample_rate) // _STEP))
        # Control point c takes the largest need of groups c-2 .. c+attack+1 (of _STEP
        # positions): with the ramp, every sample within 7 of a position that needs a
        # reduction gets it, which covers the 5 before and 6 after the interpolator reads.
        self._width = self._attack + 4
        # Samples from the input to the last control point the output reads, rounded up.
        self.latency = (self._attack + 3) * _STEP + _LEAD
        release_steps = release_ms / 1000.0 * sample_rate / _STEP
        self._decay = math.exp(-1.0 / release_steps)
        # Release is solved per call in closed form, a^c * running max(held[c] * a^-c);
        # a call covers few enough control points that a^-c stays finite.
        self._part = max(_STEP, min(_PART, int(release_steps * _STEP * 400.0)))
        steps = np.arange(self._part // _STEP + self._width + 2, dtype=np.float64)
        self._fall = np.exp(-steps / release_steps)
        self._rise = np.exp(steps / release_steps)
        # Position of each sample between its two control points, for a whole part.
        self._fractions = np.tile(
            np.arange(_STEP, dtype=np.float64) / _STEP, self._part // _STEP + self._width + 2
        )
        self._max_reduction = 0.0
        self.reset()

    def reset(self) -> None:
        """Forget the stream so far (what :meth:`flush` does after emitting the tail)."""
        self._oversampler = _Oversampler(self.channels)
        self._received = 0
        self._emitted = 0
        self._pending: Samples = np.zeros((self.channels, 0), dtype=np.float32)
        self._loose: F64 = np.zeros(0, dtype=np.float64)  # needs of an incomplete group
        # Needs of the groups the next control point looks at; none before the start.
        self._groups: F64 = np.zeros(2, dtype=np.float64)
        self._released = 0.0  # reduction at the last control point, before the ramp
        self._started = False  # whether any control point has been computed
        self._ramp: F64 = np.zeros(self._attack - 1, dtype=np.float64)
        self._first_gain = 0  # control index of self._gains[0]
        self._gains: F64 = np.zeros(0, dtype=np.float64)

    @property
    def max_gain_reduction_db(self) -> float:
        """Deepest gain reduction applied since the limiter was made, in dB (0.0 if none)."""
        return 0.0 - 20.0 * math.log10(1.0 - self._max_reduction)

    def process(self, block: Samples) -> Samples:
        """Limit the next block of the stream.

        Args:
            block: ``float32`` samples shaped ``(channels, n)``; ``n`` may be 0.

        Returns:
            ``float32`` samples shaped ``(channels, k)``: the stream's next ``k`` limited
            samples; ``k = n`` once ``latency`` samples have gone in (see the class doc).

        Raises:
            ValueError: If the block has the wrong shape or holds NaN or infinity.
        """
        x = _as_block(block, self.channels)
        if x.shape[1] <= self._part:
            return self._process(x)
        parts = [self._process(x[:, i : i + self._part]) for i in range(0, x.shape[1], self._part)]
        return np.concatenate(parts, axis=1)

    def _process(self, x: Samples) -> Samples:
        self._received += x.shape[1]
        self._pending = np.concatenate((self._pending, x), axis=1)
        self._control(self._needs(x))
        end = self._received - self.latency
        if end <= self._emitted:
            return np.zeros((self.channels, 0), dtype=np.float32)
        out: Samples = self._pending[:, : end - self._emitted].copy()
        self._pending = self._pending[:, end - self._emitted :].copy()
        gain = self._sample_gains(self._emitted, end)
        self._emitted = end
        if gain is not None:
            out *= gain.astype(np.float32)
        return out

    def _needs(self, x: Samples) -> F64 | int:
        """Reduction (1 - gain) each new position needs; 0.0 where it needs none.

        Where no position can need any (the part's largest sample times the interpolator's
        bound is under the threshold: quiet passages, holds), only how many positions there
        are: :meth:`_control` then skips the arithmetic of a limiter at rest.
        """
        buf, count = self._oversampler.feed(x)
        if count <= 0:
            return 0
        top = max(float(buf.max()), -float(buf.min()))
        if top * _BOUND <= self._threshold:  # NaN compares False: checked below
            return count
        needed = np.zeros(count, dtype=np.float64)
        peaks, _ = _peak_envelope(buf, count, self._threshold, adapt=False)
        over = np.flatnonzero(peaks > self._threshold)
        if over.size:
            needed[over] = 1.0 - self._threshold / peaks[over].astype(np.float64)
        return needed

    def _control(self, needed: F64 | int) -> None:
        """Turn the needs of new positions into new control-point gains (an ``int``: that
        many positions that need nothing)."""
        if isinstance(needed, int):
            if self._at_rest():
                self._rest(needed)
                return
            needed = np.zeros(needed, dtype=np.float64)
        loose = np.concatenate((self._loose, needed))
        complete = loose.shape[0] // _STEP
        self._loose = loose[complete * _STEP :].copy()
        by_group = loose[: complete * _STEP].reshape(complete, _STEP)
        group_max = by_group[:, 0].copy()
        if by_group.any():
            for i in range(1, _STEP):  # column by column: far faster than max(axis=1)
                np.maximum(group_max, by_group[:, i], out=group_max)
        groups = np.concatenate((self._groups, group_max))
        count = groups.shape[0] - (self._width - 1)
        if count <= 0:
            self._groups = groups
            return
        resting = self._released == 0.0 and not self._ramp.any() and not groups.any()
        self._groups = groups[count:].copy()
        if resting:
            self._started = True
            self._gains = np.concatenate((self._gains, np.ones(count)))
            return
        held = _sliding_max(groups, self._width)
        # Release: reduction[c] = max(held[c], a reduction[c-1]), in closed form.
        reduction = np.maximum.accumulate(held * self._rise[:count])
        np.maximum(reduction, self._released * self._decay, out=reduction)
        reduction *= self._fall[:count]
        reduction[reduction < _SNAP] = 0.0
        self._released = float(reduction[-1])
        if not self._started:
            # Nothing came before the stream to ramp from: start already reduced.
            self._ramp[:] = reduction[0]
            self._started = True
        # Attack: average the last `attack` reductions, a straight ramp over the look-ahead.
        # Where they are all zero the running sums are equal and the gain is exactly 1.0.
        ramp = np.concatenate((self._ramp, reduction))
        sums = np.cumsum(ramp)
        window = sums[self._attack - 1 :].copy()
        window[1:] -= sums[: count - 1]
        self._ramp = ramp[count:].copy()
        np.maximum(window, 0.0, out=window)
        window /= self._attack
        self._max_reduction = max(self._max_reduction, float(window.max()))
        self._gains = np.concatenate((self._gains, 1.0 - window))

    def _at_rest(self) -> bool:
        """Whether nothing is reduced or about to be: no need pending, no release, no ramp."""
        return (
            self._started
            and self._released == 0.0
            and not self._ramp.any()
            and not self._groups.any()
            and not self._loose.any()
        )

    def _rest(self, count: int) -> None:
        """What :meth:`_control` does with ``count`` positions of no need, when at rest:
        every complete control point gets a gain of exactly 1."""
        loose = self._loose.shape[0] + count
        complete = loose // _STEP
        self._loose = np.zeros(loose - complete * _STEP, dtype=np.float64)
        groups = self._groups.shape[0] + complete
        points = groups - (self._width - 1)
        if points <= 0:
            self._groups = np.zeros(groups, dtype=np.float64)
            return
        self._groups = np.zeros(groups - points, dtype=np.float64)
        self._gains = np.concatenate((self._gains, np.ones(points)))

    def _sample_gains(self, start: int, end: int) -> F64 | None:
        """Gains for samples ``start .. end-1``, interpolated; None when all are exactly 1."""
        first = start // _STEP
        last = (end - 1) // _STEP + 1  # the control point after the last sample
        points = self._gains[first - self._first_gain : last - self._first_gain + 1]
        keep = end // _STEP
        self._gains = self._gains[keep - self._first_gain :].copy()
        self._first_gain = keep
        if float(points.min()) == 1.0:
            return None
        ramp = np.repeat(np.diff(points), _STEP)
        fractions = self._fractions
        if fractions.shape[0] < ramp.shape[0]:
            fractions = np.tile(fractions[:_STEP], ramp.shape[0] // _STEP)
        ramp *= fractions[: ramp.shape[0]]
        ramp += np.repeat(points[:-1], _STEP)
        return ramp[start - first * _STEP : end - first * _STEP]

    def flush(self) -> Samples:
        """Emit the rest of the stream (the last ``latency`` samples, or all if fewer), then reset.

        Returns:
            ``float32`` samples shaped ``(channels, k)``; with every earlier output, exactly
            the length of the input.
        """
        tail = self.process(np.zeros((self.channels, self.latency), dtype=np.float32))
        self.reset()
        return tail


# --- Glue ------------------------------------------------------------------------------


def measure_file(path: str | Path) -> tuple[float, float]:
    """Integrated loudness and true peak of an audio file, read in 10 s blocks.

    Args:
        path: Any file soundfile (libsndfile) reads: WAV, FLAC, OGG, MP3 with libsndfile 1.1+.

    Returns:
        ``(integrated LUFS, true peak dBTP)``; either is ``-inf`` for silence.

    Raises:
        RenderError: If the file cannot be read.
    """
    import soundfile

    try:
        with soundfile.SoundFile(str(path)) as f:
            loudness = LoudnessMeter(f.samplerate, f.channels)
            peak = TruePeakMeter(f.samplerate, f.channels)
            while True:
                data = f.read(f.samplerate * 10, dtype="float32", always_2d=True)
                if data.shape[0] == 0:
                    break
                block = np.ascontiguousarray(data.T)
                loudness.add(block)
                peak.add(block)
    except (soundfile.SoundFileError, RuntimeError, OSError) as exc:
        raise RenderError(f"cannot measure {path}: {exc}") from exc
    return loudness.integrated(), peak.peak_dbtp()


def normalization_gain_db(measured_lufs: float, target_lufs: float) -> float:
    """Gain that brings ``measured_lufs`` to ``target_lufs``; 0.0 for silence (``-inf``).

    Args:
        measured_lufs: Integrated loudness as :meth:`LoudnessMeter.integrated` returns it.
        target_lufs: The loudness wanted, e.g. -16.0 for podcasts.

    Returns:
        The gain in dB (positive to make louder).
    """
    if not math.isfinite(measured_lufs):
        return 0.0
    return target_lufs - measured_lufs


# --- For analysis without a stream ---------------------------------------------------------


def gated_loudness(segment_energies: Sequence[float] | F64, sample_rate: int) -> float:
    """Integrated loudness (BS.1770-4 gating) from the energies of consecutive 100 ms segments.

    This is what :meth:`LoudnessMeter.integrated` computes from the energies it keeps, for
    energies found some other way (:mod:`acuvoice.audio.analysis` adds up those of the
    clips in a mix instead of mixing them).

    Args:
        segment_energies: For segment ``k``, samples ``k * sample_rate // 10`` up to
            ``(k + 1) * sample_rate // 10``: the sum over every channel of the squares of
            the K-weighted samples. Only complete segments: :class:`LoudnessMeter` leaves
            out the segment that holds the last sample of the stream.
        sample_rate: Sampling rate in Hz (the segments' lengths in samples).

    Returns:
        Loudness in LUFS; ``float("-inf")`` when no 400 ms block passes the absolute gate.
    """
    energies = np.asarray(segment_energies, dtype=np.float64)
    count = energies.shape[0] - _GATE_SEGMENTS + 1
    if count <= 0:
        return float("-inf")
    sums = np.convolve(energies, np.ones(_GATE_SEGMENTS), mode="valid")
    first = np.arange(count, dtype=np.int64)
    lengths = (first + _GATE_SEGMENTS) * sample_rate // _SEGMENTS_PER_SECOND - (
        first * sample_rate // _SEGMENTS_PER_SECOND
    )
    blocks = sums / lengths
    gated = blocks[blocks > _energy_gate(ABSOLUTE_GATE_LUFS)]
    if gated.size == 0:
        return float("-inf")
    relative = float(np.mean(gated)) * 10.0 ** (RELATIVE_GATE_LU / 10.0)
    return _lufs(float(np.mean(gated[gated > relative])))


def true_peaks(buf: Samples, count: int) -> F32:
    """The true peak at each of ``count`` sample positions, over all channels.

    Position ``i`` is the sample ``buf[:, i + 5]`` and the three points interpolated after
    it, as :class:`TruePeakMeter` and :class:`Limiter` read them: the meter's reading is
    the largest of these over a stream.

    Args:
        buf: ``float32`` samples shaped ``(channels, count + 11)``: 5 samples of context
            before the first position and 6 after the last.
        count: Number of positions.

    Returns:
        ``float32`` peaks (linear), one per position.

    Raises:
        ValueError: If ``buf`` has the wrong length or holds NaN or infinity.
    """
    x = _as_block(buf, buf.shape[0])
    if count < 0 or x.shape[1] != count + _TAPS - 1:
        raise ValueError(f"expected {count + _TAPS - 1} samples for {count} positions")
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    envelope, _ = _peak_envelope(x, count, 0.0, adapt=False)
    return envelope
