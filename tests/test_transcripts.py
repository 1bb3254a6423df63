"""Transcripts (WebVTT, SubRip, plain text, WebVTT chapters) read back by real parsers, exact to the ms."""

from __future__ import annotations

import html
import itertools
import re
from datetime import timedelta
from pathlib import Path

import pytest
import srt
import webvtt

from acuvoice.cli import main
from acuvoice.compiler import CompileOptions, compile_timeline
from acuvoice.errors import UsageError
from acuvoice.export.chapters import chapter_spans
from acuvoice.export.scripts import format_script
from acuvoice.measure import WordsPerMinute
from acuvoice.points.library import PointLibrary
from acuvoice.routine.loader import builtin_routines, load_routine
from acuvoice.timeline import Chapter, Event, EventKind, Timeline
from acuvoice.units import format_ms

from .conftest import WriteRoutine

LONG = (
    "Let the weight of your arms sink down into your lap while the warmth spreads slowly "
    "across the small of your back and the muscles on either side of your spine soften a "
    "little more with every unhurried breath out so that by the time the next tone sounds "
    "you are ready to begin again without any hurry at all"
)

TRICKY = f"""\
acuvoice: 1
title: Tricky <b>&"text"</b>
safety_notice: false
steps:
  - chapter: 'Markup <i> & "quotes" --> arrows'
  - say: 'Use <b>bold</b> & "quotes" --> here, 1 < 2 > 0 &amp; done.'
  - say: "{LONG}"
  - chapter: Points
  - press: BL23
    side: alternate
    hold: 20s
  - chapter: Empty chapter, nothing said
  - pause: 5s
  - chapter: Last
  - say: Goodbye.
"""


def compile_file(path: str | Path, library: PointLibrary) -> Timeline:
    routine = load_routine(str(path), library=library)
    return compile_timeline(routine, library, WordsPerMinute(), CompileOptions())


@pytest.fixture(scope="module")
def builtin_timelines(library: PointLibrary) -> dict[str, Timeline]:
    return {name: compile_file(name, library) for name in sorted(builtin_routines())}


@pytest.fixture
def tricky(write_routine: WriteRoutine, library: PointLibrary) -> Timeline:
    return compile_file(write_routine(TRICKY), library)


def phrases(timeline: Timeline) -> list[Event]:
    return [e for e in timeline.events if e.kind is EventKind.SPEECH]


def vtt_ms(stamp: str) -> int:
    match = re.fullmatch(r"(\d{2,}):(\d{2}):(\d{2})\.(\d{3})", stamp)
    assert match, f"not a full WebVTT timestamp: {stamp!r}"
    h, m, s, ms = (int(g) for g in match.groups())
    return ((h * 60 + m) * 60 + s) * 1000 + ms


def td_ms(delta: timedelta) -> int:
    return delta // timedelta(milliseconds=1)


def all_timelines(builtins: dict[str, Timeline], tricky: Timeline) -> list[Timeline]:
    return [*builtins.values(), tricky]


# --- WebVTT transcript -------------------------------------------------------------------


def test_vtt_cues_are_the_phrases_to_the_millisecond(
    builtin_timelines: dict[str, Timeline], tricky: Timeline
) -> None:
    for timeline in all_timelines(builtin_timelines, tricky):
        text = format_script(timeline, "vtt")
        assert text.startswith("WEBVTT\n\n") and text.endswith("\n")
        captions = webvtt.from_string(text).captions
        spoken = phrases(timeline)
        assert len(captions) == len(spoken), timeline.title
        for n, (caption, e) in enumerate(zip(captions, spoken, strict=True), 1):
            assert caption.identifier == str(n)
            assert (vtt_ms(caption.start), vtt_ms(caption.end)) == (e.start_ms, e.end_ms)
            assert caption.text == caption.raw_text  # no cue tags: the text is all text
            assert html.unescape(caption.raw_text) == e.text
        starts = [vtt_ms(c.start) for c in captions]
        assert starts == sorted(starts)


def test_vtt_read_from_a_file(tmp_path: Path, tricky: Timeline) -> None:
    path = tmp_path / "t.vtt"
    path.write_text(format_script(tricky, "vtt"), encoding="utf-8")
    captions = webvtt.read(str(path)).captions
    assert [(vtt_ms(c.start), vtt_ms(c.end)) for c in captions] == [
        (e.start_ms, e.end_ms) for e in phrases(tricky)
    ]


def test_vtt_escapes_markup_and_keeps_long_phrases_whole(tricky: Timeline) -> None:
    text = format_script(tricky, "vtt")
    assert (
        'Use &lt;b&gt;bold&lt;/b&gt; &amp; "quotes" --&gt; here, 1 &lt; 2 &gt; 0 &amp;amp; done.'
        in text
    )
    assert 'Tricky &lt;b&gt;&amp;"text"&lt;/b&gt;' in text  # the title, spoken in the welcome
    assert f"\n{LONG}\n" in text  # one line, however long: players wrap it
    body = text.split("\n\n")[1:]
    for block in body:
        if not block.startswith("NOTE"):
            cue_text = block.splitlines()[2:]
            assert len(cue_text) == 1 and "<" not in cue_text[0] and "-->" not in cue_text[0]


def test_vtt_chapter_notes_come_before_the_first_cue_of_each_chapter(
    builtin_timelines: dict[str, Timeline], tricky: Timeline
) -> None:
    for timeline in all_timelines(builtin_timelines, tricky):
        vtt = webvtt.from_string(format_script(timeline, "vtt"))
        spoken = phrases(timeline)
        # notes[i]: the NOTE blocks just before cue i; the last: those after every cue
        notes = [vtt.header_comments, *(c.comments for c in vtt.captions[1:]), vtt.footer_comments]
        expected: list[list[str]] = [[] for _ in range(len(spoken) + 1)]
        for chapter in timeline.chapters:
            i = next(
                (i for i, e in enumerate(spoken) if e.start_ms >= chapter.start_ms), len(spoken)
            )
            expected[i].append(re.sub(r"--+>", "->", chapter.title))
        assert notes == expected, timeline.title
        assert sum(len(n) for n in notes) == len(timeline.chapters)


def test_vtt_note_never_holds_an_arrow(tricky: Timeline) -> None:
    text = format_script(tricky, "vtt")
    assert '\nNOTE Markup <i> & "quotes" -> arrows\n' in text
    assert "\nNOTE Empty chapter, nothing said\n" in text
    for line in text.splitlines():
        if line.startswith("NOTE"):
            assert "-->" not in line


# --- SubRip ------------------------------------------------------------------------------


def test_srt_parses_with_exact_times_and_text(
    builtin_timelines: dict[str, Timeline], tricky: Timeline
) -> None:
    for timeline in all_timelines(builtin_timelines, tricky):
        text = format_script(timeline, "srt")
        subs = list(srt.parse(text))
        spoken = phrases(timeline)
        assert [s.index for s in subs] == list(range(1, len(spoken) + 1))
        assert [(td_ms(s.start), td_ms(s.end)) for s in subs] == [
            (e.start_ms, e.end_ms) for e in spoken
        ]
        assert [s.content for s in subs] == [e.text for e in spoken]
        assert srt.compose(subs, reindex=False) == text  # the canonical SubRip layout
        for line in text.splitlines():
            if "-->" in line and line[:2].isdigit():
                assert re.fullmatch(r"\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}", line)


def test_srt_writes_text_as_spoken(tricky: Timeline) -> None:
    text = format_script(tricky, "srt")
    assert '\nUse <b>bold</b> & "quotes" --> here, 1 < 2 > 0 &amp; done.\n' in text
    assert f"\n{LONG}\n" in text


# --- plain-text transcript ---------------------------------------------------------------


def test_txt_transcript_has_chapter_headings_and_every_phrase(tricky: Timeline) -> None:
    text = format_script(tricky, "txt")
    lines = text.splitlines()
    assert lines[0] == '# Tricky <b>&"text"</b>'
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == [f"## {format_ms(c.start_ms)} {c.title}" for c in tricky.chapters]
    assert headings[1] == '## 0:07 Markup <i> & "quotes" --> arrows'
    body = [line for line in lines[1:] if line and not line.startswith("## ")]
    assert body == [e.text for e in phrases(tricky)]
    assert LONG in lines and "-->" not in "".join(body).replace("--> here", "")
    # the chapter with nothing said is a heading followed directly by the next one
    empty = lines.index(headings[3])
    assert headings[3].endswith("Empty chapter, nothing said")
    assert lines[empty + 1 : empty + 3] == ["", headings[4]]
    assert text.endswith(
        "## 2:25 Last\n\nGoodbye.\nThis is the end of the session.\n"
        + "Take all the time you need before you move on.\n"
    )


def test_txt_transcript_of_a_builtin(builtin_timelines: dict[str, Timeline]) -> None:
    timeline = builtin_timelines["lower-back-pain"]
    text = format_script(timeline, "txt")
    assert "\n\n## 2:25 Points on the lower back\n\n" in text
    sections = text.split("\n\n## ")
    assert len(sections) == len(timeline.chapters) + 1
    for chapter, (start, end, _) in zip(timeline.chapters, chapter_spans(timeline), strict=True):
        section = next(s for s in sections if s.startswith(f"{format_ms(start)} {chapter.title}\n"))
        said = [e.text for e in phrases(timeline) if start <= e.start_ms < end]
        assert section.split("\n\n", 1)[1].splitlines() == said


# --- WebVTT chapters track ---------------------------------------------------------------


def test_chapters_vtt_is_one_cue_per_chapter_end_to_end(
    builtin_timelines: dict[str, Timeline], tricky: Timeline
) -> None:
    for timeline in all_timelines(builtin_timelines, tricky):
        captions = webvtt.from_string(format_script(timeline, "chapters-vtt")).captions
        got = [(vtt_ms(c.start), vtt_ms(c.end), html.unescape(c.raw_text)) for c in captions]
        assert got == [
            (c.start_ms, end, c.title)
            for c, end in zip(
                timeline.chapters,
                [c.start_ms for c in timeline.chapters[1:]] + [timeline.duration_ms],
                strict=True,
            )
        ]
        assert got[0][0] == 0 and got[-1][1] == timeline.duration_ms
        for (_, end, _), (start, _, _) in itertools.pairwise(got):
            assert end == start  # contiguous, never overlapping
        assert all(start < end for start, end, _ in got)


def test_chapters_vtt_escapes_titles(tricky: Timeline) -> None:
    text = format_script(tricky, "chapters-vtt")
    assert '\nMarkup &lt;i&gt; &amp; "quotes" --&gt; arrows\n' in text


# --- edge cases ----------------------------------------------------------------------------


def test_a_routine_without_chapters_still_has_the_welcome_chapter(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    path = write_routine(
        """\
        acuvoice: 1
        title: No chapters
        steps:
          - say: Just one thing to say.
        """
    )
    timeline = compile_file(path, library)
    assert [c.title for c in timeline.chapters] == ["Welcome"]
    vtt = webvtt.from_string(format_script(timeline, "vtt"))
    assert vtt.header_comments == ["Welcome"] and all(not c.comments for c in vtt.captions)
    chapters = webvtt.from_string(format_script(timeline, "chapters-vtt")).captions
    assert [(vtt_ms(c.start), vtt_ms(c.end), c.text) for c in chapters] == [
        (0, timeline.duration_ms, "Welcome")
    ]
    txt = format_script(timeline, "txt").splitlines()
    assert txt[:3] == ["# No chapters", "", "## 0:00 Welcome"]
    assert "Just one thing to say." in txt


def test_a_timeline_with_chapters_and_no_speech() -> None:
    timeline = Timeline(
        title="Silent",
        language="en",
        duration_ms=5000,
        chapters=(Chapter(0, "A"), Chapter(3000, "B")),
        events=(Event(EventKind.CUE, 0, 500, sound="start"),),
    )
    vtt = webvtt.from_string(format_script(timeline, "vtt"))
    assert vtt.captions == [] and vtt.header_comments + vtt.footer_comments == ["A", "B"]
    assert format_script(timeline, "srt") == ""
    assert list(srt.parse(format_script(timeline, "srt"))) == []
    assert format_script(timeline, "txt") == "# Silent\n\n## 0:00 A\n\n## 0:03 B\n"
    assert format_script(timeline, "chapters-vtt") == (
        "WEBVTT\n\n1\n00:00:00.000 --> 00:00:03.000\nA\n\n2\n00:00:03.000 --> 00:00:05.000\nB\n"
    )


def test_phrases_before_the_first_chapter_and_hours() -> None:
    timeline = Timeline(
        title="Long",
        language="en",
        duration_ms=3_725_001,
        chapters=(Chapter(1000, "Later"),),
        events=(
            Event(EventKind.SPEECH, 0, 900, text="First."),
            Event(EventKind.SPEECH, 3_723_004, 3_725_001, text="Last."),
        ),
    )
    assert format_script(timeline, "txt") == "# Long\n\nFirst.\n\n## 0:01 Later\n\nLast.\n"
    vtt = format_script(timeline, "vtt")
    assert "2\n01:02:03.004 --> 01:02:05.001\nLast.\n" in vtt
    assert vtt.index("1\n00:00:00.000") < vtt.index("NOTE Later") < vtt.index("2\n01:02")
    assert "2\n01:02:03,004 --> 01:02:05,001\nLast.\n" in format_script(timeline, "srt")


# --- the command line ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["txt", "chapters-vtt", "chapters-json", "audacity", "ffmetadata"])
def test_new_formats_on_the_command_line(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code = main(["script", "--engine", "estimate", "lower-back-pain", "--format", fmt])
    out, err = capsys.readouterr()
    assert code == 0, err
    first = {
        "txt": "# Lower back relief\n",
        "chapters-vtt": "WEBVTT\n\n1\n00:00:00.000 --> ",
        "chapters-json": '{\n  "version": "1.2.0",',
        "audacity": "0.000000\t",
        "ffmetadata": ";FFMETADATA1\ntitle=Lower back relief\n",
    }[fmt]
    assert out.startswith(first)


def test_unknown_format_suggests_one_and_lists_every_format_that_works(tricky: Timeline) -> None:
    with pytest.raises(UsageError) as info:
        format_script(tricky, "vt")
    message = str(info.value)
    assert message.startswith("unknown script format 'vt'; did you mean 'vtt'?")
    listed = message.split("choose one of ", 1)[1].split(", ")
    # The formats the command table of docs/routine-format.md promises for `--format`.
    documented = "text json vtt srt txt ssml chapters-vtt chapters-json audacity ffmetadata"
    assert sorted(listed) == sorted(documented.split())
    for name in listed:
        assert format_script(tricky, name).strip(), name


# --- the readable script ---------------------------------------------------------------------


def one_of_each() -> Timeline:
    return Timeline(
        title="Once",
        language="en",
        duration_ms=20_000,
        chapters=(Chapter(0, "Welcome"),),
        events=(
            Event(EventKind.SPEECH, 0, 1_000, text="Hello."),
            Event(EventKind.BREATH, 1_000, 5_000, step=0, phase="in", cycle=1),
            Event(EventKind.BREATH, 5_000, 9_000, step=0, phase="out", cycle=1),
            Event(EventKind.CUE, 9_000, 9_600, step=1, sound="press"),
            Event(EventKind.HOLD, 9_000, 19_000, step=1, point="LI4", side="left"),
            Event(EventKind.CUE, 19_000, 19_700, step=1, sound="release"),
        ),
        points={"LI4": "Hegu"},
    )


def test_text_script_counts_one_of_a_kind_in_the_singular() -> None:
    lines = format_script(one_of_each(), "text").splitlines()
    assert lines[1] == "0:20 long, 1 chapter, 1 hold, 1 spoken phrase"
    assert "0:01.000  [paced breathing, 1 cycle]" in lines


def test_text_script_counts_none_and_several_in_the_plural() -> None:
    once = one_of_each()
    twice = Timeline(
        title="Twice",
        language="en",
        duration_ms=20_000,
        chapters=(Chapter(0, "Welcome"), Chapter(9_000, "Points")),
        events=(
            *once.events[:3],
            Event(EventKind.BREATH, 9_000, 13_000, step=0, phase="in", cycle=2),
            Event(EventKind.SPEECH, 13_000, 14_000, text="Again."),
        ),
    )
    lines = format_script(twice, "text").splitlines()
    assert lines[1] == "0:20 long, 2 chapters, 0 holds, 2 spoken phrases"
    assert "0:01.000  [paced breathing, 2 cycles]" in lines
