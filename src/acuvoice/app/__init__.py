"""The application layer: one render request and the functions every front end calls.

The command line, the web server and batch renders translate their input into a
:class:`RenderRequest` and call :func:`validate` (every check before any synthesis),
:func:`render` (into a folder, with progress, all or nothing) or :func:`script`; the
request's :attr:`CheckedRequest.key` names its result for caches and resumable batches.
"""

from __future__ import annotations

from acuvoice.app.checks import CheckedRequest, validate
from acuvoice.app.key import content_key
from acuvoice.app.plan import PlanOutcome, PlanRequest, plan, plan_levels, save_plan
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
from acuvoice.render import SessionOptions

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
