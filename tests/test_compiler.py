"""The compiler obeys every timing rule of the spec, for built-ins and for spec-only routines."""

from __future__ import annotations

import pytest

from acuvoice.compiler import CompileOptions, compile_timeline, cue_lengths
from acuvoice.errors import CompileError
from acuvoice.measure import WordsPerMinute
from acuvoice.points.library import PointLibrary
from acuvoice.routine.loader import builtin_routines, load_routine
from acuvoice.timeline import EventKind, Timeline, timing_violations
from tests.conftest import WriteRoutine

MINIMAL = """\
acuvoice: 1
title: Minimal
safety_notice: false
steps:
  - chapter: Points
  - press: {point}
    side: {side}
    hold: {hold}
    find: 5s
    reminders: {reminders}
    countdown: {countdown}
    repeat: {repeat}
"""


def compile_file(path: object, library: PointLibrary, **options: object) -> Timeline:
    routine = load_routine(str(path), library=library)
    return compile_timeline(routine, library, WordsPerMinute(), CompileOptions(**options))  # type: ignore[arg-type]


def minimal(write_routine: WriteRoutine, library: PointLibrary, **values: object) -> Timeline:
    fields = {
        "point": "BL23",
        "side": "both",
        "hold": "60s",
        "reminders": "20s",
        "countdown": 3,
        "repeat": 1,
    }
    fields.update(values)
    return compile_file(write_routine(MINIMAL.format(**fields)), library)


@pytest.mark.parametrize("name", sorted(builtin_routines()))
@pytest.mark.parametrize("target", [None, 12 * 60_000, 20 * 60_000])
def test_builtin_routines_obey_the_timing_rules(
    name: str, target: int | None, library: PointLibrary
) -> None:
    routine = load_routine(name, library=library)
    timeline = compile_timeline(
        routine, library, WordsPerMinute(), CompileOptions(target_ms=target)
    )
    assert timing_violations(timeline) == []
    if target is not None and timeline.shortened_from_ms is None:
        assert timeline.duration_ms == target
    elif target is not None:
        # Shortened so that no hold exceeds the routine's max_hold (neck-and-shoulders).
        assert routine.max_hold_ms is not None
        assert timeline.duration_ms < target == timeline.shortened_from_ms
        holds = timeline.of_kind(EventKind.HOLD)
        assert max(h.end_ms - h.start_ms for h in holds) <= routine.max_hold_ms
    elif routine.target_ms:
        assert timeline.duration_ms == routine.target_ms


def test_holds_are_exact_and_framed_by_cues(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    timeline = minimal(write_routine, library, hold="1m30s")
    [hold] = timeline.of_kind(EventKind.HOLD)
    assert hold.duration_ms == 90_000
    cues = {(e.sound, e.start_ms) for e in timeline.of_kind(EventKind.CUE)}
    assert ("press", hold.start_ms) in cues and ("release", hold.end_ms) in cues


def test_countdown_ticks_fall_on_the_last_seconds(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    timeline = minimal(write_routine, library, countdown=3)
    [hold] = timeline.of_kind(EventKind.HOLD)
    ticks = [e.start_ms for e in timeline.of_kind(EventKind.CUE) if e.sound == "tick"]
    assert ticks == [hold.end_ms - 3000, hold.end_ms - 2000, hold.end_ms - 1000]


def test_reminders_fall_every_interval_inside_the_hold(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    timeline = minimal(write_routine, library, hold="60s", reminders="20s")
    [hold] = timeline.of_kind(EventKind.HOLD)
    reminders = [e for e in timeline.events if e.role == "reminder"]
    assert [e.start_ms - hold.start_ms for e in reminders] == [20_000, 40_000]
    assert all(hold.start_ms < e.start_ms and e.end_ms < hold.end_ms - 3000 for e in reminders)
    assert len({e.text for e in reminders}) == 2  # variants rotate


def test_a_reminder_that_does_not_fit_is_dropped_not_moved(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    # 18 s hold, reminder every 15 s: the reminder at 15 s would run into the countdown at 15 s.
    timeline = minimal(write_routine, library, hold="18s", reminders="15s")
    [hold] = timeline.of_kind(EventKind.HOLD)
    assert hold.duration_ms == 18_000
    assert [e for e in timeline.events if e.role == "reminder"] == []
    assert timing_violations(timeline) == []


def test_alternate_does_left_then_switch_then_right(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    timeline = minimal(write_routine, library, point="LI4", side="alternate", hold="30s")
    holds = timeline.of_kind(EventKind.HOLD)
    assert [(h.side, h.duration_ms) for h in holds] == [("left", 30_000), ("right", 30_000)]
    switch = [e for e in timeline.of_kind(EventKind.CUE) if e.sound == "switch"]
    assert len(switch) == 1 and holds[0].end_ms < switch[0].start_ms < holds[1].start_ms
    spoken = [
        e.text
        for e in timeline.of_kind(EventKind.SPEECH)
        if holds[0].end_ms <= e.start_ms < holds[1].start_ms
    ]
    assert "Now the right side." in spoken and "And release, slowly." in spoken


def test_what_the_listener_hears_comes_in_the_spec_order(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    timeline = minimal(write_routine, library)
    roles = [
        e.role or e.sound
        for e in timeline.events
        if e.kind in (EventKind.SPEECH, EventKind.CUE) and e.step == 1
    ]
    order = [r for i, r in enumerate(roles) if i == 0 or roles[i - 1] != r]
    # The press cue and the spoken "Press now." share a role and collapse into one entry here.
    assert order[:6] == ["point", "caution", "technique", "find", "press", "reminder"]
    assert order[-3:] == [
        "reminder",
        "tick",
        "release",
    ]  # ticks, then the release cue and "release"


def test_repeat_does_the_whole_press_again_without_the_location(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    timeline = minimal(write_routine, library, repeat=2)
    assert len(timeline.of_kind(EventKind.HOLD)) == 2
    assert sum(1 for e in timeline.events if e.role == "repeat") == 1
    assert sum(1 for e in timeline.events if e.role == "point" and "Shenshu" in (e.text or "")) == 1


def test_welcome_safety_and_closing_frame_the_session(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    path = write_routine("acuvoice: 1\ntitle: Calm Hands\nsteps:\n  - say: Hello there.\n")
    timeline = compile_file(path, library)
    speech = timeline.of_kind(EventKind.SPEECH)
    assert speech[0].text == "Welcome." and speech[1].text == "This is Calm Hands."
    assert any(e.role == "safety" and "broken" in (e.text or "") for e in speech)
    assert speech[-1].role == "closing"
    cues = timeline.of_kind(EventKind.CUE)
    assert cues[0].sound == "start" and cues[0].start_ms == 0 and cues[-1].sound == "end"
    assert cues[-1].end_ms == timeline.duration_ms
    assert timeline.chapters[0].start_ms == 0 and timeline.chapters[0].title == "Welcome"


def test_say_then_keeps_its_silence(write_routine: WriteRoutine, library: PointLibrary) -> None:
    path = write_routine(
        "acuvoice: 1\ntitle: x\nsafety_notice: false\nsteps:\n  - say: One.\n    then: 4s\n  - say: Two.\n"
    )
    timeline = compile_file(path, library)
    one, two = (e for e in timeline.of_kind(EventKind.SPEECH) if e.role == "say")
    assert two.start_ms - one.end_ms == 4000


@pytest.mark.parametrize(
    ("guide", "voiced", "tones"),
    [("voice", 4, 0), ("tones", 0, 8), ("both", 2, 4)],
)
def test_breathing_guides(
    write_routine: WriteRoutine, library: PointLibrary, guide: str, voiced: int, tones: int
) -> None:
    path = write_routine(
        "acuvoice: 1\ntitle: x\nsafety_notice: false\nsteps:\n"
        f"  - breathe: {{cycles: 4, inhale: 4s, exhale: 6s, hold: 2s}}\n    guide: {guide}\n"
    )
    timeline = compile_file(path, library)
    phases = timeline.of_kind(EventKind.BREATH)
    assert [(p.phase, p.duration_ms) for p in phases[:3]] == [
        ("in", 4000),
        ("hold", 2000),
        ("out", 6000),
    ]
    assert len(phases) == 12
    spoken_in = [e for e in timeline.events if e.role == "breath" and e.text == "Breathe in."]
    assert len(spoken_in) == voiced
    assert (
        sum(1 for e in timeline.of_kind(EventKind.CUE) if e.sound in ("inhale", "exhale")) == tones
    )
    assert timing_violations(timeline) == []


def test_target_is_met_to_the_millisecond(library: PointLibrary) -> None:
    routine = load_routine("lower-back-pain", library=library)
    for target in (11 * 60_000, 12 * 60_000, 15 * 60_000 + 333, 25 * 60_000):
        timeline = compile_timeline(
            routine, library, WordsPerMinute(), CompileOptions(target_ms=target)
        )
        assert timeline.duration_ms == target
        assert timing_violations(timeline) == []
        assert all(10_000 <= h.duration_ms <= 300_000 for h in timeline.of_kind(EventKind.HOLD))


def test_target_scales_elastic_parts_in_proportion(library: PointLibrary) -> None:
    routine = load_routine("lower-back-pain", library=library)
    timeline = compile_timeline(
        routine, library, WordsPerMinute(), CompileOptions(target_ms=20 * 60_000)
    )
    holds = timeline.of_kind(EventKind.HOLD)
    # Written 60 s and 40 s holds keep their 3:2 ratio after fitting (to a few ms of rounding).
    long_ = holds[0].duration_ms
    short = next(h for h in holds if h.point == "GB30").duration_ms
    assert abs(long_ / short - 1.5) < 0.001


def test_target_zero_turns_fitting_off(library: PointLibrary) -> None:
    routine = load_routine("lower-back-pain", library=library)
    timeline = compile_timeline(routine, library, WordsPerMinute(), CompileOptions(target_ms=0))
    assert timeline.target_ms is None
    assert timeline.of_kind(EventKind.HOLD)[0].duration_ms == 60_000


@pytest.mark.parametrize("target", [60_000, 5 * 3_600_000])
def test_impossible_target_names_the_possible_range(library: PointLibrary, target: int) -> None:
    routine = load_routine("lower-back-pain", library=library)
    with pytest.raises(
        CompileError,
        match=r"cannot fit the session to .*it can last from \d+ min( \d+ s)? to \d+ min( \d+ s)?\. Choose a target",
    ):
        compile_timeline(routine, library, WordsPerMinute(), CompileOptions(target_ms=target))


def test_narration_longer_than_target_says_so(library: PointLibrary) -> None:
    routine = load_routine("lower-back-pain", library=library)
    with pytest.raises(CompileError, match="the narration alone lasts"):
        compile_timeline(routine, library, WordsPerMinute(), CompileOptions(target_ms=60_000))


def test_avoid_pregnancy_refuses_a_routine_that_lists_it(library: PointLibrary) -> None:
    routine = load_routine("lower-back-pain", library=library)
    with pytest.raises(CompileError) as exc:
        compile_timeline(routine, library, WordsPerMinute(), CompileOptions(avoid=("pregnancy",)))
    assert str(exc.value).startswith(
        "'Lower back relief' is not suitable with pregnancy: the routine lists pregnancy under `cautions`"
    )


def test_avoid_pregnancy_removes_contraindicated_points(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    path = write_routine("""\
        acuvoice: 1
        title: Hands
        steps:
          - press: LI4
          - press: PC6
          - press: SP6
    """)
    timeline = compile_file(path, library, avoid=("pregnancy",))
    assert [o.point for o in timeline.omitted] == ["LI4", "SP6"]
    assert {h.point for h in timeline.of_kind(EventKind.HOLD)} == {"PC6"}
    notice = [e.text for e in timeline.events if e.role == "notice"]
    assert notice and "pregnancy" in notice[0] and "2 points" in notice[0]
    assert "Hegu" in notice[-1] and "Sanyinjiao" in notice[-1]
    assert timing_violations(timeline) == []


def test_unknown_avoid_condition_is_an_error(library: PointLibrary) -> None:
    routine = load_routine("neck-and-shoulders", library=library)
    with pytest.raises(
        CompileError, match="unknown condition 'pregnant' to avoid; did you mean 'pregnancy'"
    ):
        compile_timeline(routine, library, WordsPerMinute(), CompileOptions(avoid=("pregnant",)))


def test_measure_is_the_only_source_of_speech_lengths(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    path = write_routine("acuvoice: 1\ntitle: x\nsteps:\n  - say: Hello.\n  - press: BL23\n")
    routine = load_routine(str(path), library=library)
    timeline = compile_timeline(routine, library, lambda text: 1234 + len(text), CompileOptions())
    assert all(
        e.duration_ms == 1234 + len(e.text or "") for e in timeline.of_kind(EventKind.SPEECH)
    )
    assert timing_violations(timeline) == []


def test_cue_set_none_keeps_zero_length_markers(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    path = write_routine("acuvoice: 1\ntitle: x\nsteps:\n  - press: BL23\n")
    timeline = compile_file(path, library, cue_ms=cue_lengths("none"))
    press = [e for e in timeline.of_kind(EventKind.CUE) if e.sound == "press"]
    assert press and press[0].duration_ms == 0
    assert timing_violations(timeline) == []


def test_timeline_json_round_trips(library: PointLibrary) -> None:
    routine = load_routine("lower-back-pain", library=library)
    timeline = compile_timeline(routine, library, WordsPerMinute(), CompileOptions())
    data = timeline.to_json()
    assert data["acuvoice_timeline"] == 1 and list(data)[:6] == [
        "acuvoice_timeline",
        "title",
        "language",
        "duration_ms",
        "chapters",
        "events",
    ]
    assert Timeline.from_json(data) == timeline
