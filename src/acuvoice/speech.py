"""Speech for a session: one engine and voice, clips from the cache, lengths for the compiler."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from acuvoice.audio.buffer import Clip, quantize16, trim_silence
from acuvoice.cache import SynthesisCache
from acuvoice.engines.base import SpeechEngine, VoiceInfo
from acuvoice.errors import EngineError

#: Clips kept in memory besides the disk cache.
RECENT_CLIPS = 48


@dataclass(slots=True)
class Speech:
    """Synthesizes (or fetches) trimmed clips for one voice and measures them.

    ``measure`` is what the compiler takes, so a timeline is exact for this voice: the
    length of a speech event is the length of the clip the renderer will place.

    Attributes:
        engine: The engine.
        voice: The resolved voice.
        rate: Speaking-rate multiplier.
        cache: Where clips are kept; ``None`` keeps them in memory for this run only.
        synthesized: How many distinct phrases this run had to synthesize.
        from_cache: How many distinct phrases this run found in the cache.
        warn: Told once when the cache cannot be written; from then on every clip is kept
            in memory for the rest of the run, so no phrase is synthesized twice (a second
            synthesis of a non-deterministic voice could differ in length from the clip the
            timeline was compiled with).
    """

    engine: SpeechEngine
    voice: VoiceInfo
    rate: float
    cache: SynthesisCache | None = None
    synthesized: int = 0
    from_cache: int = 0
    warn: Callable[[str], None] | None = None
    _keep_all: bool = False
    _recent: OrderedDict[str, Clip] = field(default_factory=OrderedDict)
    _lengths: dict[str, int] = field(default_factory=dict)
    _fingerprint: str | None = None
    # The chunks of an MP3 are mixed on threads of their own, all asking for clips.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def description(self) -> str:
        """``engine/voice (license)``, for timelines, summaries and manifests."""
        return f"{self.engine.name}/{self.voice.id} at rate {self.rate:g}"

    def clip(self, text: str) -> Clip:
        """The trimmed clip of ``text`` in this voice.

        Raises:
            EngineError: Synthesis failed or produced only silence.
        """
        with self._lock:
            return self._clip(text)

    def _clip(self, text: str) -> Clip:
        if text in self._recent:
            self._recent.move_to_end(text)
            return self._recent[text]
        if self._fingerprint is None:
            self._fingerprint = self.engine.fingerprint(self.voice)
        key = SynthesisCache.key(
            self.engine.name, self._fingerprint, self.voice.id, self.rate, text
        )
        clip = self.cache.get(key) if self.cache else None
        if clip is None and self.cache is not None and not self._keep_all:
            # Another process may be synthesizing the same phrase right now: wait for it,
            # then look again.
            with self.cache.claim(key):
                clip = self.cache.get(key)
                if clip is None:
                    clip = self._synthesize(text, key)
                elif text not in self._lengths:
                    self.from_cache += 1
        elif clip is None:
            clip = self._synthesize(text, key)
        elif text not in self._lengths:
            self.from_cache += 1
        self._lengths[text] = clip.duration_ms
        # Keep only recent clips in memory (phrases like "Press now." repeat); the disk cache
        # holds the rest, so memory does not grow with the length of the session. Without a
        # working disk cache every clip stays.
        self._recent[text] = clip
        if self.cache is not None and not self._keep_all and len(self._recent) > RECENT_CLIPS:
            self._recent.popitem(last=False)
        return clip

    def _synthesize(self, text: str, key: str) -> Clip:
        """Synthesize, trim and quantize ``text``, and keep it in the cache."""
        raw = self.engine.synthesize(text, self.voice, self.rate)
        trimmed = trim_silence(raw.samples, raw.sample_rate)
        if trimmed.shape[1] == 0:
            raise EngineError(f"{self.engine.name} produced only silence for {text!r}")
        # Quantized exactly as the cache stores it, so a first and a cached render match bit for bit.
        clip = Clip(quantize16(trimmed), raw.sample_rate)
        self.synthesized += 1
        if self.cache is not None and not self._keep_all:
            why = self.cache.put(key, clip)
            if why is not None:
                self._keep_all = True
                if self.warn is not None:
                    self.warn(
                        f"the speech cache in {self.cache.root} cannot be written ({why}); "
                        "this run keeps its clips in memory, and the next one will "
                        "synthesize them again"
                    )
        return clip

    def measure(self, text: str) -> int:
        """The length of ``text`` in this voice, in ms."""
        if text not in self._lengths:
            self.clip(text)
        return self._lengths[text]

    def prepare(self, texts: Iterable[str], progress: Callable[[int], None] | None = None) -> None:
        """Synthesize every text ahead of time (for a progress bar with a known length)."""
        for text in texts:
            self.clip(text)
            if progress:
                progress(1)
