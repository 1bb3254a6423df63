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
from acuvoice.timeline import timing_violations

HERE = Path(__file__).parent
CASES = {
    **{name: (name, ()) for name in builtin_routines()},
    "spec-example": (str(HERE / "data" / "spec-example.yaml"), ()),
    "neck-and-shoulders-avoid-pregnancy": ("neck-and-shoulders", ("pregnancy",)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_timeline(case: str, library: PointLibrary, request: pytest.FixtureRequest) -> None:
    source, avoid = CASES[case]
    routine = load_routine(source, library=library)
    timeline = compile_timeline(routine, library, WordsPerMinute(), CompileOptions(avoid=avoid))
    assert timing_violations(timeline) == []
    golden = HERE / "golden" / f"{case}.json"
    if request.config.getoption("--update-goldens"):
        golden.write_text(timeline.dumps(), encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}; run pytest --update-goldens"
    assert timeline.to_json() == json.loads(golden.read_text(encoding="utf-8")), (
        f"{case} compiles differently from {golden.name}; if intended, run pytest --update-goldens"
    )
