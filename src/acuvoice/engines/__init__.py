"""Speech engines behind one registry: the protocol, the registry, and the built-in adapters."""

from __future__ import annotations

from acuvoice.engines.base import Availability, SpeechEngine, VoiceInfo
from acuvoice.engines.registry import engine_names, get_engine, pick_engine

__all__ = ["Availability", "SpeechEngine", "VoiceInfo", "engine_names", "get_engine", "pick_engine"]
