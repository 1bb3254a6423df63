"""`acuvoice batch`: catalogs rendered in parallel worker processes, resumable.

Renders use the fake engine (a real render pipeline: synthesis cache, mixing, mastering,
all-or-nothing folders) so that a catalog of several sessions takes seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import soundfile

from acuvoice.batch import CatalogError, is_complete, load_catalog, run_batch
from acuvoice.batch.runner import LOCK_NAME, _locked
from acuvoice.cli import main
from acuvoice.errors import OutputError

CATALOG = """\
acuvoice_catalog: 1
title: Test catalog
routines: [desk-break, nausea]
variants:
  target: [6m, 7m]
  voice: [fake]
  format: [wav]
defaults:
  bundle: false
"""


def write(tmp_path: Path, text: str = CATALOG) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    return path


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ACUVOICE_CACHE_DIR", str(tmp_path / "cache"))

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_a_catalog_expands_to_every_combination(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path))
    assert [i.label for i in catalog.items] == [
        "desk-break 6:00",
        "desk-break 7:00",
        "nausea 6:00",
        "nausea 7:00",
    ]
    first = catalog.items[0].request
    assert first.session.engine == "fake" and first.session.target_ms == 360_000
    assert first.output.format == "wav" and not first.output.bundle


def test_catalog_problems_are_positioned_and_all_reported(tmp_path: Path) -> None:
    bad = CATALOG.replace("format: [wav]", "format: [wav, aiff]").replace(
        "bundle: false", "bundle: false\n  bitrate: 999"
    )
    with pytest.raises(CatalogError) as e:
        load_catalog(write(tmp_path, bad))
    messages = [str(p) for p in e.value.problems]
    assert any(":7:" in m and "aiff" in m for m in messages), messages
    assert any(":10:" in m and "bitrate" in m for m in messages), messages


def test_batch_renders_in_parallel_then_resumes(run: Run, tmp_path: Path) -> None:
    catalog = write(tmp_path)
    code, out, err = run("batch", str(catalog), "-o", "out", "--jobs", "2")
    assert code == 0, err
    assert "4 rendered, 0 reused, 0 failed" in out
    folders = sorted((tmp_path / "out").iterdir())
    names = [f.name for f in folders if f.is_dir() and not f.name.startswith(".")]
    index = json.loads((tmp_path / "out" / "batch.json").read_text(encoding="utf-8"))
    assert [i["status"] for i in index["items"]] == ["rendered"] * 4
    assert sorted(i["folder"] for i in index["items"]) == names
    assert len(names) == 4 and all(n.startswith(("desk-break-", "nausea-")) for n in names)
    for name in names:
        folder = tmp_path / "out" / name
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert name.endswith(manifest["key"][:12])
        assert is_complete(folder, manifest["key"])
        wav = next(folder.glob("*.wav"))
        info = soundfile.info(str(wav))
        assert info.frames * 1000 == manifest["duration_ms"] * info.samplerate
    # Everything is there: nothing is rendered again.
    code, out, err = run("batch", str(catalog), "-o", "out")
    assert code == 0 and "0 rendered, 4 reused" in out, out
    # A crash in the middle of one render: its folder lost the manifest (written last) and
    # kept a staging folder and a temporary file. Only that one is rendered again.
    broken = tmp_path / "out" / names[0]
    (broken / "manifest.json").unlink()
    (broken / ".acuvoice-stale").mkdir()
    (broken / ".x.wav.part").write_bytes(b"half")
    code, out, err = run("batch", str(catalog), "-o", "out")
    assert code == 0 and "1 rendered, 3 reused" in out, out
    assert not (broken / ".acuvoice-stale").exists() and not (broken / ".x.wav.part").exists()
    # A new variant renders only what is new; --force renders everything.
    write(tmp_path, CATALOG.replace("[6m, 7m]", "[6m, 7m, 8m]"))
    code, out, err = run("batch", str(catalog), "-o", "out", "--dry-run")
    assert code == 0 and out.count("render ") == 2 and out.count("reuse ") == 4, out
    code, out, err = run("batch", str(catalog), "-o", "out")
    assert code == 0 and "2 rendered, 4 reused" in out, out


def test_one_failed_render_does_not_stop_the_others(run: Run, tmp_path: Path) -> None:
    # 3 minutes cannot hold the desk break's narration; the nausea session renders anyway.
    catalog = write(
        tmp_path,
        CATALOG.replace("[desk-break, nausea]", "[desk-break, nausea, no-such-routine]").replace(
            "[6m, 7m]", "[7m]"
        ),
    )
    code, out, err = run("batch", str(catalog), "-o", "out", "--jobs", "2")
    assert code == 1, err
    assert "2 rendered, 0 reused, 1 failed" in out
    assert "no-such-routine" in err and "failed" in err
    assert "2 of 3 renders" not in err and "1 of 3 renders failed" in err


def test_an_executor_is_interchangeable(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, CATALOG.replace("[6m, 7m]", "[6m]")))
    seen: list[str] = []
    with ThreadPoolExecutor(1) as pool:
        report = run_batch(
            catalog,
            tmp_path / "out",
            executor=pool,
            cache_dir=tmp_path / "cache",
            on_done=lambda r, done, total: seen.append(f"{done}/{total} {r.status}"),
        )
    assert report.ok and report.count("rendered") == 2
    assert seen == ["1/2 rendered", "2/2 rendered"]
    assert all(r.stats and r.stats.bytes > 0 for r in report.results)


def test_two_batches_never_share_a_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    catalog = load_catalog(write(tmp_path))
    with _locked(out), pytest.raises(OutputError, match="another batch"):
        run_batch(catalog, out)
    assert (out / LOCK_NAME).exists()


def test_an_invalid_catalog_exits_2_and_makes_nothing(run: Run, tmp_path: Path) -> None:
    catalog = write(tmp_path, CATALOG.replace("routines:", "routine:"))
    code, _out, err = run("batch", str(catalog), "-o", "out")
    assert code == 2
    assert "catalog.yaml:3:1" in err and "routine" in err
    assert not (tmp_path / "out").exists()


def test_schema_of_catalogs(run: Run) -> None:
    code, out, _err = run("schema", "--catalog")
    assert code == 0
    schema = json.loads(out)
    assert schema["title"] == "acuvoice catalog"
    assert "routines" in schema["required"]


def test_ctrl_c_in_the_middle_then_a_rerun_renders_only_what_is_missing(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    catalog = write(tmp_path, CATALOG.replace("[6m, 7m]", "[6m, 7m, 8m]"))
    exe = Path(sys.executable).with_name("acuvoice")
    env = {**os.environ, "ACUVOICE_CACHE_DIR": str(tmp_path / "cache")}
    command = [str(exe), "batch", str(catalog), "-o", "out", "--jobs", "1"]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=tmp_path, start_new_session=True,
    )  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob("out/*/manifest.json")):
        time.sleep(0.05)
    time.sleep(1.0)  # the next render is under way
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    done = list(tmp_path.glob("out/*/manifest.json"))
    assert 1 <= len(done) < 6
    leftovers = [p for p in tmp_path.glob("out/*/.*")] + [
        f for f in (tmp_path / "out").iterdir() if f.is_dir() and not any(f.iterdir())
    ]
    assert not leftovers, leftovers
    rerun = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{6 - len(done)} rendered, {len(done)} reused, 0 failed" in rerun.stdout


def test_a_repeated_variant_is_named_as_written(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as e:
        load_catalog(write(tmp_path, CATALOG.replace("[6m, 7m]", "[9m, 9m]")))
    assert [p.message for p in e.value.problems] == ["target: 9 min is listed twice"]
