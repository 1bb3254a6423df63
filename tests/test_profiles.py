"""Listener profiles change what is said: gated steps, the hold maximum, routine cautions."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import yaml

from acuvoice.cli import main
from acuvoice.compiler import CompileOptions, compile_timeline, target_range
from acuvoice.errors import RoutineError
from acuvoice.measure import WordsPerMinute
from acuvoice.phrases import available_languages, load_catalog, placeholders
from acuvoice.points.i18n import localize
from acuvoice.points.library import PointLibrary
from acuvoice.routine.loader import builtin_routine_path, load_routine
from acuvoice.routine.model import Gate, SayStep
from acuvoice.schema import routine_json_schema
from acuvoice.timeline import EventKind, Timeline, timing_violations
from tests.conftest import WriteRoutine

LANGUAGES = ("en", "es", "fr", "de")
PREGNANCY = ("pregnancy",)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def spoken(timeline: Timeline) -> list[str]:
    return [e.text or "" for e in timeline.of_kind(EventKind.SPEECH)]


def neck(language: str, library: PointLibrary, avoid: tuple[str, ...] = (), **kw: object) -> tuple:
    routine = load_routine(builtin_routine_path("neck-and-shoulders", language), library=library)
    options = CompileOptions(avoid=avoid, **kw)  # type: ignore[arg-type]
    measure = WordsPerMinute()
    return routine, compile_timeline(routine, library, measure, options)


# -- if_avoiding / unless_avoiding ------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_pregnancy_sentence_is_spoken_only_without_avoid_pregnancy(
    language: str, library: PointLibrary
) -> None:
    routine, plain = neck(language, library)
    gated = [s for s in routine.steps if isinstance(s, SayStep) and s.gates]
    assert len(gated) == 1
    assert gated[0].gates == (Gate(False, PREGNANCY),)
    first_sentence = gated[0].text.split(".")[0]
    assert any(first_sentence in t for t in spoken(plain))
    _, avoiding = neck(language, library, PREGNANCY)
    assert not any(first_sentence in t for t in spoken(avoiding))
    assert timing_violations(avoiding) == []


@pytest.mark.parametrize("name", ["neck-and-shoulders", "calm-and-sleep"])
def test_english_builtins_drop_if_you_are_pregnant_when_avoiding(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code, out, err = run(capsys, "script", "--engine", "estimate", name)
    assert code == 0, err
    assert "If you are pregnant, leave" in out
    code, out, err = run(capsys, "script", "--engine", "estimate", name, "--avoid", "pregnancy")
    assert code == 0, err
    assert "If you are pregnant" not in out
    assert "skipped today" in out


def test_if_avoiding_and_include_gates(write_routine: WriteRoutine, library: PointLibrary) -> None:
    write_routine(
        """\
        acuvoice: 1
        steps:
          - say: Included for the listener who avoids broken skin.
        """,
        "part.yaml",
    )
    path = write_routine(
        """\
        acuvoice: 1
        title: Gates
        steps:
          - say: Always said.
          - say: Only said when avoiding pregnancy.
            if_avoiding: pregnancy
          - say: Said unless avoiding pregnancy or varicose veins.
            unless_avoiding: [pregnancy, varicose-veins]
          - include: part.yaml
            if_avoiding: broken-skin
          - press: LI4
            unless_avoiding: pregnancy
            hold: 20s
        """
    )
    routine = load_routine(path, library=library)

    def texts(avoid: tuple[str, ...]) -> list[str]:
        options = CompileOptions(avoid=avoid)
        timeline = compile_timeline(routine, library, WordsPerMinute(), options)
        assert timing_violations(timeline) == []
        assert timeline.omitted == ()  # a gated press is left out silently, not "omitted"
        return spoken(timeline)

    plain = texts(())
    assert "Always said." in plain
    assert "Only said when avoiding pregnancy." not in plain
    assert "Said unless avoiding pregnancy or varicose veins." in plain
    assert "Included for the listener who avoids broken skin." not in plain
    assert any("Hegu" in t for t in plain)
    pregnant = texts(PREGNANCY)
    assert "Only said when avoiding pregnancy." in pregnant
    assert "Said unless avoiding pregnancy or varicose veins." not in pregnant
    assert not any("Hegu" in t for t in pregnant)
    veins = texts(("varicose-veins", "broken-skin"))
    assert "Said unless avoiding pregnancy or varicose veins." not in veins
    assert "Included for the listener who avoids broken skin." in veins


def test_unknown_condition_in_a_gate_is_a_positioned_error(write_routine: WriteRoutine) -> None:
    path = write_routine(
        """\
        acuvoice: 1
        title: Gates
        steps:
          - say: Hello.
            unless_avoiding: pregnancyy
          - say: Again.
            if_avoiding: [pregnancy, varicose-vein]
        """
    )
    with pytest.raises(RoutineError) as exc:
        load_routine(path)
    messages = [str(p) for p in exc.value.problems]
    assert messages[0].startswith(f"{path}:5:22: unknown condition 'pregnancyy' in unless_avoiding")
    assert "did you mean 'pregnancy'?" in messages[0]
    assert messages[1].startswith(f"{path}:7:30: unknown condition 'varicose-vein' in if_avoiding")
    assert "did you mean 'varicose-veins'?" in messages[1]


def test_schema_shows_the_gates_and_max_hold() -> None:
    schema = json.dumps(routine_json_schema())
    assert "if_avoiding" in schema
    assert "unless_avoiding" in schema
    assert "max_hold" in schema


# -- max_hold ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("avoid", [(), PREGNANCY])
@pytest.mark.parametrize("rate", [0.8, 1.0, 1.4])
def test_ten_minute_neck_session_never_holds_beyond_max_hold(
    language: str, avoid: tuple[str, ...], rate: float, library: PointLibrary
) -> None:
    routine = load_routine(builtin_routine_path("neck-and-shoulders", language), library=library)
    assert routine.max_hold_ms == 60_000
    timeline = compile_timeline(
        routine, library, WordsPerMinute(rate=rate), CompileOptions(avoid=avoid)
    )
    assert timing_violations(timeline) == []
    assert max(h.duration_ms for h in timeline.of_kind(EventKind.HOLD)) <= 60_000
    catalog = load_catalog(language)
    notice = catalog.say("shortened_notice", duration=catalog.duration(60_000))
    if timeline.shortened_from_ms is None:
        assert timeline.duration_ms == 10 * 60_000
        assert notice not in spoken(timeline)
    else:
        assert timeline.duration_ms < timeline.shortened_from_ms == 10 * 60_000
        assert notice in spoken(timeline)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_shortened_session_says_so(language: str, library: PointLibrary) -> None:
    _, timeline = neck(language, library, PREGNANCY, target_ms=15 * 60_000)
    catalog = load_catalog(language)
    notice = catalog.say("shortened_notice", duration=catalog.duration(60_000))
    assert notice in spoken(timeline)
    assert timeline.shortened_from_ms == 15 * 60_000
    assert timeline.duration_ms < 15 * 60_000
    assert timeline.target_ms == timeline.duration_ms
    assert max(h.duration_ms for h in timeline.of_kind(EventKind.HOLD)) == 60_000
    assert timing_violations(timeline) == []
    again = Timeline.from_json(json.loads(timeline.dumps()))
    assert again.shortened_from_ms == timeline.shortened_from_ms
    assert again.max_hold_ms == 60_000


def test_the_cli_warns_when_a_session_is_shortened(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("script", "--engine", "estimate", "neck-and-shoulders", "--avoid", "pregnancy")
    code, out, err = run(capsys, *args, "--target", "15m")
    assert code == 0, err
    assert "warning: the session lasts" in err
    assert "instead of the target 15 min" in err
    assert "So that no point is held for longer than one minute" in out
    code, out, err = run(capsys, *args, "--target", "15m", "--format", "json")
    data = json.loads(out)
    assert data["shortened_from_ms"] == 900_000
    assert data["duration_ms"] < 900_000
    code, out, err = run(capsys, *args)
    assert "warning" not in err
    assert "So that no point is held" not in out


def test_target_range_ends_where_holds_reach_max_hold(library: PointLibrary) -> None:
    routine = load_routine("neck-and-shoulders", library=library)
    options = CompileOptions(avoid=PREGNANCY)
    lo, hi = target_range(routine, library, WordsPerMinute(), options)
    for target in (lo, hi):
        timeline = compile_timeline(
            routine, library, WordsPerMinute(), CompileOptions(avoid=PREGNANCY, target_ms=target)
        )
        assert timeline.duration_ms == target
        assert timeline.shortened_from_ms is None
    over = compile_timeline(
        routine, library, WordsPerMinute(), CompileOptions(avoid=PREGNANCY, target_ms=hi + 1)
    )
    assert over.shortened_from_ms == hi + 1
    assert timing_violations(over) == []


def test_max_hold_in_an_included_file_or_below_ten_seconds_is_an_error(
    write_routine: WriteRoutine,
) -> None:
    write_routine("acuvoice: 1\ndefaults: {max_hold: 1m}\nsteps: [{say: Hi.}]\n", "part.yaml")
    path = write_routine(
        """\
        acuvoice: 1
        title: Doses
        defaults:
          max_hold: 5s
        steps:
          - include: part.yaml
        """
    )
    with pytest.raises(RoutineError) as exc:
        load_routine(path)
    messages = "\n".join(str(p) for p in exc.value.problems)
    assert f"{path}:4:" in messages and "at least 10s" in messages
    assert "part.yaml:2:" in messages and "max_hold applies to the whole routine" in messages


# -- routine cautions -------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_routine_cautions_are_spoken_in_the_safety_notice(
    language: str, library: PointLibrary
) -> None:
    routine = load_routine(builtin_routine_path("lower-back-pain", language), library=library)
    assert routine.cautions == PREGNANCY
    timeline = compile_timeline(routine, library, WordsPerMinute())
    catalog = load_catalog(language)
    condition = localize(library, language).conditions["pregnancy"].spoken
    notice = catalog.say("cautions_notice", conditions=condition)
    safety = [e.text for e in timeline.of_kind(EventKind.SPEECH) if e.role == "safety"]
    first = notice.split(". ")[0]
    assert any(first in (t or "") for t in safety), safety
    assert condition in " ".join(t or "" for t in safety)


def test_routine_cautions_are_silent_without_the_safety_notice(
    write_routine: WriteRoutine, library: PointLibrary
) -> None:
    text = """\
        acuvoice: 1
        title: Quiet
        cautions: [pregnancy, varicose-veins]
        safety_notice: {notice}
        steps:
          - say: Hello.
        """
    on = compile_timeline(
        load_routine(write_routine(text.format(notice="true"), "on.yaml")),
        library,
        WordsPerMinute(),
    )
    assert "This session is not advised with pregnancy and varicose veins." in spoken(on)
    off = compile_timeline(
        load_routine(write_routine(text.format(notice="false"), "off.yaml")),
        library,
        WordsPerMinute(),
    )
    assert not any("not advised with" in t for t in spoken(off))


# -- catalogs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", available_languages())
def test_every_catalog_has_the_profile_phrases(language: str) -> None:
    ref = resources.files("acuvoice").joinpath("phrases").joinpath(f"{language}.yaml")
    data = yaml.safe_load(ref.read_text(encoding="utf-8"))
    assert placeholders(data["cautions_notice"]) == {"conditions"}
    assert placeholders(data["shortened_notice"]) == {"duration"}
