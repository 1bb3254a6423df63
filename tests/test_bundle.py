"""Render bundles for creators: every deliverable, consistent with the timeline and the audio."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import webvtt

from acuvoice.cli import main
from acuvoice.timeline import EventKind, Timeline
from acuvoice.units import ms_to_samples

ROUTINE = """\
acuvoice: 1
title: Bundle test
author: Test Author
sources: ["Murphy et al., Pain Medicine 2019, PMID 31237610"]
safety_notice: false
steps:
  - chapter: Breathing
  - say: Sit comfortably.
  - breathe: {cycles: 1, inhale: 3s, exhale: 4s}
  - chapter: Points
  - press: BL23
    hold: 12s
    find: 2s
  - press: LI4
    hold: 10s
    find: 2s
"""


@pytest.fixture
def bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Timeline]:
    routine = tmp_path / "bundle-test.yaml"
    routine.write_text(ROUTINE)
    folder = tmp_path / "out"
    cache = str(tmp_path / "cache")
    code = main(
        [
            "render",
            str(routine),
            "--engine",
            "fake",
            "--cache-dir",
            cache,
            "--stems",
            "--bundle",
            str(folder),
            "-o",
            "session.wav",
        ]
    )
    rendered = capsys.readouterr()
    assert code == 0, rendered.err
    code = main(["script", str(routine), "--engine", "fake", "--cache-dir", cache, "-f", "json"])
    timeline = Timeline.from_json(json.loads(capsys.readouterr().out))
    return folder, timeline


def test_bundle_holds_every_deliverable(bundle: tuple[Path, Timeline]) -> None:
    folder, timeline = bundle
    names = sorted(p.name for p in folder.iterdir())
    expected = {
        "session.wav",
        "session.vtt",
        "session.srt",
        "session.txt",
        "session.chapters.json",
        "session.chapters.vtt",
        "session.labels.txt",
        "session.timeline.json",
        "session.diagram.svg",
        "session.html",
        "session.cover.png",
        "session.voice.wav",
        "session.cues.wav",
        "manifest.json",
    }  # fmt: skip  (no ambience in this routine, so no ambience stem)
    if shutil.which("chromium"):
        expected.add("session.pdf")
    assert set(names) == expected
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["duration_ms"] == timeline.duration_ms
    assert manifest["engine"] == "fake" and manifest["voice"]["license"] == "MIT"
    assert (
        abs(manifest["audio"]["loudness_lufs"] - (-16)) <= 1
        and manifest["audio"]["true_peak_dbtp"] <= -1
    )
    assert len(manifest["routine"]["sha256"]) == 64
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == expected - {"manifest.json"}
    for name, entry in listed.items():
        data = (folder / name).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert not list(folder.glob(".acuvoice-bundle-*"))


def test_transcript_cues_match_the_timeline_and_the_audio(bundle: tuple[Path, Timeline]) -> None:
    folder, timeline = bundle
    speech = timeline.of_kind(EventKind.SPEECH)
    cues = webvtt.read(str(folder / "session.vtt"))
    assert len(cues) == len(speech)
    audio, rate = sf.read(str(folder / "session.wav"), dtype="float32")
    level = np.abs(audio).max(axis=1)
    for cue, event in zip(cues, speech, strict=True):
        assert cue.start == _clock(event.start_ms) and cue.end == _clock(event.end_ms)
        # Within 50 ms of the speech in the audio: quiet just before, sound just after.
        at = ms_to_samples(event.start_ms, rate)
        assert level[at : at + ms_to_samples(50, rate)].max() > 0.01, cue.text
        assert level[at - ms_to_samples(50, rate) : at].max() < 0.001, cue.text
    chapters = json.loads((folder / "session.chapters.json").read_text())
    toc = [c for c in chapters["chapters"] if c.get("toc", True)]
    assert [(round(c["startTime"] * 1000), c["title"]) for c in toc] == [
        (c.start_ms, c.title) for c in timeline.chapters
    ]


def _clock(ms: int) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{milli:03d}"


def test_audacity_labels_cover_chapters_holds_and_cues(bundle: tuple[Path, Timeline]) -> None:
    folder, timeline = bundle
    lines = (folder / "session.labels.txt").read_text().splitlines()
    assert all(line.count("\t") == 2 for line in lines)
    labels = [line.split("\t")[2] for line in lines]
    assert sum(label.startswith("hold ") for label in labels) == len(
        timeline.of_kind(EventKind.HOLD)
    )
    assert sum(label.startswith("cue: ") for label in labels) == len(
        timeline.of_kind(EventKind.CUE)
    )
    assert all(c.title in labels for c in timeline.chapters)


def render_quietly(routine: Path, out: Path, cache: Path, *extra: str) -> int:
    """``acuvoice render`` with the fake voice, quietly, into ``out``."""
    return main(
        [
            "render",
            str(routine),
            "--engine",
            "fake",
            "--cache-dir",
            str(cache),
            "-q",
            *extra,
            "-o",
            str(out),
        ]
    )


@pytest.mark.needs_program("ffmpeg", "ffprobe")
def test_m4a_has_chapter_atoms_tags_and_cover(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routine = tmp_path / "r.yaml"
    routine.write_text(ROUTINE)
    out = tmp_path / "s.m4a"
    code = render_quietly(routine, out, tmp_path / "c", "--year", "2026")
    assert code == 0, capsys.readouterr().err
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(out)], capture_output=True, text=True, check=True
    ).stdout)  # fmt: skip
    titles = [c["tags"]["title"] for c in probe["chapters"]]
    assert titles == ["Welcome", "Breathing", "Points"]
    from mutagen.mp4 import MP4

    mp4 = MP4(str(out))
    assert mp4["\xa9nam"] == ["Bundle test"] and mp4["\xa9day"] == ["2026"]
    assert mp4["covr"] and bytes(mp4["covr"][0]).startswith(b"\x89PNG")
    assert list(tmp_path.glob(".acuvoice-meta-*")) == []


def test_mp3_cover_and_year(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mutagen.id3 import ID3

    routine = tmp_path / "r.yaml"
    routine.write_text(ROUTINE)
    out = tmp_path / "s.mp3"
    code = render_quietly(routine, out, tmp_path / "c", "--year", "2026")
    assert code == 0, capsys.readouterr().err
    tags = ID3(str(out))
    assert tags.getall("APIC")[0].data.startswith(b"\x89PNG")
    # mutagen shows a v2.3 TYER as TDRC once loaded.
    assert str(tags["TDRC"]) == "2026" and tags.getall("CHAP") and tags.getall("CTOC")
    code = main(
        [
            "render",
            str(routine),
            "--engine",
            "fake",
            "--cache-dir",
            str(tmp_path / "c"),
            "--year",
            "soon",
            "-o",
            str(out),
        ]
    )
    assert code == 2 and "'soon' is not a year" in capsys.readouterr().err


def test_timeline_and_diagram_describe_the_session(bundle: tuple[Path, Timeline]) -> None:
    folder, timeline = bundle
    assert (
        Timeline.from_json(json.loads((folder / "session.timeline.json").read_text())) == timeline
    )
    svg = (folder / "session.diagram.svg").read_text()
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    codes = {
        c.get("data-code")
        for c in root.iter("{http://www.w3.org/2000/svg}circle")
        if c.get("class") == "marker"
    }
    assert codes == {e.point for e in timeline.of_kind(EventKind.HOLD)}
