"""The hibari speech engine: a small Apache-2.0 neural English voice that ships in its wheel.

hibari-tts (https://github.com/MMWilliams/hibari) distils Kokoro-82M's ``af_heart`` voice
into a 7.9 MB ONNX model with its own grapheme-to-phoneme rules (no espeak-ng, no GPL
parts). Code and weights are Apache-2.0, so sessions spoken with it may be published. Only
the voice inside the wheel ("heart", American English) is offered: hibari fetches its
other voices from the internet on first use, which acuvoice never does at render time.
"""

from __future__ import annotations

import importlib.util
import json
import math
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from acuvoice.audio.buffer import Clip
from acuvoice.engines.base import Availability, VoiceInfo
from acuvoice.engines.lexicon import lexicon_id, respell
from acuvoice.engines.support import find_spec as _find_spec
from acuvoice.engines.support import package_version, speaking
from acuvoice.errors import EngineError, UnknownVoiceError
from acuvoice.files import file_sha256
from acuvoice.validation import did_you_mean

INSTALL_HINT = "pip install hibari-tts (acuvoice installs it by default)"
SAMPLE_RATE = 24_000
#: hibari's ``speed`` at acuvoice rate 1.0. hibari speaks about 175 words a minute at its
#: own 1.0 (the teacher voice's pace); 0.76 brings the built-in sessions to about 135 words
#: a minute of speech (measured from their timelines), the calm pace of guided sessions.
CALM_SPEED = 0.66
#: The speeds hibari is asked for: its duration model stretches linearly well beyond its
#: documented 0.5..2.0, so every acuvoice rate (0.5..2.0 times calm) is honoured.
MIN_SPEED, MAX_SPEED = 0.25, 2.0
#: Pause between the sentences of one text, before the rate (as piper's default).
SENTENCE_SILENCE_S = 0.2
#: The noise seed: hibari mixes in sampled noise; a fixed seed makes every clip repeatable.
SEED = 0

_LOADED: dict[str, Any] = {}
_LOAD_LOCK = threading.Lock()
# hibari's text front end (its G2P and its out-of-vocabulary model) keeps Python state:
# one caller at a time. The acoustic model itself may run from several threads at once.
_TEXT_LOCK = threading.Lock()


def _assets() -> Path:
    """hibari's ``assets`` folder, found without importing hibari (its package imports
    onnxruntime and scipy: a render served from the cache needs neither)."""
    spec = importlib.util.find_spec("hibari")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("hibari-tts is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "assets"


def _bundled() -> dict[str, dict[str, Any]]:
    """hibari's voice registry entries (``assets/voices.json``, as ``hibari.voices`` reads
    it) that ship inside the installed package."""
    voices: dict[str, dict[str, Any]] = json.loads(
        (_assets() / "voices.json").read_text(encoding="utf-8")
    )
    return {name: entry for name, entry in voices.items() if entry.get("bundled")}


def _model_path(name: str) -> str:
    """A bundled voice's model file (``hibari.voices.voice_path`` without the import)."""
    return str(_assets() / _bundled()[name]["file"])


def _describe(name: str, entry: dict[str, Any]) -> VoiceInfo:
    accent = str(entry.get("accent", "")).lower()
    gender = str(entry.get("gender", ""))
    return VoiceInfo(
        engine="hibari",
        id=name,
        language=str(entry.get("language", "en-US")),
        name=f"{name.title()} ({', '.join(x for x in (accent, gender) if x)} English)",
        license="Apache-2.0, code and weights (hibari-tts)",
        quality="neural",
        description=(
            f"hibari {_hibari_version()} voice {name!r}, distilled from Kokoro-82M "
            f"{entry.get('kokoro', '')} (Apache-2.0); {SAMPLE_RATE} Hz; ships in the hibari-tts wheel"
        ),
    )


class HibariEngine:
    """The hibari-tts neural English voice that ships in its wheel, offline.

    Thread safety: ``synthesize`` may be called from several threads at once; they share
    one loaded model and take turns only in the text-to-phoneme step.
    """

    name: ClassVar[str] = "hibari"
    license: ClassVar[str] = "Apache-2.0 (hibari-tts)"
    rank: ClassVar[int] = 30

    #: onnxruntime threads per model run (hibari runs about 130x real time on one core).
    threads: ClassVar[int] = 1

    def __init__(self) -> None:
        self._status: Availability | None = None
        self._voices: dict[str, VoiceInfo] | None = None

    def availability(self) -> Availability:
        """Whether hibari-tts and onnxruntime are installed and a voice ships with them.

        Looks the modules up without importing onnxruntime (slow and large), so a render
        served from the cache never loads it.
        """
        if self._status is None:
            if _find_spec("hibari") is None:
                self._status = Availability(False, "hibari-tts is not installed", INSTALL_HINT)
            elif _find_spec("onnxruntime") is None:
                self._status = Availability(
                    False, "hibari-tts cannot run: onnxruntime is missing", INSTALL_HINT
                )
            else:
                try:
                    found = self._by_id()
                except Exception as exc:  # a broken install must not break `voices`
                    self._status = Availability(
                        False,
                        f"hibari-tts cannot be read ({type(exc).__name__}: {exc})",
                        INSTALL_HINT,
                    )
                else:
                    self._status = (
                        Availability(True)
                        if found
                        else Availability(
                            False, "no hibari voice ships in the installed package", INSTALL_HINT
                        )
                    )
        return self._status

    def _by_id(self) -> dict[str, VoiceInfo]:
        if self._voices is None:
            self._voices = {name: _describe(name, entry) for name, entry in _bundled().items()}
        return self._voices

    def _require(self) -> None:
        status = self.availability()
        if not status.ok:
            hint = f"; {status.hint}" if status.hint else ""
            raise EngineError(f"speech engine 'hibari' is not available: {status.reason}{hint}")

    def voices(self) -> list[VoiceInfo]:
        """The voices inside the installed wheel (``heart``)."""
        if not self.availability().ok:
            return []
        return list(self._by_id().values())

    def resolve_voice(self, voice: str | None, language: str) -> VoiceInfo:
        """A voice by name (``heart``), or the voice for ``language`` when ``voice`` is None.

        Raises:
            EngineError: hibari is unavailable or speaks no such language.
            UnknownVoiceError: No installed voice has that name; hibari's downloadable
                voices are named as such.
        """
        self._require()
        voices = self._by_id()
        if voice is None:
            infos = list(voices.values())
            found = speaking(infos, language)
            if found:
                return found[0]
            raise EngineError(
                f"hibari speaks only English ({', '.join(v.language for v in infos)}), not "
                f"{language!r}; use the kokoro or pyttsx3 engine for it"
            )
        wanted = voice.strip().casefold()
        for info in voices.values():
            if wanted in (info.id.casefold(), f"hibari-{info.id}".casefold()):
                return info
        try:
            from hibari.voices import VOICES

            downloadable = sorted(set(VOICES) - set(voices))
        except ImportError:
            downloadable = []
        more = (
            f"; hibari's other voices ({', '.join(downloadable)}) are downloaded from the "
            "internet on first use, which acuvoice does not do"
            if wanted in downloadable
            else ""
        )
        raise UnknownVoiceError(
            f"unknown hibari voice {voice!r}{did_you_mean(voice.strip(), voices)}; "
            f"installed: {', '.join(voices)}{more}"
        )

    def fingerprint(self, voice: VoiceInfo) -> str:
        """hibari-tts version, the model's SHA-256 (16 hex digits), the speed mapping, the
        noise seed and the respellings used."""
        self._require()
        path = self._path(voice)
        return (
            f"hibari-{_hibari_version()}/onnx-{file_sha256(Path(path))[:16]}/speed-{CALM_SPEED}"
            f"/seed-{SEED}/lexicon-{lexicon_id(voice.language)}"
        )

    def _path(self, voice: VoiceInfo) -> str:
        if voice.engine != self.name:
            raise EngineError(f"voice {voice.id!r} belongs to engine {voice.engine!r}, not hibari")
        if voice.id not in self._by_id():
            raise UnknownVoiceError(f"hibari voice {voice.id!r} is not installed")
        return _model_path(voice.id)

    def _load(self, voice: VoiceInfo) -> Any:
        path = self._path(voice)
        with _LOAD_LOCK:
            if path not in _LOADED:
                try:
                    from hibari import Hibari

                    model = Hibari(voice=voice.id, threads=self.threads)
                    # Load the text front end now, under the lock, not in a first caller.
                    model.g2p  # noqa: B018
                    _LOADED[path] = model
                except Exception as exc:
                    raise EngineError(
                        f"hibari could not load its voice {voice.id!r} ({type(exc).__name__}: {exc}); "
                        "reinstall hibari-tts"
                    ) from exc
            return _LOADED[path]

    def synthesize(self, text: str, voice: VoiceInfo, rate: float) -> Clip:
        """Speak ``text``: mono float32 at 24 kHz, the same samples every time.

        ``rate`` multiplies the calm speed; sentences are joined with a short pause.

        Raises:
            EngineError: hibari is unavailable, the rate is out of range, or it produced no
                audio.
        """
        if not math.isfinite(rate) or rate <= 0:
            raise EngineError(f"speaking rate must be a positive number, not {rate!r}")
        self._require()
        speed = CALM_SPEED * rate
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise EngineError(
                f"speaking rate {rate:g} is outside what hibari can do "
                f"({MIN_SPEED / CALM_SPEED:.2f} to {MAX_SPEED / CALM_SPEED:.2f})"
            )
        model = self._load(voice)
        if not text.strip():
            return Clip(np.zeros((1, 0), dtype=np.float32), SAMPLE_RATE)
        preview = text if len(text) <= 60 else text[:57] + "..."
        rng = np.random.default_rng(SEED)
        pause = np.zeros(int(SENTENCE_SILENCE_S / rate * SAMPLE_RATE), dtype=np.float32)
        pieces: list[np.ndarray[Any, np.dtype[np.float32]]] = []
        try:
            with _TEXT_LOCK:
                sentences = [model.ids(p) for p in model.phonemize(respell(text, voice.language))]
            for ids in sentences:
                audio = np.asarray(model.from_ids(ids, speed, rng), dtype=np.float32)
                if audio.size == 0:
                    continue
                if pieces:
                    pieces.append(pause)
                pieces.append(audio)
        except Exception as exc:
            raise EngineError(
                f"hibari failed to speak {preview!r} ({type(exc).__name__}: {exc})"
            ) from exc
        samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        if samples.size == 0 or not np.any(samples):
            raise EngineError(
                f"hibari produced no audio for {preview!r}; check that the text has English words"
            )
        np.clip(samples, -1.0, 1.0, out=samples)
        return Clip(samples.reshape(1, -1), SAMPLE_RATE)


def _hibari_version() -> str:
    return package_version("hibari-tts")
