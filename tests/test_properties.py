"""Property tests: any routine compiles to a timeline obeying the rules; any input loads or fails clearly."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acuvoice.compiler import CompileOptions, compile_timeline, cue_lengths
from acuvoice.errors import CompileError, RoutineError
from acuvoice.points.library import PointLibrary, builtin_library
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
from acuvoice.timeline import EventKind, timing_violations
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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(STEPS, min_size=1, max_size=10),
    target=st.integers(30_000, 3 * 3_600_000),
)
def test_any_target_is_met_exactly_or_refused_with_the_range(
    steps: list[Step], target: int
) -> None:
    routine = Routine(title="Generated", steps=tuple(steps))
    try:
        timeline = compile_timeline(
            routine, LIBRARY, fake_measure, CompileOptions(target_ms=target)
        )
    except CompileError as exc:
        assert "it can last from" in str(exc)
        return
    assert timeline.duration_ms == target
    assert timing_violations(timeline) == []
    for hold in timeline.of_kind(EventKind.HOLD):
        step = steps[hold.step or 0]
        assert isinstance(step, PressStep)
        assert min(10_000, step.hold_ms) <= hold.duration_ms <= max(300_000, step.hold_ms)


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


def test_library_is_the_one_under_test(library: PointLibrary) -> None:
    assert library is LIBRARY
