"""The application layer: one request, one function and one key for every front end.

These tests drive :mod:`acuvoice.app` directly (no click) and compare with what the command
line writes, check the content key across processes, and check that every pre-flight check
runs before any synthesis.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from acuvoice import app
from acuvoice.app import (
    CoverChoice,
    OutputChoices,
    RenderRequest,
    RoutineRef,
    SessionOptions,
    TagOverrides,
)
from acuvoice.cli import main
from acuvoice.errors import (
    CompileError,
    OutputError,
    RoutineError,
    SoundError,
    UnknownVoiceError,
    UsageError,
)
from acuvoice.progress import Silent
from tests.support import require

ROUTINE = """\
acuvoice: 1
title: App test
summary: A short session for tests.
author: Test Author
safety_notice: false
steps:
  - chapter: Breathing
  - say: Sit comfortably.
  - breathe: {cycles: 1, inhale: 3s, exhale: 4s}
  - include: parts/points.yaml
"""
PART = """\
acuvoice: 1
steps:
  - chapter: Points
  - press: LI4
    hold: 10s
    find: 2s
"""
ROOT = Path(__file__).resolve().parents[1]


def write_routine(folder: Path, text: str = ROUTINE, part: str = PART) -> Path:
    (folder / "parts").mkdir(parents=True, exist_ok=True)
    (folder / "parts" / "points.yaml").write_text(part)
    path = folder / "app-test.yaml"
    path.write_text(text)
    return path


def fake(**options: object) -> SessionOptions:
    options.setdefault("engine", "fake")
    return SessionOptions(**options)  # type: ignore[arg-type]


def cache_entries(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.flac")) if cache.exists() else []


def same_files(a: Path, b: Path, *, skip: tuple[str, ...] = ()) -> None:
    """``a`` and ``b`` hold files of the same names with the same bytes (``skip`` by name only)."""
    names_a = sorted(p.name for p in a.iterdir())
    names_b = sorted(p.name for p in b.iterdir())
    assert names_a == names_b
    for name in names_a:
        if name.endswith(skip):
            continue
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


# -- the same files as the command line ------------------------------------------------------


def test_single_file_matches_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    routine = write_routine(tmp_path / "src")
    cache = tmp_path / "cache"
    cli_out, app_out = tmp_path / "cli", tmp_path / "app"
    code = main(
        ["render", str(routine), "--engine", "fake", "--cache-dir", str(cache), "--transcript",
         "--stems", "-q", "-o", str(cli_out / "s.wav")]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    request = RenderRequest(
        RoutineRef.file(routine),
        fake(),
        OutputChoices(format="wav", name="s", transcript=True, stems=True),
    )
    made = app.render(request, app_out, cache_dir=cache)
    same_files(cli_out, app_out)
    assert [p.name for p in made.files] == ["s.wav", "s.voice.wav", "s.cues.wav", "s.vtt"]
    assert made.audio == app_out / "s.wav" and made.result.path == made.audio
    frames = sf.info(str(made.audio)).frames
    assert frames == made.result.frames == round(made.timeline.duration_ms * 44.1)
    assert abs(made.result.loudness_lufs + 16) < 0.5
    assert made.manifest["key"] == made.key and made.manifest["audio"]["file"] == "s.wav"


def test_bundle_matches_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    routine = write_routine(tmp_path / "src")
    cache = tmp_path / "cache"
    code = main(
        ["render", str(routine), "--engine", "fake", "--cache-dir", str(cache), "-q",
         "--bundle", str(tmp_path / "cli"), "-o", "session.wav"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    request = RenderRequest(
        RoutineRef.file(routine), fake(), OutputChoices(format="wav", name="session", bundle=True)
    )
    made = app.render(request, tmp_path / "app", cache_dir=cache)
    # Byte for byte, the PDF too (its dates are fixed, so renders are reproducible).
    same_files(tmp_path / "cli", tmp_path / "app")
    assert {p.name for p in made.files} == set(app.validate(request).files)
    assert made.files[-1].name == "manifest.json"
    listed = json.loads((tmp_path / "app" / "manifest.json").read_text())
    assert {f["path"] for f in listed["files"]} == {p.name for p in made.files[:-1]}


def test_yaml_text_with_no_file_renders_like_the_file(tmp_path: Path) -> None:
    text = ROUTINE.replace("  - include: parts/points.yaml\n", PART.split("steps:\n")[1])
    (tmp_path / "same.yaml").write_text(text)
    cache = tmp_path / "cache"
    from_text = app.render(
        RenderRequest(RoutineRef.yaml(text, name="same"), fake(), OutputChoices(format="wav")),
        tmp_path / "text",
        cache_dir=cache,
    )
    from_file = app.render(
        RenderRequest(RoutineRef.file(tmp_path / "same.yaml"), fake(), OutputChoices(format="wav")),
        tmp_path / "file",
        cache_dir=cache,
    )
    assert from_text.audio.name == from_file.audio.name == "same.wav"
    assert from_text.audio.read_bytes() == from_file.audio.read_bytes()
    assert from_text.manifest["routine"]["files"] == [
        {"path": "<text>", "sha256": hashlib.sha256(text.encode()).hexdigest()}
    ]


def test_yaml_text_matches_the_cli_reading_stdin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = ROUTINE.replace("  - include: parts/points.yaml\n", PART.split("steps:\n")[1])
    cache = tmp_path / "cache"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code = main(
        ["render", "-", "--engine", "fake", "--cache-dir", str(cache), "--transcript", "-q",
         "-o", str(tmp_path / "cli" / "app-test.flac")]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    request = RenderRequest(
        RoutineRef.yaml(text), fake(), OutputChoices(format="flac", transcript=True)
    )
    made = app.render(request, tmp_path / "app", cache_dir=cache)
    assert made.audio.name == "app-test.flac"  # named after the title, "App test"
    same_files(tmp_path / "cli", tmp_path / "app")


def test_yaml_text_may_not_reach_for_files(tmp_path: Path) -> None:
    text = ROUTINE.replace(
        "safety_notice: false\n", "safety_notice: false\nsound: {ambience: /etc/hosts}\n"
    )
    with pytest.raises(RoutineError) as info:
        app.validate(RenderRequest(RoutineRef.yaml(text), fake()))
    messages = [p.message for p in info.value.problems]
    assert any("cannot include files" in m for m in messages)
    assert any("only the built-in ambience beds" in m for m in messages)


# -- the content key ---------------------------------------------------------------------------

KEY_SCRIPT = """
import sys
from pathlib import Path
from acuvoice import app
request = app.RenderRequest(app.RoutineRef.file(Path(sys.argv[1])),
                            app.SessionOptions(engine=sys.argv[2], voice=sys.argv[3] or None))
print(app.validate(request).key)
"""


def key_in_another_process(routine: Path, engine: str = "fake", voice: str = "") -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", KEY_SCRIPT, str(routine), engine, voice],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def key_of(routine: Path, **options: object) -> str:
    options.setdefault("engine", "fake")
    return app.validate(RenderRequest(RoutineRef.file(routine), SessionOptions(**options))).key  # type: ignore[arg-type]


def test_equal_requests_in_two_processes_give_one_key(tmp_path: Path) -> None:
    routine = write_routine(tmp_path / "a")
    here = key_of(routine)
    assert len(here) == 64 and key_in_another_process(routine) == here
    # A copy elsewhere is the same content: the key does not hold paths.
    copy = write_routine(tmp_path / "b" / "deeper")
    assert key_of(copy) == here


def test_the_key_follows_included_files_options_and_output(tmp_path: Path) -> None:
    routine = write_routine(tmp_path)
    base = key_of(routine)
    (tmp_path / "parts" / "points.yaml").write_text(PART.replace("hold: 10s", "hold: 11s"))
    assert key_of(routine) != base
    (tmp_path / "parts" / "points.yaml").write_text(PART)
    assert key_of(routine) == base
    assert key_of(routine, rate=1.1) != base
    assert key_of(routine, avoid=("pregnancy",)) != base
    assert key_of(routine, ambience="rain") != base
    request = RenderRequest(RoutineRef.file(routine), fake())
    assert app.validate(request).key == base
    for changed in (
        RenderRequest(RoutineRef.file(routine), fake(), OutputChoices(format="wav")),
        RenderRequest(RoutineRef.file(routine), fake(), tags=TagOverrides(year="2026")),
        RenderRequest(RoutineRef.file(routine), fake(), cover=CoverChoice.none()),
    ):
        assert app.validate(changed).key != base


def test_the_key_follows_the_voice(tmp_path: Path) -> None:
    from acuvoice.engines.registry import get_engine

    require(
        get_engine("pyttsx3").availability().ok, "the pyttsx3 engine", "apt-get install espeak-ng"
    )
    routine = write_routine(tmp_path)
    us = key_of(routine, engine="pyttsx3", voice="gmw/en-us")
    assert key_in_another_process(routine, "pyttsx3", "gmw/en-us") == us
    assert key_of(routine, engine="pyttsx3", voice="gmw/en-gb-x-rp") != us
    assert key_of(routine, engine="fake") != us


def test_a_cue_folder_is_keyed_by_its_sounds(tmp_path: Path) -> None:
    routine = write_routine(tmp_path)
    cues = tmp_path / "cues"
    cues.mkdir()
    tone = 0.3 * np.sin(2 * np.pi * 660 * np.arange(8000) / 16000)
    sf.write(str(cues / "press.wav"), tone, 16000)
    first = key_of(routine, cues=str(cues))
    sf.write(str(cues / "press.wav"), tone * 0.5, 16000)
    assert key_of(routine, cues=str(cues)) != first


# -- every check before any synthesis ----------------------------------------------------------


@pytest.mark.parametrize(
    ("request_parts", "error", "words"),
    [
        ({"tags": TagOverrides(year="soon")}, UsageError, "'soon' is not a year"),
        ({"tags": TagOverrides(year="2026-02-30")}, UsageError, "not a date on the calendar"),
        ({"cover": CoverChoice(file=Path("/nonexistent/cover.png"))}, UsageError, "cover image"),
        ({"session": fake(voice="nobody")}, UnknownVoiceError, "unknown voice 'nobody'"),
        ({"session": fake(avoid=("pregnant",))}, CompileError, "did you mean 'pregnancy'"),
        ({"session": fake(sample_rate=4000)}, UsageError, "sample rate must be from 8000"),
        ({"session": fake(rate=3.0)}, UsageError, "speaking rate must be from 0.5"),
        ({"session": fake(engine="estimate")}, UsageError, "estimate engine has no voice"),
        ({"output": OutputChoices(format="mp4a")}, OutputError, "did you mean 'm4a'"),
        ({"output": OutputChoices(name="../x")}, OutputError, "folder separator"),
        ({"output": OutputChoices(channels=3)}, OutputError, "1 or 2 channels"),
    ],
)
def test_bad_requests_fail_before_any_synthesis(
    tmp_path: Path, request_parts: dict[str, object], error: type[Exception], words: str
) -> None:
    routine = write_routine(tmp_path / "src")
    parts: dict[str, object] = {"session": fake(), **request_parts}
    request = RenderRequest(RoutineRef.file(routine), **parts)  # type: ignore[arg-type]
    cache = tmp_path / "cache"
    with pytest.raises(error, match=words) as info:
        app.render(request, tmp_path / "out", cache_dir=cache)
    assert "--" not in str(info.value)  # library wording: no command-line flags
    assert cache_entries(cache) == []
    assert not (tmp_path / "out").exists()


def test_a_damaged_ambience_file_is_refused_before_any_synthesis(tmp_path: Path) -> None:
    routine = write_routine(tmp_path / "src")
    bad = tmp_path / "bed.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt this is not audio at all" * 20)
    cache = tmp_path / "cache"
    request = RenderRequest(RoutineRef.file(routine), fake(ambience=str(bad)))
    with pytest.raises(SoundError, match=r"bed\.wav"):
        app.render(request, tmp_path / "out", cache_dir=cache)
    assert cache_entries(cache) == []


def test_warnings_reach_the_progress_reporter(tmp_path: Path) -> None:
    from acuvoice.engines.registry import get_engine

    require(
        get_engine("pyttsx3").availability().ok, "the pyttsx3 engine", "apt-get install espeak-ng"
    )
    routine = write_routine(tmp_path / "src")
    request = RenderRequest(
        RoutineRef.file(routine), SessionOptions(voice="gmw/de"), OutputChoices(format="wav")
    )
    checked = app.validate(request)
    assert checked.plan.engine.name == "pyttsx3"  # found from the voice's name alone
    assert checked.warnings and "speaks de" in checked.warnings[0]


# -- outputs -------------------------------------------------------------------------------------


def test_a_missing_output_folder_is_made_and_removed_again_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    routine = write_routine(tmp_path / "src")
    request = RenderRequest(RoutineRef.file(routine), fake(), OutputChoices(format="wav"))
    made = app.render(request, tmp_path / "new" / "deeper", cache_dir=tmp_path / "cache")
    assert made.audio.is_file()

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr("acuvoice.app.run.write_deliverables", broken)
    bundle = RenderRequest(
        routine=request.routine, session=fake(), output=OutputChoices(bundle=True)
    )
    with pytest.raises(KeyboardInterrupt):
        app.render(bundle, tmp_path / "gone" / "bundle", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "gone").exists()


def test_a_bundle_replaces_an_earlier_bundle(tmp_path: Path) -> None:
    routine = write_routine(tmp_path / "src")
    folder = tmp_path / "bundle"
    first = RenderRequest(
        RoutineRef.file(routine),
        fake(),
        OutputChoices(format="wav", name="one", bundle=True, stems=True),
    )
    app.render(first, folder, cache_dir=tmp_path / "cache")
    (folder / "notes.txt").write_text("mine")  # not the bundle's: left alone
    second = RenderRequest(
        RoutineRef.file(routine), fake(), OutputChoices(format="flac", name="two", bundle=True)
    )
    made = app.render(second, folder, cache_dir=tmp_path / "cache")
    listed = {f["path"] for f in json.loads((folder / "manifest.json").read_text())["files"]}
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*listed, "manifest.json", "notes.txt"]
    )
    assert not list(folder.glob("one*")) and (folder / "two.flac").is_file()
    assert {p.name for p in made.files} == {*listed, "manifest.json"}


def test_a_read_only_file_is_not_replaced(tmp_path: Path) -> None:
    routine = write_routine(tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()
    keep = out / "app-test.wav"
    keep.write_bytes(b"my earlier render")
    keep.chmod(0o444)
    request = RenderRequest(RoutineRef.file(routine), fake(), OutputChoices(format="wav"))
    with pytest.raises(OutputError, match="read-only"):
        app.render(request, out, cache_dir=tmp_path / "cache")
    assert keep.read_bytes() == b"my earlier render"
    assert cache_entries(tmp_path / "cache") == []


def test_stems_are_only_written_where_there_is_sound(tmp_path: Path) -> None:
    routine = write_routine(tmp_path / "src")
    quiet = RenderRequest(
        RoutineRef.file(routine), fake(cues="none"), OutputChoices(format="wav", stems=True)
    )
    made = app.render(quiet, tmp_path / "a", cache_dir=tmp_path / "cache")
    assert [p.name for p in made.files] == ["app-test.wav", "app-test.voice.wav"]
    rain = RenderRequest(
        RoutineRef.file(routine), fake(ambience="rain"), OutputChoices(format="wav", stems=True)
    )
    made = app.render(rain, tmp_path / "b", cache_dir=tmp_path / "cache")
    names = [p.name for p in made.files]
    assert names == [
        "app-test.wav",
        "app-test.voice.wav",
        "app-test.cues.wav",
        "app-test.ambience.wav",
    ]


def test_the_manifest_hash_covers_included_files(tmp_path: Path) -> None:
    builtin = app.render(
        RenderRequest(
            RoutineRef.named("neck-and-shoulders"), fake(), OutputChoices(format="wav", bundle=True)
        ),
        tmp_path / "builtin",
        cache_dir=tmp_path / "cache",
        library=None,
    )
    from acuvoice.routine.loader import builtin_routines

    root_bytes = builtin_routines()["neck-and-shoulders"].read_bytes()
    routine_info = builtin.manifest["routine"]
    assert routine_info["sha256"] != hashlib.sha256(root_bytes).hexdigest()
    assert [f["path"] for f in routine_info["files"]] == [
        "neck-and-shoulders.yaml",
        "common/closing.yaml",
    ]
    routine = write_routine(tmp_path / "src")
    request = RenderRequest(RoutineRef.file(routine), fake(), OutputChoices(format="wav"))
    before = app.validate(request).plan.routine
    (tmp_path / "src" / "parts" / "points.yaml").write_text(PART + "  - pause: 2s\n")
    after = app.validate(request).plan.routine
    from acuvoice.app.bundle import routine_sha256

    assert routine_sha256(before) != routine_sha256(after)


def test_a_cache_that_cannot_be_written_warns_once_and_synthesizes_each_phrase_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acuvoice.engines.fake import FakeEngine

    spoken: Counter[str] = Counter()
    real = FakeEngine.synthesize

    def counting(self: FakeEngine, text: str, voice: object, rate: float) -> object:
        spoken[text] += 1
        return real(self, text, voice, rate)  # type: ignore[arg-type]

    monkeypatch.setattr(FakeEngine, "synthesize", counting)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache should be")
    progress = Silent()
    # lower-back-pain speaks 77 distinct phrases: more than the 48 clips kept in memory
    # beside a working cache, so a silently failing cache would synthesize some twice.
    request = RenderRequest(
        RoutineRef.named("lower-back-pain"), fake(), OutputChoices(format="wav")
    )
    made = app.render(request, tmp_path / "out", cache_dir=blocked, progress=progress)
    cache_warnings = [w for w in progress.warnings if "cannot be written" in w]
    assert len(cache_warnings) == 1 and str(blocked) in cache_warnings[0]
    texts = {e.text for e in made.timeline.events if e.kind == "speech"}
    assert len(texts) > 48 and texts <= set(spoken)
    assert max(spoken.values()) == 1, spoken.most_common(3)


def test_script_shares_the_request(tmp_path: Path) -> None:
    routine = write_routine(tmp_path / "src")
    request = RenderRequest(RoutineRef.file(routine), fake(target_ms=150_000))
    timeline = app.script(request, cache_dir=tmp_path / "cache").timeline
    made = app.render(request, tmp_path / "out", cache_dir=tmp_path / "cache")
    assert timeline.duration_ms == 150_000 and made.timeline == timeline


def test_routine_refs_from_what_a_user_typed(tmp_path: Path) -> None:
    write_routine(tmp_path)
    assert RoutineRef.from_argument("lower-back-pain", tmp_path).builtin == "lower-back-pain"
    ref = RoutineRef.from_argument("app-test.yaml", tmp_path)
    assert ref.path == tmp_path / "app-test.yaml" and ref.label == "app-test.yaml"
    assert (
        RoutineRef.from_argument("parts/new.yaml", tmp_path).path == tmp_path / "parts" / "new.yaml"
    )
    with pytest.raises(RoutineError, match="did you mean 'lower-back-pain'"):
        app.validate(RenderRequest(RoutineRef.named("lower-back-pian"), fake()))
    with pytest.raises(UsageError):
        RoutineRef(builtin="x", text="y")


def test_text_of_a_routine_round_trips_positions(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        acuvoice: 1
        title: Broken
        steps:
          - press: BL99
        """
    )
    problems = app.check_routine(RoutineRef.yaml(text, shown="pasted"))
    assert [(p.path, p.line, p.column) for p in problems] == [("pasted", 4, 12)]


def test_builtin_summaries_list_every_builtin() -> None:
    from acuvoice.routine.loader import builtin_routines

    summaries = app.builtin_summaries()
    assert [s.name for s in summaries] == list(builtin_routines())
    lower = next(s for s in summaries if s.name == "lower-back-pain")
    assert (
        lower.duration_ms == 15 * 60_000
        and "pregnancy" in lower.cautions
        and "BL23" in lower.points
    )


def test_python_dash_m_acuvoice(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "acuvoice", "--version"], capture_output=True, text=True, env=env, timeout=60
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.startswith("acuvoice, version ")
    done = subprocess.run(
        [sys.executable, "-m", "acuvoice", "script", "nope-not-a-routine"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
