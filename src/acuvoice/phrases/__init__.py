"""Spoken phrase catalogs, one YAML file per language; the compiler speaks only from these."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from acuvoice.errors import CompileError

#: Every key a catalog must define, with the type of its value.
REQUIRED: Mapping[str, type] = {
    "language": str,
    "name": str,
    "chapter_welcome": str,
    "welcome": str,
    "safety_notice": str,
    "avoid_notice_one": str,
    "avoid_notice_many": str,
    "list_and": str,
    "point_intro": str,
    "point_intro_first": str,
    "sides": dict,
    "techniques": dict,
    "pressures": dict,
    "find": str,
    "press": str,
    "reminders": list,
    "release": str,
    "switch": str,
    "repeat": str,
    "breathe_intro_voice": str,
    "breathe_intro_tones": str,
    "breathe_intro_both": str,
    "breathe_in": str,
    "breathe_hold": str,
    "breathe_out": str,
    "closing": str,
}


@dataclass(frozen=True, slots=True)
class Catalog:
    """The phrases of one language.

    Use :meth:`say` for a single phrase and :meth:`choice` for a mapping entry
    (``catalog.choice("sides", "both")``).
    """

    language: str
    phrases: Mapping[str, Any]

    def say(self, key: str, **values: object) -> str:
        """The phrase ``key`` with its ``{placeholders}`` filled."""
        text = self.phrases[key]
        if not isinstance(text, str):
            raise TypeError(f"phrase {key!r} is not a single phrase")
        return " ".join(text.format(**values).split())

    def choice(self, key: str, option: str, **values: object) -> str:
        """The phrase for ``option`` in the mapping ``key``, filled."""
        text = str(self.phrases[key][option])
        return " ".join(text.format(**values).split())

    def variants(self, key: str) -> Sequence[str]:
        """The list of variants under ``key``."""
        return tuple(" ".join(str(v).split()) for v in self.phrases[key])

    def join(self, items: Sequence[str]) -> str:
        """Join words as speech: "a", "a and b", "a, b and c"."""
        if len(items) <= 1:
            return "".join(items)
        return ", ".join(items[:-1]) + str(self.phrases["list_and"]) + items[-1]


def available_languages() -> list[str]:
    """Language tags that have a catalog."""
    root = resources.files("acuvoice").joinpath("phrases")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


@functools.lru_cache(maxsize=8)
def load_catalog(language: str) -> Catalog:
    """The catalog for a BCP 47 tag, falling back from ``en-GB`` to ``en``.

    Raises:
        CompileError: No catalog for the language.
    """
    candidates = [language, language.split("-")[0]]
    root = resources.files("acuvoice").joinpath("phrases")
    for tag in candidates:
        ref = root.joinpath(f"{tag.lower()}.yaml")
        if ref.is_file():
            data = yaml.safe_load(ref.read_text(encoding="utf-8"))
            missing = [k for k, t in REQUIRED.items() if not isinstance(data.get(k), t)]
            if missing:
                raise CompileError(f"phrase catalog {tag!r} lacks {', '.join(missing)}")
            return Catalog(language=tag, phrases=data)
    raise CompileError(
        f"no spoken phrases for language {language!r}; available: {', '.join(available_languages())}"
    )
