"""Exporters: text forms of a timeline (scripts, transcripts) and, later, audio files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acuvoice.export.scripts import SCRIPT_FORMATS, format_script


def __getattr__(name: str) -> Any:
    """Import the script formats when first used (PEP 562): the audio format names in
    :mod:`acuvoice.export.formats` are read without them."""
    if name in __all__:
        from acuvoice.export import scripts

        value = getattr(scripts, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SCRIPT_FORMATS", "format_script"]
