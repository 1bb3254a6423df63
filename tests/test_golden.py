"""Golden timelines: the compiler's output for known routines, compared as JSON.

Run ``pytest tests/test_golden.py --update-goldens`` after an intended change, and review
the diff of ``tests/golden/`` before committing it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acuvoice.compiler import CompileOptions, compile_timeline
from acuvoice.measure import WordsPerMinute
from acuvoice.points.library import PointLibrary
from acuvoice.routine.loader import builtin_routines, load_routine
from acuvoice.routine.model import PressStep, Routine
from acuvoice.timeline import EventKind, Timeline, timing_violations

HERE = Path(__file__).parent
CASES = {
    **{name: (name, ()) for name in builtin_routines()},
    "spec-example": (str(HERE / "data" / "spec-example.yaml"), ()),
    "neck-and-shoulders-avoid-pregnancy": ("neck-and-shoulders", ("pregnancy",)),
}


def check_holds(routine: Routine, timeline: Timeline, *, fitted: bool) -> None:
    """Every hold as the routine wrote it, or, when ``fitted`` to a target, within the bounds."""
    holds = timeline.of_kind(EventKind.HOLD)
    assert holds, "every case presses points"
    for hold in holds:
        assert hold.step is not None
        step = routine.steps[hold.step]
        assert isinstance(step, PressStep) and step.point == hold.point
        if not fitted:
            assert hold.duration_ms == step.hold_ms, hold
        else:
            lowest, highest = min(10_000, step.hold_ms), max(300_000, step.hold_ms)
            assert lowest <= hold.duration_ms <= highest, hold


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_timeline(case: str, library: PointLibrary, request: pytest.FixtureRequest) -> None:
    source, avoid = CASES[case]
    routine = load_routine(source, library=library)
    timeline = compile_timeline(routine, library, WordsPerMinute(), CompileOptions(avoid=avoid))
    assert timing_violations(timeline) == []
    check_holds(routine, timeline, fitted=routine.target_ms is not None)
    if routine.target_ms is not None:
        assert timeline.target_ms == routine.target_ms == timeline.duration_ms
    golden = HERE / "golden" / f"{case}.json"
    if request.config.getoption("--update-goldens"):
        golden.write_text(timeline.dumps(), encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}; run pytest --update-goldens"
    assert timeline.to_json() == json.loads(golden.read_text(encoding="utf-8")), (
        f"{case} compiles differently from {golden.name}; if intended, run pytest --update-goldens"
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_routine_without_its_target(case: str, library: PointLibrary) -> None:
    # The golden routines all set a target; unfitted, every hold lasts what was written.
    source, avoid = CASES[case]
    routine = load_routine(source, library=library)
    options = CompileOptions(avoid=avoid, target_ms=0)
    timeline = compile_timeline(routine, library, WordsPerMinute(), options)
    assert timeline.target_ms is None
    assert timing_violations(timeline) == []
    check_holds(routine, timeline, fitted=False)
