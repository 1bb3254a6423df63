"""Practice plans: a daily routine over days or weeks, progressing in stages.

The low back trial behind the built-in sessions had people press daily for six weeks; the
sources start beginners at short holds and build to 1-2 minutes, up to 3 minutes a point.
A practice plan therefore has up to three stages, each a routine built by
:func:`acuvoice.plan.build_plan` for a longer-holding level:

- days 1-7: the asked level (``beginner``: holds of about 45 s);
- up to day 21: ``intermediate`` (about 1.5 min, at most 2 min);
- the rest: ``experienced`` (about 2 min, at most 3 min, as in the trial).

A plan asked at ``intermediate`` starts there, one at ``experienced`` keeps it throughout,
and ``gentle`` (on medication, frail) never progresses. Each day is one numbered episode of
the series (what a feed publishes); consecutive days of a stage share its routine file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import yaml

from acuvoice.errors import UsageError
from acuvoice.plan.builder import BuiltPlan, PlanAnswers, build_plan, check_answers
from acuvoice.plan.content import plan_content
from acuvoice.plan.limits import MAX_DAYS
from acuvoice.points.library import PointLibrary, builtin_library

#: Where each level's stage ends (the last day), and the level that follows.
_PROGRESSION = {"beginner": (7, "intermediate"), "intermediate": (21, "experienced")}


@dataclass(frozen=True, slots=True)
class Stage:
    """Consecutive days practising one routine."""

    first_day: int
    last_day: int
    level: str
    file: str
    built: BuiltPlan

    @property
    def days(self) -> str:
        return (
            f"{self.first_day}"
            if self.first_day == self.last_day
            else f"{self.first_day}-{self.last_day}"
        )


@dataclass(frozen=True, slots=True)
class PracticePlan:
    """A plan of ``days`` daily sessions in stages; ``files`` maps file names to their text."""

    answers: PlanAnswers
    days: int
    title: str
    stages: tuple[Stage, ...]
    files: dict[str, str]


def stage_levels(level: str, days: int) -> list[tuple[int, int, str]]:
    """``(first_day, last_day, level)`` for each stage of a plan starting at ``level``."""
    out: list[tuple[int, int, str]] = []
    first = 1
    while first <= days:
        ends = _PROGRESSION.get(level)
        last = days if ends is None else min(days, ends[0])
        out.append((first, last, level))
        first = last + 1
        if ends is not None:
            level = ends[1]
    return out


def build_practice_plan(
    answers: PlanAnswers, days: int, library: PointLibrary | None = None
) -> PracticePlan:
    """A practice plan of ``days`` daily sessions for ``answers``.

    Raises:
        UsageError: ``days`` out of range, or the answers are invalid.
        PlanError: A stage's routine cannot be made (the message names the stage's level).
    """
    library = library or builtin_library()
    if not 2 <= days <= MAX_DAYS:
        raise UsageError(f"a practice plan lasts 2 to {MAX_DAYS} days, not {days}")
    answers = check_answers(answers, library)
    content = plan_content(answers.language)
    stages: list[Stage] = []
    files: dict[str, str] = {}
    width = len(str(days))
    for first, last, level in stage_levels(answers.level, days):
        stage_answers = dataclasses.replace(answers, level=level)
        built = build_plan(stage_answers, library)
        name = (
            f"day-{first:0{width}d}.yaml"
            if first == last
            else f"days-{first:0{width}d}-{last:0{width}d}.yaml"
        )
        stages.append(Stage(first, last, level, name, built))
        files[name] = built.text
    topic_titles = [content.topics[c].title for c in answers.concerns]
    joined = " and ".join(topic_titles)
    name = f"{joined[0].upper()}{joined[1:]}"
    title = f"{name}: {days} days of practice"
    files["plan.yaml"] = _plan_text(answers, days, name, title, stages)
    return PracticePlan(answers, days, title, tuple(stages), files)


def _plan_text(answers: PlanAnswers, days: int, name: str, title: str, stages: list[Stage]) -> str:
    episodes = []
    for stage in stages:
        for day in range(stage.first_day, stage.last_day + 1):
            episodes.append(
                {
                    "number": day,
                    "title": f"{name}, day {day} of {days}",
                    "routine": stage.file,
                }
            )
    data = {
        "acuvoice_plan": 1,
        "title": title,
        "language": answers.language,
        "asked": f"{answers.describe()}; {days} days",
        "concerns": list(answers.concerns),
        "minutes": answers.minutes,
        "avoid": list(answers.avoid),
        "days": days,
        "stages": [
            {
                "days": s.days,
                "level": s.level,
                "routine": s.file,
                "points": list(s.built.points),
                "hold_seconds": round(sum(s.built.holds_ms) / max(1, len(s.built.holds_ms)) / 1000),
            }
            for s in stages
        ],
        "episodes": episodes,
    }
    header = (
        "# A practice plan written by `acuvoice plan`: one session a day, the holds growing\n"
        "# from stage to stage as the sources advise (short holds at first, building to 1-2\n"
        "# minutes, never more than 3 minutes on one point). Each stage's routine is its own\n"
        "# file; render each once (for example: acuvoice render days-01-07.yaml). The\n"
        "# episodes list numbers every day of the series for a podcast feed.\n"
        "# Practising daily is what the low back trial did (6 weeks); stop and see a doctor\n"
        "# if anything gets worse.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88)
