"""The compiled timeline: events in integer milliseconds, and its JSON form (the contract)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from acuvoice._compat import StrEnum
from acuvoice.units import describe_ms

TIMELINE_VERSION = 1


class EventKind(StrEnum):
    """What happens during an event."""

    SPEECH = "speech"
    CUE = "cue"
    HOLD = "hold"
    PAUSE = "pause"
    BREATH = "breath"


@dataclass(frozen=True, slots=True)
class Event:
    """One timed event; which optional fields are set depends on ``kind``.

    Attributes:
        kind: speech, cue, hold, pause or breath.
        start_ms: Start, from the beginning of the session.
        end_ms: End (exclusive); ``end_ms - start_ms`` is the length.
        step: Index of the source step (includes expanded); ``None`` for generated narration.
        text: Speech: the words spoken.
        role: Speech: what the words are for (welcome, safety, say, point, technique, find,
            caution, press, reminder, release, switch, repeat, guide (breathing intro), breath
            (breathing words), closing, notice).
        sound: Cue: the cue sound's name.
        point: Hold: the point code.
        side: Hold: left, right, both or center.
        phase: Breath: in, hold or out; the cycle number is ``cycle``.
        cycle: Breath: 1-based cycle number.
        label: Pause: ``pause`` for a pause step, ``find`` for time to locate a point.
    """

    kind: EventKind
    start_ms: int
    end_ms: int
    step: int | None = None
    text: str | None = None
    role: str | None = None
    sound: str | None = None
    point: str | None = None
    side: str | None = None
    phase: str | None = None
    cycle: int | None = None
    label: str | None = None

    @property
    def duration_ms(self) -> int:
        """Length of the event."""
        return self.end_ms - self.start_ms

    def to_json(self) -> dict[str, Any]:
        """The event as the timeline JSON writes it (unset fields left out)."""
        out: dict[str, Any] = {
            "kind": self.kind.value,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
        }
        for f in fields(self):
            if f.name in out:
                continue
            value = getattr(self, f.name)
            if value is not None or f.name == "step":
                out[f.name] = value
        return out


@dataclass(frozen=True, slots=True)
class Chapter:
    """A chapter starting at ``start_ms``."""

    start_ms: int
    title: str


@dataclass(frozen=True, slots=True)
class Omission:
    """A press step left out for a listener profile (``--avoid``)."""

    point: str
    step: int
    conditions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Timeline:
    """A compiled session: what is heard when, to the millisecond.

    Attributes:
        duration_ms: Length of the whole session.
        events: Every event, sorted by ``start_ms`` (stable).
        points: Names of the points the session presses (and of those left out), by code.
        omitted: Press steps left out for the listener profile.
        target_ms: The target length that was fitted, if any.
        voice: Free-form description of the voice whose lengths were used.
        max_hold_ms: The routine's ``max_hold``: fitting lengthened no hold beyond it.
        shortened_from_ms: The target asked for, when the session was made shorter than it
            so that no hold exceeds ``max_hold_ms`` (``target_ms`` is then the length made).
    """

    title: str
    language: str
    duration_ms: int
    chapters: tuple[Chapter, ...]
    events: tuple[Event, ...]
    points: Mapping[str, str] = field(default_factory=dict)
    omitted: tuple[Omission, ...] = ()
    avoid: tuple[str, ...] = ()
    target_ms: int | None = None
    voice: str | None = None
    max_hold_ms: int | None = None
    shortened_from_ms: int | None = None

    def of_kind(self, kind: EventKind) -> tuple[Event, ...]:
        """The events of one kind, in order."""
        return tuple(e for e in self.events if e.kind is kind)

    def to_json(self) -> dict[str, Any]:
        """The timeline as JSON data (see the format spec)."""
        data: dict[str, Any] = {
            "acuvoice_timeline": TIMELINE_VERSION,
            "title": self.title,
            "language": self.language,
            "duration_ms": self.duration_ms,
            "chapters": [{"start_ms": c.start_ms, "title": c.title} for c in self.chapters],
            "events": [e.to_json() for e in self.events],
            "points": dict(self.points),
        }
        if self.target_ms is not None:
            data["target_ms"] = self.target_ms
        if self.avoid:
            data["avoid"] = list(self.avoid)
        if self.omitted:
            data["omitted"] = [
                {"point": o.point, "step": o.step, "conditions": list(o.conditions)}
                for o in self.omitted
            ]
        if self.voice is not None:
            data["voice"] = self.voice
        if self.max_hold_ms is not None:
            data["max_hold_ms"] = self.max_hold_ms
        if self.shortened_from_ms is not None:
            data["shortened_from_ms"] = self.shortened_from_ms
        return data

    def dumps(self) -> str:
        """The timeline as pretty JSON text."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Timeline:
        """Read a timeline written by :meth:`to_json`."""
        if data.get("acuvoice_timeline") != TIMELINE_VERSION:
            raise ValueError(f"not an acuvoice timeline of version {TIMELINE_VERSION}")
        names = {f.name for f in fields(Event)}
        events = tuple(
            Event(**{**{k: v for k, v in e.items() if k in names}, "kind": EventKind(e["kind"])})
            for e in data["events"]
        )
        return cls(
            title=data["title"],
            language=data["language"],
            duration_ms=int(data["duration_ms"]),
            chapters=tuple(Chapter(int(c["start_ms"]), c["title"]) for c in data["chapters"]),
            events=events,
            points=dict(data.get("points", {})),
            omitted=tuple(
                Omission(o["point"], int(o["step"]), tuple(o["conditions"]))
                for o in data.get("omitted", ())
            ),
            avoid=tuple(data.get("avoid", ())),
            target_ms=data.get("target_ms"),
            voice=data.get("voice"),
            max_hold_ms=data.get("max_hold_ms"),
            shortened_from_ms=data.get("shortened_from_ms"),
        )


def shortening_warning(timeline: Timeline) -> str | None:
    """What to tell the user when the session was made shorter than its target, or ``None``."""
    if timeline.shortened_from_ms is None or timeline.max_hold_ms is None:
        return None
    return (
        f"the session lasts {describe_ms(timeline.duration_ms)} instead of the target "
        f"{describe_ms(timeline.shortened_from_ms)}: reaching the target would hold points "
        f"longer than the routine's max_hold of {describe_ms(timeline.max_hold_ms)}; the "
        "session says so"
    )


def timing_violations(timeline: Timeline) -> list[str]:
    """Every way ``timeline`` breaks the timing rules of the format spec (empty when none).

    Checks: events sorted and inside the session; no speech overlapping speech or a cue;
    each hold starts with a ``press`` cue and ends where a ``release`` cue starts.
    """
    out: list[str] = []
    events = timeline.events
    for a, b in itertools.pairwise(events):
        if b.start_ms < a.start_ms:
            out.append(f"events not sorted: {a} before {b}")
    for e in events:
        if not 0 <= e.start_ms <= e.end_ms <= timeline.duration_ms:
            out.append(f"event outside the session or negative: {e}")
    audible = sorted(
        (
            e
            for e in events
            if e.kind in (EventKind.SPEECH, EventKind.CUE) and e.end_ms > e.start_ms
        ),
        key=lambda e: e.start_ms,
    )
    for i, a in enumerate(audible):
        for b in audible[i + 1 :]:
            if b.start_ms >= a.end_ms:
                break
            if EventKind.SPEECH in (a.kind, b.kind):
                out.append(
                    f"overlap: {a.kind} {a.text or a.sound!r} and {b.kind} {b.text or b.sound!r} at {b.start_ms} ms"
                )
    cues = {(e.sound, e.start_ms, e.step) for e in events if e.kind is EventKind.CUE}
    for h in timeline.of_kind(EventKind.HOLD):
        if ("press", h.start_ms, h.step) not in cues:
            out.append(f"hold of {h.point} at {h.start_ms} ms has no press cue at its start")
        if ("release", h.end_ms, h.step) not in cues:
            out.append(f"hold of {h.point} ending {h.end_ms} ms has no release cue at its end")
    return out


def sort_events(events: Iterable[Event]) -> tuple[Event, ...]:
    """Events sorted by start; events starting together keep the order they were made in."""
    return tuple(sorted(events, key=lambda e: e.start_ms))


__all__ = [
    "Chapter",
    "Event",
    "EventKind",
    "Omission",
    "Timeline",
    "replace",
    "sort_events",
    "timing_violations",
]
