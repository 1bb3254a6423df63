"""The synthesis cache: each text, voice and setting is synthesized once, ever.

Entries are content-addressed FLAC files under ``<cache>/speech/``. Writes go through a
temporary file and an atomic rename, so two renders running at once never see half an entry;
an entry that does not decode (a crash mid-write on another machine, disk corruption) is
deleted and synthesized again. Data derived from a clip (its loudness profile) may be kept
beside it as a sidecar, written the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf

from acuvoice.audio.buffer import Clip, from_int16, to_int16

#: Bump when the way clips are processed before caching changes (trimming, format).
CACHE_VERSION = 1
ENV_VAR = "ACUVOICE_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$ACUVOICE_CACHE_DIR``, else ``$XDG_CACHE_HOME/acuvoice``, else ``~/.cache/acuvoice``."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "acuvoice"


@dataclass(slots=True)
class CacheStats:
    """What a cache did during one run."""

    hits: int = 0
    misses: int = 0
    repaired: int = 0
    unwritable: int = 0


@dataclass(slots=True)
class SynthesisCache:
    """Clips on disk, keyed by everything that decides how they sound.

    Attributes:
        root: The cache folder (``speech/`` lives inside it).
        stats: Hits, misses and repaired entries of this run.
    """

    root: Path
    stats: CacheStats = field(default_factory=CacheStats)

    @staticmethod
    def key(engine: str, fingerprint: str, voice: str, rate: float, text: str) -> str:
        """The content address of a clip."""
        material = json.dumps(
            {
                "v": CACHE_VERSION,
                "engine": engine,
                "fp": fingerprint,
                "voice": voice,
                "rate": round(rate, 4),
                "text": text,
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    @contextlib.contextmanager
    def claim(self, key: str) -> Iterator[None]:
        """Hold the right to synthesize ``key``: processes sharing this cache (a batch's
        workers, the web server's) that need the same phrase at once take turns, so the
        second finds the first one's entry instead of synthesizing it again.

        One lock file per shard of 256 (``speech/<xx>/.lock``), held only while a phrase
        is synthesized. Where the lock cannot be taken (a read-only cache, a file system
        without ``flock``) the phrase is simply synthesized: correctness never depends on it.
        """
        lock = self.path(key).parent / ".lock"
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            yield
            return
        try:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def path(self, key: str) -> Path:
        """Where the entry for ``key`` lives."""
        return self.root / "speech" / key[:2] / f"{key}.flac"

    def get(self, key: str) -> Clip | None:
        """The cached clip, or ``None`` (a corrupt entry is removed and counts as a miss)."""
        path = self.path(key)
        if not path.is_file():
            self.stats.misses += 1
            return None
        try:
            info = sf.info(str(path))
            data, rate = sf.read(str(path), dtype="int16", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, OSError, ValueError):
            self._discard(path)
            return None
        if data.shape[0] == 0 or data.shape[0] != info.frames:
            self._discard(path)
            return None
        self.stats.hits += 1
        return Clip(from_int16(data), int(rate))

    def put(self, key: str, clip: Clip) -> str | None:
        """Store a clip atomically.

        Returns:
            ``None`` when stored; otherwise why it could not be (the caller decides how to
            go on: a cache that cannot be written never fails a render).
        """
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key[:8]}.", suffix=".part", dir=path.parent)
            os.close(fd)
            try:
                sf.write(
                    tmp, to_int16(clip.samples), clip.sample_rate, format="FLAC", subtype="PCM_16"
                )
                os.replace(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except (OSError, sf.LibsndfileError, RuntimeError) as exc:
            self.stats.unwritable += 1
            return getattr(exc, "strerror", None) or str(exc)
        return None

    def sidecar_path(self, key: str, kind: str) -> Path:
        """Where data derived from the clip for ``key`` is kept, beside it (``kind`` names it)."""
        return self.root / "speech" / key[:2] / f"{key}.{kind}"

    def get_sidecar(self, key: str, kind: str) -> bytes | None:
        """Data kept beside the clip for ``key``, or ``None`` (not there or unreadable)."""
        try:
            return self.sidecar_path(key, kind).read_bytes()
        except OSError:
            return None

    def put_sidecar(self, key: str, kind: str, data: bytes) -> str | None:
        """Keep ``data`` beside the clip for ``key``, atomically, as :meth:`put` keeps clips.

        Returns:
            ``None`` when stored; otherwise why it could not be.
        """
        path = self.sidecar_path(key, kind)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key[:8]}.", suffix=".part", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except OSError as exc:
            return exc.strerror or str(exc)
        return None

    def _discard(self, path: Path) -> None:
        self.stats.misses += 1
        self.stats.repaired += 1
        with contextlib.suppress(OSError):  # another render may have replaced it already
            path.unlink(missing_ok=True)
