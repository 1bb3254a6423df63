"""Build a personal routine, or a practice plan of them: what `acuvoice plan` and the web
page's "Build my session" form call."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from acuvoice.errors import OutputError, UsageError
from acuvoice.files import write_text_atomic
from acuvoice.plan.content import plan_content
from acuvoice.units import describe_ms

if TYPE_CHECKING:  # the builder, the compiler and the point library load when a plan is made
    from acuvoice.plan.builder import BuiltPlan, PlanAnswers
    from acuvoice.plan.practice import PracticePlan
    from acuvoice.points.library import PointLibrary


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What a listener asks `acuvoice plan` for.

    Attributes:
        concerns: Topic ids (``back``, ``stress``...; ``acuvoice points --topics``).
        minutes: The length of each session, in whole minutes.
        avoid: The listener's conditions (``pregnancy``...; ``acuvoice points --conditions``).
        level: ``beginner``, ``intermediate``, ``experienced`` or ``gentle``.
        language: The routine's language (English only so far).
        days: For a practice plan, how many days; ``None`` for one routine.
    """

    concerns: tuple[str, ...]
    minutes: int
    avoid: tuple[str, ...] = ()
    level: str = "beginner"
    language: str = "en"
    days: int | None = None

    @property
    def answers(self) -> PlanAnswers:
        from acuvoice.plan.builder import PlanAnswers

        return PlanAnswers(self.concerns, self.minutes, self.avoid, self.level, self.language)


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    """A built plan: its files (name -> text) and what to tell the user.

    Attributes:
        routine: The routine, for a single plan.
        practice: The practice plan, with ``days``.
        files: File names and texts, the one to write last (``plan.yaml``) last.
        lines: A short account for people: the points, holds, what was left out.
    """

    request: PlanRequest
    routine: BuiltPlan | None
    practice: PracticePlan | None
    files: dict[str, str] = field(default_factory=dict)
    lines: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The routine's YAML (for a practice plan, that of ``plan.yaml``)."""
        if self.routine is not None:
            return self.routine.text
        assert self.practice is not None
        return self.practice.files["plan.yaml"]


def plan(request: PlanRequest, *, library: PointLibrary | None = None) -> PlanOutcome:
    """Build the routine (or practice plan) the request asks for. Pure: writes nothing.

    Raises:
        UsageError: Invalid answers (unknown concern, condition, level; minutes or days
            out of range).
        PlanError: No session can be made for these answers; says why and what can.
    """
    from acuvoice.plan.builder import build_plan
    from acuvoice.plan.practice import build_practice_plan
    from acuvoice.points.library import builtin_library

    library = library or builtin_library()
    if request.days is None:
        built = build_plan(request.answers, library)
        name = f"{built.routine.name}.yaml"
        return PlanOutcome(request, built, None, {name: built.text}, _describe(built))
    practice = build_practice_plan(request.answers, request.days, library)
    lines = [f"{practice.title}, {len(practice.stages)} stage(s):"]
    for stage in practice.stages:
        lines.append(f"  days {stage.days} ({stage.level}): {stage.file}")
        lines.extend("    " + line for line in _describe(stage.built))
    return PlanOutcome(request, None, practice, dict(practice.files), tuple(lines))


def _describe(built: BuiltPlan) -> tuple[str, ...]:
    holds = built.holds_ms
    lines = [
        f"{built.routine.title}: {built.answers.minutes} min, {len(built.points)} point"
        f"{'s' if len(built.points) != 1 else ''} ({', '.join(built.points)}), holds of "
        f"{describe_ms(min(holds))}"
        + (f" to {describe_ms(max(holds))}" if max(holds) != min(holds) else "")
        + f" ({built.answers.level})"
    ]
    for lo in built.left_out:
        lines.append(f"left out {lo.code} {lo.name}: {lo.why}")
    return tuple(lines)


def save_plan(outcome: PlanOutcome, destination: Path, *, force: bool = False) -> list[Path]:
    """Write the plan: a routine to the file ``destination``, a practice plan into the
    folder ``destination`` (made if missing). All or nothing: on any failure no file of
    this call is left behind.

    Raises:
        OutputError: The destination exists (without ``force``), has the wrong suffix, or
            its folder does not exist.
        ExportError: A file could not be written.
    """
    if outcome.practice is None:
        if destination.suffix.lower() not in (".yaml", ".yml"):
            raise OutputError(
                f"{destination}: a routine is a .yaml file; name it like my-routine.yaml"
            )
        if destination.is_dir():
            raise OutputError(f"{destination} is a folder; name a .yaml file to write")
        if destination.exists() and not force:
            raise OutputError(f"{destination} already exists; choose another name")
        if not destination.parent.is_dir():
            raise OutputError(f"cannot write {destination}: its folder does not exist")
        write_text_atomic(destination, outcome.text)
        return [destination]
    if destination.suffix.lower() in (".yaml", ".yml"):
        raise OutputError(
            f"{destination}: a practice plan is a folder of routines (for example "
            "-o back-plan); name a folder, not a .yaml file"
        )
    if destination.exists() and not destination.is_dir():
        raise OutputError(f"{destination} exists and is not a folder")
    made = not destination.exists()
    if made and not destination.parent.is_dir():
        raise OutputError(f"cannot make {destination}: its folder does not exist")
    clash = [n for n in outcome.files if (destination / n).exists()]
    if clash and not force:
        raise OutputError(f"{destination} already holds {', '.join(clash)}; choose another folder")
    written: list[Path] = []
    try:
        destination.mkdir(exist_ok=True)
        for name, text in outcome.files.items():  # plan.yaml comes last
            path = destination / name
            write_text_atomic(path, text)
            written.append(path)
    except BaseException:
        if not clash:
            for path in written:
                path.unlink(missing_ok=True)
            if made:
                with contextlib.suppress(OSError):
                    os.rmdir(destination)
        raise
    return written


def plan_levels(language: str = "en") -> dict[str, str]:
    """The levels a plan may be built for, with their descriptions."""
    try:
        return {k: v.description for k, v in plan_content(language).levels.items()}
    except UsageError:
        return {}
