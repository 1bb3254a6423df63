"""Loading routines: every feature of the spec, and every mistake reported with its position."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from acuvoice.errors import RoutineError, UnknownPointError
from acuvoice.routine.loader import builtin_routines, load_routine
from acuvoice.routine.model import (
    BreatheStep,
    BreathGuide,
    ChapterStep,
    CueStep,
    PauseStep,
    PressStep,
    Pressure,
    SayStep,
    Side,
    Technique,
)
from tests.conftest import WriteRoutine

SPEC_EXAMPLE = """\
acuvoice: 1
title: Lower back relief
summary: A gentle 15-minute self-acupressure session for an aching lower back.
language: en
author: Jane Doe
license: CC-BY-4.0
tags: [back, pain]
sources:
  - "Murphy et al., Pain Medicine 2019, PMID 31237610"
target: 15m
voice:
  engine: auto
  name: en_US-joe-medium
  rate: 0.9
sound:
  cues: bowl
  ambience: none
  ambience_db: -30
  duck_db: -10
loudness: -16
safety_notice: true
cautions: [pregnancy]
defaults:
  hold: 60s
  technique: steady
  pressure: firm
  find: 8s
points:
  - code: EXTRA-1
    name: Lumbar ease point
    location: In the hollow just above the top of the hip bone, a palm's width from the spine.
    contraindications: [broken-skin]
steps:
  - chapter: Settling in
  - say: "Sit comfortably."
    then: 2s
  - pause: 5s
    elastic: false
  - cue: start
  - breathe: {cycles: 4, inhale: 4s, exhale: 6s, hold: 0s}
    guide: tones
  - press: BL23
    side: both
    hold: 90s
    technique: circles
    pressure: firm
    find: 10s
    reminders: 30s
    countdown: 3
    repeat: 1
    say: "Use your knuckles if your thumbs tire."
  - press: shenshu
  - press: extra-1
"""


def problems(exc: pytest.ExceptionInfo[RoutineError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_spec_example_loads_with_every_option(write_routine: WriteRoutine) -> None:
    routine = load_routine(write_routine(SPEC_EXAMPLE))
    assert routine.title == "Lower back relief"
    assert routine.target_ms == 900_000
    assert routine.voice.rate == 0.9 and routine.voice.name == "en_US-joe-medium"
    assert routine.cautions == ("pregnancy",)
    assert [type(s) for s in routine.steps] == [
        ChapterStep,
        SayStep,
        PauseStep,
        CueStep,
        BreatheStep,
        PressStep,
        PressStep,
        PressStep,
    ]
    say, pause, breathe = routine.steps[1], routine.steps[2], routine.steps[4]
    assert isinstance(say, SayStep) and say.then_ms == 2000
    assert isinstance(pause, PauseStep) and pause.pause_ms == 5000 and not pause.elastic
    assert isinstance(breathe, BreatheStep)
    assert (breathe.cycles, breathe.inhale_ms, breathe.exhale_ms, breathe.guide) == (
        4,
        4000,
        6000,
        BreathGuide.TONES,
    )
    bl23 = routine.steps[5]
    assert bl23 == PressStep(
        point="BL23",
        side=Side.BOTH,
        hold_ms=90_000,
        technique=Technique.CIRCLES,
        pressure=Pressure.FIRM,
        find_ms=10_000,
        reminders_ms=30_000,
        countdown=3,
        repeat=1,
        say="Use your knuckles if your thumbs tire.",
        origin=bl23.origin,
    )
    assert bl23.origin.line == 42
    alias = routine.steps[6]
    assert isinstance(alias, PressStep)
    # An alias resolves to the code; routine defaults fill what the step leaves out.
    assert (alias.point, alias.hold_ms, alias.technique, alias.find_ms) == (
        "BL23",
        60_000,
        Technique.STEADY,
        8_000,
    )
    custom = routine.steps[7]
    assert (
        isinstance(custom, PressStep) and custom.point == "EXTRA-1" and custom.side is Side.CENTER
    )
    assert [p.code for p in routine.points] == ["EXTRA-1"]


def test_every_builtin_routine_loads() -> None:
    assert "lower-back-pain" in builtin_routines()
    for name in builtin_routines():
        routine = load_routine(name)
        assert routine.steps, name


def test_point_default_side_applies(write_routine: WriteRoutine) -> None:
    routine = load_routine(
        write_routine("""\
        acuvoice: 1
        title: Sides
        steps:
          - press: LI4
          - press: GV4
          - press: BL23
    """)
    )
    assert [s.side for s in routine.steps if isinstance(s, PressStep)] == [
        Side.ALTERNATE,
        Side.CENTER,
        Side.BOTH,
    ]


def test_all_problems_in_a_file_are_reported_together(write_routine: WriteRoutine) -> None:
    path = write_routine("""\
        acuvoice: 1
        title: Broken
        tittle: typo
        steps:
          - press: BL233
            hold: 90x
          - say: hello
            pause: 3s
          - press: BL23
            sid: left
          - breathe: {cycles: 0}
          - cue: pres
          - press: GV4
            side: sideways
    """)
    with pytest.raises(RoutineError) as exc:
        load_routine(path)
    shown = str(path)
    assert problems(exc) == [
        f"{shown}:3:1: unknown key 'tittle'; did you mean 'title'?",
        f"{shown}:5:12: unknown point 'BL233'; did you mean BL23 or BL2 or BL52? "
        "(`acuvoice points` lists the library; define your own under `points:`)",
        f"{shown}:6:11: hold: '90x' is not a duration; use a number of seconds (90, 2.5) or units like "
        '"45s", "1m30s", "1.5m", "750ms", "1h5m"',
        f"{shown}:7:5: a step has one action, and this one has say, pause: split it into separate steps",
        f"{shown}:10:5: unknown key 'sid'; did you mean 'side'?",
        f"{shown}:11:23: cycles: input should be greater than or equal to 1",
        f"{shown}:12:10: cue: 'pres' is not one of start, press, release, switch, tick, end, inhale, exhale; "
        "did you mean 'press'?",
        f"{shown}:14:11: side: 'sideways' is not one of both, left, right, alternate, center",
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "acuvoice: 1\ntitle: x\nsteps: []\n",
            "3:8: steps: tuple should have at least 1 item after validation, not 0",
        ),
        (
            "acuvoice: 2\ntitle: x\nsteps: [{say: hi}]\n",
            "1:11: this program reads routine format 1, but the file says 2",
        ),
        ("title: x\nsteps: [{say: hi}]\n", "1:1: missing required key 'acuvoice'"),
        ("acuvoice: 1\nsteps: [{say: hi}]\n", "1:1: missing required key 'title'"),
        ("acuvoice: 1\ntitle: x\nsteps:\n  - pause: 0s\n", "4:12: pause: must be longer than zero"),
        (
            "acuvoice: 1\ntitle: x\nsteps:\n  - press: BL23\n    hold: 11m\n",
            "5:11: hold: '11m' is too long; at most 10 min",
        ),
        (
            "acuvoice: 1\ntitle: x\ntarget: 7h\nsteps: [{say: hi}]\n",
            "3:9: target: '7h' is longer than 6 hours, the most a session may last",
        ),
        (
            "acuvoice: 1\ntitle: x\nsteps:\n  - press: BL23\n    reminders: 2s\n",
            "5:16: reminders: must be 0 (no reminders) or at least 5s",
        ),
        (
            "acuvoice: 1\ntitle: x\nsteps:\n  - press: BL23\n    hold: 3s\n",
            "4:5: countdown of 3 s does not fit in a hold of 3 s; use a shorter countdown or a longer hold",
        ),
        (
            "acuvoice: 1\ntitle: x\nsteps:\n  - hello\n",
            "4:5: a step must be a mapping with one action key",
        ),
        (
            "acuvoice: 1\ntitle: x\nsteps:\n  - sya: hi\n",
            "4:5: a step needs one action key: say, pause, cue, breathe, press, chapter, include (for 'sya', did you mean 'say'?)",
        ),
        (
            "acuvoice: 1\ntitle: x\nlanguage: xx\nsteps: [{say: hi}]\n",
            "3:11: no spoken phrases for language 'xx' yet; available: de, en, es, fr",
        ),
        (
            "acuvoice: 1\ntitle: x\nlanguage: english!\nsteps: [{say: hi}]\n",
            "3:11: language: 'english!' is not a BCP 47 language tag",
        ),
        (
            "acuvoice: 1\ntitle: x\ncautions: [pregnant]\nsteps: [{say: hi}]\n",
            "3:12: unknown condition 'pregnant'; did you mean 'pregnancy'?",
        ),
        (
            "acuvoice: 1\ntitle: x\nsound: {cues: bowls}\nsteps: [{say: hi}]\n",
            "3:15: cues: 'bowls' is neither a cue set (bowl, chime, beep, soft, none) nor a folder of sound files; did you mean 'bowl'?",
        ),
        (
            "acuvoice: 1\ntitle: x\nvoice: {rate: 3}\nsteps: [{say: hi}]\n",
            "3:15: rate: input should be less than or equal to 2",
        ),
        ("acuvoice: 1\ntitle: 5\nsteps: [{say: hi}]\n", "2:8: title: expected text, got a number"),
        (
            "acuvoice: 1\ntitle: x\nsteps: [{say: hi}]\ntitle: y\n",
            "4:1: key 'title' appears twice in the same mapping",
        ),
        ("acuvoice: 1\ntitle: x\nsteps: [{say: hi}\n", "4:1: YAML syntax error"),
        (
            "acuvoice: 1\ntitle: !!python/object:os.system x\nsteps: [{say: hi}]\n",
            "2:8: tag 'tag:yaml.org,2002:python/object:os.system' is not allowed in a routine",
        ),
        ("", "empty"),
        ("- just\n- a list\n", "a routine is a mapping of keys"),
        (
            "acuvoice: 1\ntitle: x\npoints:\n  - {code: BL23, name: Mine, location: here}\nsteps: [{press: BL23}]\n",
            "4:12: point BL23 is already in the library (BL23 Shenshu); give your point another code, like EXTRA-1",
        ),
        (
            "acuvoice: 1\ntitle: x\npoints:\n  - {code: X-1, name: Mine, location: here, contraindications: [pregnant]}\nsteps: [{press: X-1}]\n",
            "4:65: unknown condition 'pregnant'; did you mean 'pregnancy'?",
        ),
    ],
)
def test_each_mistake_has_a_positioned_message(
    write_routine: WriteRoutine, body: str, expected: str
) -> None:
    path = write_routine(body)
    with pytest.raises(RoutineError) as exc:
        load_routine(path)
    messages = problems(exc)
    assert any(m.startswith(f"{path}:") and expected in m for m in messages), messages


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ("steps:\n\t- say: hi\n", "4:1", "this line is indented with a tab; indent with spaces, not tabs"),
        ("steps:\n  - say: hi\n  \tthen: 3s\n", "5:3", "this line is indented with a tab; indent with spaces, not tabs"),
        ("voice:\r\n\tengine: auto\r\n", "4:1", "this line is indented with a tab; indent with spaces, not tabs"),
        ("steps:\n  -\tsay: hi\n", "4:4", "a tab where YAML needs a space; use spaces, not tabs"),
    ],
)  # fmt: skip
def test_a_tab_says_to_use_spaces(
    write_routine: WriteRoutine, body: str, where: str, message: str
) -> None:
    path = write_routine("acuvoice: 1\ntitle: x\n" + body)
    with pytest.raises(RoutineError) as exc:
        load_routine(path)
    assert problems(exc) == [f"{path}:{where}: YAML syntax error: {message}"]


def test_a_tab_inside_quotes_is_text(write_routine: WriteRoutine) -> None:
    routine = load_routine(write_routine('acuvoice: 1\ntitle: "a\tb"\nsteps: [{say: hi}]\n'))
    assert routine.title == "a\tb"


def test_unknown_point_alone_is_an_unknown_point_error(write_routine: WriteRoutine) -> None:
    path = write_routine("acuvoice: 1\ntitle: x\nsteps:\n  - press: Hegoo\n")
    with pytest.raises(UnknownPointError) as exc:
        load_routine(path)
    assert "did you mean LI4?" in str(exc.value)


def test_includes_expand_in_place_with_their_own_positions(write_routine: WriteRoutine) -> None:
    write_routine("acuvoice: 1\nsteps:\n  - say: Included.\n  - press: BL23\n", "common/part.yaml")
    main = write_routine(
        "acuvoice: 1\ntitle: x\ndefaults: {hold: 45s}\nsteps:\n  - say: Before.\n  - include: common/part.yaml\n  - say: After.\n"
    )
    routine = load_routine(main)
    texts = [s.text if isinstance(s, SayStep) else type(s).__name__ for s in routine.steps]
    assert texts == ["Before.", "Included.", "PressStep", "After."]
    press = routine.steps[2]
    assert isinstance(press, PressStep) and press.hold_ms == 45_000  # the includer's defaults apply
    assert (
        press.origin.path.endswith(os.path.join("common", "part.yaml")) and press.origin.line == 4
    )


def test_errors_in_included_files_name_that_file(write_routine: WriteRoutine) -> None:
    write_routine("acuvoice: 1\nsteps:\n  - press: NOPE1\n", "part.yaml")
    main = write_routine("acuvoice: 1\ntitle: x\nsteps:\n  - include: part.yaml\n  - press: BL22\n")
    with pytest.raises(RoutineError) as exc:
        load_routine(main)
    messages = problems(exc)
    assert any(
        m.startswith(f"{main.parent / 'part.yaml'}:3:12: unknown point 'NOPE1'") for m in messages
    ), messages
    assert any(m.startswith(f"{main}:5:12: unknown point 'BL22'") for m in messages), messages


def test_include_cycles_are_errors(write_routine: WriteRoutine) -> None:
    write_routine("acuvoice: 1\nsteps:\n  - include: b.yaml\n", "a.yaml")
    write_routine("acuvoice: 1\nsteps:\n  - include: a.yaml\n", "b.yaml")
    main = write_routine("acuvoice: 1\ntitle: x\nsteps:\n  - include: a.yaml\n")
    with pytest.raises(RoutineError) as exc:
        load_routine(main)
    assert any("include cycle: a.yaml -> b.yaml -> a.yaml" in m for m in problems(exc)), problems(
        exc
    )


def test_self_include_is_a_cycle(write_routine: WriteRoutine) -> None:
    main = write_routine("acuvoice: 1\ntitle: x\nsteps:\n  - include: routine.yaml\n")
    with pytest.raises(RoutineError, match=r"include cycle: routine\.yaml -> routine\.yaml"):
        load_routine(main)


@pytest.mark.parametrize("target", ["../outside.yaml", "/etc/passwd", "sub/../../outside.yaml"])
def test_includes_may_not_leave_the_folder(tmp_path: Path, target: str) -> None:
    (tmp_path / "outside.yaml").write_text("acuvoice: 1\nsteps: [{say: hi}]\n")
    folder = tmp_path / "routines"
    folder.mkdir()
    main = folder / "main.yaml"
    main.write_text(f"acuvoice: 1\ntitle: x\nsteps:\n  - include: {target}\n")
    with pytest.raises(RoutineError) as exc:
        load_routine(main)
    assert any(
        ("leaves the routine's folder" in m or "must be a path relative" in m) and ":4:14:" in m
        for m in problems(exc)
    )


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text("acuvoice: 1\nsteps: [{say: hi}]\n")
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "link.yaml").symlink_to(tmp_path / "secret.yaml")
    (folder / "main.yaml").write_text("acuvoice: 1\ntitle: x\nsteps:\n  - include: link.yaml\n")
    with pytest.raises(RoutineError, match="leaves the routine's folder"):
        load_routine(folder / "main.yaml")


def test_missing_include_suggests_close_names(write_routine: WriteRoutine) -> None:
    write_routine("acuvoice: 1\nsteps: [{say: hi}]\n", "closing.yaml")
    main = write_routine("acuvoice: 1\ntitle: x\nsteps:\n  - include: closng.yaml\n")
    with pytest.raises(
        RoutineError,
        match=r"included file 'closng\.yaml' does not exist; did you mean 'closing\.yaml'",
    ):
        load_routine(main)


def test_a_huge_file_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    started = time.perf_counter()
    with pytest.raises(
        RoutineError, match=r"huge.yaml:1:1: file is 52.4 MB; a routine may be at most 1000 kB"
    ):
        load_routine(path)
    assert time.perf_counter() - started < 1.0


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\nacuvoice: 1\ntitle: x\nsteps: [{say: hi}]\n")
    started = time.perf_counter()
    with pytest.raises(RoutineError, match="expands to more than 100,000 values"):
        load_routine(path)
    assert time.perf_counter() - started < 2.0


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("acuvoice: 1\ntitle: x\nsteps: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(RoutineError, match="nested too deeply"):
        load_routine(path)


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"acuvoice: 1\ntitle: \xff\xfe\n")
    with pytest.raises(RoutineError, match=r"bin.yaml:2:8: file is not UTF-8 text"):
        load_routine(path)


def test_unknown_name_lists_builtins() -> None:
    with pytest.raises(
        RoutineError,
        match="no routine file or built-in routine by this name; did you mean 'lower-back-pain'",
    ):
        load_routine("lower-back-pian")


def test_missing_file() -> None:
    with pytest.raises(RoutineError, match=r"nope\.yaml: no such file"):
        load_routine("nope.yaml")
