"""Routines: the model (here), the loader (``routine.loader``) and lint (``routine.lint``)."""

from __future__ import annotations

from acuvoice.routine.model import (
    BreatheStep,
    BreathGuide,
    ChapterStep,
    CueStep,
    Gate,
    Origin,
    PauseStep,
    PressStep,
    Pressure,
    Routine,
    RoutineFile,
    SayStep,
    Side,
    Sound,
    Step,
    Technique,
    Voice,
)

__all__ = [
    "BreathGuide",
    "BreatheStep",
    "ChapterStep",
    "CueStep",
    "Gate",
    "Origin",
    "PauseStep",
    "PressStep",
    "Pressure",
    "Routine",
    "RoutineFile",
    "SayStep",
    "Side",
    "Sound",
    "Step",
    "Technique",
    "Voice",
]
