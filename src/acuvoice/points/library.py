"""Load the point library from package data and look points up by code or alias."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from acuvoice.errors import Problem, RoutineError
from acuvoice.points.model import Condition, DiagramSpot, Point, Topic
from acuvoice.schema import PointIn, PointLibraryIn
from acuvoice.validation import problems_from_validation
from acuvoice.yamlpos import YamlProblems, parse_yaml

_FOLD = re.compile(r"[^0-9a-z]+")


def fold(name: str) -> str:
    """Normalize a code or alias for lookup: case, spaces, dashes and dots do not matter."""
    return _FOLD.sub("", name.lower())


def point_from_input(item: PointIn, *, builtin: bool) -> Point:
    """Convert a validated point entry into a :class:`Point`."""
    return Point(
        code=item.code,
        name=item.name,
        location=item.location,
        english=item.english,
        aliases=tuple(item.aliases),
        meridian=item.meridian,
        region=item.region,
        side=item.side.value,
        techniques=tuple(t.value for t in item.techniques),
        pressure=item.pressure.value,
        hint=item.hint,
        contraindications=tuple(item.contraindications),
        caution=item.caution,
        diagram=DiagramSpot(item.diagram.view, item.diagram.x, item.diagram.y)
        if item.diagram
        else None,
        notes=item.notes,
        builtin=builtin,
        used_for=tuple(item.used_for),
        sources=tuple(item.sources),
    )


@dataclass(frozen=True, slots=True)
class PointLibrary:
    """Points by code, with an index of folded codes and aliases.

    Attributes:
        points: Every point, in library order.
        conditions: Known contraindication ids and how to say them.
        topics: Known topic ids (what points are used for), in library order.
    """

    points: tuple[Point, ...]
    conditions: Mapping[str, Condition]
    topics: Mapping[str, Topic] = field(default_factory=dict)
    _index: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        points: Iterable[Point],
        conditions: Iterable[Condition],
        topics: Iterable[Topic] = (),
    ) -> PointLibrary:
        """Make a library, indexing codes and aliases (codes win over aliases)."""
        pts = tuple(points)
        index: dict[str, str] = {}
        for p in pts:
            for alias in (p.name, *p.aliases):
                index.setdefault(fold(alias), p.code)
        for p in pts:
            index[fold(p.code)] = p.code
        return cls(pts, {c.id: c for c in conditions}, {t.id: t for t in topics}, index)

    def __iter__(self) -> Iterator[Point]:
        return iter(self.points)

    def __len__(self) -> int:
        return len(self.points)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and fold(code) in self._index

    def find(self, name: str) -> Point | None:
        """The point with this code, name or alias (case-insensitive), or ``None``."""
        code = self._index.get(fold(name))
        if code is None:
            return None
        return next(p for p in self.points if p.code == code)

    def get(self, code: str) -> Point:
        """The point with exactly this (canonical) code; ``KeyError`` when absent."""
        found = self.find(code)
        if found is None:
            raise KeyError(code)
        return found

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """Codes of the points whose code, name or alias is closest to ``name``."""
        folded = fold(name)
        matches = difflib.get_close_matches(folded, list(self._index), n=n * 3, cutoff=0.6)
        codes: list[str] = []
        for m in matches:
            code = self._index[m]
            if code not in codes:
                codes.append(code)
        return codes[:n]

    def with_points(self, extra: Iterable[Point]) -> PointLibrary:
        """A library with ``extra`` points added (a routine's custom points)."""
        return PointLibrary.build(
            (*self.points, *extra), self.conditions.values(), self.topics.values()
        )


LIBRARY_FILE = "points/data/points.yaml"


def load_library(path: Path, shown: str | None = None) -> PointLibrary:
    """Load and validate a point library file.

    Raises:
        RoutineError: The file is invalid (every problem, with positions).
    """
    shown = shown or str(path)
    try:
        doc = parse_yaml(path.read_text(encoding="utf-8"), shown)
    except YamlProblems as exc:
        raise RoutineError(exc.problems) from None
    try:
        parsed = PointLibraryIn.model_validate(doc.data)
    except ValidationError as exc:
        raise RoutineError(problems_from_validation(exc, doc, shown, PointLibraryIn)) from None
    problems: list[Problem] = []
    known = {c.id for c in parsed.conditions}
    topic_ids = {t.id for t in parsed.topics}
    seen: set[str] = set()
    for i, item in enumerate(parsed.points):
        mark = doc.mark(("points", i, "code"))
        if item.code in seen:
            problems.append(
                Problem(shown, mark.line, mark.column, f"point {item.code} is defined twice")
            )
        seen.add(item.code)
        for j, cond in enumerate(item.contraindications):
            if cond not in known:
                m = doc.mark(("points", i, "contraindications", j))
                problems.append(Problem(shown, m.line, m.column, f"unknown condition {cond!r}"))
        for j, topic in enumerate(item.used_for):
            if topic not in topic_ids:
                m = doc.mark(("points", i, "used_for", j))
                problems.append(Problem(shown, m.line, m.column, f"unknown topic {topic!r}"))
    if problems:
        raise RoutineError(problems)
    conditions = [Condition(c.id, c.spoken, c.description) for c in parsed.conditions]
    topics = [Topic(t.id, t.description) for t in parsed.topics]
    return PointLibrary.build(
        (point_from_input(p, builtin=True) for p in parsed.points), conditions, topics
    )


@functools.lru_cache(maxsize=1)
def builtin_library() -> PointLibrary:
    """The point library shipped with acuvoice (loaded once)."""
    ref = resources.files("acuvoice").joinpath(LIBRARY_FILE)
    with resources.as_file(ref) as path:
        return load_library(Path(path), shown=f"<acuvoice>/{LIBRARY_FILE}")
