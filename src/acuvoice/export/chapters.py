"""Chapter marks of a timeline for players and editors: Podcasting 2.0 JSON, Audacity, FFmetadata.

Every format here is text made from the timeline alone (no audio, no files), so the same
chapters can be published next to an episode, opened in an editor, or embedded by ffmpeg:

- :func:`podcast_chapters_json`: the Podcasting 2.0 JSON chapters file (version 1.2.0) that
  ``<podcast:chapters url="..." type="application/json+chapters"/>`` links to. Chapter steps
  are table-of-contents chapters; each press step also gets a *silent* chapter
  (``"toc": false``) named after its point, which players show while it plays but leave out
  of the chapter list.
- :func:`audacity_labels`: an Audacity label track (File > Import > Labels).
- :func:`ffmetadata`: an FFMETADATA1 document that ffmpeg turns into MP4/M4A chapter atoms
  (a QuickTime chapter track and a Nero ``chpl`` atom) and global tags.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from acuvoice.errors import ExportError
from acuvoice.timeline import EventKind, Timeline

#: The version of the Podcasting 2.0 JSON chapters format written.
PODCAST_CHAPTERS_VERSION = "1.2.0"

#: The media type to serve a JSON chapters file with (and to put in ``<podcast:chapters>``).
PODCAST_CHAPTERS_MIME = "application/json+chapters"


def chapter_spans(timeline: Timeline) -> list[tuple[int, int, str]]:
    """``(start_ms, end_ms, title)`` of every chapter; each ends where the next one begins.

    The last chapter ends with the session. A chapter that would last no time at all (only
    possible in a hand-edited timeline) is left out, as no chapter format can show it.
    """
    chapters = sorted(timeline.chapters, key=lambda c: c.start_ms)
    ends = [c.start_ms for c in chapters[1:]] + [timeline.duration_ms]
    return [
        (c.start_ms, end, c.title)
        for c, end in zip(chapters, ends, strict=True)
        if end > c.start_ms
    ]


def point_spans(timeline: Timeline) -> list[tuple[int, int, str]]:
    """``(start_ms, end_ms, label)`` of every press step, labelled like ``"Shenshu (BL23)"``.

    A span runs from the first event of the step (the narration that names the point and
    says where to find it) to the end of its last event (the spoken release), so it covers
    finding, pressing and releasing the point, on both sides and every repeat.
    """
    extent: dict[int, tuple[int, int]] = {}
    for e in timeline.events:
        if e.step is None:
            continue
        start, end = extent.get(e.step, (e.start_ms, e.end_ms))
        extent[e.step] = (min(start, e.start_ms), max(end, e.end_ms))
    spans: list[tuple[int, int, str]] = []
    seen: set[int] = set()
    for hold in timeline.of_kind(EventKind.HOLD):
        if hold.step is None or hold.step in seen:
            continue
        seen.add(hold.step)
        code = hold.point or ""
        name = timeline.points.get(code)
        start, end = extent[hold.step]
        spans.append((start, end, f"{name} ({code})" if name else code))
    return sorted(spans, key=lambda s: s[0])


def _seconds(ms: int) -> int | float:
    # Whole seconds stay integers (as in the spec's examples); others keep 3 decimals exactly,
    # since ms / 1000 is the float whose shortest repr is the decimal written ("35.519").
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def podcast_chapters(
    timeline: Timeline,
    *,
    title: str | None = None,
    author: str | None = None,
    podcast_name: str | None = None,
    file_name: str | None = None,
    points: bool = True,
) -> dict[str, Any]:
    """The Podcasting 2.0 JSON chapters object of a session (format version 1.2.0).

    Every chapter step is a chapter with ``startTime``, ``endTime`` (where the next chapter
    begins), ``title`` and ``"toc": true``. With ``points``, every press step adds a silent
    chapter (``"toc": false``) titled like ``"Shenshu (BL23)"`` from where the point is
    introduced to its release (see :func:`point_spans`): players that know ``toc`` show it as
    the playhead passes and keep it out of the chapter list. Times are seconds with
    millisecond precision; chapters are sorted by ``startTime`` (a table-of-contents chapter
    first when two start together).

    Args:
        timeline: The compiled session.
        title: The episode title; defaults to the routine's title.
        author: The episode's author, if known.
        podcast_name: The podcast the episode belongs to, if any.
        file_name: The audio file the chapters belong to, if any.
        points: Add the silent chapters of the points pressed.

    Returns:
        A JSON-ready dict: ``version``, the episode fields given, then ``chapters``.
    """
    data: dict[str, Any] = {"version": PODCAST_CHAPTERS_VERSION}
    for key, value in (
        ("title", timeline.title if title is None else title),
        ("author", author),
        ("podcastName", podcast_name),
        ("fileName", file_name),
    ):
        if value:
            data[key] = value
    spans = [(s, e, name, True) for s, e, name in chapter_spans(timeline)]
    if points:
        spans += [(s, e, name, False) for s, e, name in point_spans(timeline)]
    # sorted by start; at a tie the table-of-contents chapter comes first
    spans.sort(key=lambda x: (x[0], not x[3]))
    data["chapters"] = [
        {"startTime": _seconds(s), "endTime": _seconds(e), "title": name, "toc": toc}
        for s, e, name, toc in spans
    ]
    return data


def podcast_chapters_json(
    timeline: Timeline,
    *,
    title: str | None = None,
    author: str | None = None,
    podcast_name: str | None = None,
    file_name: str | None = None,
    points: bool = True,
) -> str:
    """:func:`podcast_chapters` as UTF-8 JSON text (indented, newline-terminated).

    Serve it as ``application/json+chapters`` (:data:`PODCAST_CHAPTERS_MIME`).
    """
    data = podcast_chapters(
        timeline,
        title=title,
        author=author,
        podcast_name=podcast_name,
        file_name=file_name,
        points=points,
    )
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _audacity_time(ms: int) -> str:
    # Integer arithmetic, so the 6 decimals are exact: 35519 -> "35.519000".
    return f"{ms // 1000}.{ms % 1000:03d}000"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def audacity_labels(timeline: Timeline) -> str:
    """An Audacity label track: ``start<TAB>end<TAB>label`` per line, times in seconds.

    Times have 6 decimals, as Audacity exports them (``35.519000``). The labels, sorted by
    start (chapter, then hold, then cue when they start together):

    - every chapter as a region label with its title, from its start to the next chapter's;
    - every hold as a region label ``hold BL23 Shenshu (left)``, from the press cue to the
      release cue (exactly the hold);
    - every cue as a *point* label (start == end) ``cue: press`` at the moment it starts,
      because a cue is a moment to cut or line up at; the sound's own length (a bowl rings
      on) would only clutter the track with overlapping regions.

    Tabs and line breaks inside a label become spaces (they would split the line).
    """
    labels: list[tuple[int, int, int, str]] = [
        (start, 0, end, name) for start, end, name in chapter_spans(timeline)
    ]
    for e in timeline.events:
        if e.kind is EventKind.HOLD:
            code = e.point or ""
            name = timeline.points.get(code, "")
            what = f"{code} {name}" if name else code
            labels.append((e.start_ms, 1, e.end_ms, f"hold {what} ({e.side})"))
        elif e.kind is EventKind.CUE:
            labels.append((e.start_ms, 2, e.start_ms, f"cue: {e.sound}"))
    labels.sort(key=lambda x: (x[0], x[1]))
    return "".join(
        f"{_audacity_time(start)}\t{_audacity_time(end)}\t{_one_line(text)}\n"
        for start, _, end, text in labels
    )


_FFMETADATA_SPECIAL = re.compile(r"([=;#\\\n\r])")


def ffmetadata_escape(text: str) -> str:
    """Escape a key or value for an FFMETADATA1 file.

    ffmpeg's format documentation: "=", ";", "#", "\\" and a newline are escaped with a
    backslash (a carriage return too here, so it cannot end the line).
    """
    return _FFMETADATA_SPECIAL.sub(r"\\\1", text)


def ffmetadata(timeline: Timeline, tags: Mapping[str, str]) -> str:
    """An FFMETADATA1 document: the global tags, then one ``[CHAPTER]`` per chapter.

    Chapters are in milliseconds (``TIMEBASE=1/1000``), each from its start to the next
    chapter's (the last to the end of the session), with its ``title``. Give it to ffmpeg as
    a second input to put chapters (and the tags) into an M4A::

        ffmpeg -f f32le -ar 44100 -ac 2 -i pipe:0 -f ffmetadata -i meta.txt \\
            -map 0:a -map_metadata 1 -map_chapters 1 -c:a aac -b:a 128k -f ipod out.m4a

    Args:
        timeline: The compiled session.
        tags: Global tags by ffmpeg's generic names (``title``, ``artist``, ``album``,
            ``genre``, ``comment``, ``date``...); tags with an empty value are left out, and
            ``title`` defaults to the routine's title.

    Returns:
        The document, newline-terminated, with every key and value escaped.

    Raises:
        ExportError: A tag has an empty name.
    """
    merged = {"title": timeline.title, **tags}
    lines = [";FFMETADATA1"]
    for key, value in merged.items():
        if not key:
            raise ExportError(f"cannot write a tag without a name (value {value!r})")
        if value:
            lines.append(f"{ffmetadata_escape(key)}={ffmetadata_escape(value)}")
    for start, end, name in chapter_spans(timeline):
        lines += [
            "",
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={start}",
            f"END={end}",
            f"title={ffmetadata_escape(name)}",
        ]
    return "\n".join(lines) + "\n"


__all__ = [
    "PODCAST_CHAPTERS_MIME",
    "PODCAST_CHAPTERS_VERSION",
    "audacity_labels",
    "chapter_spans",
    "ffmetadata",
    "ffmetadata_escape",
    "podcast_chapters",
    "podcast_chapters_json",
    "point_spans",
]
