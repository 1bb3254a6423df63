"""Spoken phrase catalogs, one YAML file per language; the compiler speaks only from these."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from acuvoice.errors import CompileError, TranslationError

#: Every key a catalog must define, with the type of its value. Every other catalog must
#: also have every key (nested too) that the English one has: see :func:`load_catalog`.
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
    "press_hold": str,
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
    "numbers": list,
    "counted": dict,
    "durations": dict,
    "labels": dict,
}

#: The reference catalog: every other one has each of its keys.
REFERENCE = "en"
#: Numbers every catalog can say as words (0 up to this).
MIN_NUMBERS = 60
#: Keys whose entries may differ between catalogs (lists of variants, number forms).
_FREE = frozenset({"reminders", "numbers", "counted"})
_PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_]*)\}")


def placeholders(text: str) -> frozenset[str]:
    """The ``{placeholders}`` a phrase uses."""
    return frozenset(_PLACEHOLDER.findall(text))


def catalog_file(tag: str) -> str:
    """How messages name a catalog file: ``phrases/es.yaml``."""
    return f"phrases/{tag}.yaml"


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

    def label(self, key: str, option: str | None = None, **values: object) -> str:
        """A written label (``labels.<key>``, or ``labels.<key>.<option>``), filled."""
        entry = self.phrases["labels"][key]
        text = str(entry if option is None else entry[option])
        return " ".join(text.format(**values).split())

    def count(self, key: str, n: int) -> str:
        """A counted label: ``labels.<key>.one`` for 1, ``.other`` with digits otherwise."""
        return self.label(key, "one" if n == 1 else "other", n=n)

    def number(self, n: int) -> str:
        """The number ``n`` as a word ("forty-five"), for countdowns and durations.

        Raises:
            ValueError: The catalog has no word for ``n`` (it has 0 to at least 60).
        """
        words = self.phrases["numbers"]
        if not 0 <= n < len(words):
            raise ValueError(
                f"{catalog_file(self.language)} says numbers 0 to {len(words) - 1}, not {n}"
            )
        return str(words[n])

    def counted(self, n: int) -> str:
        """The number ``n`` as said before a counted noun ("un minuto", "eine Minute")."""
        forms = self.phrases["counted"]
        return str(forms[n]) if n in forms else self.number(n)

    @property
    def max_duration_ms(self) -> int:
        """The longest duration :meth:`duration` can say (as many minutes as it has numbers)."""
        return (len(self.phrases["numbers"]) - 1) * 60_000 + 14_999

    def duration(self, ms: int) -> str:
        """A length as spoken: "thirty seconds", "one minute", "one and a half minutes".

        As a person says it: under 20 s in whole seconds (at least one), then to the nearest
        5 seconds ("forty-five seconds" for 46 s), from a minute on in whole and half
        minutes, to the nearest half minute (61 s is "one minute", 75 s "one and a half
        minutes").

        Raises:
            ValueError: Longer than :attr:`max_duration_ms`.
        """
        seconds = max(1, math.floor(ms / 1000 + 0.5))
        if seconds >= 20:
            seconds = 5 * math.floor(ms / 5000 + 0.5)
        if seconds < 60:
            key, n = "seconds", seconds
        else:
            minutes, half = divmod(math.floor(ms / 30_000 + 0.5), 2)
            key, n = ("minutes_half" if half else "minutes"), minutes
        if ms > self.max_duration_ms:
            raise ValueError(f"{catalog_file(self.language)} cannot say {ms} ms as a duration")
        form = "one" if n == 1 else "other"
        text = str(self.phrases["durations"][key][form])
        return " ".join(text.format(n=self.counted(n)).split())

    def join(self, items: Sequence[str]) -> str:
        """Join words as speech: "a", "a and b", "a, b and c"."""
        if len(items) <= 1:
            return "".join(items)
        return ", ".join(items[:-1]) + str(self.phrases["list_and"]) + items[-1]


def available_languages() -> list[str]:
    """Language tags that have a catalog."""
    root = resources.files("acuvoice").joinpath("phrases")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def _read(tag: str) -> dict[str, Any] | None:
    ref = resources.files("acuvoice").joinpath("phrases").joinpath(f"{tag}.yaml")
    if not ref.is_file():
        return None
    try:
        data = yaml.safe_load(ref.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TranslationError(f"{catalog_file(tag)}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TranslationError(f"{catalog_file(tag)}: a catalog is a mapping of phrases")
    return data


def check_catalog(tag: str, data: Mapping[str, Any], reference: Mapping[str, Any]) -> list[str]:
    """Every problem of catalog ``tag`` measured against the reference (English) one.

    Each problem names the file and the key path (``phrases/es.yaml: labels.sources:
    missing``): a key the reference has, a value of another kind, a placeholder the
    reference does not fill for that key, or too few numbers.
    """
    shown = catalog_file(tag)
    out: list[str] = []
    for key, kind in REQUIRED.items():
        if key not in data:
            out.append(f"{shown}: {key}: missing")
        elif not isinstance(data[key], kind):
            out.append(f"{shown}: {key}: should be a {_KINDS[kind]}")
    numbers = data.get("numbers")
    if isinstance(numbers, list) and (
        len(numbers) <= MIN_NUMBERS or not all(isinstance(w, str) and w for w in numbers)
    ):
        out.append(f"{shown}: numbers: needs a word for each number from 0 to {MIN_NUMBERS}")
    counted = data.get("counted")
    if isinstance(counted, dict) and not all(
        isinstance(k, int) and isinstance(v, str) for k, v in counted.items()
    ):
        out.append(f"{shown}: counted: maps numbers to words")

    def walk(ours: Any, theirs: Any, path: str) -> None:
        if isinstance(theirs, dict):
            if not isinstance(ours, dict):
                out.append(f"{shown}: {path}: should be a mapping")
                return
            for k, v in theirs.items():
                if k not in ours:
                    out.append(f"{shown}: {path}.{k}: missing")
                else:
                    walk(ours[k], v, f"{path}.{k}")
        elif isinstance(theirs, str):
            if not isinstance(ours, str):
                out.append(f"{shown}: {path}: should be a single phrase")
                return
            extra = placeholders(ours) - placeholders(theirs)
            if extra:
                names = ", ".join(f"{{{x}}}" for x in sorted(extra))
                out.append(f"{shown}: {path}: unknown placeholder {names}")

    for key in REQUIRED:
        if key in data and key in reference and key not in _FREE:
            walk(data[key], reference[key], key)
    return out


_KINDS: dict[type, str] = {str: "single phrase", dict: "mapping", list: "list"}


@functools.lru_cache(maxsize=8)
def load_catalog(language: str) -> Catalog:
    """The catalog for a BCP 47 tag, falling back from ``en-GB`` to ``en``.

    Every catalog must have every key the English one has (nested keys too), with the same
    kind of value and no placeholder English does not fill: a missing phrase is an error that
    names it, never a silent fallback to English.

    Raises:
        CompileError: No catalog for the language.
        TranslationError: The catalog lacks a key or has a malformed one.
    """
    candidates = [language.lower(), language.split("-")[0].lower()]
    for tag in candidates:
        data = _read(tag)
        if data is None:
            continue
        reference = data if tag == REFERENCE else _read(REFERENCE) or {}
        problems = check_catalog(tag, data, reference)
        if problems:
            raise TranslationError("\n".join(problems))
        return Catalog(language=tag, phrases=data)
    raise CompileError(
        f"no spoken phrases for language {language!r}; available: {', '.join(available_languages())}"
    )
