"""Quick commands stay quick: ``validate``, ``routines``, ``points``, ``schema``, ``plan``,
``script --engine estimate`` and every ``--help`` answer without importing the audio stack.

Each command runs in a fresh interpreter (the test process has imported everything), which
then reports the modules it loaded. Times are measured by ``scripts/bench --quick``, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
BUILTIN = SRC / "acuvoice" / "routines" / "lower-back-pain.yaml"

#: Top-level packages a quick command must not import: audio, encoding, tagging, drawing,
#: speech engines, the web server, Dask.
HEAVY = frozenset(
    [
        "numpy",
        "scipy",
        "soundfile",
        "pydub",
        "mutagen",
        "onnxruntime",
        "fastapi",
        "starlette",
        "uvicorn",
        "dask",
        "distributed",
        "PIL",
        "piper",
        "kokoro_onnx",
        "soxr",
        "pyloudnorm",
    ]
)

#: Runs the command line in this interpreter, then writes what it imported (as JSON) to the
#: file named by the first argument.
DRIVER = """
import json, sys
from acuvoice.cli import main
report, args = sys.argv[1], sys.argv[2:]
code = main(args)
sys.stdout.flush()
with open(report, "w") as fh:
    json.dump({"code": code, "modules": sorted(sys.modules)}, fh)
"""


def run_fresh(tmp_path: Path, *args: str) -> tuple[int, str, str, set[str]]:
    """Run ``acuvoice ARGS`` in a new interpreter: exit code, stdout, stderr, top-level
    packages imported."""
    report = tmp_path / "modules.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
        "ACUVOICE_CACHE_DIR": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(report), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(report.read_text())
    top = {name.split(".")[0] for name in data["modules"]}
    return data["code"], done.stdout, done.stderr, top


def check_quick(tmp_path: Path, *args: str) -> tuple[str, str]:
    code, out, err, top = run_fresh(tmp_path, *args)
    assert code == 0, err
    assert not HEAVY & top, f"`acuvoice {' '.join(args)}` imported {sorted(HEAVY & top)}"
    return out, err


def test_the_check_sees_heavy_imports(tmp_path: Path) -> None:
    """The check can fail: a script timed by a voice (the test engine) loads the audio stack."""
    code, out, _, top = run_fresh(tmp_path, "script", "lower-back-pain", "--engine", "fake")
    assert code == 0 and out.startswith("Lower back relief")
    assert {"numpy", "soundfile"} <= top


def test_help_is_quick(tmp_path: Path) -> None:
    out, _ = check_quick(tmp_path, "--help")
    assert "Commands:" in out
    for name in ("render", "script", "validate", "routines", "points", "schema", "plan"):
        assert f"  {name} " in out


COMMANDS = ("render", "batch", "feed", "script", "validate", "routines", "points", "plan",
            "voices", "new", "schema", "serve")  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_is_quick(tmp_path: Path, command: str) -> None:
    out, _ = check_quick(tmp_path, command, "--help")
    assert out.startswith(f"Usage: acuvoice {command} ")


def test_validate_is_quick(tmp_path: Path) -> None:
    out, _ = check_quick(tmp_path, "validate", str(BUILTIN))
    assert out == f"{BUILTIN}: ok\n"


def test_validate_of_a_builtin_name_is_quick(tmp_path: Path) -> None:
    out, _ = check_quick(tmp_path, "validate", "lower-back-pain", "calm-and-sleep")
    assert out.splitlines() == ["lower-back-pain: ok", "calm-and-sleep: ok"]


def test_routines_is_quick(tmp_path: Path) -> None:
    out, _ = check_quick(tmp_path, "routines")
    assert out.startswith("calm-and-sleep  (")
    assert "lower-back-pain  (15:00)  Lower back relief" in out
    assert "    points: BL23" in out


def test_routines_in_another_language_is_quick(tmp_path: Path) -> None:
    out, _ = check_quick(tmp_path, "routines", "--language", "es")
    assert "lower-back-pain  (" in out


def test_points_is_quick(tmp_path: Path) -> None:
    out, _ = check_quick(tmp_path, "points")
    assert out.startswith("BL23     Shenshu")
    assert "LI4" in out


def test_one_point_is_quick(tmp_path: Path) -> None:
    out, _ = check_quick(tmp_path, "points", "LI4")
    assert "LI4" in out and "Hegu" in out


def test_schema_is_quick(tmp_path: Path) -> None:
    out, _ = check_quick(tmp_path, "schema")
    schema = json.loads(out)
    assert "$defs" in schema and "properties" in schema


def test_script_with_the_estimate_engine_is_quick(tmp_path: Path) -> None:
    out, _ = check_quick(tmp_path, "script", "lower-back-pain", "--engine", "estimate")
    lines = out.splitlines()
    assert lines[0] == "Lower back relief"
    assert lines[1].startswith("15:00 long")
    assert "[hold BL23 Shenshu, both," in out


def test_script_as_json_with_a_target_is_quick(tmp_path: Path) -> None:
    out, _ = check_quick(
        tmp_path, "script", str(BUILTIN), "--engine", "estimate", "--target", "12m",
        "--format", "json",
    )  # fmt: skip
    assert json.loads(out)["duration_ms"] == 12 * 60_000


def test_plan_is_quick(tmp_path: Path) -> None:
    out, err = check_quick(tmp_path, "plan", "--for", "back", "--minutes", "15")
    assert out.startswith("# A personal self-acupressure routine")
    assert "acuvoice: 1" in out
    assert "Lower back: 15 min" in err


def test_listing_engines_imports_no_engine_library() -> None:
    """The registry names and checks every engine without loading a speech library."""
    code = (
        "import json, sys\n"
        "from acuvoice.engines.registry import engine_names, get_engine\n"
        "names = engine_names()\n"
        "ok = {n: get_engine(n).availability().ok for n in names}\n"
        "print(json.dumps([names, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=True,
    )
    names, modules = json.loads(done.stdout)
    assert {"fake", "hibari", "piper"} <= set(names)
    top = {m.split(".")[0] for m in modules}
    assert not {"piper", "onnxruntime", "kokoro_onnx", "hibari", "pyttsx3"} & top


def test_format_names_match_the_writers() -> None:
    from acuvoice.export import SCRIPT_FORMATS
    from acuvoice.export.audio import AUDIO_FORMATS
    from acuvoice.export.formats import AUDIO_FORMAT_NAMES, SCRIPT_FORMAT_NAMES

    assert tuple(AUDIO_FORMATS) == AUDIO_FORMAT_NAMES
    assert tuple(SCRIPT_FORMATS) == SCRIPT_FORMAT_NAMES


def test_render_reexports_the_session_options() -> None:
    import acuvoice.app
    import acuvoice.render
    import acuvoice.session

    assert acuvoice.render.SessionOptions is acuvoice.session.SessionOptions
    assert acuvoice.render.check_options is acuvoice.session.check_options
    assert acuvoice.render.ESTIMATE == acuvoice.session.ESTIMATE == "estimate"
    assert acuvoice.app.SessionOptions is acuvoice.session.SessionOptions
    assert callable(acuvoice.app.plan) and callable(acuvoice.app.render)
