"""`acuvoice render` as a new user meets it: where paths resolve, what is checked first, and
what the messages say. Every render here uses the fake voice and a temporary cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from acuvoice.cli import main
from acuvoice.engines.registry import get_engine
from tests.support import interrupt_render, require

ROUTINE = """\
acuvoice: 1
title: Paths test
safety_notice: false
steps:
  - say: Sit comfortably.
  - press: LI4
    hold: 10s
    find: 2s
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def bed(path: Path, seconds: float = 3.0, rate: int = 22_050) -> Path:
    """A quiet two-tone bed, so it is easy to hear in a stem."""
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 330 * t)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone.astype(np.float32), rate)
    return path


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A routine in one folder and the user's working folder somewhere else (the cwd)."""
    routines = tmp_path / "routines"
    routines.mkdir()
    (routines / "paths.yaml").write_text(ROUTINE)
    here = tmp_path / "work"
    here.mkdir()
    monkeypatch.chdir(here)
    return routines / "paths.yaml", here


def rms(path: Path) -> float:
    data, _ = sf.read(str(path), dtype="float64")
    return float(np.sqrt(np.mean(np.square(data))))


def test_typed_sound_paths_resolve_where_the_user_is(
    places: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    routine, here = places
    bed(here / "amb.wav")
    cues = here / "my-cues"
    cues.mkdir()
    click = 0.3 * np.hanning(4000) * np.sin(2 * np.pi * 880 * np.arange(4000) / 16_000)
    sf.write(str(cues / "press.wav"), click.astype(np.float32), 16_000)
    code, _, err = run(
        capsys, "render", str(routine), "--engine", "fake", "--ambience", "amb.wav",
        "--cues", "my-cues", "--stems", "-q", "-o", "out.wav",
    )  # fmt: skip
    assert code == 0, err
    assert rms(here / "out.ambience.wav") > 1e-3 and (here / "out.cues.wav").is_file()
    # A built-in routine too: its folder is inside the installed package, not where you are.
    code, _, err = run(
        capsys, "render", "calm-and-sleep", "--engine", "fake", "--ambience", "amb.wav",
        "--stems", "-q", "-o", "calm.wav",
    )  # fmt: skip
    assert code == 0, err
    assert rms(here / "calm.ambience.wav") > 1e-3


def test_routine_sound_paths_resolve_against_the_routine(
    places: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    routine, here = places
    bed(routine.parent / "sounds" / "amb.wav")
    routine.write_text(
        ROUTINE.replace(
            "safety_notice: false\n", "safety_notice: false\nsound: {ambience: sounds/amb.wav}\n"
        )
    )
    code, _, err = run(
        capsys, "render", str(routine), "--engine", "fake", "--stems", "-q", "-o", "out.wav"
    )
    assert code == 0, err
    assert rms(here / "out.ambience.wav") > 1e-3


def test_tilde_paths_work(
    places: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    routine, _ = places
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    bed(home / "amb.wav")
    from PIL import Image

    Image.new("RGB", (64, 64), (200, 120, 40)).save(home / "cover.png")
    code, _, err = run(
        capsys, "render", str(routine), "--engine", "fake", "--ambience", "~/amb.wav",
        "--cover", "~/cover.png", "--cache-dir", "~/cache", "-q", "-o", "~/out/x.wav",
    )  # fmt: skip
    assert code == 0, err
    assert (home / "out" / "x.wav").is_file() and list((home / "cache").rglob("*.flac"))
    assert not (Path.cwd() / "~").exists()


def test_a_voice_file_in_a_routine_is_found_beside_it(
    places: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    routine, _ = places
    piper = get_engine("piper")
    require(piper.availability().ok, "the piper engine", "pip install 'acuvoice[piper]'")
    from acuvoice.engines.piper_engine import _bundled_files

    files = _bundled_files()[0]
    voices = routine.parent / "voices"
    voices.mkdir()
    (voices / "mine.onnx").symlink_to(files.model)
    (voices / "mine.onnx.json").symlink_to(files.config)
    routine.write_text(
        ROUTINE.replace(
            "safety_notice: false\n",
            "safety_notice: false\nvoice: {engine: piper, name: voices/mine.onnx}\n",
        )
    )
    code, out, err = run(capsys, "script", str(routine), "-f", "json")
    assert code == 0, err
    assert "piper/" in json.loads(out)["voice"] and "mine.onnx" in json.loads(out)["voice"]


def test_a_voice_name_finds_its_engine(
    places: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    routine, here = places
    require(
        get_engine("pyttsx3").availability().ok, "the pyttsx3 engine", "apt-get install espeak-ng"
    )
    code, out, err = run(capsys, "render", str(routine), "--voice", "gmw/en-us", "-o", "v.wav")
    assert code == 0, err
    assert "voice pyttsx3/gmw/en-us" in out and (here / "v.wav").is_file()
    code, _, err = run(capsys, "render", str(routine), "--voice", "nobody", "-o", "n.wav")
    assert code == 2
    assert "no installed voice is called 'nobody'" in err and "gmw/en-us" in err
    code, _, err = run(capsys, "script", str(routine), "--voice", "gmw/de", "-f", "json")
    assert code == 0 and "warning: voice gmw/de speaks de, but the routine is in en" in err


def test_output_into_a_missing_folder_is_made(
    places: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    routine, here = places
    code, _, err = run(
        capsys, "render", str(routine), "--engine", "fake", "-q", "-o", "renders/x.wav"
    )
    assert code == 0, err
    assert (here / "renders" / "x.wav").is_file()


def test_a_read_only_output_is_kept(
    places: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    routine, here = places
    keep = here / "x.wav"
    keep.write_bytes(b"keep me")
    keep.chmod(0o444)
    code, _, err = run(capsys, "render", str(routine), "--engine", "fake", "-o", "x.wav")
    assert code == 2 and "x.wav is read-only, so it is not replaced" in err
    assert keep.read_bytes() == b"keep me"


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--year", "soon"], "'soon' is not a year"),
        (["--cover", "missing.png"], "cover image"),
        (["--ambience", "broken.wav"], "broken.wav"),
    ],
)
def test_bad_values_are_refused_before_any_voice_work(
    places: tuple[Path, Path], capsys: pytest.CaptureFixture[str], flags: list[str], words: str
) -> None:
    routine, here = places
    (here / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" * 50)
    cache = here / "cache"
    code, _, err = run(
        capsys,
        "render",
        str(routine),
        "--engine",
        "fake",
        "--cache-dir",
        str(cache),
        *flags,
        "-o",
        "x.mp3",
    )
    assert code == 2 and words in err and "Traceback" not in err
    assert not list(cache.rglob("*.flac")), "synthesis ran before the check"
    assert not (here / "x.mp3").exists()


def test_no_author_no_artist_and_no_year_unless_asked(
    places: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from mutagen.id3 import ID3

    routine, here = places
    code, _, err = run(capsys, "render", str(routine), "--engine", "fake", "-q", "-o", "x.mp3")
    assert code == 0, err
    tags = ID3(str(here / "x.mp3"))
    assert "TPE1" not in tags and "TDRC" not in tags and "TYER" not in tags
    assert str(tags["TIT2"]) == "Paths test"


def test_format_is_picked_by_the_suffix(
    places: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    routine, _ = places
    for flag in (["--format", "mp3"], ["--format=wav"], ["-f", "mp3"]):
        code, _, err = run(capsys, "render", str(routine), *flag)
        assert code == 2
        assert "render has no --format: the suffix of -o picks the format" in err
        assert "Did you mean" not in err


def test_help_lists_every_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for status in ("0 success", "1 a failure", "2 bad usage", "130 interrupted"):
        assert status in " ".join(out.split())


def test_a_bundle_replaces_an_earlier_one(
    places: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    routine, here = places
    base = ["render", str(routine), "--engine", "fake", "-q", "--bundle", "out"]
    code, _, err = run(capsys, *base, "--stems", "-o", "first.wav")
    assert code == 0, err
    code, _, err = run(capsys, *base, "-o", "second.flac")
    assert code == 0, err
    manifest = json.loads((here / "out" / "manifest.json").read_text())
    listed = sorted(f["path"] for f in manifest["files"])
    assert sorted(p.name for p in (here / "out").iterdir()) == sorted([*listed, "manifest.json"])
    assert not list((here / "out").glob("first*"))


def test_the_manifest_hash_covers_included_files(
    places: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from acuvoice.routine.loader import builtin_routines

    _, here = places
    code, _, err = run(
        capsys,
        "render",
        "neck-and-shoulders",
        "--engine",
        "fake",
        "-q",
        "--bundle",
        "b",
        "-o",
        "s.wav",
    )
    assert code == 0, err
    manifest = json.loads((here / "b" / "manifest.json").read_text())
    root = builtin_routines()["neck-and-shoulders"].read_bytes()
    import hashlib

    assert manifest["routine"]["sha256"] != hashlib.sha256(root).hexdigest()
    assert [f["path"] for f in manifest["routine"]["files"]] == [
        "neck-and-shoulders.yaml",
        "common/closing.yaml",
    ]


def test_a_cache_that_cannot_be_written_says_so_once(
    places: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    routine, here = places
    (here / "blocked").write_text("a file where the cache folder should be")
    code, _, err = run(
        capsys,
        "render",
        str(routine),
        "--engine",
        "fake",
        "--cache-dir",
        "blocked",
        "-q",
        "-o",
        "x.wav",
    )
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "cannot be written" in warnings[0], err


def test_ctrl_c_during_a_bundle_leaves_no_folder(tmp_path: Path) -> None:
    from acuvoice.cli import INTERRUPTED

    code, err = interrupt_render(
        tmp_path,
        ["--bundle", str(tmp_path / "new" / "bundle"), "-o", "long.flac"],
        "new/bundle/.acuvoice-*/.long.flac.*",
    )
    assert code == 130 and err.strip().splitlines()[-1] == INTERRUPTED, err
    assert not (tmp_path / "new").exists()
