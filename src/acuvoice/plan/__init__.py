"""Personal routines built from the point library (`acuvoice plan`) and practice plans."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from acuvoice.plan.limits import MAX_CONCERNS, MAX_MINUTES, MIN_MINUTES

if TYPE_CHECKING:
    from acuvoice.plan.builder import (
        BuiltPlan,
        LeftOut,
        PlanAnswers,
        PlanError,
        build_plan,
        check_answers,
    )
    from acuvoice.plan.content import PLAN_LANGUAGES, plan_content

#: Where each name lives: the builder (and the compiler and point library under it) is
#: imported when one of its names is first used, not for the limits alone.
_HOMES = {
    "BuiltPlan": "builder",
    "LeftOut": "builder",
    "PlanAnswers": "builder",
    "PlanError": "builder",
    "build_plan": "builder",
    "check_answers": "builder",
    "PLAN_LANGUAGES": "content",
    "plan_content": "content",
}


def __getattr__(name: str) -> Any:
    """Import a name's module when the name is first used (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "MAX_CONCERNS",
    "MAX_MINUTES",
    "MIN_MINUTES",
    "PLAN_LANGUAGES",
    "BuiltPlan",
    "LeftOut",
    "PlanAnswers",
    "PlanError",
    "build_plan",
    "check_answers",
    "plan_content",
]
