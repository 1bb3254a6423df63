"""Chapters for players and editors: Podcasting 2.0 JSON (schema-checked), Audacity labels, and
FFMETADATA1 taken through ffmpeg into a real M4A that ffprobe and mutagen read back."""

from __future__ import annotations

import json
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from acuvoice.compiler import CompileOptions, compile_timeline
from acuvoice.errors import ExportError
from acuvoice.export.audio import AUDIO_FORMATS, write_chapters
from acuvoice.export.chapters import (
    audacity_labels,
    chapter_spans,
    ffmetadata,
    ffmetadata_escape,
    podcast_chapters,
    podcast_chapters_json,
    point_spans,
)
from acuvoice.export.tags import Tags, write_tags
from acuvoice.measure import WordsPerMinute
from acuvoice.points.library import PointLibrary
from acuvoice.routine.loader import builtin_routines, load_routine
from acuvoice.timeline import Chapter, Event, EventKind, Timeline
from tests.support import require_program

from .conftest import WriteRoutine

# The Podcasting 2.0 JSON chapters format, version 1.2 (podcast-namespace,
# docs/examples/chapters/jsonChapters.md), written down as a JSON Schema. It is stricter than
# the prose in one way: no properties beyond the documented ones, to catch misspelt keys.
PODCAST_CHAPTERS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version", "chapters"],
    "additionalProperties": False,
    "properties": {
        "version": {"type": "string", "pattern": r"^1\.2(\.\d+)?$"},
        "chapters": {"type": "array", "items": {"$ref": "#/$defs/chapter"}},
        "author": {"type": "string"},
        "title": {"type": "string"},
        "podcastName": {"type": "string"},
        "description": {"type": "string"},
        "fileName": {"type": "string"},
        "waypoints": {"type": "boolean"},
    },
    "$defs": {
        "chapter": {
            "type": "object",
            "required": ["startTime"],
            "additionalProperties": False,
            "properties": {
                "startTime": {"type": "number", "minimum": 0},
                "endTime": {"type": "number", "minimum": 0},
                "title": {"type": "string"},
                "img": {"type": "string"},
                "url": {"type": "string"},
                "toc": {"type": "boolean"},
                "location": {
                    "type": "object",
                    "required": ["name", "geo"],
                    "properties": {
                        "name": {"type": "string"},
                        "geo": {"type": "string", "pattern": "^geo:"},
                        "osm": {"type": "string"},
                    },
                },
            },
        }
    },
}

LABEL_LINE = re.compile(r"(\d+\.\d{6})\t(\d+\.\d{6})\t([^\t\n]+)")


def compile_file(path: str | Path, library: PointLibrary) -> Timeline:
    routine = load_routine(str(path), library=library)
    return compile_timeline(routine, library, WordsPerMinute(), CompileOptions())


@pytest.fixture(scope="module")
def timelines(library: PointLibrary) -> dict[str, Timeline]:
    return {name: compile_file(name, library) for name in sorted(builtin_routines())}


@pytest.fixture(scope="module")
def back(timelines: dict[str, Timeline]) -> Timeline:
    return timelines["lower-back-pain"]


def ms(seconds: float) -> int:
    """Seconds as written in JSON back to milliseconds, exactly (fails on sub-ms digits)."""
    value = Decimal(repr(seconds)) * 1000
    assert value == value.to_integral_value(), f"{seconds} is not a whole number of ms"
    return int(value)


def step_extent(timeline: Timeline, step: int) -> tuple[int, int]:
    events = [e for e in timeline.events if e.step == step]
    return min(e.start_ms for e in events), max(e.end_ms for e in events)


# --- Podcasting 2.0 JSON chapters -----------------------------------------------------------


def test_the_schema_itself_is_valid_and_rejects_what_it_should() -> None:
    jsonschema.Draft202012Validator.check_schema(PODCAST_CHAPTERS_SCHEMA)
    validator = jsonschema.Draft202012Validator(PODCAST_CHAPTERS_SCHEMA)
    assert validator.is_valid({"version": "1.2.0", "chapters": [{"startTime": 94}]})
    assert not validator.is_valid({"chapters": []})
    assert not validator.is_valid({"version": "1.2.0", "chapters": [{"title": "x"}]})
    assert not validator.is_valid({"version": "1.2.0", "chapters": [{"startTime": "94"}]})
    assert not validator.is_valid({"version": "1.2.0", "chapters": [{"startTime": 1, "toc": 0}]})


def test_podcast_chapters_are_valid_for_every_builtin(timelines: dict[str, Timeline]) -> None:
    for name, timeline in timelines.items():
        text = podcast_chapters_json(timeline, author="Jane Doe")
        data = json.loads(text)
        jsonschema.validate(data, PODCAST_CHAPTERS_SCHEMA, cls=jsonschema.Draft202012Validator)
        assert text.endswith("}\n") and data == podcast_chapters(timeline, author="Jane Doe")
        assert list(data)[:2] == ["version", "title"] and data["version"] == "1.2.0"
        assert data["title"] == timeline.title and data["author"] == "Jane Doe"
        starts = [ms(c["startTime"]) for c in data["chapters"]]
        assert starts == sorted(starts), name


def test_toc_chapters_are_the_chapter_steps_to_the_millisecond(back: Timeline) -> None:
    data = podcast_chapters(back)
    toc = [c for c in data["chapters"] if c["toc"]]
    assert [(ms(c["startTime"]), ms(c["endTime"]), c["title"]) for c in toc] == [
        (c.start_ms, end, c.title)
        for c, end in zip(
            back.chapters, [c.start_ms for c in back.chapters[1:]] + [back.duration_ms], strict=True
        )
    ]
    assert toc[0]["startTime"] == 0 and isinstance(toc[0]["startTime"], int)
    assert toc[3] == {
        "startTime": 145.9,
        "endTime": 559.567,
        "title": "Points on the lower back",
        "toc": True,
    }


def test_silent_chapters_name_each_press_step(back: Timeline) -> None:
    silent = [c for c in podcast_chapters(back)["chapters"] if c["toc"] is False]
    steps = sorted({h.step for h in back.of_kind(EventKind.HOLD) if h.step is not None})
    assert len(silent) == len(steps) == len(point_spans(back))
    for chapter, step in zip(silent, steps, strict=True):
        hold = next(h for h in back.of_kind(EventKind.HOLD) if h.step == step)
        assert chapter["title"] == f"{back.points[hold.point or '']} ({hold.point})"
        assert (ms(chapter["startTime"]), ms(chapter["endTime"])) == step_extent(back, step)
        assert ms(chapter["startTime"]) < hold.start_ms  # the listener hears where to find it
    assert silent[0]["title"] == "Shenshu (BL23)"
    # each point sits inside one table-of-contents chapter
    for chapter in silent:
        start, end = ms(chapter["startTime"]), ms(chapter["endTime"])
        assert any(s <= start and end <= e for s, e, _ in chapter_spans(back))


def test_ties_put_the_toc_chapter_first() -> None:
    timeline = Timeline(
        title="Tie",
        language="en",
        duration_ms=20_000,
        chapters=(Chapter(0, "Welcome"), Chapter(5_000, "Points")),
        events=(
            Event(EventKind.SPEECH, 5_000, 6_000, step=1, text="The first point is Hegu."),
            Event(EventKind.CUE, 7_000, 7_500, step=1, sound="press"),
            Event(EventKind.HOLD, 7_000, 17_000, step=1, point="LI4", side="left"),
            Event(EventKind.CUE, 17_000, 17_600, step=1, sound="release"),
        ),
        points={"LI4": "Hegu"},
    )
    assert podcast_chapters(timeline, title="Episode 3", podcast_name="Pressure Points")[
        "chapters"
    ] == [
        {"startTime": 0, "endTime": 5, "title": "Welcome", "toc": True},
        {"startTime": 5, "endTime": 20, "title": "Points", "toc": True},
        {"startTime": 5, "endTime": 17.6, "title": "Hegu (LI4)", "toc": False},
    ]
    data = podcast_chapters(timeline, title="Episode 3", podcast_name="Pressure Points")
    assert data["title"] == "Episode 3" and data["podcastName"] == "Pressure Points"
    assert "author" not in data


def test_points_can_be_left_out(back: Timeline) -> None:
    data = podcast_chapters(back, points=False)
    assert [c["title"] for c in data["chapters"]] == [c.title for c in back.chapters]
    assert all(c["toc"] for c in data["chapters"])


def test_a_routine_without_chapters_has_the_welcome_chapter(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    path = write_routine(
        """\
        acuvoice: 1
        title: Just a point
        steps:
          - press: LI4
            hold: 15s
        """
    )
    timeline = compile_file(path, library)
    data = podcast_chapters(timeline)
    jsonschema.validate(data, PODCAST_CHAPTERS_SCHEMA)
    assert data["chapters"][0] == {
        "startTime": 0,
        "endTime": timeline.duration_ms / 1000,
        "title": "Welcome",
        "toc": True,
    }
    assert [c["title"] for c in data["chapters"][1:]] == ["Hegu (LI4)"]
    assert chapter_spans(timeline) == [(0, timeline.duration_ms, "Welcome")]


def test_empty_chapters_are_left_out() -> None:
    timeline = Timeline(
        title="Odd",
        language="en",
        duration_ms=4_000,
        chapters=(Chapter(0, "A"), Chapter(0, "B"), Chapter(4_000, "End")),
        events=(),
    )
    assert chapter_spans(timeline) == [(0, 4_000, "B")]
    assert podcast_chapters(timeline)["chapters"] == [
        {"startTime": 0, "endTime": 4, "title": "B", "toc": True}
    ]


def test_json_text_keeps_unicode_and_names_the_file() -> None:
    timeline = Timeline(
        title="Ruhe — 深呼吸",
        language="de",
        duration_ms=3_000,
        chapters=(Chapter(0, "Atmen 🌿"),),
        events=(),
    )
    text = podcast_chapters_json(timeline, file_name="ruhe.mp3")
    assert "深呼吸" in text and "🌿" in text and "\\u" not in text  # UTF-8, not \u escapes
    data = json.loads(text)
    jsonschema.validate(data, PODCAST_CHAPTERS_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert data == {
        "version": "1.2.0",
        "title": "Ruhe — 深呼吸",
        "fileName": "ruhe.mp3",
        "chapters": [{"startTime": 0, "endTime": 3, "title": "Atmen 🌿", "toc": True}],
    }


# --- Audacity labels ---------------------------------------------------------------------------


def test_audacity_labels_format_and_times(back: Timeline) -> None:
    text = audacity_labels(back)
    assert text.endswith("\n") and "\r" not in text
    parsed = []
    for line in text.splitlines():
        match = LABEL_LINE.fullmatch(line)
        assert match, f"not an Audacity label line: {line!r}"
        parsed.append((ms(float(match[1])), ms(float(match[2])), match[3]))
        assert match[1] == f"{parsed[-1][0] / 1000:.6f}"  # what Audacity itself writes
    starts = [p[0] for p in parsed]
    assert starts == sorted(starts)
    expected = {(s, e, t) for s, e, t in chapter_spans(back)}
    for e in back.events:
        if e.kind is EventKind.HOLD:
            expected.add(
                (e.start_ms, e.end_ms, f"hold {e.point} {back.points[e.point or '']} ({e.side})")
            )
        elif e.kind is EventKind.CUE:
            expected.add((e.start_ms, e.start_ms, f"cue: {e.sound}"))
    assert len(parsed) == len(back.chapters) + len(back.of_kind(EventKind.HOLD)) + len(
        back.of_kind(EventKind.CUE)
    )
    assert set(parsed) == expected
    assert "145.900000\t559.567000\tPoints on the lower back" in text.splitlines()
    assert any(t == "hold BL23 Shenshu (both)" for _, _, t in parsed)


def test_audacity_labels_order_and_point_labels() -> None:
    timeline = Timeline(
        title="T",
        language="en",
        duration_ms=90_500,
        chapters=(Chapter(0, "Start\there"), Chapter(35_519, "Before you begin")),
        events=(
            Event(EventKind.CUE, 35_519, 36_119, step=1, sound="press"),
            Event(EventKind.HOLD, 35_519, 80_822, step=1, point="BL23", side="left"),
            Event(EventKind.CUE, 80_822, 81_522, step=1, sound="release"),
        ),
        points={"BL23": "Shenshu"},
    )
    assert audacity_labels(timeline) == (
        "0.000000\t35.519000\tStart here\n"
        "35.519000\t90.500000\tBefore you begin\n"
        "35.519000\t80.822000\thold BL23 Shenshu (left)\n"
        "35.519000\t35.519000\tcue: press\n"
        "80.822000\t80.822000\tcue: release\n"
    )


# --- FFMETADATA1 ----------------------------------------------------------------------------


def test_ffmetadata_document(back: Timeline) -> None:
    text = ffmetadata(back, {"artist": "Jane Doe", "comment": "", "genre": "Health"})
    lines = text.split("\n")
    assert lines[:4] == [
        ";FFMETADATA1",
        "title=Lower back relief",
        "artist=Jane Doe",
        "genre=Health",
    ]
    assert text.endswith("\n") and "comment" not in text
    blocks = text.split("\n\n")[1:]
    assert len(blocks) == len(back.chapters)
    for block, (start, end, title) in zip(blocks, chapter_spans(back), strict=True):
        assert block.strip().split("\n") == [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={start}",
            f"END={end}",
            f"title={title}",
        ]


def test_ffmetadata_escapes_and_rejects_nameless_tags(back: Timeline) -> None:
    assert ffmetadata_escape("a=b;c#d\\e\nf") == "a\\=b\\;c\\#d\\\\e\\\nf"
    text = ffmetadata(back, {"title": "Mine; #1 = best\\", "x=y": "1"})
    assert "\ntitle=Mine\\; \\#1 \\= best\\\\\n" in text and "\nx\\=y=1\n" in text
    with pytest.raises(ExportError, match="without a name"):
        ffmetadata(back, {"": "value"})


TRICKY_TITLE = 'Before <b>&" you = begin; #1 \\ end'


def ten_seconds() -> Timeline:
    return Timeline(
        title="Ten\nseconds",
        language="en",
        duration_ms=10_000,
        chapters=(Chapter(0, "Welcome"), Chapter(3_519, TRICKY_TITLE), Chapter(7_001, "Rest")),
        events=(),
    )


@pytest.fixture
def m4a(tmp_path: Path) -> Path:
    """Ten seconds of AAC in MP4 made by ffmpeg with the chapters as a second input."""
    ffmpeg = require_program("ffmpeg")
    require_program("ffprobe", "ffmpeg")
    rate = 44_100
    t = np.arange(10 * rate, dtype=np.float64) / rate
    audio = (0.2 * np.sin(2 * np.pi * 440.0 * t)).astype("<f4")
    meta = tmp_path / "meta.txt"
    meta.write_text(ffmetadata(ten_seconds(), {"artist": "Jane; Doe"}), encoding="utf-8")
    out = tmp_path / "out.m4a"
    # The arguments the M4A writer uses: raw audio on stdin, chapters and tags from input 1.
    args = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
            "-f", "ffmetadata", "-i", str(meta),
            "-map", "0:a", "-map_metadata", "1", "-map_chapters", "1",
            "-c:a", "aac", "-b:a", "128k", "-f", "ipod", str(out)]  # fmt: skip
    result = subprocess.run(args, input=audio.tobytes(), capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return out


def probe(path: Path) -> dict[str, object]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        check=True,
    )
    data: dict[str, object] = json.loads(result.stdout)
    return data


# mp4 chapter times are stored in the chapter track's timescale (1/1000 with ffmpeg today);
# allow 2 ms in case a muxer picks a coarser one.
TOLERANCE_MS = 2


def assert_chapters(path: Path) -> None:
    data = probe(path)
    chapters = data["chapters"]
    assert isinstance(chapters, list)
    got = [
        (
            float(c["start_time"]) * 1000,
            float(c["end_time"]) * 1000,
            c["tags"]["title"],
        )
        for c in chapters
    ]
    want = chapter_spans(ten_seconds())
    assert [title for _, _, title in got] == [title for _, _, title in want]
    for (start, end, _), (w_start, w_end, _) in zip(got, want, strict=True):
        assert abs(start - w_start) <= TOLERANCE_MS and abs(end - w_end) <= TOLERANCE_MS


def test_ffmpeg_puts_the_chapters_into_an_m4a(m4a: Path) -> None:
    assert_chapters(m4a)
    fmt = probe(m4a)["format"]
    assert isinstance(fmt, dict)
    assert fmt["tags"]["title"] == "Ten\nseconds" and fmt["tags"]["artist"] == "Jane; Doe"
    assert abs(float(fmt["duration"]) - 10.0) < 0.05


def test_mutagen_reads_the_m4a_chapters_and_keeps_them_when_tagging(m4a: Path) -> None:
    from mutagen.mp4 import MP4

    mp4 = MP4(str(m4a))
    chapters = [(round(c.start * 1000), c.title) for c in mp4.chapters]
    want = [(start, title) for start, _, title in chapter_spans(ten_seconds())]
    assert [title for _, title in chapters] == [title for _, title in want]
    for (start, _), (w_start, _) in zip(chapters, want, strict=True):
        assert abs(start - w_start) <= TOLERANCE_MS
    # write_tags() saves tags with mutagen after ffmpeg: the chapters must survive it
    mp4["\xa9gen"] = ["Health"]
    mp4.save()
    assert_chapters(m4a)
    assert [c.title for c in MP4(str(m4a)).chapters] == [title for _, title in want]


# --- MP3: ID3v2 CHAP and CTOC ------------------------------------------------------------------

# Lengths far apart, and non-ASCII titles whose UTF-8 and UTF-16 sizes differ (ID3v2.3 stores
# text as UTF-16): sorted by size or by title, these would not come out in time order.
MP3_CHAPTERS = [
    (0, 1_500, "Welcome, and a long, slow settling in before anything else happens at all"),
    (1_500, 3_000, "Ü"),
    (3_000, 4_200, "深呼吸と休息 🌿"),
    (4_200, 6_000, "Points"),
    (6_000, 7_700, "Ruhe — ñ ✓ çà"),
    (7_700, 8_300, "B"),
    (8_300, 10_000, "Ending: the last few breaths, then the closing words and the final bowl"),
]


@pytest.fixture
def mp3(tmp_path: Path) -> Path:
    """Ten seconds of MP3, made by ffmpeg as the renderer does."""
    ffmpeg = require_program("ffmpeg")
    rate = 44_100
    t = np.arange(10 * rate, dtype=np.float64) / rate
    audio = (0.2 * np.sin(2 * np.pi * 440.0 * t)).astype("<f4")
    out = tmp_path / "session.mp3"
    args = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
            "-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3", str(out)]  # fmt: skip
    subprocess.run(args, input=audio.tobytes(), capture_output=True, check=True)
    return out


@pytest.mark.parametrize("then_tags", [False, True], ids=["chapters", "chapters-then-tags"])
def test_mp3_chapters_hold_only_their_titles_stored_in_time_order(
    mp3: Path, then_tags: bool
) -> None:
    from mutagen import id3

    write_chapters(mp3, AUDIO_FORMATS["mp3"], MP3_CHAPTERS)
    if then_tags:  # as the renderer does: tags merged into the tag the chapters made
        write_tags(mp3, "mp3", Tags(title="Session", artist="Mei Lin", year="2026"))

    ffprobe = require_program("ffprobe", "ffmpeg")
    shown = json.loads(
        subprocess.run(
            [ffprobe, "-v", "error", "-show_chapters", "-of", "json", str(mp3)],
            capture_output=True,
            check=True,
        ).stdout
    )["chapters"]
    assert [c["tags"] for c in shown] == [{"title": title} for _, _, title in MP3_CHAPTERS]
    assert [(round(float(c["start_time"]) * 1000), round(float(c["end_time"]) * 1000))
            for c in shown] == [(s, e) for s, e, _ in MP3_CHAPTERS]  # fmt: skip

    tag = id3.ID3(mp3)
    assert tag.version == (2, 3, 0)
    stored = tag.getall("CHAP")  # in the order the frames are stored in the file
    assert [(c.start_time, c.end_time, c.sub_frames["TIT2"].text) for c in stored] == [
        (s, e, [title]) for s, e, title in MP3_CHAPTERS
    ]
    assert all(list(c.sub_frames) == ["TIT2"] for c in stored)
    [toc] = tag.getall("CTOC")
    assert toc.flags == id3.CTOCFlags.TOP_LEVEL | id3.CTOCFlags.ORDERED
    assert toc.child_element_ids == [c.element_id for c in stored]
    assert not tag.getall("TXXX")


def test_mp3_chapters_keep_time_order_up_to_the_most_a_ctoc_can_list(mp3: Path) -> None:
    from mutagen import id3

    # A CTOC counts its entries in one byte: 255 chapters, titles of 0 to 11 characters
    # (an empty one has no TIT2 at all).
    chapters = [(i * 39, (i + 1) * 39, "x" * (i % 7) + "é" * (i % 6)) for i in range(255)]
    write_chapters(mp3, AUDIO_FORMATS["mp3"], chapters)
    stored = id3.ID3(mp3).getall("CHAP")
    assert [c.start_time for c in stored] == [s for s, _, _ in chapters]
