"""Durations, milliseconds and decibels: the one place where units are parsed and rounded."""

from __future__ import annotations

import math
import re

#: Longest allowed length of any single duration and of a whole session.
MAX_SESSION_MS = 6 * 60 * 60 * 1000

_UNIT_MS = {"h": 3_600_000.0, "m": 60_000.0, "s": 1_000.0, "ms": 1.0}
_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(ms|h|m|s)", re.IGNORECASE)
_WHOLE = re.compile(r"^\s*(?:(?:\d+(?:\.\d+)?|\.\d+)\s*(?:ms|h|m|s)\s*)+$", re.IGNORECASE)

DURATION_HELP = (
    'a number of seconds (90, 2.5) or units like "45s", "1m30s", "1.5m", "750ms", "1h5m"'
)


def round_ms(value: float) -> int:
    """Round a millisecond value half away from zero: the project's one rounding rule."""
    return math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)


def parse_duration_ms(value: object) -> int:
    """Parse a routine duration into whole milliseconds.

    Args:
        value: A number of seconds (int or float) or a string such as ``"1m30s"``.

    Returns:
        The duration in milliseconds, rounded with :func:`round_ms`.

    Raises:
        ValueError: With a message fit for a routine author when the value is not a duration,
            is negative, not finite, or longer than six hours.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a duration, {DURATION_HELP}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite duration; use {DURATION_HELP}")
        ms = float(value) * 1000.0
    elif isinstance(value, str):
        text = value.strip()
        try:
            ms = float(text) * 1000.0
        except ValueError:
            if not _WHOLE.match(text):
                raise ValueError(f"{value!r} is not a duration; use {DURATION_HELP}") from None
            ms = sum(float(n) * _UNIT_MS[u.lower()] for n, u in _PART.findall(text))
        else:
            if not math.isfinite(ms):
                raise ValueError(f"{value!r} is not a finite duration; use {DURATION_HELP}")
    else:
        raise ValueError(f"expected a duration, {DURATION_HELP}")
    if ms < 0:
        raise ValueError(f"{value!r} is negative; durations must be zero or more")
    if ms > MAX_SESSION_MS:
        raise ValueError(f"{value!r} is longer than 6 hours, the most a session may last")
    return round_ms(ms)


def format_ms(ms: int, *, precise: bool = False) -> str:
    """Format milliseconds as ``m:ss`` (or ``h:mm:ss``), with ``.mmm`` when ``precise``."""
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    if precise:
        text += f".{millis:03d}"
    return sign + text


def describe_ms(ms: int) -> str:
    """Say a length the way a person would write it: ``"12 min 30 s"``, ``"45 s"``, ``"750 ms"``."""
    if ms < 1000:
        return f"{ms} ms"
    total_s = ms / 1000
    minutes, seconds = divmod(total_s, 60)
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        return f"{int(hours)} h {int(minutes)} min"
    if minutes:
        return f"{int(minutes)} min {seconds:.0f} s" if round(seconds) else f"{int(minutes)} min"
    return f"{total_s:.1f} s".replace(".0 s", " s")


def ms_to_samples(ms: int, sample_rate: int) -> int:
    """Convert a timeline position to a sample index; the one ms-to-samples rule."""
    return (ms * sample_rate + 500) // 1000


def db_to_gain(gain_db: float) -> float:
    """Convert decibels to a linear amplitude factor."""
    return float(10.0 ** (gain_db / 20.0))
