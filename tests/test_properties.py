"""Property tests: any routine compiles to a timeline obeying the rules; any input loads or fails clearly."""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acuvoice.compiler import CompileOptions, compile_timeline, cue_lengths, target_range
from acuvoice.errors import CompileError, RoutineError
from acuvoice.points.library import builtin_library
from acuvoice.routine.loader import load_routine
from acuvoice.routine.model import (
    BreatheStep,
    BreathGuide,
    ChapterStep,
    CueStep,
    Origin,
    PauseStep,
    PressStep,
    Pressure,
    Routine,
    SayStep,
    Side,
    Step,
    Technique,
)
from acuvoice.timeline import EventKind, Timeline, timing_violations
from acuvoice.units import parse_duration_ms

LIBRARY = builtin_library()
HERE = Origin("generated.yaml", 1, 1)
CODES = [p.code for p in LIBRARY]
WORDS = st.sampled_from(
    ["Breathe", "slowly", "and", "let", "the", "shoulders", "soften", "now", "gently"]
)
SENTENCE = st.lists(WORDS, min_size=1, max_size=12).map(lambda w: " ".join(w).capitalize() + ".")
TEXT = st.lists(SENTENCE, min_size=1, max_size=3).map(" ".join)
MS = st.integers(min_value=1, max_value=120_000)


def press_steps() -> st.SearchStrategy[Step]:
    return st.builds(
        PressStep,
        point=st.sampled_from(CODES),
        side=st.sampled_from(list(Side)),
        hold_ms=st.integers(5_000, 200_000),
        technique=st.sampled_from(list(Technique)),
        pressure=st.sampled_from(list(Pressure)),
        find_ms=st.integers(0, 20_000),
        reminders_ms=st.sampled_from([0, 5_000, 10_000, 30_000]),
        countdown=st.integers(0, 4),
        repeat=st.integers(1, 3),
        say=st.none() | TEXT,
        origin=st.just(HERE),
    )


STEPS: st.SearchStrategy[Step] = st.one_of(
    st.builds(SayStep, text=TEXT, then_ms=st.integers(0, 5_000), origin=st.just(HERE)),
    st.builds(PauseStep, pause_ms=MS, elastic=st.booleans(), origin=st.just(HERE)),
    st.builds(
        CueStep,
        sound=st.sampled_from(["start", "press", "release", "switch", "tick", "end"]),
        origin=st.just(HERE),
    ),
    st.builds(
        BreatheStep,
        cycles=st.integers(1, 8),
        inhale_ms=st.integers(1_000, 8_000),
        exhale_ms=st.integers(1_000, 10_000),
        hold_ms=st.integers(0, 4_000),
        guide=st.sampled_from(list(BreathGuide)),
        origin=st.just(HERE),
    ),
    press_steps(),
    st.builds(ChapterStep, title=SENTENCE, origin=st.just(HERE)),
)


def fake_measure(text: str) -> int:
    """A deterministic stand-in voice: 300..4000 ms, unrelated to the word count."""
    return 300 + zlib.crc32(text.encode()) % 3700


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(STEPS, min_size=1, max_size=12),
    safety=st.booleans(),
    cues=st.sampled_from(["bowl", "none"]),
)
def test_any_routine_obeys_the_timing_rules(steps: list[Step], safety: bool, cues: str) -> None:
    routine = Routine(title="Generated", steps=tuple(steps), safety_notice=safety)
    options = CompileOptions(cue_ms=cue_lengths(cues))
    timeline = compile_timeline(routine, LIBRARY, fake_measure, options)
    assert timing_violations(timeline) == []
    # Without a target, every hold lasts exactly what was written.
    written = {i: s.hold_ms for i, s in enumerate(steps) if isinstance(s, PressStep)}
    for hold in timeline.of_kind(EventKind.HOLD):
        assert hold.step is not None and hold.duration_ms == written[hold.step]


_LENGTH = re.compile(
    r"(?:(?P<h>\d+) h (?P<hm>\d+) min|(?P<m>\d+) min(?: (?P<ms_>\d+) s)?|(?P<s>[\d.]+) s"
    r"|(?P<milli>\d+) ms|(?:(?P<ch>\d+):)?(?P<cm>\d+):(?P<cs>\d\d)\.(?P<cms>\d{3}))"
)


def spoken_length_ms(text: str) -> int:
    """Read back a length as the error messages write it ("12 min 5 s", "1 h 3 min", "4:05.250")."""
    m = _LENGTH.fullmatch(text)
    assert m, f"not a length: {text!r}"
    g = {k: int(v) if v and k != "s" else v for k, v in m.groupdict().items()}
    if g["h"] is not None:
        return (g["h"] * 60 + g["hm"]) * 60_000
    if g["m"] is not None:
        return g["m"] * 60_000 + (g["ms_"] or 0) * 1000
    if g["s"] is not None:
        return round(float(g["s"]) * 1000)
    if g["milli"] is not None:
        return g["milli"]
    return ((g["ch"] or 0) * 3600 + g["cm"] * 60 + g["cs"]) * 1000 + g["cms"]


def assert_holds_within_bounds(timeline: Timeline, steps: list[Step]) -> None:
    for hold in timeline.of_kind(EventKind.HOLD):
        step = steps[hold.step or 0]
        assert isinstance(step, PressStep)
        assert min(10_000, step.hold_ms) <= hold.duration_ms <= max(300_000, step.hold_ms)


# Few and short elastic parts beside breathing, so whole cycles matter: routines without
# press steps, with short pauses, and long breathing cycles.
BREATHY_STEPS: st.SearchStrategy[Step] = st.one_of(
    st.builds(SayStep, text=TEXT, then_ms=st.integers(0, 2_000), origin=st.just(HERE)),
    st.builds(
        PauseStep, pause_ms=st.integers(1, 6_000), elastic=st.booleans(), origin=st.just(HERE)
    ),
    st.builds(
        BreatheStep,
        cycles=st.integers(1, 6),
        inhale_ms=st.integers(1_000, 20_000),
        exhale_ms=st.integers(1_000, 20_000),
        hold_ms=st.integers(0, 10_000),
        guide=st.sampled_from(list(BreathGuide)),
        origin=st.just(HERE),
    ),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(STEPS, min_size=1, max_size=10)
    | st.lists(BREATHY_STEPS, min_size=1, max_size=6),
    cues=st.sampled_from(["bowl", "none"]),
    data=st.data(),
)
def test_every_target_in_the_range_is_met_and_every_other_refused_naming_it(
    steps: list[Step], cues: str, data: st.DataObject
) -> None:
    routine = Routine(title="Generated", steps=tuple(steps))
    options = CompileOptions(cue_ms=cue_lengths(cues))
    shortest, longest = target_range(routine, LIBRARY, fake_measure, options)
    natural = compile_timeline(routine, LIBRARY, fake_measure, options).duration_ms
    assert shortest <= natural <= longest
    inside = data.draw(st.lists(st.integers(shortest, longest), min_size=1, max_size=4))
    for target in (shortest, longest, *inside):
        fitted = CompileOptions(target_ms=target, cue_ms=options.cue_ms)
        timeline = compile_timeline(routine, LIBRARY, fake_measure, fitted)
        assert timeline.duration_ms == target
        assert timing_violations(timeline) == []
        assert_holds_within_bounds(timeline, steps)
    below = [data.draw(st.integers(1, shortest - 1))] if shortest > 1 else []
    above = data.draw(st.integers(longest + 1, longest + 3_600_000))
    for target in (*below, above):
        fitted = CompileOptions(target_ms=target, cue_ms=options.cue_ms)
        with pytest.raises(CompileError) as refused:
            compile_timeline(routine, LIBRARY, fake_measure, fitted)
        named = re.search(r"it can last from (.+) to (.+)\. Choose", str(refused.value))
        assert named, str(refused.value)
        # The range as written: rounded inwards (so what it names can be met), by less
        # than the unit it is written in.
        lo, hi = (spoken_length_ms(x) for x in named.groups())
        assert shortest <= lo <= hi <= longest
        assert lo - shortest < (60_000 if lo >= 3_600_000 else 1000)
        assert longest - hi < (60_000 if hi >= 3_600_000 else 1000)


def breathing_routine(*steps: Step) -> tuple[Routine, int]:
    """A routine of ``steps`` and its length without a target."""
    routine = Routine(title="Breaths", steps=steps, safety_notice=False)
    return routine, compile_timeline(routine, LIBRARY, fake_measure).duration_ms


def breathe(cycles: int) -> BreatheStep:
    return BreatheStep(cycles, 4_000, 6_000, 0, BreathGuide.TONES, HERE)


def test_breathing_moves_one_cycle_at_a_time_to_meet_targets_between_counts() -> None:
    # Both steps gain their fifth 10 s cycle at one common factor (4.5 / 4), and the 4 s
    # pause (1 s to 16 s) cannot take up 20 s: with 4 + 4 cycles the session lasts at most
    # 12 s over its natural length, with 5 + 5 at least 17 s. One step with 5 cycles
    # and the pause meet what lies between.
    routine, natural = breathing_routine(
        breathe(4), breathe(4), PauseStep(4_000, elastic=True, origin=HERE)
    )
    # By hand: 1..16 cycles of 10 s each (was 4), the pause 1 s..16 s (was 4 s).
    assert target_range(routine, LIBRARY, fake_measure) == (
        natural - 2 * 30_000 - 3_000,
        natural + 2 * 120_000 + 12_000,
    )
    for target in (natural + 12_001, natural + 14_500, natural + 16_999):
        timeline = compile_timeline(
            routine, LIBRARY, fake_measure, CompileOptions(target_ms=target)
        )
        assert timeline.duration_ms == target
        assert timing_violations(timeline) == []
        cycles = [
            max(e.cycle or 0 for e in timeline.of_kind(EventKind.BREATH) if e.step == i)
            for i in (0, 1)
        ]
        assert sorted(cycles) == [4, 5]


def test_a_cycle_longer_than_the_pause_is_bridged_by_shorter_breathing() -> None:
    # A 20 s cycle (2 written) beside 5 s cycles (4 written) and a 2 s pause (0.5 s to 8 s).
    # At the factor where the long one gains its third cycle (1.25) the short one has 5:
    # 5 + 2 cycles end 11 s over the natural length at most, 5 + 3 begin 23.5 s over.
    # Fewer short cycles with the third long one meet the targets between.
    short = BreatheStep(4, 2_000, 3_000, 0, BreathGuide.TONES, HERE)
    long_ = BreatheStep(2, 8_000, 12_000, 0, BreathGuide.TONES, HERE)
    routine, natural = breathing_routine(short, long_, PauseStep(2_000, elastic=True, origin=HERE))
    # By hand: short 1..16 cycles of 5 s, long 1..8 cycles of 20 s, the pause 0.5 s..8 s.
    assert target_range(routine, LIBRARY, fake_measure) == (
        natural - 3 * 5_000 - 20_000 - 1_500,
        natural + 12 * 5_000 + 6 * 20_000 + 6_000,
    )
    for target in (natural + 11_001, natural + 15_000, natural + 23_499):
        timeline = compile_timeline(
            routine, LIBRARY, fake_measure, CompileOptions(target_ms=target)
        )
        assert timeline.duration_ms == target
        assert timing_violations(timeline) == []


def test_breathing_longer_than_the_rest_can_absorb_keeps_its_cycles() -> None:
    # The pause stretches from 0.5 s to 8 s: not across a 10 s cycle, so a range over every
    # count of cycles would have holes; the cycles stay as written and the range has none.
    routine, natural = breathing_routine(breathe(2), PauseStep(2_000, elastic=True, origin=HERE))
    shortest, longest = target_range(routine, LIBRARY, fake_measure)
    assert (shortest, longest) == (natural - 1_500, natural + 6_000)
    for target in range(shortest, longest + 1, 250):
        timeline = compile_timeline(
            routine, LIBRARY, fake_measure, CompileOptions(target_ms=target)
        )
        assert timeline.duration_ms == target
        assert len(timeline.of_kind(EventKind.BREATH)) == 2 * 2  # in and out, two cycles
    with pytest.raises(CompileError, match="breathing keeps its number of cycles"):
        compile_timeline(routine, LIBRARY, fake_measure, CompileOptions(target_ms=natural + 10_000))


YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "acuvoice",
        "title",
        "steps",
        "say",
        "press",
        "hold",
        "pause",
        "side",
        "breathe",
        "cycles",
        "include",
        "points",
        "code",
        "name",
        "location",
        "defaults",
        "target",
        "x",
    ]
)
ROUTINE_LIKE = st.fixed_dictionaries(
    {"acuvoice": st.sampled_from([1, 2, "1", None]), "title": st.text(max_size=10) | st.integers()},
    optional={
        "steps": st.lists(
            st.dictionaries(
                KEYS, YAML_VALUES | st.sampled_from(["BL23", "3s", "1m", "LI4", "left"]), max_size=3
            ),
            max_size=5,
        ),
        "defaults": st.dictionaries(KEYS, YAML_VALUES, max_size=3),
        "target": YAML_VALUES,
        "points": st.lists(st.dictionaries(KEYS, YAML_VALUES, max_size=4), max_size=2),
    },
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=ROUTINE_LIKE | YAML_VALUES)
def test_any_document_loads_or_fails_clearly(tmp_path: Path, data: Any) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    try:
        load_routine(path, library=LIBRARY)
    except RoutineError as exc:
        assert exc.problems and all(p.path == str(path) for p in exc.problems)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=200))
def test_any_text_loads_or_fails_clearly(tmp_path: Path, text: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8", errors="replace")
    try:
        load_routine(path, library=LIBRARY)
    except RoutineError as exc:
        assert exc.problems


@given(
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.text(max_size=12))
)
def test_durations_parse_or_explain(value: object) -> None:
    try:
        ms = parse_duration_ms(value)
    except ValueError as exc:
        assert str(exc)
    else:
        assert 0 <= ms <= 6 * 3_600_000
