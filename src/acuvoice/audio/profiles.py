"""A session's clip profiles for the loudness analysis: made once, kept beside the clips."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping

from acuvoice.audio.analysis import (
    PROFILE_VERSION,
    MixAnalysis,
    Placement,
    Profile,
    bed_profile,
    clip_profile,
)
from acuvoice.audio.buffer import Clip, Samples
from acuvoice.audio.mixer import MixPlan
from acuvoice.cache import SynthesisCache
from acuvoice.files import file_sha256
from acuvoice.speech import Speech
from acuvoice.timeline import EventKind, Timeline

#: Profiles kept in memory for the process (a few tens of kB each).
MEMORY_PROFILES = 512

_MEMORY: OrderedDict[tuple[str, int, int], Profile] = OrderedDict()
_LOCK = threading.Lock()  # a web server may render sessions in threads


def _remember(key: tuple[str, int, int], profile: Profile) -> Profile:
    with _LOCK:
        _MEMORY[key] = profile
        _MEMORY.move_to_end(key)
        while len(_MEMORY) > MEMORY_PROFILES:
            _MEMORY.popitem(last=False)
    return profile


def _recall(key: tuple[str, int, int]) -> Profile | None:
    with _LOCK:
        found = _MEMORY.get(key)
        if found is not None:
            _MEMORY.move_to_end(key)
    return found


def _analysed(clip: Clip, sample_rate: int, channels: int) -> Samples:
    """The clip as the analysis reads it: at the mix's rate, mono if it is mono."""
    return clip.to(sample_rate, 1 if clip.channels == 1 else channels).samples


def _of_samples(
    clip: Clip, sample_rate: int, channels: int, cache: SynthesisCache | None = None
) -> Profile:
    """The profile of a clip held in memory, remembered by its content (and kept in
    ``cache``, when given, for the next process: a cue set is made afresh by every render,
    but its profile need not be)."""
    digest = hashlib.sha256(clip.samples.tobytes()).hexdigest()
    source = f"pcm:{clip.sample_rate}:{clip.channels}:{digest}"
    key = (source, sample_rate, channels)
    found = _recall(key)
    if found is not None:
        return found
    kind = f"loudness-{sample_rate}hz-{channels}ch-v{PROFILE_VERSION}"
    data = cache.get_sidecar(digest, kind) if cache is not None else None
    found = Profile.from_bytes(data, source) if data is not None else None
    if found is None:
        found = clip_profile(_analysed(clip, sample_rate, channels), sample_rate)
        if cache is not None:
            cache.put_sidecar(digest, kind, found.to_bytes(source))
    return _remember(key, found)


def speech_profile(
    speech: Speech, text: str, sample_rate: int, channels: int, fingerprint: str | None = None
) -> Profile:
    """The profile of a phrase: from memory, from beside its clip in the cache, or computed.

    A profile kept in the cache names the SHA-256 of the FLAC entry it was made from, so
    a clip synthesized again (a repaired entry) never gets a stale profile.
    """
    cache = speech.cache
    if cache is None:
        return _of_samples(speech.clip(text), sample_rate, channels)
    # The clip's address, as Speech computes it.
    fingerprint = fingerprint or speech.engine.fingerprint(speech.voice)
    key = SynthesisCache.key(speech.engine.name, fingerprint, speech.voice.id, speech.rate, text)
    flac = cache.path(key)
    clip = None
    if not flac.is_file():
        clip = speech.clip(text)  # synthesized again, or kept in memory (cache unwritable)
        if not flac.is_file():
            return _of_samples(clip, sample_rate, channels)
    try:
        source = file_sha256(flac)
    except OSError:
        return _of_samples(clip or speech.clip(text), sample_rate, channels)
    # Keyed by the mix's channels: a mono clip is analysed as mono for any mix, a stereo one
    # as the mix has it.
    memo = (f"flac:{source}", sample_rate, channels)
    kind = f"loudness-{sample_rate}hz-{channels}ch-v{PROFILE_VERSION}"
    found = _recall(memo)
    if found is None:
        data = cache.get_sidecar(key, kind)
        found = Profile.from_bytes(data, source) if data is not None else None
        if found is None:
            clip = clip or speech.clip(text)
            found = clip_profile(_analysed(clip, sample_rate, channels), sample_rate)
            cache.put_sidecar(key, kind, found.to_bytes(source))
        _remember(memo, found)
    return found


def session_analysis(
    plan: MixPlan,
    timeline: Timeline,
    speech: Speech,
    cues: Mapping[str, Clip],
    ambience: str,
) -> MixAnalysis | None:
    """The analysis of a session's mix, placed as :func:`acuvoice.render.mix_plan` places it.

    Returns:
        ``None`` when the ambience is a user's file: only generated beds have a profile,
        so such a session is measured by mixing it.
    """
    rate, channels = plan.sample_rate, plan.channels
    bed = None
    if plan.ambience_gain > 0:
        bed = bed_profile(
            ambience, rate, channels, speech.cache.root if speech.cache is not None else None
        )
        if bed is None:
            return None
    spoken = {e.text or "" for e in timeline.of_kind(EventKind.SPEECH)}
    fingerprint = None
    if spoken and speech.cache is not None:
        fingerprint = speech.engine.fingerprint(speech.voice)
    phrases = {
        text: (
            speech_profile(speech, text, rate, channels, fingerprint),
            _speech_samples(speech, text, rate, channels),
        )
        for text in sorted(spoken)
    }
    heard = {e.sound or "" for e in timeline.of_kind(EventKind.CUE)}
    sounds = {
        name: (
            _of_samples(clip, rate, channels, speech.cache),
            _clip_samples(clip, rate, channels),
        )
        for name, clip in cues.items()
        if clip.frames and name in heard
    }
    placements = [
        Placement(e.start_ms, *phrases[e.text or ""]) for e in timeline.of_kind(EventKind.SPEECH)
    ]
    placements += [
        Placement(e.start_ms, *sounds[e.sound or ""])
        for e in timeline.of_kind(EventKind.CUE)
        if e.sound in sounds
    ]
    return MixAnalysis(plan, placements, bed)


def _speech_samples(speech: Speech, text: str, rate: int, channels: int) -> Callable[[], Samples]:
    return lambda: speech.clip(text).to(rate, channels).samples


def _clip_samples(clip: Clip, rate: int, channels: int) -> Callable[[], Samples]:
    return lambda: clip.to(rate, channels).samples
