"""The content key of a render request: equal requests, equal keys, on any machine."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acuvoice import __version__
from acuvoice.audio.cues import CUE_EXTENSIONS
from acuvoice.files import file_sha256
from acuvoice.routine.loader import looks_like_voice_file
from acuvoice.routine.model import AMBIENCES, CUE_NAMES, CUE_SETS

if TYPE_CHECKING:
    from acuvoice.app.checks import CheckedRequest

#: Bump when what the key covers changes meaning.
KEY_VERSION = 1


def content_key(checked: CheckedRequest) -> str:
    """The content key of a checked request: SHA-256 hex over everything that shapes its files.

    It covers the text of the routine and of every file it includes (not their paths, so a
    copied folder keeps its key), the session choices as resolved (engine, the voice's
    identity and the engine's fingerprint of it, rate, target, profile, the content of cue
    and ambience files, levels, sample rate), the output choices and file names, the tags
    and cover, whether the companion sheet's PDF can be made here, the acuvoice version and
    its point and phrase data. It leaves out where the cache is and how progress is shown.
    Web servers reuse finished results by it; batch runs resume by it.
    """
    plan = checked.plan
    request = checked.request
    routine = plan.routine
    tags = checked.tags
    material: dict[str, Any] = {
        "key": KEY_VERSION,
        "acuvoice": __version__,
        "data": package_data_sha256(),
        "routine": {
            "name": routine.name,
            "files": [[f.path, f.sha256] for f in routine.files],
            **({"language": request.routine.language} if request.routine.language else {}),
        },
        "voice": {
            "engine": plan.engine.name,
            "fingerprint": plan.engine.fingerprint(plan.voice),
            "id": _voice_id(plan.voice.id),
            "rate": plan.rate,
        },
        "session": {
            "target_ms": plan.target_ms,
            "avoid": list(plan.avoid),
            "cues": _cues_identity(plan.cue_set),
            "ambience": _ambience_identity(plan.ambience),
            "ambience_db": plan.ambience_db,
            "duck_db": plan.duck_db,
            "loudness_lufs": plan.loudness_lufs,
            "sample_rate": plan.sample_rate,
        },
        # The file names stand for the name and suffix chosen (given or defaulted alike);
        # how many encoders shared the work changes the MP3 only at the encoder-noise level.
        "output": {
            **{
                k: v
                for k, v in asdict(request.output).items()
                if k not in ("name", "suffix", "encode_jobs")
            },
            "files": list(checked.files),
        },
        "tags": {
            "title": tags.title,
            "artist": tags.artist,
            "album": tags.album,
            "year": tags.year,
            "genre": tags.genre,
            "comment": tags.comment,
            "language": tags.language,
            "cover": _sha256_bytes(tags.cover) if tags.cover else None,
            "generated_cover": request.cover.file is None and request.cover.generate,
        },
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _voice_id(voice_id: str) -> str:
    # A voice file is known by its name; the fingerprint carries its content's hash.
    return Path(voice_id).name if looks_like_voice_file(voice_id) else voice_id


def _cues_identity(spec: str) -> str | list[list[str]]:
    if spec in CUE_SETS:
        return spec
    folder = Path(spec)
    found = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.stem.lower() in CUE_NAMES and p.suffix.lower() in CUE_EXTENSIONS
    )
    return [[p.name.lower(), file_sha256(p)] for p in found]


def _ambience_identity(spec: str) -> str:
    return spec if spec in AMBIENCES else f"file:{file_sha256(Path(spec))}"


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.lru_cache(maxsize=1)
def package_data_sha256() -> str:
    """SHA-256 over the point library and phrase catalogs shipped with acuvoice."""
    root = resources.files("acuvoice")
    digest = hashlib.sha256()
    for folder in ("points/data", "phrases"):
        for entry in sorted(root.joinpath(folder).iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".yaml"):
                digest.update(f"{folder}/{entry.name}\0".encode())
                digest.update(entry.read_bytes())
    return digest.hexdigest()
