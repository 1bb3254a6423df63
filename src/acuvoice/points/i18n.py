"""Translations of the point library: what the narrator says about each point, per language.

A language other than English has a file ``points/data/i18n/<lang>.yaml``::

    version: 1
    language: es
    conditions:
      pregnancy: {spoken: el embarazo, description: ...}
    points:
      BL23: {english: Mar de la Vitalidad, spoken_name: "Shenshu, el Mar de la Vitalidad",
             location: ..., hint: ..., caution: ...}

Every condition and every point of the built-in library must be there, with every spoken
field the English library has (``english``, ``hint`` and ``caution`` only where English has
one): a gap is a :class:`~acuvoice.errors.TranslationError` naming the file and key path,
never a silent fallback to English. :func:`localize` lays a translation over a library for
a session in that language; a routine's own points (``points:``) are written in its
language already and are left as they are.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from acuvoice.errors import TranslationError
from acuvoice.points.library import PointLibrary, builtin_library
from acuvoice.points.model import Condition, Point

#: Where translations live inside the package.
I18N_DIR = "points/data/i18n"
#: The library's own language: it needs no translation.
SOURCE_LANGUAGE = "en"
_POINT_FIELDS = ("english", "spoken_name", "location", "hint", "caution")
_CONDITION_FIELDS = ("spoken", "description")


@dataclass(frozen=True, slots=True)
class PointText:
    """What is said about one point in one language."""

    spoken_name: str
    location: str
    english: str = ""
    hint: str = ""
    caution: str = ""


@dataclass(frozen=True, slots=True)
class Translation:
    """A complete translation of the point library into one language."""

    language: str
    points: Mapping[str, PointText]
    conditions: Mapping[str, Condition]


def translation_file(language: str) -> str:
    """How messages name a translation: ``points/data/i18n/es.yaml``."""
    return f"{I18N_DIR}/{language}.yaml"


def translation_languages() -> list[str]:
    """Languages with a translation of the point library (English, the original, included)."""
    root = resources.files("acuvoice").joinpath(I18N_DIR)
    found = {SOURCE_LANGUAGE}
    if root.is_dir():
        found |= {p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml")}
    return sorted(found)


def parse_translation(text: str, shown: str, library: PointLibrary) -> Translation:
    """Read a translation and check it against ``library`` (the built-in points in it).

    Args:
        text: The YAML of the translation file.
        shown: How messages name the file (``points/data/i18n/es.yaml``).
        library: The library it translates; only its built-in points need translating.

    Raises:
        TranslationError: Every gap and mistake, one per line, each naming its key path.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TranslationError(f"{shown}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TranslationError(f"{shown}: a translation is a mapping with conditions and points")
    problems: list[str] = []
    for key in data:
        if key not in ("version", "language", "conditions", "points"):
            problems.append(f"{shown}: {key}: unknown key")
    if data.get("version") != 1:
        problems.append(f"{shown}: version: should be 1")
    language = data.get("language")
    if not isinstance(language, str) or not language:
        problems.append(f"{shown}: language: missing")
        language = ""
    conditions = _section(data, "conditions", shown, problems)
    points = _section(data, "points", shown, problems)
    out_conditions: dict[str, Condition] = {}
    for cid in library.conditions:
        values = _fields(conditions, cid, f"conditions.{cid}", _CONDITION_FIELDS, shown, problems)
        if values is not None:
            out_conditions[cid] = Condition(cid, values["spoken"], values["description"])
    for cid in conditions:
        if cid not in library.conditions:
            problems.append(f"{shown}: conditions.{cid}: not a condition of the library")
    out_points: dict[str, PointText] = {}
    builtin = {p.code: p for p in library if p.builtin}
    for code, point in builtin.items():
        needed = ["spoken_name", "location"]
        needed += [f for f in ("english", "hint", "caution") if getattr(point, f)]
        values = _fields(points, code, f"points.{code}", tuple(needed), shown, problems)
        if values is not None:
            out_points[code] = PointText(**values)
    for code in points:
        if code not in builtin:
            problems.append(f"{shown}: points.{code}: not a point of the library")
    if problems:
        raise TranslationError("\n".join(problems))
    return Translation(language, out_points, out_conditions)


def _section(data: Mapping[str, Any], key: str, shown: str, problems: list[str]) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        problems.append(f"{shown}: {key}: missing")
        return {}
    if not isinstance(value, dict):
        problems.append(f"{shown}: {key}: should be a mapping")
        return {}
    return {str(k): v for k, v in value.items()}


def _fields(
    section: Mapping[str, Any],
    key: str,
    path: str,
    needed: tuple[str, ...],
    shown: str,
    problems: list[str],
) -> dict[str, str] | None:
    """The fields of one entry: every ``needed`` one is there as text; others are optional."""
    entry = section.get(key)
    if entry is None:
        problems.append(f"{shown}: {path}: missing")
        return None
    if not isinstance(entry, dict):
        problems.append(f"{shown}: {path}: should be a mapping of {', '.join(needed)}")
        return None
    allowed = _POINT_FIELDS if path.startswith("points.") else _CONDITION_FIELDS
    values: dict[str, str] = {}
    ok = True
    for name, value in entry.items():
        if name not in allowed:
            problems.append(f"{shown}: {path}.{name}: unknown field")
            ok = False
        elif not isinstance(value, str):
            problems.append(f"{shown}: {path}.{name}: should be text")
            ok = False
        else:
            values[name] = " ".join(value.split())
    for name in needed:
        if name in entry and isinstance(entry[name], str) and not values.get(name):
            problems.append(f"{shown}: {path}.{name}: empty")
            ok = False
        elif name not in entry:
            problems.append(f"{shown}: {path}.{name}: missing")
            ok = False
    return values if ok else None


@functools.lru_cache(maxsize=8)
def builtin_translation(language: str) -> Translation | None:
    """The shipped translation of the built-in library into ``language`` (a primary tag).

    Returns:
        ``None`` when there is no file for the language.

    Raises:
        TranslationError: The file is incomplete or malformed.
    """
    ref = resources.files("acuvoice").joinpath(I18N_DIR).joinpath(f"{language}.yaml")
    if not ref.is_file():
        return None
    shown = translation_file(language)
    translation = parse_translation(ref.read_text(encoding="utf-8"), shown, builtin_library())
    if translation.language.split("-")[0].lower() != language:
        raise TranslationError(
            f"{shown}: language: says {translation.language!r}, but the file is for {language!r}"
        )
    return translation


def localize(library: PointLibrary, language: str) -> PointLibrary:
    """The library as spoken in ``language``: names, locations, hints, cautions, conditions.

    English (the library's own language) comes back as it is. Points that are not built in
    (a routine's own ``points:``) keep their text.

    Raises:
        TranslationError: There is no translation for the language, or it lacks a point of
            ``library`` (the message names the file and the key).
    """
    primary = language.split("-")[0].lower()
    if primary == SOURCE_LANGUAGE:
        return library
    translation = builtin_translation(primary)
    shown = translation_file(primary)
    if translation is None:
        raise TranslationError(
            f"no translation of the point library for language {language!r}: add {shown} "
            f"(languages with one: {', '.join(translation_languages())})"
        )
    points: list[Point] = []
    for p in library:
        if not p.builtin:
            points.append(p)
            continue
        text = translation.points.get(p.code)
        if text is None:
            raise TranslationError(f"{shown}: points.{p.code}: missing")
        points.append(
            dataclasses.replace(
                p,
                english=text.english,
                spoken=text.spoken_name,
                location=text.location,
                hint=text.hint,
                caution=text.caution,
            )
        )
    conditions = [translation.conditions.get(c.id, c) for c in library.conditions.values()]
    return PointLibrary.build(points, conditions, library.topics.values())
