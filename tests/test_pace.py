"""The narration pace: a calm 120-150 words a minute for every built-in session and every voice.

Measured from the timeline the voice produces (`acuvoice script --format json`, which
synthesizes every phrase into a temporary cache): the words of every speech event over the
time those events last. Guided sessions are usually spoken at 120-150 words a minute; before
each engine's speed control was set to a calm default, piper's joe voice read the lower-back
session at 205 and espeak-ng at 161.

Measured here with the calm defaults: hibari 133.0 (lower back), 134.6 (calm and sleep),
134.8 (neck and shoulders); piper joe 134.2, 133.7, 136.8; espeak-ng 134.2, 136.6, 138.5.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from acuvoice.app import builtin_summaries
from acuvoice.cli import main
from acuvoice.engines.registry import get_engine
from tests.support import require

CALM = (120.0, 150.0)
_WORD = re.compile(r"[\w'\u2019-]+")


def pace(timeline: dict[str, Any]) -> float:
    """Words per minute of speech in ``timeline``."""
    speech = [e for e in timeline["events"] if e["kind"] == "speech"]
    words = sum(len(_WORD.findall(e["text"])) for e in speech)
    minutes = sum(e["end_ms"] - e["start_ms"] for e in speech) / 60_000
    return words / minutes


def timeline(routine: str, cache: Path, *options: str) -> dict[str, Any]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["script", routine, "--cache-dir", str(cache), "--format", "json", *options])
    assert code == 0
    return json.loads(printed.getvalue())


def test_pace_counts_words_over_speech_time() -> None:
    events = [
        {"kind": "speech", "start_ms": 0, "end_ms": 30_000, "text": "one two three"},
        {"kind": "cue", "start_ms": 30_000, "end_ms": 90_000},
        {"kind": "speech", "start_ms": 90_000, "end_ms": 120_000, "text": "four, five-six"},
    ]
    assert pace({"events": events}) == pytest.approx(5.0)


BUILTINS = sorted(s.name for s in builtin_summaries())


@pytest.mark.slow
@pytest.mark.parametrize("routine", BUILTINS)
def test_every_builtin_session_is_calm_with_the_default_voice(routine: str, tmp_path: Path) -> None:
    found = timeline(routine, tmp_path / "cache")
    assert found["voice"].startswith("hibari/"), "the default English voice changed"
    assert CALM[0] <= pace(found) <= CALM[1], f"{routine}: {pace(found):.1f} words a minute"


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["piper", "pyttsx3"])
def test_every_voice_is_calm_by_default_and_rate_is_relative_to_it(
    engine: str, tmp_path: Path
) -> None:
    status = get_engine(engine).availability()
    require(status.ok, f"the {engine} speech engine", status.reason)
    calm = pace(timeline("calm-and-sleep", tmp_path / "cache", "--engine", engine))
    assert CALM[0] <= calm <= CALM[1], f"{engine}: {calm:.1f} words a minute"
    # --rate multiplies the calm pace: 1.2 is a fifth faster than calm, give or take the
    # pauses an engine does not stretch.
    brisk = pace(
        timeline("calm-and-sleep", tmp_path / "cache", "--engine", engine, "--rate", "1.2")
    )
    assert brisk / calm == pytest.approx(1.2, rel=0.08)


def _speech_texts(routine: str, language: str) -> list[str]:
    """The sentences the built-in ``routine`` speaks in ``language``, in order, once each."""
    found = timeline(routine, Path("/nonexistent"), "--engine", "estimate", "--language", language)
    return list(dict.fromkeys(e["text"] for e in found["events"] if e["kind"] == "speech"))


#: Sentences per session measured with Kokoro (about 2x real time here): the first ones
#: cover the welcome, the safety notice, a point's location, technique and press steps.
KOKORO_SAMPLE = 30


@pytest.mark.slow
@pytest.mark.parametrize("language", ["es", "fr", "de"])
def test_sessions_in_each_language_are_calm_with_the_voice_auto_picks(language: str) -> None:
    """The built-in calm-and-sleep session, in each language, through the voice `auto` picks
    there (Kokoro for Spanish and French where installed, espeak-ng for German): each sentence
    measured as the timeline measures it (the trimmed clip). Kokoro, slow on two cores, is
    measured on the first sentences; espeak-ng on all of them.

    Measured here: Kokoro ef_dora 115.7 and ff_siwis 114.3 words a minute at the English
    speed, about 135 with their own; espeak-ng roa/es 128.4, roa/fr 140.6, gmw/de 129.4.
    """
    from acuvoice.engines.registry import pick_voice
    from acuvoice.speech import Speech

    engine, voice = pick_voice("auto", None, language)
    if language in ("es", "fr"):
        status = get_engine("kokoro").availability()
        require(status.ok, "the kokoro speech engine", status.hint or status.reason)
        assert engine.name == "kokoro"
    else:
        assert engine.name == "pyttsx3"
    texts = _speech_texts("calm-and-sleep", language)
    if engine.name == "kokoro":
        texts = texts[:KOKORO_SAMPLE]
    speech = Speech(engine, voice, 1.0)
    words = sum(len(_WORD.findall(t)) for t in texts)
    minutes = sum(speech.measure(t) for t in texts) / 60_000
    assert CALM[0] <= words / minutes <= CALM[1], f"{language}: {words / minutes:.1f} wpm"
