"""Write the companion sheet: a printable HTML page (and PDF) to keep beside the audio."""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from acuvoice.errors import ExportError
from acuvoice.export.diagram import body_diagram_svg
from acuvoice.phrases import Catalog, load_catalog
from acuvoice.points.i18n import localize
from acuvoice.points.library import PointLibrary
from acuvoice.points.model import DiagramSpot, Point
from acuvoice.routine.model import (
    BreatheStep,
    PauseStep,
    PressStep,
    Routine,
    SayStep,
    Side,
    Step,
)
from acuvoice.timeline import Event, EventKind, Timeline
from acuvoice.units import describe_ms, format_ms, round_ms

#: Browser binaries that can print HTML to PDF, in the order they are tried.
BROWSERS = ("chromium", "chromium-browser", "google-chrome")

_URL = re.compile(r"https?://[^\s<>\"']+")
_QUIET_PAUSE_MS = 5000  # shorter pauses are not worth a line in the outline


def find_browser() -> str | None:
    """The path of the first Chromium or Chrome found on ``PATH``, or ``None``."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def browser_flags(user_data_dir: str | os.PathLike[str]) -> list[str]:
    """Flags for a quiet, offline, throw-away headless browser run (profile in ``user_data_dir``)."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={os.fspath(user_data_dir)}",
    ]


# ---------------------------------------------------------------------------- the page


def _clock(ms: int) -> str:
    """A hold length as m:ss, to the nearest second (a 45.998 s hold reads 0:46)."""
    return format_ms(round_ms(ms / 1000) * 1000)


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _linkify(text: str) -> str:
    """Escape ``text`` and turn the web addresses in it into links."""
    out: list[str] = []
    pos = 0
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:)")
        out.append(_text(text[pos : m.start()]))
        out.append(f'<a href="{_text(url)}">{_text(url)}</a>')
        pos = m.start() + len(url)
    out.append(_text(text[pos:]))
    return "".join(out)


@dataclass(slots=True)
class _Pressed:
    """One point as the session presses it: the steps and their holds."""

    code: str
    point: Point | None
    steps: list[int] = field(default_factory=list)
    holds: dict[int, list[Event]] = field(default_factory=dict)


def _pressed_points(timeline: Timeline) -> list[_Pressed]:
    """Every point held in the session, in the order first held, with all of its holds."""
    found: dict[str, _Pressed] = {}
    for e in timeline.of_kind(EventKind.HOLD):
        code = e.point or "?"
        entry = found.setdefault(code, _Pressed(code, None))
        step = e.step if e.step is not None else -1
        if step not in entry.holds:
            entry.steps.append(step)
            entry.holds[step] = []
        entry.holds[step].append(e)
    return list(found.values())


def _holds_summary(holds: Sequence[Event], c: Catalog) -> str:
    """How long the point is held in one step: "0:46, both sides at once", "0:31 per side"."""
    sides = [h.side or "center" for h in holds]
    lengths = [_clock(h.duration_ms) for h in holds]
    if all(s in ("left", "right") for s in sides) and {"left", "right"} <= set(sides):
        per_side = len(holds) // 2
        if len(set(lengths)) == 1:
            times = f"{per_side} × " if per_side > 1 else ""
            return times + c.label("hold_per_side", time=lengths[0])
        return ", ".join(
            f"{c.label('side_names', s)} {t}" for s, t in zip(sides, lengths, strict=True)
        )
    if len(set(lengths)) == 1:
        times = f"{len(holds)} × " if len(holds) > 1 else ""
        side = sides[0] if sides[0] in ("both", "left", "right") else "center"
        return times + c.label("hold_sides", side, time=lengths[0])
    return ", ".join(
        f"{t} ({c.label('side_names', s)})" for s, t in zip(sides, lengths, strict=True)
    )


def _lookup(code: str, routine: Routine, library: PointLibrary) -> Point | None:
    own = next((p for p in routine.points if p.code == code), None)
    return own or library.find(code)


def _conditions(ids: Iterable[str], library: PointLibrary) -> list[str]:
    out = []
    for cid in ids:
        cond = library.conditions.get(cid)
        out.append(cond.spoken if cond else cid)
    return out


def _paired(pressed: _Pressed, routine: Routine) -> bool:
    sides = {
        step.side
        for i in pressed.steps
        if 0 <= i < len(routine.steps) and isinstance(step := routine.steps[i], PressStep)
    }
    held = {h.side for holds in pressed.holds.values() for h in holds}
    return bool(sides & {Side.BOTH, Side.ALTERNATE}) or bool(held & {"both", "left", "right"})


def _header(
    timeline: Timeline, routine: Routine, audio_name: str | None, n_points: int, c: Catalog
) -> str:
    def key(name: str) -> str:
        return f'<span class="k">{_text(c.label(name))}</span>'

    meta = [
        f'<li>{key("length")} <span id="length">{format_ms(timeline.duration_ms)}</span></li>',
        f"<li>{key('chapters')} {len(timeline.chapters)}</li>",
        f"<li>{key('points')} {n_points}</li>",
    ]
    if routine.author:
        meta.append(f"<li>{key('author')} {_text(routine.author)}</li>")
    if routine.license:
        meta.append(f"<li>{key('license')} {_text(routine.license)}</li>")
    if audio_name:
        meta.append(f"<li>{key('audio')} {_text(audio_name)}</li>")
    summary = f'<p class="summary">{_text(routine.summary)}</p>' if routine.summary else ""
    return (
        '<header id="top">'
        f'<p class="kicker">{_text(c.label("kicker"))}</p>'
        f"<h1>{_text(routine.title or timeline.title)}</h1>"
        f'{summary}<ul class="meta">{"".join(meta)}</ul></header>'
    )


def _safety(timeline: Timeline, routine: Routine, library: PointLibrary, c: Catalog) -> str:
    notice = c.say("safety_notice")
    parts = [
        '<section id="safety" class="safety" aria-labelledby="safety-title">',
        f'<h2 id="safety-title">{_text(c.label("safety_title"))}</h2>',
        f'<p class="notice">{_text(notice)}</p>',
    ]
    if routine.cautions:
        items = []
        for cid in routine.cautions:
            cond = library.conditions.get(cid)
            spoken = cond.spoken if cond else cid
            detail = f' <span class="detail">({_text(cond.description)})</span>' if cond else ""
            strong = _text(c.label("not_suitable", condition=spoken))
            items.append(f"<li><strong>{strong}</strong>{detail}</li>")
        parts.append(f'<ul id="cautions" class="cautions">{"".join(items)}</ul>')
    if timeline.avoid:
        avoided = ", ".join(_conditions(timeline.avoid, library))
        parts.append(f'<p class="profile">{_text(c.label("profile_note", conditions=avoided))}</p>')
    parts.append("</section>")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class _ChapterSpan:
    """A chapter with its end and the steps heard in it (``None``: generated narration)."""

    start_ms: int
    title: str
    events: tuple[Event, ...]
    steps: tuple[int | None, ...]


def _chapter_spans(timeline: Timeline) -> list[_ChapterSpan]:
    bounds = [c.start_ms for c in timeline.chapters[1:]] + [timeline.duration_ms + 1]
    spans = []
    for chapter, end in zip(timeline.chapters, bounds, strict=True):
        inside = tuple(e for e in timeline.events if chapter.start_ms <= e.start_ms < end)
        order: list[int | None] = []
        for e in inside:
            if e.step not in order:
                order.append(e.step)
        spans.append(_ChapterSpan(chapter.start_ms, chapter.title, inside, tuple(order)))
    return spans


def _step_of(routine: Routine, index: int | None) -> Step | None:
    if index is None or not 0 <= index < len(routine.steps):
        return None
    return routine.steps[index]


def _chapter_items(
    span: _ChapterSpan, timeline: Timeline, routine: Routine, c: Catalog
) -> list[str]:
    """What happens in a chapter, in a few words: points, breathing, rest."""
    out: list[str] = []
    for index in span.steps:
        events = [e for e in span.events if e.step == index]
        step = _step_of(routine, index)
        if index is None:
            if any(e.role == "safety" for e in events):
                out.append(f'<li class="gen">{_text(c.label("item_safety"))}</li>')
            if any(e.role == "notice" for e in events):
                out.append(f'<li class="gen">{_text(c.label("item_left_out"))}</li>')
        elif isinstance(step, BreatheStep):
            said = c.label("item_breathing", count=step.cycles)
            out.append(f'<li class="gen">{_text(said)}</li>')
        elif isinstance(step, PauseStep):
            rest = sum(e.duration_ms for e in events if e.kind is EventKind.PAUSE)
            if rest >= _QUIET_PAUSE_MS:
                said = c.label("item_rest", duration=describe_ms(rest))
                out.append(f'<li class="gen">{_text(said)}</li>')
        elif isinstance(step, PressStep):
            holds = [e for e in events if e.kind is EventKind.HOLD]
            if holds:
                name = timeline.points.get(step.point, "")
                out.append(
                    f'<li class="press"><a class="code" href="#point-{_text(step.point)}">'
                    f"{_text(step.point)}</a> {_text(name)} "
                    f'<span class="at-small">{format_ms(holds[0].start_ms)}</span></li>'
                )
    return out


def _chapters(
    spans: Sequence[_ChapterSpan], timeline: Timeline, routine: Routine, c: Catalog
) -> str:
    parts = [
        '<section id="chapters" aria-labelledby="chapters-title">',
        f'<h2 id="chapters-title">{_text(c.label("chapters"))}</h2><ol class="chapters">',
    ]
    for span in spans:
        items = _chapter_items(span, timeline, routine, c)
        body = f'<ul class="steps">{"".join(items)}</ul>' if items else ""
        parts.append(
            f'<li class="chapter"><time class="at">{format_ms(span.start_ms)}</time>'
            f'<div><h3 class="chapter-title">{_text(span.title)}</h3>{body}</div></li>'
        )
    parts.append("</ol></section>")
    return "".join(parts)


def _notes(spans: Sequence[_ChapterSpan], routine: Routine, c: Catalog) -> str:
    """The routine's own spoken guidance, chapter by chapter (it carries the red flags)."""
    blocks: list[str] = []
    for span in spans:
        says = [
            step.text
            for index in span.steps
            if isinstance(step := _step_of(routine, index), SayStep)
        ]
        if says:
            paras = "".join(f"<p>{_text(text)}</p>" for text in says)
            blocks.append(
                f'<div class="note"><h3><time class="at">{format_ms(span.start_ms)}</time> '
                f"{_text(span.title)}</h3>{paras}</div>"
            )
    if not blocks:
        return ""
    return (
        '<section id="notes" aria-labelledby="notes-title">'
        f'<h2 id="notes-title">{_text(c.label("notes_title"))}</h2>'
        f'<div class="notes">{"".join(blocks)}</div></section>'
    )


def _point_card(
    pressed: _Pressed, timeline: Timeline, routine: Routine, library: PointLibrary, c: Catalog
) -> str:
    point = pressed.point
    code = pressed.code
    name = point.name if point else timeline.points.get(code, "")
    english = point.english if point and point.english.lower() != name.lower() else ""
    rows: list[tuple[str, str]] = []
    if point and point.location:
        rows.append((c.label("where"), f'<span class="where">{_text(point.location)}</span>'))
    how: list[str] = []
    hold_lines: list[str] = []
    tips: list[str] = []
    for index in pressed.steps:
        step = routine.steps[index] if 0 <= index < len(routine.steps) else None
        if isinstance(step, PressStep):
            technique = c.label("techniques", step.technique.value)
            line = c.label(
                "how_line",
                technique=technique[:1].upper() + technique[1:],
                pressure=c.label("pressures", step.pressure.value),
                side=c.label("sides", step.side.value),
            )
            if line not in how:
                how.append(line)
            if step.say:
                tips.append(step.say)
        hold_lines.append(_holds_summary(pressed.holds[index], c))
    if point and point.hint:
        how.append(point.hint)
    if how:
        rows.append((c.label("how"), " ".join(_text(h) for h in how)))
    if tips:
        rows.append((c.label("tip"), " ".join(_text(t) for t in tips)))
    care: list[str] = []
    if point and point.caution:
        care.append(_text(point.caution))
    if point and point.contraindications:
        avoid = ", ".join(_conditions(point.contraindications, library))
        care.append(f'<span class="avoid">{_text(c.label("avoid_with", conditions=avoid))}</span>')
    if care:
        rows.append((c.label("take_care"), " ".join(care)))
    if point is None or point.diagram is None:
        rows.append((c.label("diagram"), _text(c.label("not_on_diagram"))))
    dl = "".join(f"<dt>{_text(k)}</dt><dd>{v}</dd>" for k, v in rows)
    holds = c.label("hold_then").join(_text(h) for h in hold_lines)
    eng = f' <span class="english">{_text(english)}</span>' if english else ""
    return (
        f'<li class="point" id="point-{_text(code)}">'
        f'<div class="point-head"><span class="code">{_text(code)}</span>'
        f'<span class="name">{_text(name)}</span>{eng}'
        f'<span class="hold" title="{_text(c.label("hold_time"))}">{holds}</span></div>'
        f"<dl>{dl}</dl></li>"
    )


def _points(
    pressed: Sequence[_Pressed],
    timeline: Timeline,
    routine: Routine,
    library: PointLibrary,
    c: Catalog,
) -> str:
    parts = [
        '<section id="points" aria-labelledby="points-title">',
        f'<h2 id="points-title">{_text(c.label("points_title"))}</h2>',
    ]
    if pressed:
        parts.append('<ol class="points">')
        parts += [_point_card(p, timeline, routine, library, c) for p in pressed]
        parts.append("</ol>")
    else:
        parts.append(f"<p>{_text(c.label('no_points'))}</p>")
    if timeline.omitted:
        items = []
        seen: set[str] = set()
        for o in timeline.omitted:
            if o.point in seen:
                continue
            seen.add(o.point)
            point = _lookup(o.point, routine, library)
            name = f" {_text(point.name)}" if point else ""
            why = ", ".join(_conditions(o.conditions, library))
            items.append(
                f'<li><span class="code muted">{_text(o.point)}</span>{name}: '
                f"{_text(c.label('left_out_item', conditions=why))}</li>"
            )
        parts.append(
            f'<div id="omitted" class="omitted"><h3>{_text(c.label("left_out_title"))}</h3>'
            f"<ul>{''.join(items)}</ul></div>"
        )
    parts.append("</section>")
    return "".join(parts)


def _spots(pressed: Sequence[_Pressed], routine: Routine) -> list[tuple[str, DiagramSpot, bool]]:
    spots: list[tuple[str, DiagramSpot, bool]] = []
    for p in pressed:
        if p.point is not None and p.point.diagram is not None:
            spots.append((p.code, p.point.diagram, _paired(p, routine)))
    return spots


def session_diagram_svg(timeline: Timeline, routine: Routine, library: PointLibrary) -> str:
    """The body diagram of a session as a standalone SVG: every point it presses, marked.

    Each marker is a ``circle.marker`` with ``data-code`` set to its point's code, so a
    player can light up the point being pressed.
    """
    pressed = _pressed_points(timeline)
    for p in pressed:
        p.point = _lookup(p.code, routine, library)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + body_diagram_svg(_spots(pressed, routine))
        + "\n"
    )


def _diagram(pressed: Sequence[_Pressed], routine: Routine, c: Catalog) -> str:
    return (
        '<figure id="diagram" class="diagram">'
        f"{body_diagram_svg(_spots(pressed, routine))}"
        f"<figcaption>{_text(c.label('diagram_caption'))}</figcaption>"
        "</figure>"
    )


def _sources(routine: Routine, c: Catalog) -> str:
    if not routine.sources:
        return ""
    items = "".join(f"<li>{_linkify(s)}</li>" for s in routine.sources)
    return (
        '<section id="sources" aria-labelledby="sources-title">'
        f'<h2 id="sources-title">{_text(c.label("sources"))}</h2>'
        f'<ol class="sources">{items}</ol></section>'
    )


_CSS = """
:root{--ink:#1f2933;--muted:#52606d;--line:#d9e2ec;--accent:#1b6b63;--accent-bg:#e4f2ef;
--warn:#a35c00;--warn-bg:#fff5e1;--warn-line:#f0b44c}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#eef2f6;color:var(--ink);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1040px;margin:28px auto;background:#fff;padding:36px 48px 28px;
border-radius:14px;box-shadow:0 1px 3px rgba(31,41,51,.08),0 8px 24px rgba(31,41,51,.06)}
h1{font-size:2.1rem;line-height:1.15;margin:.1em 0 .3em;letter-spacing:-.01em}
h2{font-size:1.2rem;margin:0 0 .6em;color:var(--accent);letter-spacing:.01em}
h3{font-size:1rem;margin:0}
a{color:var(--accent)}
.kicker{margin:0;color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.12em}
.summary{margin:0 0 .9em;font-size:1.08rem;color:#323f4b;max-width:52em}
.meta{list-style:none;display:flex;flex-wrap:wrap;gap:.4em 1.6em;margin:0;padding:0;
font-size:.92rem}
.meta .k{color:var(--muted);font-size:.75rem;text-transform:uppercase;letter-spacing:.08em;
margin-right:.25em}
section{margin-top:28px}
.safety{background:var(--warn-bg);border:1px solid var(--warn-line);border-left:6px solid
var(--warn-line);border-radius:10px;padding:16px 20px;-webkit-print-color-adjust:exact;
print-color-adjust:exact}
.safety h2{color:var(--warn)}
.safety p{margin:.3em 0}
.cautions{margin:.6em 0 .2em;padding-left:1.2em}
.cautions strong{color:#7a3e00}
.detail{color:var(--muted)}
.profile{font-style:italic}
.overview{display:grid;grid-template-columns:minmax(0,1.55fr) minmax(0,1fr);gap:28px;
align-items:start;margin-top:28px}
.overview>section{margin-top:0}
.diagram{margin:0;border:1px solid var(--line);border-radius:10px;padding:10px 10px 8px}
.diagram svg{display:block;width:100%;height:auto}
figcaption{font-size:.8rem;color:var(--muted);margin:.4em .4em 0}
.chapters{list-style:none;margin:0;padding:0}
.chapter{display:grid;grid-template-columns:3.4em 1fr;gap:.6em;padding:.45em 0;
border-top:1px solid var(--line)}
.chapter:first-child{border-top:0}
.at{font-variant-numeric:tabular-nums;font-weight:600;color:var(--accent)}
.steps{list-style:none;margin:.15em 0 0;padding:0;font-size:.84rem;color:#3e4c59}
.steps li{margin:.2em 0}
.steps .gen{color:var(--muted);font-style:italic}
.steps .press a{text-decoration:none}
.at-small{color:var(--muted);font-size:.85em;font-variant-numeric:tabular-nums}
.notes{columns:2 22em;column-gap:36px}
.note{break-inside:avoid;margin:0 0 .9em}
.note h3{font-size:.95rem;margin-bottom:.2em}
.note h3 .at{margin-right:.35em}
.note p{margin:.25em 0;font-size:.9rem;color:#323f4b}
.code{display:inline-block;font-weight:700;font-size:.82em;color:var(--accent);
background:var(--accent-bg);border-radius:5px;padding:.05em .45em;letter-spacing:.02em;
-webkit-print-color-adjust:exact;print-color-adjust:exact}
.code.muted{color:var(--muted);background:#eef2f6}
.points{list-style:none;margin:0;padding:0;display:grid;gap:12px}
.point{border:1px solid var(--line);border-radius:10px;padding:12px 16px}
.point-head{display:flex;flex-wrap:wrap;align-items:baseline;gap:.2em .6em;margin-bottom:.35em}
.point-head .code{font-size:1rem}
.point-head .name{font-weight:700;font-size:1.1rem}
.english{color:var(--muted);font-style:italic}
.hold{margin-left:auto;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
dl{display:grid;grid-template-columns:6.2em 1fr;gap:.25em .8em;margin:0;font-size:.93rem}
dt{color:var(--muted);font-size:.78rem;text-transform:uppercase;letter-spacing:.07em;
padding-top:.2em}
dd{margin:0}
.avoid{color:#7a3e00}
.omitted{margin-top:14px;padding:10px 16px;border:1px dashed var(--line);border-radius:10px}
.omitted h3{font-size:.95rem;color:var(--muted);margin-bottom:.3em}
.omitted ul{margin:0;padding-left:1.2em}
.sources{margin:0;padding-left:1.3em;font-size:.86rem;color:#3e4c59}
.sources li{margin:.3em 0}
.sources a{overflow-wrap:anywhere}
footer{margin-top:30px;padding-top:12px;border-top:1px solid var(--line);display:flex;
justify-content:space-between;flex-wrap:wrap;gap:.5em;font-size:.82rem;color:var(--muted)}
footer strong{color:var(--ink)}
@media (max-width:820px){main{margin:0;border-radius:0;padding:22px 18px}
.overview{grid-template-columns:1fr}.hold{margin-left:0}}
@page{margin:14mm 13mm}
@media print{body{background:#fff;font-size:10.5pt}
main{max-width:none;margin:0;padding:0;border-radius:0;box-shadow:none}
h1{font-size:20pt}section{margin-top:16px}
.overview{display:block}.overview>section{margin-top:16px}
.diagram{break-inside:avoid;max-width:15.5cm;margin:0 auto}
.chapters{columns:2;column-gap:28px}.chapter:first-child{border-top:1px solid var(--line)}
.hold{margin-left:auto}
.chapter,.point,.safety,.omitted,.note{break-inside:avoid}
h2,h3{break-after:avoid}
a{color:inherit;text-decoration:none}
footer{break-inside:avoid}}
"""


def render_sheet(
    timeline: Timeline,
    routine: Routine,
    library: PointLibrary,
    *,
    audio_name: str | None = None,
) -> str:
    """The companion sheet of a session as one self-contained HTML5 page.

    The page needs no network and no script; it prints on A4 or Letter. It shows the
    title, summary and length, the safety notice and the routine's cautions, the chapters
    with their start times and the routine's own words, every point pressed (where to find
    it, how to press it, its hold times and cautions) with a body diagram, points left out
    for the listener's profile, and the sources.

    Args:
        timeline: The compiled session (chapters, holds, omitted points).
        routine: The routine it was compiled from (texts, sources, cautions, press steps).
        library: The point library the timeline was compiled with.
        audio_name: File name of the audio the sheet accompanies, shown in the header.

    Returns:
        The HTML document.
    """
    language = timeline.language or routine.language or "en"
    c = load_catalog(language)
    library = localize(library, language)
    pressed = _pressed_points(timeline)
    spans = _chapter_spans(timeline)
    for p in pressed:
        p.point = _lookup(p.code, routine, library)
    title = _text(routine.title or timeline.title)
    lang = _text(timeline.language or routine.language or "en")
    body = [
        _header(timeline, routine, audio_name, len(pressed), c),
        _safety(timeline, routine, library, c),
        '<div class="overview">',
        _diagram(pressed, routine, c),
        _chapters(spans, timeline, routine, c),
        "</div>",
        _notes(spans, routine, c),
        _points(pressed, timeline, routine, library, c),
        _sources(routine, c),
        f'<footer id="footer"><span><strong>{_text(c.label("footer_notice"))}</strong> '
        f"{_text(c.label('footer_advice'))}</span>"
        f"<span>{_text(c.label('made_with'))}</span></footer>",
    ]
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="acuvoice">\n'
        f"<title>{title} · {_text(c.label('sheet'))}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


# ---------------------------------------------------------------------------- PDF


def _run_browser(command: Sequence[str], timeout_s: float) -> tuple[int, str]:
    """Run the browser in its own process group; kill the whole group on timeout."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise ExportError(
                f"making the PDF took longer than {timeout_s:g} s; the browser was stopped"
            ) from None
        err.seek(0)
        return code, err.read().decode("utf-8", "replace")


#: PDF dates as Chromium writes them: ``(D:20261130235209+00'00')``.
_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}[^)]{0,7}\)")


def _pdf_date() -> bytes:
    """The date every sheet carries: ``$SOURCE_DATE_EPOCH`` if set, else the Unix epoch.

    A fixed date keeps renders reproducible: the same request gives the same bytes.
    """
    try:
        seconds = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    except ValueError:
        seconds = 0
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return stamp.strftime("D:%Y%m%d%H%M%S+00'00'").encode("ascii")


def _fix_dates(path: Path) -> None:
    """Replace the creation and modification dates in a PDF with :func:`_pdf_date`.

    Only dates of the same length are replaced, so every byte offset in the file (the
    cross-reference table) stays right.
    """
    data = path.read_bytes()
    date = _pdf_date()

    def fixed(match: re.Match[bytes]) -> bytes:
        new = b"/" + match.group(1) + b" (" + date + b")"
        return new if len(new) == len(match.group(0)) else match.group(0)

    path.write_bytes(_PDF_DATE.sub(fixed, data))


def write_sheet_pdf(html_path: Path, pdf_path: Path, *, timeout_s: float = 60) -> bool:
    """Print a companion sheet to PDF with a headless Chromium or Chrome, if one is installed.

    The PDF is written under a temporary name and renamed into place, so ``pdf_path`` is
    either the complete PDF or untouched. Its dates are fixed (see :func:`_pdf_date`), so the
    same sheet gives the same PDF.

    Args:
        html_path: The sheet written by :func:`render_sheet`.
        pdf_path: Where the PDF goes.
        timeout_s: Longest the browser may take.

    Returns:
        ``True`` when the PDF was written, ``False`` when no browser is installed.

    Raises:
        ExportError: The sheet is missing, the folder for the PDF does not exist, or the
            browser failed or timed out.
    """
    browser = find_browser()
    if browser is None:
        return False
    source = Path(html_path).resolve()
    target = Path(pdf_path).absolute()
    if not source.is_file():
        raise ExportError(f"cannot make a PDF of {html_path}: no such file")
    if not target.parent.is_dir():
        raise ExportError(f"cannot write {pdf_path}: the folder {target.parent} does not exist")
    # The browser creates the file itself (so it gets the usual permissions); the name is
    # unique and hidden until the finished PDF is renamed into place.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    try:
        with tempfile.TemporaryDirectory(
            prefix="acuvoice-browser-", ignore_cleanup_errors=True
        ) as profile:
            command = [
                browser,
                *browser_flags(profile),
                "--no-pdf-header-footer",
                f"--print-to-pdf={tmp}",
                source.as_uri(),
            ]
            code, stderr = _run_browser(command, timeout_s)
        try:
            with tmp.open("rb") as fh:
                head = fh.read(5)
        except FileNotFoundError:
            head = b""
        if code != 0 or not head.startswith(b"%PDF"):
            last = " ".join(stderr.strip().splitlines()[-3:])
            detail = f": {last}" if last else ""
            raise ExportError(
                f"{Path(browser).name} could not print {html_path} to PDF "
                f"(exit status {code}){detail}"
            )
        _fix_dates(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise ExportError(f"cannot write {pdf_path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return True


__all__ = [
    "BROWSERS",
    "browser_flags",
    "find_browser",
    "render_sheet",
    "session_diagram_svg",
    "write_sheet_pdf",
]
