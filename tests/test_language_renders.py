"""Sessions in Spanish, French and German rendered through every real engine that speaks them,
and measured like the English ones: length to the sample, cue onsets, speech where the
timeline has speech and silence elsewhere, loudness and true peak, and no English sentence.

espeak-ng (through pyttsx3) speaks all three; Kokoro speaks Spanish and French where it is
installed (CI installs it). Nothing here uses the fake engine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from acuvoice.cache import SynthesisCache
from acuvoice.engines.registry import engine_names, get_engine
from acuvoice.render import SessionOptions, prepare_session, render_session
from acuvoice.timeline import timing_violations
from acuvoice.units import ms_to_samples
from tests.support import require
from tests.test_languages import _check_not_english
from tests.test_render import ffmpeg_true_peak, sounds_as_the_timeline_says

ROUTINES = {
    "es": ("Prueba de sesión", "Siéntate con la espalda recta. Deja las manos en reposo."),
    "fr": ("Séance d'essai", "Asseyez-vous le dos droit. Laissez vos mains au repos."),
    "de": ("Probesitzung", "Setzen Sie sich aufrecht hin. Lassen Sie die Hände ruhen."),
}
ROUTINE = """\
acuvoice: 1
title: {title}
language: {lang}
sound: {{cues: bowl}}
steps:
  - chapter: {title}
  - say: {say}
  - breathe: {{cycles: 1, inhale: 3s, exhale: 4s}}
  - press: BL23
    hold: 15s
    find: 4s
  - press: LI4
    side: alternate
    hold: 10s
    find: 3s
  - pause: 2s
"""
#: Engines that speak each language here, by the engines' own voice lists (kokoro has no
#: German voice).
SPEAKERS = {"es": ["pyttsx3", "kokoro"], "fr": ["pyttsx3", "kokoro"], "de": ["pyttsx3"]}
CASES = [
    (lang, engine)
    for lang, engines in SPEAKERS.items()
    for engine in engines
    if engine in engine_names() or engine == "pyttsx3"
]


@pytest.mark.slow
@pytest.mark.parametrize(("lang", "engine"), CASES)
def test_a_session_in_each_language_through_each_real_engine(
    lang: str, engine: str, tmp_path: Path
) -> None:
    import pyloudnorm

    status = get_engine(engine).availability()
    require(status.ok, f"the {engine} speech engine", status.hint or status.reason)
    title, say = ROUTINES[lang]
    path = tmp_path / f"test-{lang}.yaml"
    path.write_text(ROUTINE.format(title=title, lang=lang, say=say), encoding="utf-8")
    out = tmp_path / "s.wav"
    session = prepare_session(
        path, SessionOptions(engine=engine), cache=SynthesisCache(tmp_path / "cache")
    )
    voice = session.speech.voice
    assert voice.language.split("-")[0] == lang, voice
    result = render_session(session, out)
    timeline = session.timeline
    assert timing_violations(timeline) == []
    _check_not_english(timeline, lang)

    audio, rate = sf.read(str(out), dtype="float32", always_2d=True)
    assert audio.shape[0] == ms_to_samples(timeline.duration_ms, rate)
    sounds_as_the_timeline_says(audio, rate, timeline, holds=3)

    lufs = pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64))
    assert abs(lufs - (-16.0)) <= 1.0
    peak = ffmpeg_true_peak(out)
    assert peak is not None and peak <= -1.0 + 0.1
    assert result.true_peak_dbtp <= -1.0
