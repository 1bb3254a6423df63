"""The point model: one acupressure point and the conditions it must be avoided with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition a listener may have (``--avoid pregnancy``)."""

    id: str
    spoken: str
    description: str


@dataclass(frozen=True, slots=True)
class Topic:
    """What a point is used for (``acuvoice points --for sleep``)."""

    id: str
    description: str


@dataclass(frozen=True, slots=True)
class DiagramSpot:
    """Where a point sits on a simple standing figure, normalized to 0..1."""

    view: str
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Point:
    """One acupressure point, with what a narrator says about it.

    Attributes:
        code: WHO standard code, upper case (``BL23``; extra points like ``EX-HN3``).
        side: Default side as a string (``both``, ``alternate``, ``center``, ...).
        techniques: Suitable techniques; the first is the default.
        location: Spoken, plain-language description of where to find it.
        hint: Spoken technique hint ("" when none).
        caution: Spoken caution ("" when none).
        spoken: How the narrator introduces it, when a translation says ("" otherwise).
        used_for: Topic ids the sources use this point for (``back``, ``sleep``, ...).
        sources: Short citations for its location and caution (``WHO 2008``, ...).
    """

    code: str
    name: str
    location: str
    english: str = ""
    aliases: tuple[str, ...] = ()
    meridian: str = ""
    region: str = ""
    side: str = "center"
    techniques: tuple[str, ...] = ("steady",)
    pressure: str = "medium"
    hint: str = ""
    contraindications: tuple[str, ...] = ()
    caution: str = ""
    diagram: DiagramSpot | None = None
    notes: str = ""
    builtin: bool = True
    spoken: str = ""
    used_for: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def spoken_name(self) -> str:
        """The name as the narrator introduces it: "Shenshu, the Sea of Vitality"."""
        if self.spoken:
            return self.spoken
        if self.english and self.english.lower() != self.name.lower():
            return f"{self.name}, the {self.english}"
        return self.name
