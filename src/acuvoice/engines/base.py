"""The speech-engine protocol every engine implements, and the data it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from acuvoice.audio.buffer import Clip


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """One voice an engine offers.

    Attributes:
        engine: The engine's registry name.
        id: What ``--voice`` / ``voice.name`` takes (a path for voice files).
        language: BCP 47 tag (``en-US``); ``voices`` filters and ``auto`` matches on it.
        name: A human-friendly name.
        license: The voice's license (SPDX id or a short phrase), shown by ``acuvoice voices``.
        quality: ``neural``, ``formant`` or ``test``; ``auto`` prefers neural.
        description: One line about the voice (dataset, speaker, where it was found).
    """

    engine: str
    id: str
    language: str
    name: str
    license: str
    quality: str = "formant"
    description: str = ""


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether an engine works here and, if not, why and how to fix it."""

    ok: bool
    reason: str = ""
    hint: str = ""


@runtime_checkable
class SpeechEngine(Protocol):
    """A text-to-speech engine, registered under the entry-point group ``acuvoice.engines.v1``.

    Engines are constructed without arguments; construction must be cheap and must not fail
    when the engine's library is missing (``availability()`` reports that instead).
    """

    #: Registry name (``piper``, ``pyttsx3``, ``fake``).
    name: ClassVar[str]
    #: License of the engine software itself (voices carry their own).
    license: ClassVar[str]
    #: ``auto`` picks the available engine with a voice for the language and the highest rank.
    rank: ClassVar[int]

    def availability(self) -> Availability:
        """Whether the engine can synthesize on this machine."""
        ...

    def voices(self) -> list[VoiceInfo]:
        """Every voice the engine can use here (empty when unavailable)."""
        ...

    def resolve_voice(self, voice: str | None, language: str) -> VoiceInfo:
        """The voice for ``voice`` (an id or a path), or the best one for ``language``.

        Raises:
            EngineError: No such voice (the message lists the valid ones), or no voice for
                the language.
        """
        ...

    def fingerprint(self, voice: VoiceInfo) -> str:
        """What identifies the sound of this voice: engine version and voice model identity.

        Part of the synthesis cache key, so a new model or engine version re-synthesizes.
        """
        ...

    def synthesize(self, text: str, voice: VoiceInfo, rate: float) -> Clip:
        """Speak ``text`` at ``rate`` (1.0 normal); return the raw clip (any rate/channels).

        Raises:
            EngineError: Synthesis failed, hung, or returned no audio.
        """
        ...
