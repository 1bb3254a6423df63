"""Estimate how long a text takes to say, for use before (or without) a real voice."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from acuvoice.units import round_ms

#: ``measure(text) -> milliseconds``: how the compiler learns speech lengths.
Measure = Callable[[str], int]

_WORD = re.compile(r"[\w']+")
_SENTENCE_END = re.compile(r"[.!?;:](\s|$)")
_COMMA = re.compile(r",")


@dataclass(frozen=True, slots=True)
class WordsPerMinute:
    """A deterministic speech-length estimate: words at a calm pace plus pauses at punctuation.

    Attributes:
        wpm: Words per minute at rate 1.0 (a calm guided-session pace is about 150).
        rate: Speaking-rate multiplier, as in the routine's ``voice.rate``.
    """

    wpm: float = 150.0
    rate: float = 1.0

    def __call__(self, text: str) -> int:
        words = len(_WORD.findall(text))
        if not words:
            return 0
        speech = words * 60_000.0 / (self.wpm * self.rate)
        pauses = 250.0 * len(_SENTENCE_END.findall(text)) + 100.0 * len(_COMMA.findall(text))
        return max(200, round_ms(speech + pauses / self.rate))
