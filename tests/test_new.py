"""``acuvoice new``: the starter routine it writes, and the commands it tells you to run next."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from mutagen.wave import WAVE

from acuvoice.cli import main
from acuvoice.routine.loader import load_routine


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_name_with_a_space_is_quoted_in_the_next_command(
    capsys: pytest.CaptureFixture[str], here: Path
) -> None:
    code, out, err = run(capsys, "new", "Evening Calm")
    assert code == 0, err
    assert out == "wrote 'Evening Calm.yaml'; next: acuvoice script 'Evening Calm.yaml'\n"
    assert (here / "Evening Calm.yaml").is_file()
    # Pasted into a shell, the printed command names the file that was written.
    command = shlex.split(out.split("next: ", 1)[1])
    assert command == ["acuvoice", "script", "Evening Calm.yaml"]
    code, script, err = run(capsys, *command[1:], "--engine", "estimate")
    assert code == 0, err
    assert script.startswith("Evening calm\n")


def test_the_commands_in_the_starter_name_the_file(
    capsys: pytest.CaptureFixture[str], here: Path
) -> None:
    assert run(capsys, "new", "it's calm")[0] == 0
    header = (here / "it's calm.yaml").read_text(encoding="utf-8").split("\nacuvoice: 1\n")[0]
    commands = [
        shlex.split(c) for c in re.findall(r"`(acuvoice (?:validate|script) [^`]+)`", header)
    ]
    assert commands == [
        ["acuvoice", "validate", "it's calm.yaml"],
        ["acuvoice", "script", "it's calm.yaml"],
    ]


def test_a_plain_name_is_printed_as_it_is(capsys: pytest.CaptureFixture[str], here: Path) -> None:
    code, out, _ = run(capsys, "new", "evening-calm")
    assert code == 0
    assert out == "wrote evening-calm.yaml; next: acuvoice script evening-calm.yaml\n"


def test_without_author_the_line_is_a_comment_that_says_what_it_does(
    capsys: pytest.CaptureFixture[str], here: Path
) -> None:
    assert run(capsys, "new", "calm")[0] == 0
    text = (here / "calm.yaml").read_text(encoding="utf-8")
    [line] = [line for line in text.splitlines() if "author:" in line]
    assert line.startswith("# author: ") and "artist tag" in line
    assert load_routine(here / "calm.yaml").author is None
    code, _, err = run(capsys, "validate", "--strict", "calm.yaml")
    assert code == 0, err


@pytest.mark.parametrize("author", ["Mei Lin", "Dr. Who: Jr. #1", "yes", "1999", "Zoë 'Z' Ōkubo"])
def test_author_fills_the_author_line(
    capsys: pytest.CaptureFixture[str], here: Path, author: str
) -> None:
    code, _, err = run(capsys, "new", "calm", "--author", author, "--title", "No: 1")
    assert code == 0, err
    routine = load_routine(here / "calm.yaml")
    assert (routine.author, routine.title) == (author, "No: 1")
    text = (here / "calm.yaml").read_text(encoding="utf-8")
    assert not any(line.startswith("# author:") for line in text.splitlines())
    code, _, err = run(capsys, "validate", "--strict", "calm.yaml")
    assert code == 0, err


def test_the_author_becomes_the_artist_tag(capsys: pytest.CaptureFixture[str], here: Path) -> None:
    assert run(capsys, "new", "calm", "--author", "Mei Lin")[0] == 0
    code, _, err = run(
        capsys, "render", "calm.yaml", "--engine", "fake", "--cache-dir", str(here / "cache"),
        "--target", "4m", "--sample-rate", "8000", "--mono", "--no-cover", "-q", "-o", "calm.wav",
    )  # fmt: skip
    assert code == 0, err
    tags = WAVE(here / "calm.wav").tags
    assert tags is not None and tags["TPE1"].text == ["Mei Lin"]


def test_a_blank_author_is_refused(capsys: pytest.CaptureFixture[str], here: Path) -> None:
    code, out, err = run(capsys, "new", "calm", "--author", "  ")
    assert (code, out) == (2, "")
    assert err == "acuvoice: error: --author needs a name, like --author 'Mei Lin'\n"
    assert not (here / "calm.yaml").exists()


def test_force_overwrites_and_help_names_author(
    capsys: pytest.CaptureFixture[str], here: Path
) -> None:
    (here / "calm.yaml").write_text("old", encoding="utf-8")
    code, _, err = run(capsys, "new", "calm")
    assert code == 2 and "already exists" in err
    assert run(capsys, "new", "calm", "--force", "--author", "Mei Lin")[0] == 0
    assert load_routine(here / "calm.yaml").author == "Mei Lin"
    code, out, _ = run(capsys, "new", "--help")
    assert code == 0 and "--author NAME" in out and "artist tag" in out
