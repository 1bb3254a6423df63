"""Text forms of a timeline by name: scripts, transcripts (WebVTT, SRT, plain) and chapters.

``acuvoice script --format NAME`` looks formats up in :data:`SCRIPT_FORMATS`:

- ``text``: readable timed script; ``json``: the timeline (the format spec's contract);
- ``vtt``, ``srt``, ``txt``: transcripts, one cue or line per spoken phrase, exact to the ms;
- ``ssml``: the narration as speech markup;
- ``chapters-vtt``: WebVTT chapters track; ``chapters-json``: Podcasting 2.0 JSON chapters;
  ``audacity``: Audacity label track; ``ffmetadata``: chapters for ffmpeg (M4A).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import escape

from acuvoice.errors import CompileError, TranslationError, UsageError
from acuvoice.export.chapters import (
    audacity_labels,
    chapter_spans,
    ffmetadata,
    podcast_chapters_json,
)
from acuvoice.phrases import Catalog, load_catalog
from acuvoice.timeline import Chapter, Event, EventKind, Timeline
from acuvoice.units import describe_ms, format_ms
from acuvoice.validation import did_you_mean

Formatter = Callable[[Timeline], str]

#: Script formats by name; ``format_script`` looks them up.
SCRIPT_FORMATS: dict[str, Formatter] = {}


def script_format(name: str) -> Callable[[Formatter], Formatter]:
    """Register a formatter under ``name``."""

    def register(fn: Formatter) -> Formatter:
        SCRIPT_FORMATS[name] = fn
        return fn

    return register


def format_script(timeline: Timeline, name: str) -> str:
    """The timeline in the named format.

    Raises:
        UsageError: No formatter has that name.
    """
    try:
        formatter = SCRIPT_FORMATS[name]
    except KeyError:
        hint = did_you_mean(name, SCRIPT_FORMATS)
        raise UsageError(
            f"unknown script format {name!r}{hint}; choose one of {', '.join(SCRIPT_FORMATS)}"
        ) from None
    return formatter(timeline)


def _catalog(timeline: Timeline) -> Catalog:
    """The catalog of the timeline's language (English for a timeline in a language that
    has none, which only a hand-made timeline can be: the compiler refuses such routines)."""
    try:
        return load_catalog(timeline.language or "en")
    except TranslationError:
        raise
    except CompileError:
        return load_catalog("en")


def _speech(timeline: Timeline) -> list[Event]:
    return [e for e in timeline.events if e.kind is EventKind.SPEECH]


@script_format("text")
def text_script(timeline: Timeline) -> str:
    """A readable timed script: chapters as headings, one line per event worth reading."""
    c = _catalog(timeline)
    holds = timeline.of_kind(EventKind.HOLD)
    lines = [
        timeline.title,
        c.label(
            "script_summary",
            length=format_ms(timeline.duration_ms),
            chapters=c.count("count_chapters", len(timeline.chapters)),
            holds=c.count("count_holds", len(holds)),
            phrases=c.count("count_phrases", len(_speech(timeline))),
        ),
    ]
    if timeline.omitted:
        left_out = ", ".join(f"{o.point} ({', '.join(o.conditions)})" for o in timeline.omitted)
        lines.append(c.label("script_left_out", points=left_out))
    chapters = list(timeline.chapters)
    breath_step: int | None = None
    for e in timeline.events:
        while chapters and chapters[0].start_ms <= e.start_ms:
            chapter = chapters.pop(0)
            lines += ["", f"== {chapter.title} ({format_ms(chapter.start_ms)})"]
        at = format_ms(e.start_ms, precise=True)
        if e.kind is EventKind.SPEECH and e.role != "breath":
            lines.append(f"{at}  {e.text}")
        elif e.kind is EventKind.CUE and e.sound not in ("tick", "inhale", "exhale"):
            lines.append(f"{at}  {c.label('script_cue', sound=e.sound)}")
        elif e.kind is EventKind.HOLD:
            name = timeline.points.get(e.point or "", "")
            side = c.label("side_names", e.side or "center")
            point = f"{e.point} {name}".strip()
            said = c.label(
                "script_hold", point=point, side=side, duration=describe_ms(e.duration_ms)
            )
            lines.append(f"{at}  {said}")
        elif e.kind is EventKind.PAUSE:
            key = "script_find" if e.label == "find" else "script_pause"
            lines.append(f"{at}  {c.label(key, duration=describe_ms(e.duration_ms))}")
        elif e.kind is EventKind.BREATH and e.step != breath_step:
            breath_step = e.step
            cycles = max(
                x.cycle or 0
                for x in timeline.events
                if x.kind is EventKind.BREATH and x.step == e.step
            )
            said = c.label("script_breathing", cycles=c.count("count_cycles", cycles))
            lines.append(f"{at}  {said}")
    lines += ["", f"{format_ms(timeline.duration_ms, precise=True)}  {c.label('script_end')}"]
    return "\n".join(lines) + "\n"


@script_format("json")
def json_script(timeline: Timeline) -> str:
    """The timeline JSON of the format spec."""
    return timeline.dumps()


def _clock(ms: int, sep: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{millis:03d}"


def _one_line(text: str) -> str:
    # A blank line would end a cue (and a line break is not part of a phrase anyway).
    return " ".join(text.split())


def _speech_and_chapters(timeline: Timeline) -> Iterator[Chapter | Event]:
    """Spoken phrases and chapter starts merged in time order (a chapter before its phrases).

    Every chapter is yielded, also one with no phrase in it, so no heading is lost.
    """
    chapters = sorted(timeline.chapters, key=lambda c: c.start_ms)
    i = 0
    for e in _speech(timeline):
        while i < len(chapters) and chapters[i].start_ms <= e.start_ms:
            yield chapters[i]
            i += 1
        if _one_line(e.text or ""):
            yield e
    yield from chapters[i:]


def _vtt_text(text: str) -> str:
    """Cue text with the three characters WebVTT reserves written as character references."""
    return escape(_one_line(text), quote=False)


def _vtt_note(text: str) -> str:
    """A NOTE block: one line, without the "-->" a comment may not contain (no escapes there)."""
    return "NOTE " + re.sub(r"--+>", "->", _one_line(text))


def _vtt_cue(identifier: str, start_ms: int, end_ms: int, text: str) -> str:
    return f"{identifier}\n{_clock(start_ms, '.')} --> {_clock(end_ms, '.')}\n{_vtt_text(text)}"


@script_format("vtt")
def vtt_script(timeline: Timeline) -> str:
    """WebVTT transcript: one cue per spoken phrase, timed to the millisecond.

    Cues are numbered from 1 (the cue identifier). Each chapter's title is a ``NOTE`` block
    (a WebVTT comment, which players and parsers skip) just before its first cue; a chapter
    without a phrase still gets its note. ``&``, ``<`` and ``>`` in the text are written as
    ``&amp;``, ``&lt;`` and ``&gt;``; a phrase is one line however long (players wrap it).
    """
    blocks = ["WEBVTT"]
    n = 0
    for item in _speech_and_chapters(timeline):
        if isinstance(item, Chapter):
            blocks.append(_vtt_note(item.title))
        else:
            n += 1
            blocks.append(_vtt_cue(str(n), item.start_ms, item.end_ms, item.text or ""))
    return "\n\n".join(blocks) + "\n"


@script_format("srt")
def srt_script(timeline: Timeline) -> str:
    """SubRip: one numbered cue per spoken phrase, ``HH:MM:SS,mmm`` to the millisecond.

    SubRip has no chapters and no escapes: the text is written as spoken, on one line.
    """
    phrases = [e for e in _speech(timeline) if _one_line(e.text or "")]
    # Every block ends with a blank line, as srt.compose writes them.
    return "".join(
        f"{n}\n{_clock(e.start_ms, ',')} --> {_clock(e.end_ms, ',')}\n{_one_line(e.text or '')}\n\n"
        for n, e in enumerate(phrases, 1)
    )


@script_format("txt")
def transcript_text(timeline: Timeline) -> str:
    """A plain-text transcript: the title, then each chapter as a heading and its phrases.

    Headings read ``## 2:24 Points on the lower back`` (the chapter's start); each spoken
    phrase is a line of its own, as spoken, without times or markup.
    """
    sections: list[list[str]] = [[f"# {_one_line(timeline.title)}"]]
    for item in _speech_and_chapters(timeline):
        if isinstance(item, Chapter):
            sections.append([f"## {format_ms(item.start_ms)} {_one_line(item.title)}"])
        else:
            section = sections[-1]
            if len(section) == 1:
                section.append("")
            section.append(_one_line(item.text or ""))
    return "\n\n".join("\n".join(s) for s in sections) + "\n"


@script_format("ssml")
def ssml_script(timeline: Timeline) -> str:
    """SSML 1.1: the narration with breaks for every silence and marks for cues and holds."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="{escape(timeline.language)}">',
    ]
    cursor = 0
    chapters = list(timeline.chapters)
    for e in timeline.events:
        while chapters and chapters[0].start_ms <= e.start_ms:
            out.append(f'  <mark name="chapter:{escape(chapters.pop(0).title)}"/>')
        if e.kind is EventKind.CUE:
            out.append(f'  <mark name="cue:{escape(e.sound or "")}@{e.start_ms}"/>')
        elif e.kind is EventKind.HOLD:
            out.append(
                f'  <mark name="hold:{escape(e.point or "")}:{e.side}@{e.start_ms}-{e.end_ms}"/>'
            )
        if e.kind is not EventKind.SPEECH:
            continue
        if e.start_ms > cursor:
            out.append(f'  <break time="{e.start_ms - cursor}ms"/>')
        out.append(f"  <s>{escape(e.text or '')}</s>")
        cursor = e.end_ms
    if timeline.duration_ms > cursor:
        out.append(f'  <break time="{timeline.duration_ms - cursor}ms"/>')
    out.append("</speak>")
    return "\n".join(out) + "\n"


@script_format("chapters-vtt")
def chapters_vtt_script(timeline: Timeline) -> str:
    """WebVTT chapters track for ``<track kind="chapters">``: a cue per chapter, its title.

    Each cue runs from the chapter's start to the next chapter's (the last to the end of the
    session), so the cues never overlap, as chapter tracks require.
    """
    blocks = ["WEBVTT"]
    for n, (start, end, title) in enumerate(chapter_spans(timeline), 1):
        blocks.append(_vtt_cue(str(n), start, end, title))
    return "\n\n".join(blocks) + "\n"


@script_format("chapters-json")
def chapters_json_script(timeline: Timeline) -> str:
    """Podcasting 2.0 JSON chapters (see :func:`acuvoice.export.chapters.podcast_chapters`)."""
    return podcast_chapters_json(timeline)


@script_format("audacity")
def audacity_script(timeline: Timeline) -> str:
    """An Audacity label track (see :func:`acuvoice.export.chapters.audacity_labels`)."""
    return audacity_labels(timeline)


@script_format("ffmetadata")
def ffmetadata_script(timeline: Timeline) -> str:
    """FFMETADATA1 chapters and title for ffmpeg (see :func:`acuvoice.export.chapters.ffmetadata`)."""
    return ffmetadata(timeline, {})
