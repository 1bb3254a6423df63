"""Small helpers the engine adapters share: package versions, module lookups, voice choice."""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
from collections.abc import Sequence
from pathlib import Path

from acuvoice.engines.base import VoiceInfo


@functools.cache
def package_version(distribution: str) -> str:
    """The installed version of ``distribution`` (``unknown`` when it is not installed)."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def find_spec(name: str) -> object | None:
    """Whether module ``name`` can be imported, without importing it (``None``: it cannot)."""
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


def file_key(path: Path) -> tuple[str, int, int]:
    """A file's identity for per-process caches: resolved path, modification time, size."""
    stat = path.stat()
    return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def speaking(voices: Sequence[VoiceInfo], language: str) -> list[VoiceInfo]:
    """The voices for ``language``: those with the exact tag (``en-US``) if any, else those
    with its primary subtag (``en``), in the order given."""
    want = language.replace("_", "-").casefold()
    exact = [v for v in voices if v.language.casefold() == want]
    if exact:
        return exact
    primary = want.split("-")[0]
    return [v for v in voices if v.language.split("-")[0].casefold() == primary]
