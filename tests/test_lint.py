"""Warnings for valid routines that may mislead or harm a listener."""

from __future__ import annotations

from acuvoice.errors import Severity
from acuvoice.points.library import PointLibrary
from acuvoice.routine.lint import lint_routine
from acuvoice.routine.loader import builtin_routines, load_routine
from tests.conftest import WriteRoutine


def test_builtins_have_no_warnings(library: PointLibrary) -> None:
    for name in builtin_routines():
        assert lint_routine(load_routine(name, library=library), library) == []


def test_long_holds_pregnancy_points_and_firm_pressure_warn(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    path = write_routine("""\
        acuvoice: 1
        title: Risky
        points:
          - {code: X-1, name: Mine, location: Here., contraindications: [pregnancy]}
        steps:
          - press: PC6
            hold: 4m
          - press: X-1
          - press: BL40
            pressure: firm
    """)
    warnings = lint_routine(load_routine(path, library=library), library)
    assert all(w.severity is Severity.WARNING for w in warnings)
    assert [str(w) for w in warnings] == [
        f"{path}:6:5: warning: PC6: a hold of 4 min is longer than the 3 minutes advised on one point",
        f"{path}:8:5: warning: X-1 is not advised during pregnancy, but the routine neither lists "
        "`cautions: [pregnancy]` nor says so; add one of them",
        f"{path}:9:5: warning: BL40 (Weizhong) calls for light pressure; `pressure: firm` may hurt",
    ]


def test_a_spoken_notice_or_caution_entry_silences_the_pregnancy_warning(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    base = "acuvoice: 1\ntitle: R\n{extra}points:\n  - {{code: X-1, name: Mine, location: Here., contraindications: [pregnancy]}}\nsteps:\n{steps}  - press: X-1\n"
    with_cautions = write_routine(base.format(extra="cautions: [pregnancy]\n", steps=""), "a.yaml")
    with_say = write_routine(
        base.format(extra="", steps="  - say: Skip the next point during pregnancy.\n"), "b.yaml"
    )
    for path in (with_cautions, with_say):
        assert lint_routine(load_routine(path, library=library), library) == []
