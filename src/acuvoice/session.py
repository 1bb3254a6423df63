"""A session's choices as plain data, and their checks: no audio is imported here.

:mod:`acuvoice.render` re-exports these names; the quick paths (``script`` with the
``estimate`` engine, ``validate``, ``routines``) use them without loading the audio stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from acuvoice.errors import UsageError

#: Sample rates a session may be rendered at (Hz).
SAMPLE_RATES = (8_000, 96_000)
#: The engine name that times a script at 150 words a minute, with no voice.
ESTIMATE = "estimate"


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Choices that override the routine (``None`` keeps the routine's own).

    Paths (a voice file, a cue folder, an ambience file) must be absolute: front ends
    resolve what a user typed against the folder the user typed it in.
    """

    engine: str | None = None
    voice: str | None = None
    rate: float | None = None
    target_ms: int | None = None
    avoid: tuple[str, ...] = ()
    cues: str | None = None
    ambience: str | None = None
    ambience_db: float | None = None
    duck_db: float | None = None
    loudness_lufs: float | None = None
    sample_rate: int = 44_100


def _check_range(what: str, value: float | None, lo: float, hi: float, unit: str) -> None:
    if value is not None and not (math.isfinite(value) and lo <= value <= hi):
        raise UsageError(f"{what} must be from {lo:g} to {hi:g} {unit}, not {value:g}".rstrip())


def check_options(options: SessionOptions) -> None:
    """Check the numbers of ``options`` against the ranges the format documents.

    Raises:
        UsageError: A value is out of range; the message gives the range.
    """
    _check_range("the speaking rate", options.rate, 0.5, 2.0, "")
    _check_range("the ambience level", options.ambience_db, -80, 0, "dBFS")
    _check_range("the ducking", options.duck_db, -60, 0, "dB")
    _check_range("the loudness", options.loudness_lufs, -40, -5, "LUFS")
    _check_range("the sample rate", options.sample_rate, *SAMPLE_RATES, "Hz")
    if options.target_ms is not None and options.target_ms < 0:
        raise UsageError(f"the target length must not be negative, not {options.target_ms} ms")
