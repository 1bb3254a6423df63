"""`acuvoice plan`: personal routines built from the point library, and practice plans.

The matrix test builds every combination of the concerns (alone and in pairs) x listener
profiles x levels x lengths 5/10/20/30 min and checks each routine the way a listener
would need it: it validates, lasts the asked minutes to the millisecond, presses no point
the profile rules out, keeps every hold within the level's dose, and speaks the warning
signs of each concern before any point. A combination that cannot be made must say why,
and the minutes it offers instead must really build.
"""

from __future__ import annotations

import itertools
import multiprocessing
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from acuvoice.cli import main
from acuvoice.compiler import CompileOptions, compile_timeline, split_sentences
from acuvoice.errors import CompileError
from acuvoice.measure import WordsPerMinute
from acuvoice.plan import PlanAnswers, PlanError, build_plan, plan_content
from acuvoice.plan.practice import build_practice_plan, stage_levels
from acuvoice.points.library import builtin_library
from acuvoice.routine.loader import builtin_routines, load_routine, load_routine_text
from acuvoice.routine.model import PressStep
from acuvoice.timeline import EventKind

LIBRARY = builtin_library()
TOPICS = list(LIBRARY.topics)
CONCERNS = [(t,) for t in TOPICS] + list(itertools.combinations(TOPICS, 2))
PROFILES: list[tuple[str, ...]] = [
    (),
    ("pregnancy",),
    ("varicose-veins",),
    tuple(LIBRARY.conditions),  # every condition at once
]
LEVELS = list(plan_content().levels)
LENGTHS = [5, 10, 20, 30]


def check_combination(answers: PlanAnswers) -> list[str]:
    """What is wrong with the plan for ``answers`` (nothing: an empty list)."""
    try:
        built = build_plan(answers)
    except PlanError as e:
        return _check_refusal(answers, e)
    problems: list[str] = []
    where = answers.describe()
    routine = load_routine_text(built.text, name="plan")
    level = plan_content().levels[answers.level]
    timeline = compile_timeline(
        routine, LIBRARY, WordsPerMinute(), CompileOptions(avoid=answers.avoid)
    )
    if timeline.duration_ms != answers.minutes * 60_000 or timeline.shortened_from_ms:
        problems.append(f"{where}: lasts {timeline.duration_ms} ms")
    pressed = [s.point for s in routine.steps if isinstance(s, PressStep)]
    if not pressed:
        problems.append(f"{where}: presses no point")
    for code in pressed:
        bad = set(LIBRARY.get(code).contraindications) & set(answers.avoid)
        if bad:
            problems.append(f"{where}: presses {code}, to avoid with {bad}")
    holds = [e.end_ms - e.start_ms for e in timeline.events if e.kind is EventKind.HOLD]
    if holds and not level.min_hold_ms <= min(holds) <= max(holds) <= level.max_hold_ms:
        problems.append(f"{where}: holds {min(holds)}..{max(holds)} ms outside the dose")
    first_hold = min(e.start_ms for e in timeline.events if e.kind is EventKind.HOLD)
    said = [
        e.text
        for e in timeline.events
        if e.kind is EventKind.SPEECH and e.start_ms < first_hold and e.text
    ]
    for concern in answers.concerns:
        for sentence in split_sentences(plan_content().topics[concern].red_flags):
            if sentence not in said:
                problems.append(f"{where}: does not say {sentence!r} before the first point")
    return problems


def _check_refusal(answers: PlanAnswers, e: PlanError) -> list[str]:
    where = answers.describe()
    content = plan_content()
    if e.kind == "unsuitable":
        ruled = any(
            c in content.topics[t].cautions for t in answers.concerns for c in answers.avoid
        )
        if ruled and "can be made" in str(e):
            return []
        return [f"{where}: refused as unsuitable without a caution: {e}"]
    if e.kind == "no-points":
        return [] if answers.avoid else [f"{where}: no points without a profile: {e}"]
    offered = e.longest_minutes if e.kind == "too-long" else e.shortest_minutes
    if offered is None:
        return [] if "No length" in str(e) else [f"{where}: offers nothing: {e}"]
    if f"Choose {offered} minutes" not in str(e):
        return [f"{where}: message does not offer {offered} minutes: {e}"]
    if (e.kind == "too-long") != (offered < answers.minutes):
        return [f"{where}: offers {offered} minutes for a {e.kind} refusal"]
    try:
        build_plan(PlanAnswers(answers.concerns, offered, answers.avoid, answers.level))
    except PlanError as again:
        return [f"{where}: offers {offered} minutes, which fail too: {again}"]
    return []


def _check_set(concerns: tuple[str, ...]) -> list[str]:
    problems: list[str] = []
    for avoid, level, minutes in itertools.product(PROFILES, LEVELS, LENGTHS):
        problems += check_combination(PlanAnswers(concerns, minutes, avoid, level))
    return problems


@pytest.fixture(scope="module")
def matrix() -> Iterator[dict[tuple[str, ...], list[str]]]:
    """Every concern set's problems, computed on every core at once."""
    with multiprocessing.get_context("fork").Pool(max(2, multiprocessing.cpu_count())) as pool:
        yield dict(zip(CONCERNS, pool.map(_check_set, CONCERNS), strict=True))


@pytest.mark.parametrize("concerns", CONCERNS, ids=["+".join(c) for c in CONCERNS])
def test_every_plan_combination(
    concerns: tuple[str, ...], matrix: dict[tuple[str, ...], list[str]]
) -> None:
    assert matrix[concerns] == []


def test_most_combinations_make_a_session() -> None:
    # The refusals are honest, but a builder that refused everything would pass the matrix.
    made = 0
    for concerns in CONCERNS[:12]:
        for minutes in (10, 20):
            try:
                build_plan(PlanAnswers(concerns, minutes))
                made += 1
            except PlanError:
                pass
    assert made >= 22


def test_same_answers_same_file() -> None:
    answers = PlanAnswers(("back", "stress"), 20)
    assert build_plan(answers).text == build_plan(answers).text
    assert build_plan(answers).text != build_plan(PlanAnswers(("back", "stress"), 21)).text


def test_points_are_ordered_so_the_listener_moves_little() -> None:
    built = build_plan(PlanAnswers(("back", "stress"), 20))
    content = plan_content()
    groups = [content.group_of(LIBRARY.get(c).region) for c in built.points]
    assert groups == sorted(groups)
    assert built.points[0] == "EX-HN3"  # the face before the back, the back before the feet


def test_back_pain_in_pregnancy_is_refused_with_what_is_possible() -> None:
    with pytest.raises(PlanError) as e:
        build_plan(PlanAnswers(("back", "stress"), 20, ("pregnancy",)))
    assert e.value.kind == "unsuitable"
    assert "lower back" in str(e.value) and "pregnancy" in str(e.value)
    assert "What can be made: a 20-minute session for stress with the same profile" in str(e.value)
    assert e.value.offer == PlanAnswers(("stress",), 20, ("pregnancy",))
    # ... and what it offers builds, without any point on a pregnancy avoid list.
    built = build_plan(PlanAnswers(("stress",), 20, ("pregnancy",)))
    assert "LI4" not in built.points
    assert any(lo.code == "LI4" and "pregnancy" in lo.why for lo in built.left_out)


def test_a_profile_leaves_points_out_and_says_so_in_the_file() -> None:
    built = build_plan(PlanAnswers(("headache",), 10, ("pregnancy",)))
    assert "LI4" not in built.points
    assert "# Left out for your profile: LI4 Hegu (avoided with pregnancy)" in built.text


def test_levels_change_the_dose() -> None:
    holds = {
        level: build_plan(PlanAnswers(("neck",), 15, level=level)).holds_ms
        for level in ("gentle", "beginner", "experienced")
    }
    assert max(holds["gentle"]) <= 60_000
    assert max(holds["beginner"]) <= 120_000
    assert min(holds["experienced"]) >= 45_000
    assert sum(holds["experienced"]) / len(holds["experienced"]) > sum(holds["beginner"]) / len(
        holds["beginner"]
    )


def test_the_plan_is_a_commented_routine() -> None:
    text = build_plan(PlanAnswers(("sleep",), 15)).text
    assert text.startswith("# A personal self-acupressure routine")
    assert "#   sleep; 15 minutes; beginner\n" in text
    data = yaml.safe_load(text)
    assert data["target"] == "15m"
    assert data["defaults"]["min_hold"] == "15s" and data["defaults"]["max_hold"] == "2m"
    assert data["sources"]


def test_practice_plan_progresses_in_stages() -> None:
    assert stage_levels("beginner", 42) == [
        (1, 7, "beginner"),
        (8, 21, "intermediate"),
        (22, 42, "experienced"),
    ]
    assert stage_levels("gentle", 42) == [(1, 42, "gentle")]
    assert stage_levels("beginner", 5) == [(1, 5, "beginner")]
    practice = build_practice_plan(PlanAnswers(("back",), 30), 42)
    assert list(practice.files) == [
        "days-01-07.yaml",
        "days-08-21.yaml",
        "days-22-42.yaml",
        "plan.yaml",
    ]
    means = [sum(s.built.holds_ms) / len(s.built.holds_ms) for s in practice.stages]
    assert means == sorted(means) and means[-1] > 1.5 * means[0]
    plan = yaml.safe_load(practice.files["plan.yaml"])
    assert plan["days"] == 42
    assert [e["number"] for e in plan["episodes"]] == list(range(1, 43))
    assert plan["episodes"][7]["routine"] == "days-08-21.yaml"
    for name, text in practice.files.items():
        if name != "plan.yaml":
            load_routine_text(text, name="stage")


# -- the command line --------------------------------------------------------------------


@pytest.fixture
def run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str, str]]:
    """``run(*args)``: the command line in ``tmp_path``, as (exit status, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


Run = Callable[..., tuple[int, str, str]]


def test_cli_writes_a_routine_that_validates(run: Run) -> None:
    code, out, err = run("plan", "--for", "back,stress", "--minutes", "20", "-o", "my-routine.yaml")
    assert code == 0, err
    assert "next: acuvoice render my-routine.yaml" in out
    assert "points (EX-HN3" in err
    code, out, err = run("validate", "--strict", "my-routine.yaml")
    assert code == 0, err
    code, out, err = run("script", "my-routine.yaml", "--engine", "estimate")
    assert code == 0 and out.startswith("Lower back and stress\n20:00 long"), out[:200]


def test_cli_prints_the_routine_without_output(run: Run, tmp_path: Path) -> None:
    code, out, err = run("plan", "--for", "nausea", "--minutes", "8")
    assert code == 0, err
    assert yaml.safe_load(out)["title"] == "Nausea"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["--for", "back,neck", "--avoid", "pregnancy"],
            "Try: acuvoice plan --for neck --minutes 15 --avoid pregnancy",
        ),
        (["--for", "bak"], "did you mean 'back'"),
        (
            ["--for", "nausea", "--minutes", "30"],
            "15 minutes or fewer, or add a concern such as stress. Try: acuvoice plan --for "
            "nausea --minutes 15",
        ),
        (["--for", "sleep", "--avoid", "pregnant"], "unknown condition 'pregnant'"),
        (["--for", "sleep", "--days", "42"], "-o FOLDER"),
        (["--for", "sleep", "--language", "de"], "in en only so far"),
        (["--for", "sleep", "--minutes", "1"], "--minutes"),
    ],
)
def test_cli_refusals_are_clear_and_write_nothing(
    args: list[str], needle: str, run: Run, tmp_path: Path
) -> None:
    code, _out, err = run("plan", *args)
    assert code == 2
    assert needle in err, err
    assert "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_cli_will_not_overwrite_without_force(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("keep me", encoding="utf-8")
    code, _, err = run("plan", "--for", "neck", "-o", "mine.yaml")
    assert code == 2 and "--force" in err
    assert target.read_text(encoding="utf-8") == "keep me"
    code, _, err = run("plan", "--for", "neck", "-o", "mine.yaml", "--force")
    assert code == 0, err
    assert target.read_text(encoding="utf-8").startswith("# A personal")


def test_cli_practice_plan_folder(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "back-plan"
    code, _out, err = run(
        "plan", "--for", "back", "--minutes", "30", "--days", "42", "-o", "back-plan"
    )
    assert code == 0, err
    assert sorted(p.name for p in folder.iterdir()) == [
        "days-01-07.yaml",
        "days-08-21.yaml",
        "days-22-42.yaml",
        "plan.yaml",
    ]
    assert "days 22-42 (experienced)" in err
    code, _, err = run("validate", "--strict", *map(str, folder.glob("days-*.yaml")))
    assert code == 0, err


def test_plan_texts_say_nothing_the_sources_do_not_support() -> None:
    from importlib import resources

    from tests.test_point_library import UNSUPPORTED, _strings

    data = yaml.safe_load(
        resources.files("acuvoice").joinpath("plan/data/en.yaml").read_text(encoding="utf-8")
    )
    found = [
        (text[:60], pat)
        for text in _strings(data)
        for pat in UNSUPPORTED
        if re.search(pat, text, re.I)
    ]
    assert not found
    # ... and every concern's sources exist, every point it names is in the library.
    content = plan_content()
    for topic in content.topics.values():
        assert topic.sources and all(s in content.sources for s in topic.sources)
        assert all(code in LIBRARY for code in topic.points), topic.id
        assert topic.id in LIBRARY.topics


@pytest.mark.slow
def test_a_plan_renders_to_its_minutes_with_the_default_voice(run: Run, tmp_path: Path) -> None:
    import json

    import soundfile

    code, _, err = run("plan", "--for", "neck,stress", "--minutes", "10", "-o", "mine.yaml")
    assert code == 0, err
    cache = ["--cache-dir", str(tmp_path / "cache")]
    code, out, err = run("render", "mine.yaml", "-o", "mine.wav", *cache)
    assert code == 0, err
    info = soundfile.info(str(tmp_path / "mine.wav"))
    assert info.frames == 10 * 60 * info.samplerate  # to the sample
    code, out, err = run("script", "mine.yaml", "--format", "json", *cache)
    timeline = json.loads(out)
    assert timeline["voice"].startswith("hibari/")
    holds = [e["end_ms"] - e["start_ms"] for e in timeline["events"] if e["kind"] == "hold"]
    assert min(holds) >= 15_000 and max(holds) <= 120_000  # the beginner's dose


# -- the built-in routines, under the same profiles --------------------------------------

#: Words of each topic's warning signs that a session for it must say before any point.
RED_FLAG_WORDS = {
    "back": ("bladder", "both legs"),
    "neck": ("tingling", "balance"),
    "stress": ("daily life",),
    "anxiety": ("daily life",),
    "headache": ("loss of vision", "stiff neck"),
    "nausea": ("fluids", "vomit blood"),
    "sleep": ("snore", "without meaning to"),
    "menstrual-cramps": ("clots", "discharge"),
    "fatigue": ("weight loss", "gasping"),
}


@pytest.mark.parametrize("name", sorted(builtin_routines()))
@pytest.mark.parametrize("avoid", PROFILES, ids=["none", "pregnancy", "varicose", "all"])
def test_every_builtin_routine_under_every_profile(name: str, avoid: tuple[str, ...]) -> None:
    routine = load_routine(builtin_routines()[name], library=LIBRARY)
    options = CompileOptions(avoid=avoid)
    if any(c in routine.cautions for c in avoid):
        with pytest.raises(CompileError, match="not suitable"):
            compile_timeline(routine, LIBRARY, WordsPerMinute(), options)
        return
    timeline = compile_timeline(routine, LIBRARY, WordsPerMinute(), options)
    assert routine.target_ms is not None
    if timeline.shortened_from_ms is None:
        assert timeline.duration_ms == routine.target_ms
    else:  # only a profile that leaves points out makes the rest stretch past max_hold
        assert timeline.omitted and timeline.shortened_from_ms == routine.target_ms
    held = {e.point for e in timeline.events if e.kind is EventKind.HOLD}
    for code in held:
        assert not set(LIBRARY.get(code or "").contraindications) & set(avoid), code
    first_hold = min(e.start_ms for e in timeline.events if e.kind is EventKind.HOLD)
    said = " ".join(
        e.text or ""
        for e in timeline.events
        if e.kind is EventKind.SPEECH and e.start_ms < first_hold
    )
    for topic in set(routine.tags) & set(RED_FLAG_WORDS):
        for word in RED_FLAG_WORDS[topic]:
            assert word in said, f"{name} ({topic}) says nothing of {word!r} before a point"


def test_plan_red_flags_carry_the_same_words() -> None:
    for topic, words in RED_FLAG_WORDS.items():
        for word in words:
            assert word in plan_content().topics[topic].red_flags, (topic, word)
