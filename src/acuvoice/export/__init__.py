"""Exporters: text forms of a timeline (scripts, transcripts) and, later, audio files."""

from __future__ import annotations

from acuvoice.export.scripts import SCRIPT_FORMATS, format_script

__all__ = ["SCRIPT_FORMATS", "format_script"]
