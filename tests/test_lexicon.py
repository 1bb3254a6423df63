"""Respellings for voices phonemized by espeak-ng: what is respelled, and what is not."""

from __future__ import annotations

import pytest

from acuvoice.engines import lexicon
from acuvoice.engines.lexicon import lexicon_id, respell


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("This is an acupressure session.", "This is an ackyupressure session."),
        ("Acupressure helps.", "Ackyupressure helps."),
        ("Self-acupressure, daily.", "Self-ackyupressure, daily."),
        ("ACUPRESSURE", "Ackyupressure"),
        ("acupressures and acupressurist stay", "acupressures and acupressurist stay"),
    ],
)
def test_english_respellings(text: str, spoken: str) -> None:
    assert respell(text, "en-US") == spoken


def test_other_languages_are_left_alone() -> None:
    assert respell("La acupressure es suave.", "es") == "La acupressure es suave."


def test_the_lexicon_id_follows_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    before = lexicon_id("en")
    assert before == lexicon_id("en-GB") and before != lexicon_id("de")
    monkeypatch.setitem(lexicon.RESPELLINGS, "en", {"acupressure": "acu pressure"})
    assert lexicon_id("en") != before
