"""Build a personal routine from the point library: `acuvoice plan`.

A pure function of the answers (concerns, minutes, profile, level, language): the same
answers give the same routine text, byte for byte. The routine is written as commented YAML
in the routine format, so a listener can keep, edit, validate and render it like any other.

How it is built:

1. Candidate points: each concern's points (``plan/data/<lang>.yaml``, most studied first),
   taken in turn from each concern, each point once, leaving out every point whose
   contraindications match the profile (and saying so).
2. Order: by body-region group (head and face, neck and shoulders, arms and hands, trunk,
   lower back, legs and feet), so the listener moves little.
3. Length: the first ``n`` candidates, for the ``n`` whose fitted holds come nearest the
   level's written hold while the asked minutes can be met exactly with every hold inside
   the level's dose (``min_hold`` .. ``max_hold``), checked with the estimate of the
   compiler at a calm 150 words a minute and a slower 125 (a slow voice still fits).
   Opening breathing and the closing rest grow with the minutes asked for.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field

import yaml

from acuvoice.compiler import CompileOptions, compile_timeline, target_range
from acuvoice.errors import UsageError
from acuvoice.measure import WordsPerMinute
from acuvoice.plan.content import Level, PlanContent, TopicContent, plan_content
from acuvoice.plan.limits import MAX_CONCERNS, MAX_MINUTES, MIN_MINUTES
from acuvoice.points.library import PointLibrary, builtin_library
from acuvoice.points.model import Point
from acuvoice.routine.loader import load_routine_text
from acuvoice.routine.model import Routine
from acuvoice.timeline import EventKind
from acuvoice.units import describe_ms
from acuvoice.validation import did_you_mean

#: Speech estimates a plan must fit with: the compiler's own, and a slower voice.
_PACES = (WordsPerMinute(150.0), WordsPerMinute(125.0))


class PlanError(UsageError):
    """The answers cannot make a session (exit 2), with what is possible instead.

    Attributes:
        kind: ``unsuitable`` (a concern the profile rules out), ``too-short`` or
            ``too-long`` (the minutes cannot be met within the dose), or ``no-points``
            (the profile leaves no point for a concern).
        shortest_minutes, longest_minutes: For ``too-short``/``too-long``, the whole
            minutes that can be made with these answers (``None`` when none can).
        offer: Answers that do make a session, when there are some (front ends turn it
            into a command or a button).
    """

    def __init__(
        self,
        message: str,
        kind: str,
        *,
        shortest_minutes: int | None = None,
        longest_minutes: int | None = None,
        offer: PlanAnswers | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.shortest_minutes = shortest_minutes
        self.longest_minutes = longest_minutes
        self.offer = offer

    def __reduce__(self) -> tuple[object, ...]:  # picklable across process pools
        return (
            _rebuild_plan_error,
            (str(self), self.kind, self.shortest_minutes, self.longest_minutes, self.offer),
        )


def _rebuild_plan_error(
    message: str,
    kind: str,
    shortest: int | None,
    longest: int | None,
    offer: PlanAnswers | None,
) -> PlanError:
    return PlanError(message, kind, shortest_minutes=shortest, longest_minutes=longest, offer=offer)


@dataclass(frozen=True, slots=True)
class PlanAnswers:
    """What the listener asked for.

    Attributes:
        concerns: Topic ids of the point library (``back``, ``stress``; ``acuvoice points
            --topics``), one to three.
        minutes: The session's length, whole minutes.
        avoid: Conditions of the listener's profile (``pregnancy``; ``acuvoice points
            --conditions``).
        level: ``beginner``, ``experienced`` or ``gentle`` (the dose).
        language: The language of the routine (English only so far).
    """

    concerns: tuple[str, ...]
    minutes: int
    avoid: tuple[str, ...] = ()
    level: str = "beginner"
    language: str = "en"

    def describe(self) -> str:
        """The answers in words: ``back, stress; 20 minutes; beginner; avoiding pregnancy``."""
        parts = [", ".join(self.concerns), f"{self.minutes} minutes", self.level]
        if self.avoid:
            parts.append("avoiding " + ", ".join(self.avoid))
        if self.language != "en":
            parts.append(f"in {self.language}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A point a concern uses that the plan leaves out, and why."""

    code: str
    name: str
    why: str


@dataclass(frozen=True, slots=True)
class BuiltPlan:
    """A routine built for the answers.

    Attributes:
        answers: The answers, checked (concerns and conditions each once, in order).
        text: The routine as commented YAML (what ``-o`` writes).
        routine: The routine loaded from ``text``.
        points: The codes pressed, in session order.
        left_out: Points of the concerns that were left out, with the reason.
        holds_ms: The fitted holds (ms) with the 150-words-a-minute estimate, in order.
    """

    answers: PlanAnswers
    text: str
    routine: Routine
    points: tuple[str, ...]
    left_out: tuple[LeftOut, ...]
    holds_ms: tuple[int, ...] = field(default=())


def check_answers(answers: PlanAnswers, library: PointLibrary | None = None) -> PlanAnswers:
    """The answers with each concern and condition once, checked against the library.

    Raises:
        UsageError: An unknown concern, condition or level, no concern, too many, or
            minutes out of range; the message lists the valid values.
    """
    library = library or builtin_library()
    content = plan_content(answers.language)
    concerns = _once(c.strip().lower() for c in answers.concerns if c.strip())
    if not concerns:
        raise UsageError(f"name at least one concern, from: {', '.join(library.topics)}")
    for c in concerns:
        if c not in library.topics or c not in content.topics:
            raise UsageError(
                f"unknown concern {c!r}{did_you_mean(c, library.topics)} (known: "
                f"{', '.join(library.topics)})"
            )
    if len(concerns) > MAX_CONCERNS:
        raise UsageError(
            f"a plan covers at most {MAX_CONCERNS} concerns ({len(concerns)} were given); "
            "make two sessions instead"
        )
    avoid = _once(a.strip().lower() for a in answers.avoid if a.strip())
    for a in avoid:
        if a not in library.conditions:
            raise UsageError(
                f"unknown condition {a!r} to avoid{did_you_mean(a, library.conditions)} "
                f"(known: {', '.join(library.conditions)})"
            )
    if answers.level not in content.levels:
        raise UsageError(
            f"unknown level {answers.level!r}{did_you_mean(answers.level, content.levels)} "
            f"(known: {', '.join(content.levels)})"
        )
    if not MIN_MINUTES <= answers.minutes <= MAX_MINUTES:
        raise UsageError(
            f"a plan lasts {MIN_MINUTES} to {MAX_MINUTES} minutes, not {answers.minutes}"
        )
    return PlanAnswers(concerns, answers.minutes, avoid, answers.level, content.language)


def build_plan(answers: PlanAnswers, library: PointLibrary | None = None) -> BuiltPlan:
    """Build the routine for ``answers`` (see the module's documentation).

    Raises:
        UsageError: The answers are invalid (:func:`check_answers`).
        PlanError: No session can be made for them; the message says why and what can.
    """
    library = library or builtin_library()
    answers = check_answers(answers, library)
    try:
        return _build(answers, library)
    except PlanError as e:
        if e.kind not in ("too-short", "too-long"):
            raise
        raise _with_nearest(e, answers, library) from None


def _with_nearest(error: PlanError, answers: PlanAnswers, library: PointLibrary) -> PlanError:
    """``error`` with the nearest minutes that can be made, found by building them."""
    shorter = error.kind == "too-long"
    guess = error.longest_minutes if shorter else error.shortest_minutes
    step = -1 if shorter else 1
    start = answers.minutes + step
    if guess is not None:
        start = min(start, guess + 1) if shorter else max(start, guess - 1)
    found: int | None = None
    m = start
    while MIN_MINUTES <= m <= MAX_MINUTES:
        try:
            _build(dataclasses.replace(answers, minutes=m), library)
        except PlanError:
            m += step
            continue
        found = m
        break
    message = str(error).split(" Choose ")[0]
    if found is None:
        hint = " No length can be made within the dose; try another level or concern."
    elif shorter:
        hint = f" Choose {found} minutes or fewer" + str(error).split(" or fewer", 1)[1]
    else:
        hint = f" Choose {found} minutes or more."
    return PlanError(
        message + hint,
        error.kind,
        shortest_minutes=None if shorter else found,
        longest_minutes=found if shorter else None,
        offer=None if found is None else dataclasses.replace(answers, minutes=found),
    )


def _build(answers: PlanAnswers, library: PointLibrary) -> BuiltPlan:
    content = plan_content(answers.language)
    topics = [content.topics[c] for c in answers.concerns]
    _check_suitable(answers, topics, library)
    candidates, left_out = _candidates(answers, topics, library)
    level = content.levels[answers.level]
    target = answers.minutes * 60_000
    writer = _Writer(answers, content, topics, library, level, left_out)

    # The routine with every candidate is read once; fewer points are the same steps
    # without the others' (and without a region group's chapter when none of its points
    # is left). Only the chosen one is written out and read again.
    tags: dict[int, str] = {}
    full = load_routine_text(writer.text(candidates, tags), name=writer.name, library=library)
    tried: dict[int, tuple[Routine, list[tuple[int, int]]]] = {}

    def attempt(n: int) -> tuple[Routine, list[tuple[int, int]]]:
        if n not in tried:
            keep = {p.code for p in candidates[:n]}
            keep |= {f"group:{content.group_of(p.region)}" for p in candidates[:n]}
            steps = tuple(s for s in full.steps if tags.get(s.origin.line) in (None, *keep))
            routine = dataclasses.replace(full, steps=steps)
            options = CompileOptions(avoid=answers.avoid)
            ranges = [target_range(routine, library, _PACES[0], options)]
            if ranges[0][0] <= target <= ranges[0][1]:  # the slower voice only matters then
                ranges.append(target_range(routine, library, _PACES[1], options))
            tried[n] = (routine, ranges)
        return tried[n]

    # Enough points that each concern has at least one, where the length allows; more
    # points make the holds shorter, so the search stops once they are at the level's hold.
    least = min(len(candidates), _covering(candidates, topics))
    feasible: list[tuple[float, int, tuple[int, ...]]] = []
    for strict in (True, False):
        for n in range(1, len(candidates) + 1):
            routine, ranges = attempt(n)
            if ranges[0][0] > target:
                break  # more points only make the session longer
            checked = ranges if strict else ranges[:1]
            if len(ranges) == len(checked) == len(_PACES) or not strict:
                fits = all(lo <= target <= hi for lo, hi in checked)
            else:
                fits = False
            if fits:
                holds = _holds(routine, library, answers.avoid, target)
                mean = sum(holds) / len(holds)
                penalty = abs(math.log(mean / level.hold_ms)) + (1.0 if n < least else 0.0)
                feasible.append((penalty, n, holds))
                if mean <= level.hold_ms and n >= least:
                    break
        if feasible:
            break
    if not feasible:
        raise _length_error(answers, candidates, [tried[n][1][0] for n in sorted(tried)], level)
    _, n, holds = min(feasible, key=lambda f: (f[0], f[1]))
    text = writer.text(candidates[:n])
    routine = load_routine_text(text, name=writer.name, library=library)
    return BuiltPlan(
        answers,
        text,
        routine,
        tuple(p.code for p in _ordered(candidates[:n], content)),
        tuple(left_out),
        holds,
    )


def _once(items: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for i in items:
        if i not in out:
            out.append(i)
    return tuple(out)


def _check_suitable(
    answers: PlanAnswers, topics: list[TopicContent], library: PointLibrary
) -> None:
    ruled_out = [(t, c) for t in topics for c in answers.avoid if c in t.cautions]
    if not ruled_out:
        return
    topic, cond = ruled_out[0]
    spoken = library.conditions[cond].spoken
    rest = [t.id for t in topics if not any(c in t.cautions for c in answers.avoid)]
    others = [
        t
        for t in plan_content(answers.language).topics.values()
        if not any(c in t.cautions for c in answers.avoid)
    ]
    if rest:
        offer = dataclasses.replace(answers, concerns=tuple(rest))
        instead = (
            f"What can be made: a {answers.minutes}-minute session for "
            f"{', '.join(rest)} with the same profile"
        )
    else:
        offer = dataclasses.replace(answers, concerns=(others[0].id,))
        instead = "Sessions that can be made with this profile are for: " + ", ".join(
            t.id for t in others
        )
    raise PlanError(
        f"no session for {topic.title} is made with {spoken}: {topic.cautions[cond]}. "
        f"{instead}. For {topic.title} with {spoken}, ask a midwife, doctor or "
        "physiotherapist what is safe for you.",
        "unsuitable",
        offer=offer,
    )


def _candidates(
    answers: PlanAnswers, topics: list[TopicContent], library: PointLibrary
) -> tuple[list[Point], list[LeftOut]]:
    """The concerns' points, one from each concern in turn, without those the profile rules out."""
    chosen: list[Point] = []
    left_out: list[LeftOut] = []
    seen: set[str] = set()
    queues = [list(t.points) for t in topics]
    while any(queues):
        for q in queues:
            while q:
                code = q.pop(0)
                if code in seen:
                    continue
                seen.add(code)
                point = library.get(code)
                hits = [c for c in point.contraindications if c in answers.avoid]
                if hits:
                    spoken = " and ".join(library.conditions[c].spoken for c in hits)
                    left_out.append(LeftOut(code, point.name, f"avoided with {spoken}"))
                    continue
                chosen.append(point)
                break
    for t in topics:
        if not any(t.id in p.used_for or p.code in t.points for p in chosen):
            raise PlanError(
                f"every point the sources use for {t.title} is avoided with this profile "
                f"({', '.join(lo.code for lo in left_out)}); no session for {t.title} can "
                "be made. Ask a clinician what is safe for you.",
                "no-points",
            )
    return chosen, left_out


def _covering(candidates: list[Point], topics: list[TopicContent]) -> int:
    """The fewest leading candidates that include a point of every concern."""
    for n in range(1, len(candidates) + 1):
        if all(any(p.code in t.points for p in candidates[:n]) for t in topics):
            return n
    return len(candidates)


def _ordered(points: list[Point], content: PlanContent) -> list[Point]:
    """Points by body-region group (stable: within a group, in the order chosen)."""
    return sorted(points, key=lambda p: content.group_of(p.region))


def _holds(
    routine: Routine, library: PointLibrary, avoid: tuple[str, ...], target: int
) -> tuple[int, ...]:
    options = CompileOptions(target_ms=target, avoid=avoid)
    timeline = compile_timeline(routine, library, _PACES[0], options)
    return tuple(e.end_ms - e.start_ms for e in timeline.events if e.kind is EventKind.HOLD)


def _length_error(
    answers: PlanAnswers,
    candidates: list[Point],
    ranges: list[tuple[int, int]],
    level: Level,
) -> PlanError:
    lo = min(r[0] for r in ranges)
    hi = max(r[1] for r in ranges)
    shortest = math.ceil(lo / 60_000)
    longest = hi // 60_000
    shortest_minutes = shortest if shortest <= MAX_MINUTES else None
    longest_minutes = longest if longest >= MIN_MINUTES else None
    what = ", ".join(answers.concerns)
    if answers.minutes * 60_000 < lo:
        return PlanError(
            f"a {what} session cannot be as short as {answers.minutes} minutes: the "
            f"safety notice, the warning signs and one point take about {describe_ms(lo)}. "
            f"Choose {shortest} minutes or more.",
            "too-short",
            shortest_minutes=shortest_minutes,
            longest_minutes=longest_minutes,
        )
    if answers.minutes * 60_000 > hi:
        codes = ", ".join(p.code for p in candidates)
        return PlanError(
            f"a {what} session cannot last {answers.minutes} minutes within the dose for "
            f"the {level.id} level (holds of at most {describe_ms(level.max_hold_ms)}): the "
            f"sources use {len(candidates)} point{'s' if len(candidates) != 1 else ''} for it "
            f"that suit this profile ({codes}), and pressing longer or again would go beyond "
            f"the dose. Choose {longest_minutes} minutes or fewer, or add a concern such "
            f"as {'stress' if 'stress' not in answers.concerns else 'sleep'}.",
            "too-long",
            shortest_minutes=shortest_minutes,
            longest_minutes=longest_minutes,
        )
    return PlanError(  # between two point counts: rare
        f"no number of points for {what} meets exactly {answers.minutes} minutes within the "
        f"dose; choose a minute or two more or less.",
        "too-long",
        shortest_minutes=shortest_minutes,
        longest_minutes=longest_minutes,
    )


# -- writing the routine -------------------------------------------------------------------


def _scalar(text: str) -> str:
    dumped = yaml.safe_dump(text, allow_unicode=True, width=10_000).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()


def _folded(text: str, indent: int) -> list[str]:
    """``>-`` block lines for ``text`` (one paragraph), wrapped at 92 columns."""
    pad = " " * indent
    return textwrap.wrap(
        " ".join(text.split()),
        92 - indent,
        initial_indent=pad,
        subsequent_indent=pad,
        break_long_words=False,
        break_on_hyphens=False,
    )


class _Writer:
    """Writes the routine text for a choice of points; everything but the points is fixed."""

    def __init__(
        self,
        answers: PlanAnswers,
        content: PlanContent,
        topics: list[TopicContent],
        library: PointLibrary,
        level: Level,
        left_out: list[LeftOut],
    ) -> None:
        self.answers = answers
        self.content = content
        self.topics = topics
        self.library = library
        self.level = level
        self.left_out = left_out
        titles = [t.title for t in topics]
        joined = titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]
        self.title = joined[0].upper() + joined[1:]
        self.joined = joined
        self.name = "-".join(answers.concerns) + f"-{answers.minutes}min"
        minutes = answers.minutes
        # Opening breathing and closing rest grow with the session (the brief: slow
        # breathing while holding, and a few minutes of quiet rest at the end).
        self.cycles = min(12, max(3, round(minutes * 0.4)))
        self.rest_s = min(240, max(30, minutes * 6))
        # A session under ten minutes keeps only what a listener must hear: the safety
        # notice, the warning signs, the points and the after-care.
        self.brief = minutes < 10

    def text(self, points: list[Point], tags: dict[int, str] | None = None) -> str:
        """The routine text; ``tags`` (when given) gets, by line number, the point code of
        each press step and ``group:N`` for each region group's chapter and words."""
        a, level, content = self.answers, self.level, self.content
        ordered = _ordered(points, content)
        cautions = _once(c for t in self.topics for c in t.cautions)
        source_ids = _once(
            [*level.sources, *(s for t in self.topics for s in t.sources), "umn", "who"]
        )
        lines = [
            "# A personal self-acupressure routine, written by `acuvoice plan` from the point",
            "# library and the sources listed below. Asked for:",
            f"#   {a.describe()}",
            f"# Points: those the sources use for {self.joined}, taken in turn from each concern",
            "# (most studied first), as many as the minutes hold within the dose for the level;",
            "# they are ordered by body region so that you move little.",
        ]
        if self.left_out:
            lines += textwrap.wrap(
                "Left out for your profile: "
                + "; ".join(f"{lo.code} {lo.name} ({lo.why})" for lo in self.left_out)
                + ".",
                90,
                initial_indent="# ",
                subsequent_indent="# ",
                break_on_hyphens=False,
            )
        lines += [
            *textwrap.wrap(
                f"Dose ({level.id}): {level.description}",
                90,
                initial_indent="# ",
                subsequent_indent="# ",
                break_on_hyphens=False,
            ),
            "# Edit freely; `acuvoice validate FILE` checks it and `acuvoice render FILE -o",
            "# session.mp3` renders it. This is self-care, not medical advice.",
            "acuvoice: 1",
            f"title: {_scalar(self.title)}",
            "summary: >-",
            *_folded(self._summary(len(ordered)), 2),
            f"language: {a.language}",
            "author: acuvoice plan",
            f"tags: [{', '.join([*a.concerns, 'self-care', 'plan'])}]",
            "sources:",
        ]
        for sid in source_ids:
            lines += ["  - >-", *_folded(content.sources[sid], 4)]
        lines.append(f"target: {a.minutes}m")
        if cautions:
            lines.append(f"cautions: [{', '.join(cautions)}]    # no session is made with these")
        lines += [
            "sound:",
            "  cues: soft",
            "safety_notice: true",
            "defaults:",
            f"  hold: {_dur(level.hold_ms)}        # written hold; fitting to the target keeps",
            f"  min_hold: {_dur(level.min_hold_ms)}    # every hold between min_hold and max_hold",
            f"  max_hold: {_dur(level.max_hold_ms)}",
        ]
        if level.pressure:
            lines.append(f"  pressure: {level.pressure}")
        lines += [
            "  find: 8s",
            "  reminders: 30s",
            "  countdown: 3",
            "",
            "steps:",
            "  - chapter: Before you begin",
            *self._say(content.opening["welcome"]),
        ]
        if self.brief:
            lines.append("  # (Under ten minutes, what studies found is left out; see `summary`.)")
        else:
            for text in _once(t.about for t in self.topics):
                lines += self._say(text)
        lines.append("  # When to get medical help instead (spoken before any point).")
        flags = _once(t.red_flags for t in self.topics)
        for i, text in enumerate(flags):
            lines += self._say(text, then="2s" if i == len(flags) - 1 else None)
        lines += [
            "",
            "  - chapter: Settling in",
            f"  - breathe: {{cycles: {self.cycles}, inhale: 4s, exhale: 6s}}",
            *self._say(content.opening["breathing"]),
        ]
        if not self.brief:
            lines += self._say(content.opening["technique"])
        current: int | None = None
        for p in ordered:
            g = content.group_of(p.region)
            if g != current:
                current = g
                group = content.groups[g] if g < len(content.groups) else None
                lines.append("")
                _tag(tags, lines, f"group:{g}")
                lines.append(f"  - chapter: {_scalar(group.title if group else p.region)}")
                if group is not None and not self.brief:
                    _tag(tags, lines, f"group:{g}")
                    lines += self._say(group.say)
            used = [t.title for t in self.topics if p.code in t.points]
            lines.append(
                f"  # {p.code} {p.name}: for {', '.join(used)}; sources: {', '.join(p.sources)}"
            )
            _tag(tags, lines, p.code)
            lines.append(f"  - press: {p.code}")
        lines += [
            "",
            "  - chapter: Rest",
            *self._say(content.closing["rest"]),
            f"  - pause: {_dur(self.rest_s * 1000)}",
            *self._say(content.closing["aftercare"]),
        ]
        return "\n".join(lines) + "\n"

    def _summary(self, count: int) -> str:
        a = self.answers
        profile = ""
        if a.avoid:
            profile = ", leaving out points to avoid with " + " and ".join(
                self.library.conditions[c].spoken for c in a.avoid
            )
        return (
            f"A {a.minutes}-minute self-acupressure session for {self.joined}, built for a "
            f"{a.level} level{profile}: slow breathing, {count} point"
            f"{'s' if count != 1 else ''} from the point library ordered so you move little, "
            "and a quiet rest."
        )

    @staticmethod
    def _say(text: str, then: str | None = None) -> list[str]:
        out = ["  - say: >-", *_folded(text, 6)]
        if then:
            out.append(f"    then: {then}")
        return out


def _tag(tags: dict[int, str] | None, lines: list[str], tag: str) -> None:
    """Tag the step that starts on the next line (1-based line numbers)."""
    if tags is not None:
        tags[len(lines) + 1] = tag


def _dur(ms: int) -> str:
    if ms % 60_000 == 0:
        return f"{ms // 60_000}m"
    return f"{ms // 1000}s"


__all__ = [
    "MAX_CONCERNS",
    "MAX_MINUTES",
    "MIN_MINUTES",
    "BuiltPlan",
    "LeftOut",
    "PlanAnswers",
    "PlanError",
    "build_plan",
    "check_answers",
]
