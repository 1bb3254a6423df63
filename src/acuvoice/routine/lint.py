"""Warnings about valid routines that may still mislead or harm a listener."""

from __future__ import annotations

import functools

from acuvoice.errors import Problem, Severity
from acuvoice.points.library import PointLibrary
from acuvoice.routine.model import PressStep, Pressure, Routine, SayStep

#: Longest advised hold on one point (Acupressure Institute beginners' guide).
ADVISED_MAX_HOLD_MS = 3 * 60_000
#: Conditions a routine must warn about when it uses a point contraindicated for them.
MUST_WARN = ("pregnancy",)


def lint_routine(routine: Routine, library: PointLibrary) -> list[Problem]:
    """Warnings for a loaded routine: long holds, unannounced pregnancy risks, heavy pressure.

    A pregnancy-contraindicated point needs either ``cautions: [pregnancy]``, a spoken
    caution in the point's library entry, or a ``say`` step that mentions pregnancy.
    """
    library = library.with_points(routine.points) if routine.points else library
    spoken = " ".join(s.text.lower() for s in routine.steps if isinstance(s, SayStep))
    out: list[Problem] = []
    for step in routine.steps:
        if not isinstance(step, PressStep):
            continue
        point = library.get(step.point)
        warn = functools.partial(_warn, out, step)
        if step.hold_ms > ADVISED_MAX_HOLD_MS:
            warn(
                f"{point.code}: a hold of {step.hold_ms / 60000:g} min is longer than the 3 minutes "
                "advised on one point"
            )
        for cond in MUST_WARN:
            if cond not in point.contraindications or cond in routine.cautions:
                continue
            spoken_name = library.conditions[cond].spoken
            if point.caution or spoken_name.lower()[:7] in spoken:
                continue
            warn(
                f"{point.code} is not advised during {spoken_name}, but the routine neither lists "
                f"`cautions: [{cond}]` nor says so; add one of them"
            )
        if step.pressure is Pressure.FIRM and point.pressure == "light":
            warn(f"{point.code} ({point.name}) calls for light pressure; `pressure: firm` may hurt")
    return out


def _warn(out: list[Problem], step: PressStep, message: str) -> None:
    where = step.origin
    out.append(Problem(where.path, where.line, where.column, message, Severity.WARNING))
