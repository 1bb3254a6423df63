"""The application layer: one render request and the functions every front end calls.

The command line, the web server and batch renders translate their input into a
:class:`RenderRequest` and call :func:`validate` (every check before any synthesis),
:func:`render` (into a folder, with progress, all or nothing) or :func:`script`; the
request's :attr:`CheckedRequest.key` names its result for caches and resumable batches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acuvoice.app.checks import CheckedRequest, validate
    from acuvoice.app.key import content_key
    from acuvoice.app.request import (
        CoverChoice,
        OutputChoices,
        RenderRequest,
        RoutineRef,
        TagOverrides,
    )
    from acuvoice.app.run import (
        FitRange,
        RenderOutcome,
        RoutineSummary,
        ScriptOutcome,
        builtin_summaries,
        check_routine,
        fit_range,
        render,
        script,
        summarize,
    )
    from acuvoice.session import SessionOptions

# Imported now (it is light): ``acuvoice.app.plan`` is a module as well as a function here,
# and the function must win whichever is imported first.
from acuvoice.app.plan import PlanOutcome, PlanRequest, plan, plan_levels, save_plan

#: Where each name lives: a module is imported only when one of its names is first asked
#: for, so ``validate`` or ``script --engine estimate`` never loads the audio stack.
_HOMES = {
    "CheckedRequest": "checks",
    "validate": "checks",
    "content_key": "key",
    "CoverChoice": "request",
    "OutputChoices": "request",
    "RenderRequest": "request",
    "RoutineRef": "request",
    "TagOverrides": "request",
    "FitRange": "timelines",
    "RenderOutcome": "run",
    "RoutineSummary": "timelines",
    "ScriptOutcome": "timelines",
    "builtin_summaries": "timelines",
    "check_routine": "timelines",
    "fit_range": "timelines",
    "render": "run",
    "script": "timelines",
    "summarize": "timelines",
}


def __getattr__(name: str) -> Any:
    """Import a name's module when the name is first used (PEP 562)."""
    if name == "SessionOptions":
        from acuvoice.session import SessionOptions

        return SessionOptions
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CheckedRequest",
    "CoverChoice",
    "FitRange",
    "OutputChoices",
    "PlanOutcome",
    "PlanRequest",
    "RenderOutcome",
    "RenderRequest",
    "RoutineRef",
    "RoutineSummary",
    "ScriptOutcome",
    "SessionOptions",
    "TagOverrides",
    "builtin_summaries",
    "check_routine",
    "content_key",
    "fit_range",
    "plan",
    "plan_levels",
    "render",
    "save_plan",
    "script",
    "summarize",
    "validate",
]
