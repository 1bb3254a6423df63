"""The content `acuvoice plan` builds routines from: levels, body-region groups, topics."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from acuvoice.errors import UsageError
from acuvoice.units import parse_duration_ms

#: Languages `acuvoice plan` has content for.
PLAN_LANGUAGES = ("en",)


@dataclass(frozen=True, slots=True)
class Level:
    """The dose for a listener's experience: holds fitted between ``min_hold_ms`` and
    ``max_hold_ms``, written as ``hold_ms``."""

    id: str
    description: str
    hold_ms: int
    min_hold_ms: int
    max_hold_ms: int
    pressure: str | None
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Group:
    """Body regions visited together (one chapter), and what is said on arriving there."""

    id: str
    title: str
    regions: tuple[str, ...]
    say: str


@dataclass(frozen=True, slots=True)
class TopicContent:
    """What a plan presses and says for one concern."""

    id: str
    title: str
    points: tuple[str, ...]
    about: str
    red_flags: str
    cautions: MappingProxyType[str, str]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlanContent:
    """Everything `acuvoice plan` says in one language."""

    language: str
    levels: MappingProxyType[str, Level]
    groups: tuple[Group, ...]
    opening: MappingProxyType[str, str]
    closing: MappingProxyType[str, str]
    topics: MappingProxyType[str, TopicContent]
    sources: MappingProxyType[str, str]

    def group_of(self, region: str) -> int:
        """The index of the group a body region belongs to (unknown regions come last)."""
        for i, g in enumerate(self.groups):
            if region in g.regions:
                return i
        return len(self.groups)


def _text(value: Any) -> str:
    return " ".join(str(value).split())


@cache
def plan_content(language: str = "en") -> PlanContent:
    """The plan content for ``language`` (a primary tag such as ``en``).

    Raises:
        UsageError: There is no plan content in that language.
    """
    primary = language.split("-")[0].lower()
    if primary not in PLAN_LANGUAGES:
        raise UsageError(
            f"personal routines are built in {', '.join(PLAN_LANGUAGES)} only so far, not "
            f"{language!r}; build one in English and translate its texts, or use a built-in "
            "routine in that language"
        )
    raw = yaml.safe_load(
        resources.files("acuvoice")
        .joinpath(f"plan/data/{primary}.yaml")
        .read_text(encoding="utf-8")
    )
    sources = {k: _text(v) for k, v in raw["sources"].items()}
    levels = {
        k: Level(
            k,
            _text(v["description"]),
            parse_duration_ms(v["hold"]),
            parse_duration_ms(v["min_hold"]),
            parse_duration_ms(v["max_hold"]),
            v.get("pressure"),
            tuple(v["sources"]),
        )
        for k, v in raw["levels"].items()
    }
    groups = tuple(
        Group(g["id"], g["title"], tuple(g["regions"]), _text(g["say"])) for g in raw["groups"]
    )
    topics = {
        k: TopicContent(
            k,
            v["title"],
            tuple(v["points"]),
            _text(v["about"]),
            _text(v["red_flags"]),
            MappingProxyType({c: _text(r) for c, r in (v.get("cautions") or {}).items()}),
            tuple(v["sources"]),
        )
        for k, v in raw["topics"].items()
    }
    for t in topics.values():
        missing = [s for s in t.sources if s not in sources]
        if missing:  # pragma: no cover - a packaging mistake, caught by the tests
            raise AssertionError(f"plan topic {t.id}: unknown sources {missing}")
    return PlanContent(
        primary,
        MappingProxyType(levels),
        groups,
        MappingProxyType({k: _text(v) for k, v in raw["opening"].items()}),
        MappingProxyType({k: _text(v) for k, v in raw["closing"].items()}),
        MappingProxyType(topics),
        MappingProxyType(sources),
    )
