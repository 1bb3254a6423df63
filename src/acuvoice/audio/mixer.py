"""Place every clip at its exact sample and mix voice, cues and ambience block by block.

Memory is bounded: only the clips sounding in the current block are loaded, and the session
is produced in blocks (10 s by default), so an hour costs no more memory than a minute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from acuvoice.audio.ambience import Ambience
from acuvoice.audio.buffer import Samples

#: Samples per block produced by :func:`mix_blocks` (5 s at 44.1 kHz): big enough that
#: per-call overhead is negligible, small enough that a block's temporaries stay a few MB.
DEFAULT_BLOCK = 220_500


@dataclass(frozen=True, slots=True)
class Source:
    """One clip to place: its first frame and how to load it (at the mix's rate and channels).

    ``frames``, when known, is the most the clip can last: a mix that starts later skips a
    clip that ends before it without loading it.
    """

    start: int
    load: Callable[[], Samples]
    frames: int | None = None


@dataclass(frozen=True, slots=True)
class MixPlan:
    """Everything the mixer needs, in frames of the output sample rate.

    Attributes:
        frames: Length of the session.
        voice: Speech clips, sorted by start.
        cues: Cue clips, sorted by start.
        ambience: Makes a fresh ambience source (each pass starts it anew), or ``None``.
        ambience_gain: Linear level of the ambience bed.
        duck_gain: Extra linear factor on the ambience while speech sounds.
        speech_spans: ``(start, end)`` frames of speech, sorted, for ducking.
        duck_attack: Frames over which the ambience dips before speech starts.
        duck_release: Frames over which it comes back after speech ends.
        fade_in: Frames of the ambience fade-in at the start.
        fade_out: Frames of the ambience fade-out at the end.
    """

    sample_rate: int
    channels: int
    frames: int
    voice: Sequence[Source]
    cues: Sequence[Source]
    ambience: Callable[[], Ambience | None] = lambda: None
    ambience_gain: float = 0.0
    duck_gain: float = 1.0
    speech_spans: Sequence[tuple[int, int]] = ()
    duck_attack: int = 0
    duck_release: int = 0
    fade_in: int = 0
    fade_out: int = 0


@dataclass(frozen=True, slots=True)
class Block:
    """One block of the mix, as stems; ``master`` is their sum (before gain and limiting)."""

    start: int
    voice: Samples
    cues: Samples
    ambience: Samples

    @property
    def master(self) -> Samples:
        """Voice + cues + ambience."""
        return self.voice + self.cues + self.ambience


class _Track:
    """Sources sorted by start; yields each block with the sources that sound in it."""

    def __init__(self, sources: Sequence[Source], channels: int) -> None:
        self.sources = sorted(sources, key=lambda s: s.start)
        self.channels = channels
        self.next = 0
        self.active: list[tuple[int, Samples]] = []

    def render(self, start: int, frames: int) -> Samples:
        out = np.zeros((self.channels, frames), dtype=np.float32)
        self.add_into(out, start)
        return out

    def add_into(self, out: Samples, start: int) -> bool:
        """Add what sounds in frames ``[start, start + out.shape[1])`` to ``out``; whether
        anything did. Blocks must come in order."""
        end = start + out.shape[1]
        added = False
        while self.next < len(self.sources) and self.sources[self.next].start < end:
            source = self.sources[self.next]
            self.next += 1
            if source.frames is not None and source.start + source.frames <= start:
                continue
            samples = source.load()
            if source.start + samples.shape[1] > start:
                self.active.append((source.start, samples))
        still: list[tuple[int, Samples]] = []
        for first, samples in self.active:
            last = first + samples.shape[1]
            lo, hi = max(first, start), min(last, end)
            if lo < hi:
                out[:, lo - start : hi - start] += samples[:, lo - first : hi - first]
                added = True
            if last > end:
                still.append((first, samples))
        self.active = still
        return added


def duck_envelope(plan: MixPlan) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints ``(frames, gains)`` of the ambience gain: dips under speech, ramps around it."""
    if not plan.speech_spans or plan.duck_gain >= 1.0:
        return np.array([0.0, float(max(plan.frames, 1))]), np.array([1.0, 1.0])
    merged: list[list[int]] = []
    gap = plan.duck_attack + plan.duck_release
    for s, e in sorted(plan.speech_spans):
        if merged and s - merged[-1][1] <= gap:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    xs: list[float] = []
    gs: list[float] = []
    for s, e in merged:
        xs += [s - plan.duck_attack - 0.5, s, e, e + plan.duck_release + 0.5]
        gs += [1.0, plan.duck_gain, plan.duck_gain, 1.0]
    return np.array(xs, dtype=np.float64), np.array(gs, dtype=np.float64)


def mix_blocks(
    plan: MixPlan, block: int = DEFAULT_BLOCK, start: int = 0, stop: int | None = None
) -> Iterator[Block]:
    """The session as consecutive blocks of stems, exactly ``plan.frames`` long in total.

    With ``start`` and ``stop``: only frames ``[start, stop)``, the same samples a full run
    gives for them (the ambience bed is skipped forward to ``start``).
    """
    voice, cues, bed = (
        _Track(plan.voice, plan.channels),
        _Track(plan.cues, plan.channels),
        _Bed(plan, start),
    )
    for first, frames in _spans(plan, block, start, stop):
        v = voice.render(first, frames)
        c = cues.render(first, frames)
        a = bed.read(first, frames)
        if a is None:
            a = np.zeros((plan.channels, frames), dtype=np.float32)
        yield Block(first, v, c, a)


def master_blocks(
    plan: MixPlan, block: int = DEFAULT_BLOCK, start: int = 0, stop: int | None = None
) -> Iterator[Samples]:
    """What :func:`mix_blocks` gives as each block's ``master``, the same samples, without
    keeping the stems apart: the voice is placed straight into the block, the cues (where
    any sound) and the bed are added to it, and nothing is added where nothing sounds."""
    voice, cues, bed = (
        _Track(plan.voice, plan.channels),
        _Track(plan.cues, plan.channels),
        _Bed(plan, start),
    )
    for first, frames in _spans(plan, block, start, stop):
        out = np.zeros((plan.channels, frames), dtype=np.float32)
        voice.add_into(out, first)
        # Cues are summed apart first, as the stem is: (voice + cues) + ambience, rounded the same.
        c = np.zeros_like(out)
        if cues.add_into(c, first):
            out += c
        a = bed.read(first, frames)
        if a is not None:
            out += a
        yield out


def _spans(plan: MixPlan, block: int, start: int, stop: int | None) -> Iterator[tuple[int, int]]:
    """``(first frame, frames)`` of each block from ``start`` to ``stop`` (the end by default)."""
    stop = plan.frames if stop is None else min(stop, plan.frames)
    for first in range(start, stop, block):
        yield first, min(block, stop - first)


class _Bed:
    """The ambience bed of a plan, ducked and faded, read block by block (``None`` without one)."""

    def __init__(self, plan: MixPlan, start: int) -> None:
        self.plan = plan
        self.bed = plan.ambience() if plan.ambience_gain > 0 else None
        if self.bed is not None and start > 0:
            _skip(self.bed, start)
        self.duck_x, self.duck_g = duck_envelope(plan)

    def read(self, first: int, frames: int) -> Samples | None:
        if self.bed is None:
            return None
        plan = self.plan
        idx = np.arange(first, first + frames, dtype=np.float64)
        gain = np.interp(idx, self.duck_x, self.duck_g) * plan.ambience_gain
        if plan.fade_in:
            gain *= np.clip(idx / plan.fade_in, 0.0, 1.0)
        if plan.fade_out:
            gain *= np.clip((plan.frames - idx) / plan.fade_out, 0.0, 1.0)
        a: Samples = self.bed.read(frames) * gain.astype(np.float32)
        return a


def _skip(bed: Ambience, frames: int) -> None:
    """Move ``bed`` forward by ``frames``: at once where it can seek, else by reading."""
    seek = getattr(bed, "skip", None)
    if seek is not None:
        seek(frames)
        return
    for done in range(0, frames, DEFAULT_BLOCK):
        bed.read(min(DEFAULT_BLOCK, frames - done))
