"""Write a timeline as a readable script, JSON, WebVTT, SRT or SSML: a registry by name."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from acuvoice.errors import UsageError
from acuvoice.timeline import Event, EventKind, Timeline
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


def _speech(timeline: Timeline) -> list[Event]:
    return [e for e in timeline.events if e.kind is EventKind.SPEECH]


@script_format("text")
def text_script(timeline: Timeline) -> str:
    """A readable timed script: chapters as headings, one line per event worth reading."""
    holds = timeline.of_kind(EventKind.HOLD)
    lines = [
        timeline.title,
        f"{format_ms(timeline.duration_ms)} long, {len(timeline.chapters)} chapters, "
        f"{len(holds)} holds, {len(_speech(timeline))} spoken phrases",
    ]
    if timeline.omitted:
        left_out = ", ".join(f"{o.point} ({', '.join(o.conditions)})" for o in timeline.omitted)
        lines.append(f"Left out for your profile: {left_out}")
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
            lines.append(f"{at}  [{e.sound} cue]")
        elif e.kind is EventKind.HOLD:
            name = timeline.points.get(e.point or "", "")
            lines.append(f"{at}  [hold {e.point} {name}, {e.side}, {describe_ms(e.duration_ms)}]")
        elif e.kind is EventKind.PAUSE:
            lines.append(
                f"{at}  [{'find the point' if e.label == 'find' else 'pause'}, {describe_ms(e.duration_ms)}]"
            )
        elif e.kind is EventKind.BREATH and e.step != breath_step:
            breath_step = e.step
            cycles = max(
                x.cycle or 0
                for x in timeline.events
                if x.kind is EventKind.BREATH and x.step == e.step
            )
            lines.append(f"{at}  [paced breathing, {cycles} cycles]")
    lines += ["", f"{format_ms(timeline.duration_ms, precise=True)}  [end]"]
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


@script_format("vtt")
def vtt_script(timeline: Timeline) -> str:
    """WebVTT: one cue per spoken phrase, chapter titles as NOTE headings."""
    out = ["WEBVTT", ""]
    chapters = list(timeline.chapters)
    for n, e in enumerate(_speech(timeline), 1):
        while chapters and chapters[0].start_ms <= e.start_ms:
            out += [f"NOTE {chapters.pop(0).title}", ""]
        out += [str(n), f"{_clock(e.start_ms, '.')} --> {_clock(e.end_ms, '.')}", e.text or "", ""]
    return "\n".join(out)


@script_format("srt")
def srt_script(timeline: Timeline) -> str:
    """SubRip: one numbered cue per spoken phrase."""
    out: list[str] = []
    for n, e in enumerate(_speech(timeline), 1):
        out += [str(n), f"{_clock(e.start_ms, ',')} --> {_clock(e.end_ms, ',')}", e.text or "", ""]
    return "\n".join(out)


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
