"""Every built-in routine renders through the default voice and sounds as its timeline says.

The same audio checks as the render tests' session (``tests/test_render.py``): the file lasts
the timeline to the sample, every press and release cue starts where the timeline puts it,
speech sounds in every speech event and nothing sounds outside the events; and the master is
at podcast loudness (-16 LUFS within 1 LU, by ffmpeg's independent meter as well as the
render's own) with a true peak at most -1 dBTP. The English built-ins are rendered with the
default voice (``auto`` picks hibari for English) at their own targets, to WAV. The module
shares one synthesis cache, so a phrase that several routines speak is synthesized once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from acuvoice.cache import SynthesisCache
from acuvoice.render import SessionOptions, prepare_session, render_session
from acuvoice.routine.loader import builtin_routines
from acuvoice.timeline import EventKind, timing_violations
from acuvoice.units import ms_to_samples
from tests.support import require, require_program
from tests.test_loudness import ffmpeg_ebur128
from tests.test_render import installed_engines, sounds_as_the_timeline_says

pytestmark = pytest.mark.slow

#: The loudness every built-in routine is mastered to (none sets its own) and the ceiling.
TARGET_LUFS = -16.0
CEILING_DBTP = -1.0


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> SynthesisCache:
    return SynthesisCache(tmp_path_factory.mktemp("builtin-renders-cache"))


@pytest.mark.parametrize("name", sorted(builtin_routines()))
def test_builtin_routine_renders_with_the_default_voice(
    name: str, cache: SynthesisCache, tmp_path: Path
) -> None:
    require("hibari" in installed_engines(), "the hibari engine")
    session = prepare_session(name, SessionOptions(), cache=cache)
    assert session.speech.engine.name == "hibari", "auto picks hibari for English"
    timeline = session.timeline
    assert timeline.language == "en"
    assert timing_violations(timeline) == []
    assert timeline.target_ms == timeline.duration_ms, "the routine's own target is met"
    assert timeline.shortened_from_ms is None, "no built-in is shortened at its own target"

    out = tmp_path / f"{name}.wav"
    result = render_session(session, out)
    assert result.path == out and result.format == "wav"

    info = sf.info(str(out))
    assert info.samplerate == 44_100 and info.channels == 2
    assert info.frames == ms_to_samples(timeline.duration_ms, info.samplerate)
    audio, rate = sf.read(str(out), dtype="float32", always_2d=True)
    holds = timeline.of_kind(EventKind.HOLD)
    assert holds, "every built-in presses points"
    sounds_as_the_timeline_says(audio, rate, timeline, holds=len(holds))
    del audio

    assert abs(result.loudness_lufs - TARGET_LUFS) <= 1.0, result
    assert result.true_peak_dbtp <= CEILING_DBTP, result
    ffmpeg = require_program("ffmpeg")
    lufs, peak = ffmpeg_ebur128(ffmpeg, out)
    assert abs(lufs - TARGET_LUFS) <= 1.0, (name, lufs)
    assert peak <= CEILING_DBTP + 0.1, (name, peak)
