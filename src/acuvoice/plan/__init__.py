"""Personal routines built from the point library (`acuvoice plan`) and practice plans."""

from __future__ import annotations

from acuvoice.plan.builder import (
    MAX_CONCERNS,
    MAX_MINUTES,
    MIN_MINUTES,
    BuiltPlan,
    LeftOut,
    PlanAnswers,
    PlanError,
    build_plan,
    check_answers,
)
from acuvoice.plan.content import PLAN_LANGUAGES, plan_content

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
