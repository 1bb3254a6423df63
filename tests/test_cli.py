"""The command line, as a user runs it: output, exit statuses, error wording, files left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from acuvoice.cli import main
from acuvoice.routine.loader import builtin_routines
from acuvoice.timeline import EventKind, Timeline, timing_violations

ROOT = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_script_prints_a_readable_timed_script(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "script", "--engine", "estimate", "lower-back-pain")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Lower back relief"
    assert lines[1].startswith("15:00 long")
    assert "0:00.000  [start cue]" in out
    assert "== Points on the lower back" in out
    assert "[hold BL23 Shenshu, both," in out
    assert "Stop, and get urgent medical help" in out  # the red flags are spoken


@pytest.mark.parametrize("name", sorted(builtin_routines()))
def test_script_json_obeys_the_rules_for_every_builtin(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code, out, _ = run(
        capsys, "script", "--engine", "estimate", name, "--format", "json", "--target", "12m"
    )
    assert code == 0
    timeline = Timeline.from_json(json.loads(out))
    if timeline.shortened_from_ms is None:
        assert timeline.duration_ms == 720_000
    else:  # 12 minutes would hold a point past the routine's max_hold: shorter, and said
        assert timeline.shortened_from_ms == 720_000 and timeline.duration_ms < 720_000
    assert timing_violations(timeline) == []


def test_impossible_target_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "script", "--engine", "estimate", "lower-back-pain", "--target", "1m"
    )
    assert code == 2 and out == ""
    assert err.startswith(
        "acuvoice: error: cannot fit the session to 1 min: the narration alone lasts"
    )
    assert "it can last from" in err and "Traceback" not in err


def test_bad_target_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "script", "--engine", "estimate", "lower-back-pain", "--target", "soon"
    )
    assert code == 2
    assert "Invalid value for '--target': 'soon' is not a duration" in err


def test_avoid_pregnancy_refuses_lower_back(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "script", "--engine", "estimate", "lower-back-pain", "--avoid", "pregnancy"
    )
    assert code == 2 and out == ""
    assert err.startswith("acuvoice: error: 'Lower back relief' is not suitable with pregnancy")


def test_avoid_pregnancy_drops_points_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "script",
        "--engine",
        "fake",
        "neck-and-shoulders",
        "--avoid",
        "pregnancy",
        "-f",
        "json",
    )
    assert code == 0
    assert "note: left out GB21 Jianjing (step" in err and "not advised with pregnancy" in err
    timeline = Timeline.from_json(json.loads(out))
    assert {"GB21", "LI4"} <= {o.point for o in timeline.omitted}
    assert not {"GB21", "LI4"} & {h.point for h in timeline.of_kind(EventKind.HOLD)}


@pytest.mark.parametrize("fmt", ["text", "json", "vtt", "srt", "ssml"])
def test_every_script_format(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, _ = run(capsys, "script", "--engine", "estimate", "calm-and-sleep", "--format", fmt)
    assert code == 0 and out.strip()
    if fmt == "vtt":
        assert out.startswith("WEBVTT\n\n") and "00:00:02.800 --> " in out
    if fmt == "srt":
        assert out.startswith("1\n00:00:02,800 --> ")
    if fmt == "ssml":
        assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<speak version="1.1"')
        assert '<mark name="cue:press@' in out and out.rstrip().endswith("</speak>")


def test_script_to_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "s.vtt"
    code, out, err = run(
        capsys, "script", "--engine", "estimate", "calm-and-sleep", "-f", "vtt", "-o", str(target)
    )
    assert code == 0 and out == "" and f"wrote {target}" in err
    assert target.read_text().startswith("WEBVTT")
    assert [p.name for p in tmp_path.iterdir()] == ["s.vtt"]


def test_failed_script_leaves_no_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "s.json"
    code, _, _ = run(
        capsys,
        "script",
        "--engine",
        "fake",
        "lower-back-pain",
        "-f",
        "json",
        "--target",
        "1m",
        "-o",
        str(target),
    )
    assert code == 2
    assert list(tmp_path.iterdir()) == []


def test_validate_reports_every_problem_and_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("acuvoice: 1\ntitle: Good\nsteps:\n  - press: PC6\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("acuvoice: 1\ntitle: Bad\nsteps:\n  - press: BL99\n  - pause: -3s\n")
    code, out, err = run(capsys, "validate", str(good), str(bad))
    assert code == 2
    assert f"{good}: ok" in out
    assert f"{bad}:4:12: unknown point 'BL99'" in err
    assert f"{bad}:5:12: pause: '-3s' is not a duration" in err
    assert f"{bad}: invalid (2 errors)" in err


def test_validate_all_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", "--strict", *builtin_routines())
    assert code == 0, err
    assert out.count(": ok") == len(builtin_routines())


def test_validate_warns_on_unannounced_pregnancy_points(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "acuvoice: 1\ntitle: R\npoints:\n  - {code: X-1, name: Mine, location: Here., contraindications: [pregnancy]}\n"
        "steps:\n  - press: X-1\n"
    )
    code, out, err = run(capsys, "validate", str(path))
    assert code == 0 and "ok (1 warning)" in out
    assert f"{path}:6:5: warning: X-1 is not advised during pregnancy" in err
    code, _, err = run(capsys, "validate", "--strict", str(path))
    assert code == 2


def test_validate_reports_an_impossible_target(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("acuvoice: 1\ntitle: R\ntarget: 10s\nsteps:\n  - press: PC6\n")
    code, _, err = run(capsys, "validate", str(path))
    assert code == 2 and "cannot fit the session to 10 s" in err


def test_invalid_routine_through_script(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("acuvoice: 1\ntitle: R\nsteps:\n  - press: BL23\n    hold: forever\n")
    code, out, err = run(capsys, "script", "--engine", "estimate", str(path))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{path}:5:11: hold: 'forever' is not a duration; use a number of seconds (90, 2.5) or units like "
        '"45s", "1m30s", "1.5m", "750ms", "1h5m"',
        "acuvoice: 1 problem found",
    ]


def test_routines_lists_the_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "routines")
    assert code == 0
    for name in builtin_routines():
        assert out.count(f"{name}  (") == 1
    assert "lower-back-pain  (15:00)  Lower back relief" in out
    assert "not for: pregnancy" in out


def test_points_list_show_and_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "points")
    assert code == 0 and len(out.splitlines()) >= 20
    code, out, _ = run(capsys, "points", "hegu")
    assert (
        code == 0
        and out.startswith("LI4  Hegu (Joining Valley)")
        and "avoid with: pregnancy" in out
    )
    code, out, _ = run(capsys, "points", "--region", "lower-back", "--avoid", "pregnancy")
    assert code == 0 and "BL23" not in out
    code, out, _ = run(capsys, "points", "--conditions")
    assert "pregnancy" in out
    code, _, err = run(capsys, "points", "BL22")
    assert code == 2 and "did you mean" in err


def test_new_writes_a_valid_starter_and_never_overwrites(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "new", "evening-calm")
    assert code == 0 and "wrote evening-calm.yaml" in out
    text = (tmp_path / "evening-calm.yaml").read_text()
    assert "title: Evening calm" in text
    code, out, err = run(capsys, "validate", "--strict", "evening-calm.yaml")
    assert code == 0, err
    code, _, err = run(capsys, "new", "evening-calm")
    assert code == 2 and "already exists" in err
    assert (tmp_path / "evening-calm.yaml").read_text() == text


def test_schema_accepts_every_builtin_and_rejects_mistakes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in builtin_routines().values():
        data = yaml.safe_load(path.read_text())
        assert list(validator.iter_errors(data)) == [], path
    spec = yaml.safe_load((ROOT / "tests" / "data" / "spec-example.yaml").read_text())
    assert list(validator.iter_errors(spec)) == []
    assert list(
        validator.iter_errors(
            {"acuvoice": 1, "title": "x", "steps": [{"press": "BL23", "sid": "x"}]}
        )
    )
    assert list(
        validator.iter_errors({"acuvoice": 1, "title": "x", "steps": [{"pause": "3 parsecs"}]})
    )


def test_unknown_command_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "scirpt")
    assert code == 2 and "No such command 'scirpt'" in err
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "acuvoice render lower-back-pain" in out


def test_every_command_has_help_and_is_in_the_readme(capsys: pytest.CaptureFixture[str]) -> None:
    from acuvoice.cli.app import cli

    readme = (ROOT / "README.md").read_text()
    docs = (ROOT / "docs" / "routine-format.md").read_text()
    for name in cli.commands:
        code, out, _ = run(capsys, name, "--help")
        assert code == 0 and out.startswith(f"Usage: acuvoice {name}"), name
        assert f"acuvoice {name}" in readme, f"README does not mention `acuvoice {name}`"
        assert f"acuvoice {name}" in docs, (
            f"docs/routine-format.md does not mention `acuvoice {name}`"
        )


def _console(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("acuvoice")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("syntax.yaml", "acuvoice: 1\ntitle: [unclosed\n", "syntax.yaml:3:1: YAML syntax error"),
        (
            "loop.yaml",
            "acuvoice: 1\ntitle: x\nsteps:\n  - include: loop.yaml\n",
            "loop.yaml:4:14: include cycle",
        ),
        (
            "keys.yaml",
            "acuvoice: 1\ntitle: x\nstpes: []\n",
            "keys.yaml:3:1: unknown key 'stpes'; did you mean 'steps'?",
        ),
        (
            "bomb.yaml",
            "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n"
                for i in range(8)
            ),
            "expands to more than 100,000 values",
        ),
    ],
)
def test_installed_command_fails_cleanly(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    (tmp_path / name).write_text(content)
    started = time.perf_counter()
    result = _console("validate", name, cwd=tmp_path)
    assert time.perf_counter() - started < 10
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_installed_command_refuses_a_50_mb_file(tmp_path: Path) -> None:
    with (tmp_path / "big.yaml").open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    result = _console("script", "big.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "big.yaml:1:1: file is 52.4 MB" in result.stderr
    assert "Traceback" not in result.stderr
