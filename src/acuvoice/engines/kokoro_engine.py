"""The Kokoro speech engine: Kokoro-82M (int8 ONNX) through kokoro-onnx, 54 voices in 9 languages."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from acuvoice.audio.buffer import Clip, as_samples
from acuvoice.engines import kokoro_install
from acuvoice.engines.base import Availability, VoiceInfo
from acuvoice.engines.lexicon import lexicon_id, respell
from acuvoice.engines.support import file_key as _file_key
from acuvoice.engines.support import find_spec as _find_spec
from acuvoice.engines.support import package_version, speaking
from acuvoice.errors import EngineError, UnknownVoiceError
from acuvoice.validation import did_you_mean

INSTALL_HINT = f"{kokoro_install.PIP_HINT}, then `{kokoro_install.INSTALL_COMMAND}`"
SAMPLE_RATE = 24_000

#: Kokoro's ``speed`` at acuvoice rate 1.0, for a calm narration of about 135 words a
#: minute (speed = CALM_SPEED * rate). Measured on this model at speed 1.0 (2026-12-01,
#: words / clip length, each sentence a clip): af_heart 217 wpm over 5 English sentences
#: (70 words), ef_dora 205 wpm over 3 Spanish ones (45 words), ff_siwis 185 wpm over 2
#: French ones (25 words). At 0.66 the same sentences came out at 136, 131 and 116 wpm.
CALM_SPEED = 0.66
#: Per language (the voice id's first letter), where whole sessions measured outside the
#: calm range at CALM_SPEED: the built-in calm-and-sleep session in Spanish (ef_dora) came
#: out at 115.7 words a minute of speech and in French (ff_siwis) at 114.3 (from their
#: timelines); 0.77 and 0.78 bring them to about 135.
CALM_SPEEDS = {"e": 0.77, "f": 0.78}


def calm_speed(voice: VoiceInfo) -> float:
    """Kokoro's ``speed`` for ``voice`` at acuvoice rate 1.0."""
    return CALM_SPEEDS.get(voice.id[:1], CALM_SPEED)


#: kokoro-onnx's speed range. Below 0.5 the model drawls: measured with the recognizer
#: (Whisper tiny.en) on three English sentences, 0.33 was heard as 0.91, 0.93 and 0.45 of
#: their words, 0.4 as 0.96, 1.0, 0.82, and 0.5 as 0.96, 1.0, 1.0. So rates below
#: 0.5 / CALM_SPEED (0.76) all speak at 0.5, about 100 words a minute.
MIN_SPEED, MAX_SPEED = 0.5, 2.0
#: Silence kokoro-onnx adds where it splits a long text (over 510 phonemes) at a sentence
#: or clause mark, at speed 1.0 (its defaults); stretched with the speed like the speech.
SENTENCE_PAUSE_S, CLAUSE_PAUSE_S = 0.25, 0.1

#: The first letter of a Kokoro voice id: its BCP 47 language and the language code
#: kokoro-onnx (espeak-ng) phonemizes it with.
LANGUAGES: dict[str, tuple[str, str]] = {
    "a": ("en-US", "en-us"),
    "b": ("en-GB", "en-gb"),
    "e": ("es-ES", "es"),
    "f": ("fr-FR", "fr-fr"),
    "i": ("it-IT", "it"),
    "p": ("pt-BR", "pt-br"),
    "h": ("hi-IN", "hi"),
    "j": ("ja-JP", "ja"),
    "z": ("zh-CN", "cmn"),
}
#: The voice ``auto`` and ``resolve_voice(None, language)`` choose, by language tag or primary
#: language (lowercase); other languages take their first voice in alphabetical order. The
#: best graded voice of each language in Kokoro's own VOICES.md list.
DEFAULT_VOICES = {
    "en": "af_heart",
    "en-gb": "bf_emma",
    "es": "ef_dora",
    "fr": "ff_siwis",
    "it": "if_sara",
    "pt": "pf_dora",
    "hi": "hf_alpha",
    "ja": "jf_alpha",
    "zh": "zf_xiaoxiao",
}
VOICE_LICENSE = "Apache-2.0 (Kokoro-82M weights); phonemizer espeak-ng is GPL-3.0"

# One loaded model per model file per process, shared by every engine instance and thread.
_LOADED: dict[tuple[str, int, int], Any] = {}
_LOAD_LOCK = threading.Lock()
# Style vectors by voice file, read once (510 x 256 float32 each, 0.5 MB).
_STYLES: dict[str, np.ndarray[Any, np.dtype[np.float32]]] = {}


def voice_info(voice_id: str) -> VoiceInfo:
    """The description of the Kokoro voice ``voice_id`` (``ef_dora``): language from its
    first letter, gender from its second."""
    language = LANGUAGES[voice_id[0]][0]
    gender = {"f": "female", "m": "male"}.get(voice_id[1:2], "")
    speaker = voice_id.split("_", 1)[-1].title()
    return VoiceInfo(
        engine="kokoro",
        id=voice_id,
        language=language,
        name=f"{speaker} ({', '.join(x for x in (language, gender) if x)})",
        license=VOICE_LICENSE,
        quality="neural",
        description=f"Kokoro-82M v1.0 int8, voice {voice_id} (style vectors from kokoro-js 1.2.1)",
    )


class KokoroEngine:
    """Kokoro-82M voices (Apache-2.0) through kokoro-onnx (MIT): Spanish, French, Italian,
    Portuguese, Hindi, Japanese, Chinese and English; no German.

    The model and voices are installed once by ``acuvoice voices install kokoro`` into
    :func:`acuvoice.engines.kokoro_install.data_dir`; nothing is downloaded when speaking.
    The model loads on first use and stays loaded, once per process.

    Output is deterministic: the same text, voice and rate give the same samples.

    Thread safety: ``synthesize`` may be called from several threads at once; they share the
    loaded model (onnxruntime allows concurrent runs) and take turns only in espeak-ng's
    text-to-phoneme step (kokoro-onnx holds a lock around it).
    """

    name: ClassVar[str] = "kokoro"
    license: ClassVar[str] = "MIT (kokoro-onnx); Apache-2.0 weights"
    rank: ClassVar[int] = 25

    def __init__(self) -> None:
        self._status: Availability | None = None
        self._files: kokoro_install.Installed | None = None

    def availability(self) -> Availability:
        """Whether kokoro-onnx and its runtime are installed, and the model and a voice are.

        Only looks modules up and reads the installer's small manifest (no model bytes,
        no imports), so it is cheap and never raises.
        """
        if self._status is None:
            self._status = self._probe()
        return self._status

    def _probe(self) -> Availability:
        try:
            missing = [
                m
                for m in ("kokoro_onnx", "onnxruntime", "phonemizer", "espeakng_loader")
                if _find_spec(m) is None
            ]
            if "kokoro_onnx" in missing:
                return Availability(False, "kokoro-onnx is not installed", INSTALL_HINT)
            if missing:
                return Availability(
                    False,
                    f"kokoro-onnx cannot be loaded (missing {', '.join(missing)})",
                    INSTALL_HINT,
                )
            files = kokoro_install.installed()
            if files is None or not files.voices:
                folder = kokoro_install.data_dir()
                return Availability(
                    False,
                    f"the Kokoro model and voices are not installed in {folder}",
                    f"`{kokoro_install.INSTALL_COMMAND}`",
                )
            self._files = files
            return Availability(True)
        except Exception as exc:  # availability never raises: it reports
            return Availability(False, f"the Kokoro files cannot be checked ({exc})", INSTALL_HINT)

    def _require(self) -> kokoro_install.Installed:
        status = self.availability()
        if not status.ok or self._files is None:
            hint = f"; {status.hint}" if status.hint else ""
            raise EngineError(f"speech engine 'kokoro' is not available: {status.reason}{hint}")
        return self._files

    def voices(self) -> list[VoiceInfo]:
        """Every installed voice, by id (empty when the engine is unavailable)."""
        if not self.availability().ok or self._files is None:
            return []
        return [voice_info(v) for v in sorted(self._files.voices)]

    def resolve_voice(self, voice: str | None, language: str) -> VoiceInfo:
        """A voice by id (``ef_dora``) or speaker name when unambiguous (``siwis``), or the
        default voice for ``language`` when ``voice`` is ``None``.

        Raises:
            EngineError: Kokoro is unavailable, or no installed voice speaks the language.
            UnknownVoiceError: No voice by that name (the message suggests close ones).
        """
        files = self._require()
        ids = sorted(files.voices)
        if voice is None:
            want = language.replace("_", "-").casefold()
            primary = want.split("-")[0]
            infos = [voice_info(v) for v in ids]
            found = speaking(infos, language)
            for default in (DEFAULT_VOICES.get(want), DEFAULT_VOICES.get(primary)):
                if default in files.voices and voice_info(default) in found:
                    return voice_info(default)
            if found:
                return found[0]
            spoken = sorted({v.language for v in infos})
            raise EngineError(
                f"no installed kokoro voice speaks {language!r} (Kokoro speaks "
                f"{', '.join(spoken)}; there is no German voice)"
            )
        wanted = voice.strip().casefold()
        if wanted in files.voices:
            return voice_info(wanted)
        by_speaker = [v for v in ids if v.split("_", 1)[-1] == wanted]
        if len(by_speaker) == 1:
            return voice_info(by_speaker[0])
        raise UnknownVoiceError(
            f"unknown kokoro voice {voice!r}{did_you_mean(wanted, ids)}; installed voices: "
            f"{', '.join(ids[:8])}{f' and {len(ids) - 8} more' if len(ids) > 8 else ''} "
            "(`acuvoice voices` lists them all)"
        )

    def _voice_file(self, voice: VoiceInfo) -> Path:
        files = self._require()
        if voice.engine != self.name:
            raise EngineError(f"voice {voice.id!r} belongs to engine {voice.engine!r}, not kokoro")
        if voice.id not in files.voices:
            raise UnknownVoiceError(
                f"kokoro voice {voice.id!r} is not installed; `{kokoro_install.INSTALL_COMMAND}`"
            )
        return files.voices[voice.id]

    def fingerprint(self, voice: VoiceInfo) -> str:
        """kokoro-onnx's version, the model's and the voice's SHA-256 (16 and 12 hex digits,
        as pinned and checked by the installer), the speed mapping and the respellings."""
        self._voice_file(voice)
        return (
            f"kokoro-onnx-{_kokoro_version()}/onnx-{kokoro_install.MODEL_SHA256[:16]}"
            f"/voice-{voice.id}-{kokoro_install.VOICE_SHA256[voice.id][:12]}"
            f"/speed-{calm_speed(voice):g}x-in-{MIN_SPEED:g}-{MAX_SPEED:g}/lexicon-{lexicon_id(voice.language)}"
        )

    def _load(self) -> Any:
        files = self._require()
        key = _file_key(files.model)
        with _LOAD_LOCK:
            if key not in _LOADED:
                try:
                    import onnxruntime
                    from kokoro_onnx import Kokoro

                    session = onnxruntime.InferenceSession(
                        str(files.model), providers=["CPUExecutionProvider"]
                    )
                    _LOADED[key] = Kokoro.from_session(session, str(files.no_voices))
                except Exception as exc:
                    raise EngineError(
                        f"kokoro could not load its model {files.model} ({type(exc).__name__}: "
                        f"{exc}); install it again with `{kokoro_install.INSTALL_COMMAND}`"
                    ) from exc
            return _LOADED[key]

    def _style(self, path: Path) -> np.ndarray[Any, np.dtype[np.float32]]:
        with _LOAD_LOCK:
            if str(path) not in _STYLES:
                try:
                    raw = np.fromfile(path, dtype="<f4")
                    style = raw.reshape(kokoro_install.VOICE_SHAPE[0], 1, -1).astype(np.float32)
                except (OSError, ValueError) as exc:
                    raise EngineError(
                        f"kokoro voice file {path} cannot be read ({exc}); "
                        f"install it again with `{kokoro_install.INSTALL_COMMAND}`"
                    ) from exc
                _STYLES[str(path)] = style
            return _STYLES[str(path)]

    def synthesize(self, text: str, voice: VoiceInfo, rate: float) -> Clip:
        """Speak ``text``: mono float32 at 24 000 Hz, at Kokoro speed ``calm_speed(voice) * rate``.

        Raises:
            EngineError: Kokoro is unavailable, the model cannot be loaded, or it produced
                no audio.
        """
        if not math.isfinite(rate) or rate <= 0:
            raise EngineError(f"speaking rate must be a positive number, not {rate!r}")
        path = self._voice_file(voice)
        if not text.strip():
            return Clip(np.zeros((1, 0), dtype=np.float32), SAMPLE_RATE)
        model = self._load()
        style = self._style(path)
        speed = min(MAX_SPEED, max(MIN_SPEED, calm_speed(voice) * rate))
        preview = text if len(text) <= 60 else text[:57] + "..."
        try:
            audio, sample_rate = model.create(
                respell(text, voice.language),
                style,
                speed=speed,
                lang=LANGUAGES[voice.id[0]][1],
                sentence_pause=SENTENCE_PAUSE_S / speed,
                clause_pause=CLAUSE_PAUSE_S / speed,
            )
        except Exception as exc:
            raise EngineError(
                f"kokoro failed to speak {preview!r} with voice {voice.id!r} ({type(exc).__name__}: {exc})"
            ) from exc
        samples = np.asarray(audio, dtype=np.float32).reshape(-1)
        if samples.size == 0 or not np.any(samples):
            raise EngineError(
                f"kokoro produced no audio for {preview!r} with voice {voice.id!r}; "
                "check that the text has words in the voice's language"
            )
        # The model's peaks stay near 0.7, but nothing promises that: keep within full scale.
        np.clip(samples, -1.0, 1.0, out=samples)
        return Clip(as_samples(samples), int(sample_rate))


def _kokoro_version() -> str:
    return package_version("kokoro-onnx")
