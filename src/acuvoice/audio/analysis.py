"""Loudness and true peak of a mix computed from per-clip profiles, without mixing it."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from acuvoice.audio.ambience import LOOP_SECONDS, generated_bed, generator_digest
from acuvoice.audio.buffer import Samples
from acuvoice.audio.loudness import (
    LIMITER_MARGIN_DB,
    gated_loudness,
    k_weighting_sos,
    normalization_gain_db,
    true_peaks,
)
from acuvoice.audio.mixer import MixPlan, duck_envelope
from acuvoice.errors import ExportError
from acuvoice.files import atomic_output

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Bump when what a profile holds or how it is computed changes (stored profiles are redone).
PROFILE_VERSION = 1
#: How long after a clip's last sample the K-weighting filter still rings enough to count.
TAIL_MS = 50
#: How far (LU, by :class:`~acuvoice.audio.loudness.LoudnessMeter`) a written master may miss
#: its target before it is written again. The analysis has not come near it in any session
#: measured (tests/test_analysis.py): the limited master lands within 0.015 LU of the target
#: where only the voice is limited, within 0.07 LU where ambience sounds under it.
MISS_LU = 0.2
#: The most gain (dB) the master gets beyond what brings the unlimited mix to the target:
#: past it, a louder target is missed rather than reached by crushing the sound.
MAX_LIMITING_DB = 12.0
#: What :class:`~acuvoice.audio.loudness.Limiter` does by default, at 1 ms resolution.
LIMITER_LOOKAHEAD_MS = 5
LIMITER_RELEASE_MS = 150

_MAGIC = f"acuvoice-loudness-profile-{PROFILE_VERSION}"
_SEGMENT_MS = 100  # BS.1770 gating segment
_MEAN_MAGNITUDE = math.sqrt(2.0 / math.pi)  # mean |x| of Gaussian noise of RMS 1
_CHUNK_MS = 60_000  # the session is analysed a minute at a time, so memory stays bounded
_WINDOW_MS = 5_000  # profiles are computed from streams 5 s at a time
_CONTEXT = 5  # samples the true-peak interpolator reads before a position
_REACH = 6  # ... and after it
_PEAK_TOLERANCE_DB = 0.01  # the true peak is found to within this (always from below)
_SOLVE_LU = 0.005  # the gain is solved until the estimate is this close to the target
_SOLVE_STEPS = 12


def _ms_edges(first_ms: int, last_ms: int, sample_rate: int) -> I64:
    """First sample of every millisecond ``first_ms .. last_ms`` (``units.ms_to_samples``)."""
    ms = np.arange(first_ms, last_ms + 1, dtype=np.int64)
    edges: I64 = (ms * sample_rate + 500) // 1000
    return edges


def _ms_count(frames: int, sample_rate: int) -> int:
    """Milliseconds that hold ``frames`` samples (the last one may be partial)."""
    return -(-frames * 1000 // sample_rate)


def _profile_stream(
    read: Callable[[int], Samples], channels: int, sample_rate: int, length_ms: int
) -> tuple[F32, F32, F32]:
    """K-weighted energy, true peak and RMS per millisecond of a stream silent before it.

    Millisecond ``m`` holds samples ``ms_to_samples(m)`` up to ``ms_to_samples(m + 1)``;
    its energy is the sum over channels of the squared K-weighted samples (the filter
    starts at rest), its peak the largest true peak of its positions over channels, its
    level the RMS of its samples over channels. The positions just before the stream
    (which the interpolator reaches) count in ms 0.
    """
    sos = k_weighting_sos(sample_rate)
    state = np.zeros((sos.shape[0], channels, 2))
    edges = _ms_edges(0, length_ms, sample_rate)
    energy = np.empty(length_ms, dtype=np.float32)
    peak = np.empty(length_ms, dtype=np.float32)
    level = np.empty(length_ms, dtype=np.float32)
    from scipy.signal import sosfilt  # only for a new clip or bed: a warm render never needs it

    lead = _CONTEXT + _REACH  # silence before the stream: positions from -_REACH see it
    data: Samples = np.zeros((channels, lead), dtype=np.float32)
    low = -lead  # the stream sample that data[:, 0] holds
    for a in range(0, length_ms, _WINDOW_MS):
        b = min(length_ms, a + _WINDOW_MS)
        f0, f1 = int(edges[a]), int(edges[b])
        more = f1 + _REACH - (low + data.shape[1])
        if more > 0:
            data = np.concatenate((data, read(more)), axis=1)
        x = data[:, f0 - low : f1 - low].astype(np.float64)
        y, state = sosfilt(sos, x, axis=1, zi=state)
        squares = np.square(y).sum(axis=0)
        energy[a:b] = np.add.reduceat(squares, edges[a:b] - f0)
        sums = np.add.reduceat(np.square(x).sum(axis=0), edges[a:b] - f0)
        level[a:b] = np.sqrt(sums / (np.diff(edges[a : b + 1]) * channels))
        p0 = f0 - (lead - _CONTEXT) if a == 0 else f0
        env = true_peaks(data[:, p0 - _CONTEXT - low : f1 + _REACH - low], f1 - p0)
        peak[a:b] = np.maximum.reduceat(env[f0 - p0 :], edges[a:b] - f0)
        if a == 0 and f0 > p0:
            peak[0] = max(float(peak[0]), float(env[: f0 - p0].max()))
        data = data[:, f1 - _CONTEXT - low :]
        low = f1 - _CONTEXT
    return energy, peak, level


@dataclass(frozen=True, slots=True)
class Profile:
    """One clip as the mixer places it, per millisecond: K-weighted energy and true peak.

    Attributes:
        sample_rate: The mix's sample rate (the clip resampled to it).
        channels: Channels analysed: 1 for a mono clip (the mixer copies it to every
            channel, so its energy in the mix is ``channels`` times this) or the mix's.
        frames: Length of the clip at ``sample_rate``.
        energy: Sum over channels of the squared K-weighted samples, per millisecond from
            the clip's first sample, :data:`TAIL_MS` past its end.
        peak: Largest true peak per millisecond (linear), over channels.
    """

    sample_rate: int
    channels: int
    frames: int
    energy: F32
    peak: F32

    @property
    def peak_max(self) -> float:
        """The clip's true peak, linear."""
        return float(self.peak.max()) if self.peak.size else 0.0

    def to_bytes(self, source: str = "") -> bytes:
        """The profile as bytes: a header line, then both arrays; ``source`` names its origin."""
        head = f"{_MAGIC} {self.sample_rate} {self.channels} {self.frames} {source}\n"
        arrays = self.energy.astype("<f4").tobytes() + self.peak.astype("<f4").tobytes()
        return head.encode("ascii") + arrays

    @staticmethod
    def from_bytes(data: bytes, source: str = "") -> Profile | None:
        """A profile :meth:`to_bytes` wrote from ``source``; ``None`` if it is not one."""
        end = data.find(b"\n", 0, 256)
        fields = data[:end].decode("ascii", "replace").split(" ") if end > 0 else []
        if len(fields) != 5 or fields[0] != _MAGIC or fields[4] != source:
            return None
        try:
            rate, channels, frames = (int(v) for v in fields[1:4])
        except ValueError:
            return None
        if rate <= 0 or frames < 0:
            return None
        count = _ms_count(frames, rate) + TAIL_MS
        if len(data) - end - 1 != 8 * count:
            return None
        values = np.frombuffer(data, dtype="<f4", offset=end + 1).astype(np.float32)
        return Profile(rate, channels, frames, values[:count], values[count:])


def clip_profile(samples: Samples, sample_rate: int) -> Profile:
    """The profile of a clip, given at the mix's sample rate (mono, or the mix's channels)."""
    channels, frames = samples.shape
    length_ms = _ms_count(frames, sample_rate) + TAIL_MS
    position = 0

    def read(n: int) -> Samples:
        nonlocal position
        out = np.zeros((channels, n), dtype=np.float32)
        take = samples[:, position : position + n]
        out[:, : take.shape[1]] = take
        position += n
        return out

    energy, peak, _ = _profile_stream(read, channels, sample_rate, length_ms)
    return Profile(sample_rate, channels, frames, energy, peak)


@dataclass(frozen=True, slots=True)
class BedProfile:
    """A generated ambience bed per millisecond, before its gain: K-weighted energy, true peak.

    A generated bed is one rendered stretch, looped: from ``loop_frames`` on, it repeats
    every ``period`` samples. The arrays cover the first ``loop_frames`` samples and one
    period after them, so any millisecond of a session maps into them: ``energy`` and
    ``peak`` as a :class:`Profile` has them, ``level`` the RMS of the samples.
    """

    sample_rate: int
    channels: int
    loop_frames: int
    period: int
    energy: F32
    peak: F32
    level: F32

    def index(self, ms: I64) -> I64:
        """Where millisecond ``ms`` of the bed (the session) is in the arrays."""
        loop_ms = self.loop_frames * 1000 // self.sample_rate
        past = np.maximum(ms - loop_ms, 0) * self.sample_rate
        folded = (past % (self.period * 1000)) // self.sample_rate
        out: I64 = np.minimum(
            np.where(ms < loop_ms, ms, loop_ms + folded), self.energy.shape[0] - 1
        )
        return out


@functools.lru_cache(maxsize=4)
def bed_profile(
    spec: str, sample_rate: int, channels: int, cache_dir: Path | None = None
) -> BedProfile | None:
    """The profile of a generated bed, computed once per process per bed, rate and channels
    (and with ``cache_dir``, kept there in ``beds/`` for the next process).

    Returns:
        ``None`` for ``none``, a user's file, or a bed that does not loop as expected
        (then the session is measured by mixing it).
    """
    kept = None
    if cache_dir is not None:
        source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
        name = f"{spec}-{sample_rate}hz-{channels}ch-{generator_digest()}-{source}"
        kept = cache_dir / "beds" / f"{name}.profile-v{PROFILE_VERSION}.npz"
        found = _load_bed_profile(kept, sample_rate, channels)
        if found is not None:
            return found
    made = _bed_profile(spec, sample_rate, channels, cache_dir)
    if made is not None and kept is not None:
        _keep_bed_profile(kept, made)
    return made


def _load_bed_profile(path: Path, sample_rate: int, channels: int) -> BedProfile | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            loop_frames, period = (int(v) for v in data["frames"])
            got = BedProfile(sample_rate, channels, loop_frames, period,
                             data["energy"], data["peak"], data["level"])  # fmt: skip
    except (OSError, ValueError, KeyError):
        return None
    if not (got.energy.shape == got.peak.shape and got.level.shape[0] == got.energy.shape[0]):
        return None
    return got


def _keep_bed_profile(path: Path, profile: BedProfile) -> None:
    with contextlib.suppress(OSError, ExportError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, frames=np.array([profile.loop_frames, profile.period]),
                     energy=profile.energy, peak=profile.peak, level=profile.level)  # fmt: skip


def _bed_profile(
    spec: str, sample_rate: int, channels: int, cache_dir: Path | None
) -> BedProfile | None:
    bed = generated_bed(spec, sample_rate, channels, cache_dir=cache_dir)
    if bed is None:
        return None
    # The loop as ambience._Prerendered makes it: LOOP_SECONDS, then a seam of half a second.
    loop_frames = LOOP_SECONDS * sample_rate
    fade = sample_rate // 2
    period = loop_frames - fade
    length_ms = LOOP_SECONDS * 1000 + _ms_count(period, sample_rate) + 1
    check = min(sample_rate, period)
    seen: dict[str, Samples] = {}
    position = 0

    def read(n: int) -> Samples:
        nonlocal position
        out = bed.read(n)
        # Keep the stretch after the seam and the same stretch a period later, to compare.
        for name, first in (("head", fade), ("again", loop_frames)):
            lo, hi = max(first, position), min(first + check, position + n)
            if lo < hi:
                part = out[:, lo - position : hi - position]
                seen[name] = np.concatenate((seen.get(name, part[:, :0]), part), axis=1)
        position += n
        return out

    energy, peak, level = _profile_stream(read, channels, sample_rate, length_ms)
    if "again" not in seen or not np.array_equal(seen["head"], seen["again"]):
        return None
    return BedProfile(sample_rate, channels, loop_frames, period, energy, peak, level)


@dataclass(frozen=True, slots=True)
class Placement:
    """A clip in the mix: where it starts and its profile.

    Attributes:
        start_ms: Where it starts (the mixer places it at ``ms_to_samples(start_ms)``).
        profile: Its profile; repeated phrases share one.
        load: Its samples as the mixer places them, for the few milliseconds where the
            true peak must be found exactly (a clip over ambience).
    """

    start_ms: int
    profile: Profile
    load: Callable[[], Samples] | None = None


@dataclass(slots=True)
class _Chunk:
    """Milliseconds ``start .. start + len(energy)`` of the mix."""

    start: int
    energy: F64  # mix energy per ms, at 0 dB
    peak: F32  # an estimate of the mix's true peak per ms
    bound: F32  # an upper bound of it (the sources' peaks added)
    exact: NDArray[np.bool_]  # where ``peak`` is the mix's true peak exactly


class _LimiterModel:
    """:class:`~acuvoice.audio.loudness.Limiter`'s gain at 1 ms resolution, from peaks per ms.

    Each millisecond needs ``1 - threshold / peak``; the reduction holds the largest need
    of that millisecond and the next :data:`LIMITER_LOOKAHEAD_MS`, falls back by e every
    :data:`LIMITER_RELEASE_MS`, and is averaged over the look-ahead (the attack ramp).
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._rate = 1.0 / LIMITER_RELEASE_MS
        self._last = 0.0  # reduction of the previous millisecond
        self._recent: F64 = np.zeros(LIMITER_LOOKAHEAD_MS - 1)  # reductions before this chunk

    def gains(self, peaks: F64, count: int) -> F64 | None:
        """Gains of the next ``count`` ms, given peaks for them and the look-ahead after.

        Returns ``None`` where every gain is exactly 1.
        """
        over = peaks > self.threshold
        if not over.any() and self._last < 1e-9:
            self._recent[:] = 0.0
            self._last = 0.0
            return None
        need = np.zeros(peaks.shape[0])
        need[over] = 1.0 - self.threshold / peaks[over]
        need = np.pad(need, (0, max(0, count + LIMITER_LOOKAHEAD_MS - need.shape[0])))
        held = need[:count].copy()
        for k in range(1, LIMITER_LOOKAHEAD_MS + 1):
            np.maximum(held, need[k : k + count], out=held)
        # Release, r[m] = max(held[m], r[m-1] e^-rate), in closed form in the log domain.
        steps = np.arange(count, dtype=np.float64) * self._rate
        logs = np.full(count, -np.inf)
        np.log(held, out=logs, where=held > 0.0)
        logs += steps
        start = math.log(self._last) - self._rate if self._last > 0.0 else -np.inf
        reduction = np.exp(np.maximum(np.maximum.accumulate(logs), start) - steps)
        ramp = np.concatenate((self._recent, reduction))
        sums = np.cumsum(ramp)
        width = LIMITER_LOOKAHEAD_MS
        window = sums[width - 1 :].copy()
        window[1:] -= sums[: count - 1]
        self._recent = ramp[-(width - 1) :].copy()
        self._last = float(reduction[-1])
        out: F64 = 1.0 - window / width
        return out


class MixAnalysis:
    """The integrated loudness and true peak of a mix, from its clips' profiles.

    Speech never overlaps speech and cues never overlap speech, so the K-weighted energy of
    the mix in every millisecond is (but for the tiny cross terms of unrelated sounds) the
    sum of its sources': the clips' profiles where they are placed and the ambience bed's,
    times the mixer's gain envelope (level, ducking, fades). The BS.1770 gating then runs
    on 100 ms sums of that, as :class:`~acuvoice.audio.loudness.LoudnessMeter` does.

    Args:
        plan: The mix (its sources are not read; its envelopes are).
        placements: Every clip of the mix.
        bed: The ambience bed's profile, or ``None`` when the plan has no ambience.

    Raises:
        ValueError: The plan has ambience but no ``bed`` is given, or a profile is at
            another sample rate.
    """

    def __init__(
        self, plan: MixPlan, placements: Sequence[Placement], bed: BedProfile | None
    ) -> None:
        if plan.ambience_gain > 0 and bed is None:
            raise ValueError("the plan has ambience: give its bed profile")
        rate = plan.sample_rate
        for p in placements:
            if p.profile.sample_rate != rate or p.profile.channels not in (1, plan.channels):
                raise ValueError("every profile must be at the mix's sample rate and channels")
        self.plan = plan
        self.placements = sorted(placements, key=lambda p: p.start_ms)
        self.bed = bed if plan.ambience_gain > 0 else None
        self._duck = duck_envelope(plan)
        # LoudnessMeter counts only the segments before the one holding the last sample.
        self.segments = (plan.frames * 10 - 1) // rate if plan.frames else 0
        self.length_ms = self.segments * _SEGMENT_MS
        self._all_ms = _ms_count(plan.frames, rate)
        self._longest = max((p.profile.energy.shape[0] for p in self.placements), default=0)

    # --- the mix per millisecond ------------------------------------------------------

    def _gain(self, idx: F64) -> F64:
        """The ambience gain at frames ``idx``, as the mixer computes it."""
        plan = self.plan
        gain: F64 = np.interp(idx, *self._duck) * plan.ambience_gain
        if plan.fade_in:
            gain *= np.clip(idx / plan.fade_in, 0.0, 1.0)
        if plan.fade_out:
            gain *= np.clip((plan.frames - idx) / plan.fade_out, 0.0, 1.0)
        return gain

    def _ambience(self, first: int, last: int) -> tuple[F64, F64, F64]:
        """The ambience gain of milliseconds ``first .. last - 1``: mean, least and most."""
        plan = self.plan
        edges = _ms_edges(first, last, plan.sample_rate).astype(np.float64)
        ends = edges[1:] - 1.0
        gain = self._gain
        at_start, at_end = gain(edges[:-1]), gain(ends)
        middle = gain((edges[:-1] + ends) / 2.0)
        return middle, np.minimum(at_start, at_end), np.maximum(at_start, at_end)

    def _chunks(self, length_ms: int, extra_ms: int = 0) -> Iterator[_Chunk]:
        """The first ``length_ms`` of the mix a chunk at a time, each with ``extra_ms`` of
        what follows it (as far as the mix goes)."""
        plan = self.plan
        scale = {1: float(plan.channels), plan.channels: 1.0}
        nxt = 0
        for start in range(0, length_ms, _CHUNK_MS):
            stop = min(start + _CHUNK_MS, length_ms) + extra_ms
            stop = max(min(stop, self._all_ms), start)
            n = stop - start
            energy = np.zeros(n)
            peak = np.zeros(n, dtype=np.float32)
            bound = np.zeros(n, dtype=np.float32)
            sources = np.zeros(n, dtype=np.int8)
            while nxt < len(self.placements) and (
                self.placements[nxt].start_ms + self._longest <= start
            ):
                nxt += 1
            for p in self.placements[nxt:]:
                if p.start_ms >= stop:
                    break
                prof = p.profile
                lo, hi = max(start, p.start_ms), min(stop, p.start_ms + prof.energy.shape[0])
                if lo >= hi:
                    continue
                part = slice(lo - p.start_ms, hi - p.start_ms)
                energy[lo - start : hi - start] += prof.energy[part] * scale[prof.channels]
                np.maximum(
                    peak[lo - start : hi - start],
                    prof.peak[part],
                    out=peak[lo - start : hi - start],
                )
                bound[lo - start : hi - start] += prof.peak[part]
                sources[lo - start : hi - start] += 1
            exact = sources <= 1
            if self.bed is not None:
                middle, least, most = self._ambience(start, stop)
                at = self.bed.index(np.arange(start, stop, dtype=np.int64))
                energy += np.square(middle) * self.bed.energy[at]
                bed_peak = self.bed.peak[at]
                # Under a clip, the bed adds to its peak: the clip has near-peak samples of
                # both signs, so the bed meets one with its own sign, at its mean magnitude.
                under = (middle * _MEAN_MAGNITUDE * self.bed.level[at]).astype(np.float32)
                peak = np.where(peak > 0.0, peak + under, peak)
                np.maximum(peak, (middle * bed_peak).astype(np.float32), out=peak)
                bound += (most * bed_peak).astype(np.float32)
                # Ambience alone at a steady gain is known exactly; anything over it is not.
                exact = np.where(most > 0.0, (sources == 0) & (least == most), exact)
            yield _Chunk(start, energy, peak, bound, exact)

    # --- loudness ---------------------------------------------------------------------

    def loudness(self, gain_db: float = 0.0, ceiling_dbtp: float | None = None) -> float:
        """Integrated loudness of the mix at ``gain_db``, limited to ``ceiling_dbtp`` if given.

        The limiter is modelled at 1 ms resolution from the mix's peaks per millisecond
        (see :class:`_LimiterModel`), with the margin the real one keeps.
        """
        gain = 10.0 ** (gain_db / 20.0)
        model = None
        if ceiling_dbtp is not None:
            model = _LimiterModel(10.0 ** ((ceiling_dbtp - LIMITER_MARGIN_DB) / 20.0))
        segments: list[F64] = []
        extra = LIMITER_LOOKAHEAD_MS if model is not None else 0
        for chunk in self._chunks(self.length_ms, extra):
            count = min(_CHUNK_MS, self.length_ms - chunk.start)
            energy = chunk.energy[:count] * (gain * gain)
            if model is not None:
                gains = model.gains(chunk.peak.astype(np.float64) * gain, count)
                if gains is not None:
                    energy *= np.square(gains)
            segments.append(energy.reshape(-1, _SEGMENT_MS).sum(axis=1))
        if not segments:
            return float("-inf")
        return gated_loudness(np.concatenate(segments), self.plan.sample_rate)

    def gain_db(self, target_lufs: float, ceiling_dbtp: float, error_lu: float = 0.0) -> float:
        """The gain that brings the limited mix to ``target_lufs`` (0.0 for silence).

        Limiting takes loudness away, the more the more gain there is, so this is more
        than the gain that brings the unlimited mix there, but never more by over
        :data:`MAX_LIMITING_DB`: a target the sounds cannot reach without being crushed is
        missed (the master comes out quieter) rather than reached that way.

        Args:
            target_lufs: The loudness wanted.
            ceiling_dbtp: The limiter's ceiling.
            error_lu: How much louder the master reads than :meth:`loudness` says (as
                measured on one written at another gain).
        """
        measured = self.loudness()
        if not math.isfinite(measured):
            return 0.0
        low = normalization_gain_db(measured, target_lufs)
        high = low + MAX_LIMITING_DB

        def missed(gain_db: float) -> float:
            return self.loudness(gain_db, ceiling_dbtp) + error_lu - target_lufs

        # The loudness grows with the gain: regula falsi (Illinois) once the target is
        # bracketed; before, a secant step from the last two shortfalls.
        below, f_below = low, missed(low)
        if f_below >= -_SOLVE_LU:
            return low
        above: float | None = None
        f_above = 0.0
        last, f_last = below, f_below
        x = min(low - f_below, high)
        side = ""
        for _ in range(_SOLVE_STEPS):
            fx = missed(x)
            if abs(fx) <= _SOLVE_LU:
                return x
            if fx < 0.0:
                if x >= high:
                    return high
                if side == "below":
                    f_above /= 2.0
                below, f_below, side = x, fx, "below"
            else:
                if side == "above":
                    f_below /= 2.0
                above, f_above, side = x, fx, "above"
            if above is None:
                slope = (fx - f_last) / (x - last) if x != last else 1.0
                last, f_last = x, fx
                x = min(x - fx / min(1.0, max(slope, 0.05)), high)
            else:
                x = (below * f_above - above * f_below) / (f_above - f_below)
        return x

    # --- true peak --------------------------------------------------------------------

    def true_peak(self) -> float:
        """True peak of the unlimited mix at 0 dB, linear, found to within 0.01 dB.

        Where one source sounds alone, the profiles hold its true peak; where sources
        overlap (a clip over ambience), the few milliseconds whose upper bound could beat
        the loudest peak found so far are mixed and measured exactly.
        """
        best = 0.0
        spots: list[tuple[float, int]] = []
        for chunk in self._chunks(self._all_ms):
            known = chunk.peak[chunk.exact]
            if known.size:
                best = max(best, float(known.max()))
            # A position may sit in the millisecond next to the one its clip's profile says.
            bound = chunk.bound.copy()
            np.maximum(bound[1:], chunk.bound[:-1], out=bound[1:])
            np.maximum(bound[:-1], chunk.bound[1:], out=bound[:-1])
            loose = np.flatnonzero(~chunk.exact & (bound > best))
            spots.extend(zip(bound[loose].tolist(), (loose + chunk.start).tolist(), strict=True))
        margin = 10.0 ** (_PEAK_TOLERANCE_DB / 20.0)
        spots.sort(reverse=True)
        clips: dict[int, Samples] = {}
        batch = 64
        for first in range(0, len(spots), batch):
            group = [ms for b, ms in spots[first : first + batch] if b > best * margin]
            if not group:
                break
            best = max(best, self._measure(group, clips))
        return best

    def true_peak_dbtp(self) -> float:
        """:meth:`true_peak` in dBTP (``-inf`` for silence)."""
        peak = self.true_peak()
        return 20.0 * math.log10(peak) if peak > 0.0 else float("-inf")

    def _measure(self, spots: list[int], clips: dict[int, Samples]) -> float:
        """The exact true peak of the mix around the given milliseconds."""
        plan = self.plan
        rate = plan.sample_rate
        spots.sort()
        pad = 2  # samples either side: the profiles may be a sample off the session's grid
        windows = []
        for ms in spots:
            f0 = (ms * rate + 500) // 1000 - pad
            f1 = ((ms + 1) * rate + 500) // 1000 + pad
            windows.append((max(f0, 0), min(f1, plan.frames)))
        bed_parts = self._bed_windows(windows) if self.bed is not None else None
        best = 0.0
        for i, (f0, f1) in enumerate(windows):
            if f1 <= f0:
                continue
            lo, hi = f0 - _CONTEXT, f1 + _REACH
            mix = np.zeros((plan.channels, hi - lo), dtype=np.float32)
            for p in self._sounding(lo, hi):
                samples = self._clip(p, clips)
                s0 = (p.start_ms * rate + 500) // 1000
                a, b = max(lo, s0), min(hi, s0 + samples.shape[1])
                if a < b:
                    mix[:, a - lo : b - lo] += samples[:, a - s0 : b - s0]
            if bed_parts is not None:
                mix += bed_parts[i]
            mix[:, : max(0, -lo)] = 0.0  # silence before the session and after it
            mix[:, max(0, plan.frames - lo) :] = 0.0
            best = max(best, float(true_peaks(mix, f1 - f0).max()))
        return best

    def _sounding(self, lo: int, hi: int) -> Iterator[Placement]:
        rate = self.plan.sample_rate
        for p in self.placements:
            s0 = (p.start_ms * rate + 500) // 1000
            if s0 >= hi:
                break
            if s0 + p.profile.frames > lo:
                yield p

    @staticmethod
    def _clip(p: Placement, clips: dict[int, Samples]) -> Samples:
        key = id(p.profile)
        if key not in clips:
            if p.load is None:
                raise ValueError("a placement over ambience needs its samples to find the peak")
            if len(clips) >= 16:
                clips.pop(next(iter(clips)))
            clips[key] = p.load()
        return clips[key]

    def _bed_windows(self, windows: list[tuple[int, int]]) -> list[Samples]:
        """The ambience, with its gain, around each window (5 samples before, 6 after)."""
        plan, bed = self.plan, self.bed
        assert bed is not None
        # Where each window is in the bed's stream: past the loop's start, it repeats.
        wanted = []
        for i, (f0, f1) in enumerate(windows):
            lo, hi = f0 - _CONTEXT, f1 + _REACH
            start = max(lo, 0)
            at = start
            if start >= bed.loop_frames:
                at = bed.loop_frames + (start - bed.loop_frames) % bed.period
            wanted.append((at, at + hi - start, i, lo, start, hi))
        wanted.sort()
        # One read of the stream up to the last window, keeping only the stretches wanted.
        source = plan.ambience()
        assert source is not None
        position = 0
        kept: Samples = np.zeros((plan.channels, 0), dtype=np.float32)
        kept_from = 0
        out: list[Samples] = [kept] * len(windows)
        for at, end, i, lo, start, hi in wanted:
            if end > kept_from + kept.shape[1]:
                if at > position:
                    for skip in range(position, at, 1 << 18):
                        source.read(min(1 << 18, at - skip))
                    position = at
                keep_from = max(at, kept_from)
                tail = kept[:, keep_from - kept_from :]
                fresh = source.read(end - position)
                kept = np.concatenate((tail, fresh), axis=1)
                kept_from = keep_from
                position = end
            samples = kept[:, at - kept_from : end - kept_from]
            idx = np.arange(start, hi, dtype=np.float64)
            part = np.zeros((plan.channels, hi - lo), dtype=np.float32)
            part[:, start - lo :] = samples * self._gain(idx).astype(np.float32)
            out[i] = part
        return out
