"""Turn pydantic validation errors into positioned, plain-language problems with hints."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from acuvoice import schema
from acuvoice.errors import Problem
from acuvoice.schema import STEP_ACTIONS, step_action
from acuvoice.yamlpos import Document, Path_


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ``"; did you mean 'x'?"`` suffix when a close match exists, else ``""``."""
    matches = difflib.get_close_matches(word.lower(), [c.lower() for c in choices], n=3, cutoff=0.6)
    if not matches:
        return ""
    originals = {c.lower(): c for c in choices}
    names = " or ".join(repr(originals[m]) for m in matches)
    return f"; did you mean {names}?"


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _model_at(
    model: type[BaseModel], loc: Sequence[str | int], data: Any
) -> type[BaseModel] | None:
    """Follow ``loc`` through nested models to the model that owns its last key.

    Inside ``steps`` the model is chosen by the step's action key, as the discriminator does.
    """
    current: Any = model
    value = data
    for part in loc[:-1]:
        value = _get(value, [part])
        if isinstance(part, int):
            if isinstance(value, dict) and current is not None and _is_step_list(current):
                current = _step_model(step_action(value) or "")
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = field.annotation if part == "steps" else _inner_model(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _is_step_list(annotation: Any) -> bool:
    return not (isinstance(annotation, type) and issubclass(annotation, BaseModel))


def _step_model(action: str) -> type[BaseModel] | None:
    names: dict[str, type[BaseModel]] = {
        "say": schema.SayStepIn,
        "pause": schema.PauseStepIn,
        "cue": schema.CueStepIn,
        "breathe": schema.BreatheStepIn,
        "press": schema.PressStepIn,
        "chapter": schema.ChapterStepIn,
        "include": schema.IncludeStepIn,
    }
    return names.get(action)


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside ``X | None`` or ``tuple[X, ...]``, or the annotation itself."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    return annotation


def _strip_tag(loc: Sequence[str | int]) -> Path_:
    """Drop the union tag pydantic puts after a step index: ``steps.3.press.hold`` -> ``steps.3.hold``."""
    if len(loc) > 2 and loc[0] == "steps" and isinstance(loc[1], int) and loc[2] in STEP_ACTIONS:
        return (loc[0], loc[1], *loc[3:])
    return tuple(loc)


def _get(data: Any, path: Sequence[str | int]) -> Any:
    value = data
    for part in path:
        if isinstance(value, dict) and isinstance(part, str):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            return None
    return value


def _describe_key(path: Path_) -> str:
    names = [str(p) for p in path if isinstance(p, str)]
    return names[-1] if names else "value"


def problems_from_validation(
    exc: ValidationError, doc: Document, shown: str, model: type[BaseModel]
) -> list[Problem]:
    """Translate every error in ``exc`` into a :class:`Problem` at its line and column.

    Args:
        exc: The pydantic error raised while validating ``doc.data`` against ``model``.
        doc: The document with positions.
        shown: The file name used in messages.
        model: The top-level model, used to suggest keys.
    """
    problems: list[Problem] = []
    seen: set[tuple[Path_, str]] = set()
    errors = exc.errors(include_url=False)
    paths = [_strip_tag(err["loc"]) for err in errors]
    for err, path in zip(errors, paths, strict=True):
        if err["type"] == "too_short" and any(
            len(other) > len(path) and other[: len(path)] == path for other in paths
        ):
            continue  # the items are wrong, not the list: those errors say more.
        kind = err["type"]
        value = err.get("input")
        key = _describe_key(path)
        at_key = False
        if kind == "extra_forbidden":
            owner = _model_at(model, path, doc.data)
            fields = list(owner.model_fields) if owner else []
            parent = _get(doc.data, path[:-1])
            hint = ""
            if isinstance(parent, dict) and path[-1] in STEP_ACTIONS:
                others = [
                    k
                    for k in STEP_ACTIONS
                    if k in parent and not (k == "say" and "press" in parent)
                ]
                hint = f"; a step has one action, and this one has {', '.join(others)}: split it into separate steps"
            else:
                hint = did_you_mean(str(path[-1]), fields)
                if not hint and fields:
                    hint = f"; allowed here: {', '.join(fields)}"
            message = f"unknown key {path[-1]!r}{hint}"
            at_key = True
        elif kind == "step_action":
            message = _step_action_message(value)
        elif kind == "missing":
            message = f"missing required key {key!r}"
            if path == ("title",) and isinstance(doc.data, dict) and "steps" in doc.data:
                message += " (a file meant only for `include` may leave it out, but is not a routine on its own)"
            path = path[:-1]
        elif kind in {"enum", "literal_error"}:
            expected = err.get("ctx", {}).get("expected", "")
            choices = [
                c.strip().strip("'\"")
                for c in expected.replace(" or ", ",").split(",")
                if c.strip()
            ]
            if key == "acuvoice":
                message = f"this program reads routine format 1, but the file says {value!r}"
            else:
                message = f"{key}: {value!r} is not one of {', '.join(choices)}{did_you_mean(str(value), choices)}"
        elif kind == "value_error":
            cause = str(err.get("ctx", {}).get("error", err["msg"]))
            message = f"{key}: {cause}"
        elif kind.endswith("_type") or kind.endswith("_parsing") or kind == "model_type":
            wanted = {
                "string_type": "text",
                "int_type": "a whole number",
                "int_parsing": "a whole number",
                "int_from_float": "a whole number",
                "float_type": "a number",
                "float_parsing": "a number",
                "bool_type": "true or false",
                "bool_parsing": "true or false",
                "model_type": "a mapping of keys",
                "dict_type": "a mapping of keys",
                "tuple_type": "a list",
                "list_type": "a list",
            }.get(kind, err["msg"].lower())
            message = f"{key}: expected {wanted}, got {_type_name(value)}"
        else:
            message = f"{key}: {err['msg'][0].lower()}{err['msg'][1:]}"
        if (path, message) in seen:
            continue
        seen.add((path, message))
        mark = doc.mark(path, key=at_key)
        problems.append(Problem(shown, mark.line, mark.column, message))
    return problems


def _step_action_message(value: Any) -> str:
    actions = ", ".join(STEP_ACTIONS)
    if not isinstance(value, dict):
        return f'a step must be a mapping with one action key ({actions}), like `- say: "Hello"`'
    found = [k for k in STEP_ACTIONS if k in value and not (k == "say" and "press" in value)]
    if len(found) > 1:
        return f"a step has one action, and this one has {', '.join(found)}: split it into separate steps"
    unknown = [k for k in value if k not in STEP_ACTIONS]
    hint = ""
    for key in unknown:
        hint = did_you_mean(str(key), STEP_ACTIONS)
        if hint:
            hint = f" (for {key!r}, {hint[2:-1]}?)"
            break
    return f"a step needs one action key: {actions}{hint}"
