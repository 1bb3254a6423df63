"""A deterministic stand-in voice for tests: audible, speech-like noise sized from the text."""

from __future__ import annotations

import zlib
from typing import ClassVar

import numpy as np

from acuvoice.audio.buffer import Clip
from acuvoice.engines.base import Availability, VoiceInfo
from acuvoice.errors import UnknownVoiceError
from acuvoice.measure import WordsPerMinute

SAMPLE_RATE = 22_050


class FakeEngine:
    """Speaks nothing, but fills exactly the time a calm voice would: for fast, exact tests.

    The clip length follows :class:`~acuvoice.measure.WordsPerMinute` (divided by the rate);
    the sound is band-limited noise with a syllable-rate envelope at about -20 dBFS RMS,
    seeded by the text so every render is identical.
    """

    name: ClassVar[str] = "fake"
    license: ClassVar[str] = "MIT"
    rank: ClassVar[int] = 0

    VOICE = VoiceInfo(
        "fake", "fake", "en", "Fake voice", "MIT", "test", "noise sized from the text, for tests"
    )

    def availability(self) -> Availability:
        return Availability(True)

    def voices(self) -> list[VoiceInfo]:
        return [self.VOICE]

    def resolve_voice(self, voice: str | None, language: str) -> VoiceInfo:
        if voice not in (None, "fake"):
            raise UnknownVoiceError(
                f"unknown voice {voice!r} for engine 'fake'; its only voice is 'fake'"
            )
        return self.VOICE

    def fingerprint(self, voice: VoiceInfo) -> str:
        return "fake-1"

    def synthesize(self, text: str, voice: VoiceInfo, rate: float) -> Clip:
        ms = WordsPerMinute(rate=rate)(text)
        n = ms * SAMPLE_RATE // 1000
        rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
        noise = rng.standard_normal(n).astype(np.float32)
        # Smooth the noise toward a voice-like spectrum and give it 4 "syllables" a second.
        kernel = np.hanning(9).astype(np.float32)
        noise = np.convolve(noise, kernel / kernel.sum(), mode="same")
        t = np.arange(n, dtype=np.float32) / SAMPLE_RATE
        envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t) ** 2
        ramp = min(n // 2, SAMPLE_RATE // 100)
        if ramp:
            envelope[:ramp] *= np.linspace(0, 1, ramp, dtype=np.float32)
            envelope[n - ramp :] *= np.linspace(1, 0, ramp, dtype=np.float32)
        signal = noise * envelope
        rms = float(np.sqrt(np.mean(signal**2))) if n else 1.0
        signal *= 0.1 / max(rms, 1e-9)
        return Clip(np.clip(signal, -0.9, 0.9).astype(np.float32)[np.newaxis, :], SAMPLE_RATE)
