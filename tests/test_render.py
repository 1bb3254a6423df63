"""Rendering real audio with the fake voice, and measuring it: length, cue onsets, silence, loudness."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from acuvoice.cache import SynthesisCache
from acuvoice.cli import INTERRUPTED, main
from acuvoice.errors import ExportError, UnknownEngineError
from acuvoice.export.tags import Tags
from acuvoice.render import OutputOptions, SessionOptions, prepare_session, render_session
from acuvoice.timeline import EventKind, Timeline, timing_violations
from acuvoice.units import ms_to_samples
from tests.support import interrupt_render, require, require_program

ROUTINE = """\
acuvoice: 1
title: Render test
safety_notice: false
sound: {cues: bowl}
steps:
  - chapter: Breathing
  - say: Sit comfortably. Let your hands rest.
  - breathe: {cycles: 1, inhale: 3s, exhale: 4s}
  - chapter: Points
  - press: BL23
    hold: 15s
    find: 3s
    reminders: 6s
  - press: LI4
    side: alternate
    hold: 10s
    find: 2s
  - pause: 2s
"""


@pytest.fixture
def routine_file(tmp_path: Path) -> Path:
    path = tmp_path / "render-test.yaml"
    path.write_text(ROUTINE)
    return path


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def render_wav(
    routine_file: Path, cache: Path, out: Path, **options: object
) -> tuple[object, object]:
    options.setdefault("engine", "fake")
    session = prepare_session(
        routine_file,
        SessionOptions(**options),  # type: ignore[arg-type]
        cache=SynthesisCache(cache),
    )
    result = render_session(session, out)
    return session, result


def installed_engines() -> list[str]:
    """The fake engine and every real engine that works here (the rest are skipped)."""
    from acuvoice.engines.registry import engine_names, get_engine

    return [name for name in engine_names() if get_engine(name).availability().ok]


@pytest.mark.parametrize("engine", ["fake", "hibari", "pyttsx3", "piper"])
def test_rendered_wav_matches_the_timeline(
    routine_file: Path, cache: Path, tmp_path: Path, engine: str
) -> None:
    require(engine in installed_engines(), f"the {engine} engine")
    out = tmp_path / "s.wav"
    session, _ = render_wav(routine_file, cache, out, engine=engine)
    timeline = session.timeline  # type: ignore[attr-defined]
    assert timing_violations(timeline) == []
    audio, rate = sf.read(str(out), dtype="float32", always_2d=True)
    assert rate == 44_100 and audio.shape[1] == 2
    # Length: exact to the sample (the contract allows 50 ms).
    assert audio.shape[0] == ms_to_samples(timeline.duration_ms, rate)
    sounds_as_the_timeline_says(audio, rate, timeline, holds=3)


def sounds_as_the_timeline_says(
    audio: np.ndarray, rate: int, timeline: Timeline, *, holds: int
) -> None:
    """Cues where the timeline puts them, speech in every speech event, silence elsewhere."""
    mono = np.abs(audio).max(axis=1)
    # Every hold's press and release cue starts where the timeline says (within 20 ms).
    found = timeline.of_kind(EventKind.HOLD)
    assert len(found) == holds
    for hold in found:
        for at_ms in (hold.start_ms, hold.end_ms):
            onset = first_sound(mono, rate, at_ms)
            assert abs(onset - at_ms) <= 20, (hold, at_ms, onset)

    # Speech is present where the timeline has speech, and nothing sounds outside events.
    busy = np.zeros(audio.shape[0], dtype=bool)
    for e in timeline.events:
        if e.kind in (EventKind.SPEECH, EventKind.CUE):
            busy[ms_to_samples(e.start_ms, rate) : ms_to_samples(e.end_ms, rate)] = True
    assert float(np.abs(audio[~busy]).max()) < 1e-4
    for e in timeline.of_kind(EventKind.SPEECH):
        s, t = ms_to_samples(e.start_ms, rate), ms_to_samples(e.end_ms, rate)
        inner = audio[s + (t - s) // 4 : t - (t - s) // 4]
        assert rms_db(inner) > -40, e


def first_sound(mono: np.ndarray, rate: int, near_ms: int, threshold: float = 0.02) -> float:
    lo = ms_to_samples(max(0, near_ms - 200), rate)
    hi = ms_to_samples(near_ms + 200, rate)
    loud = np.flatnonzero(mono[lo:hi] > threshold)
    assert loud.size, f"no sound near {near_ms} ms"
    return (lo + int(loud[0])) * 1000 / rate


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12))


def test_master_is_at_podcast_loudness(routine_file: Path, cache: Path, tmp_path: Path) -> None:
    import pyloudnorm

    out = tmp_path / "s.wav"
    _, result = render_wav(routine_file, cache, out, ambience="pink-noise")
    audio, rate = sf.read(str(out), dtype="float64")
    lufs = pyloudnorm.Meter(rate).integrated_loudness(audio)
    assert abs(lufs - (-16.0)) <= 1.0
    assert abs(result.loudness_lufs - lufs) < 0.5  # type: ignore[attr-defined]
    peak = ffmpeg_true_peak(out)
    assert peak is not None and peak <= -1.0 + 0.1
    assert result.true_peak_dbtp <= -1.0  # type: ignore[attr-defined]


def ffmpeg_true_peak(path: Path) -> float | None:
    """True peak in dBTP measured by ffmpeg's ebur128 filter (an independent meter)."""
    ffmpeg = require_program("ffmpeg")
    run = subprocess.run(
        [ffmpeg, "-nostats", "-hide_banner", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = [line for line in run.stderr.splitlines() if "Peak:" in line]
    return float(lines[-1].split("Peak:")[1].split()[0]) if lines else None


def test_second_render_synthesizes_nothing(routine_file: Path, cache: Path, tmp_path: Path) -> None:
    first, _ = render_wav(routine_file, cache, tmp_path / "a.wav")
    assert first.speech.synthesized > 0  # type: ignore[attr-defined]
    second, result = render_wav(routine_file, cache, tmp_path / "b.wav")
    assert second.speech.synthesized == 0  # type: ignore[attr-defined]
    assert result.cached == first.speech.synthesized  # type: ignore[attr-defined]
    a, _ = sf.read(str(tmp_path / "a.wav"))
    b, _ = sf.read(str(tmp_path / "b.wav"))
    assert np.array_equal(a, b)  # reproducible renders


def test_a_corrupt_cache_entry_is_repaired(routine_file: Path, cache: Path, tmp_path: Path) -> None:
    render_wav(routine_file, cache, tmp_path / "a.wav")
    entries = sorted(cache.rglob("*.flac"))
    entries[0].write_bytes(b"not audio at all")
    entries[1].write_bytes(entries[1].read_bytes()[:100])  # truncated
    session, _ = render_wav(routine_file, cache, tmp_path / "b.wav")
    assert session.speech.synthesized == 2  # type: ignore[attr-defined]
    assert session.speech.cache.stats.repaired == 2  # type: ignore[attr-defined]


def test_script_and_render_use_the_same_timeline(
    routine_file: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "script",
            str(routine_file),
            "--engine",
            "fake",
            "--cache-dir",
            str(cache),
            "--format",
            "json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    session = prepare_session(
        routine_file, SessionOptions(engine="fake"), cache=SynthesisCache(cache)
    )
    assert session.timeline.dumps() == out


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3", ".m4a"])
def test_every_format_is_written_with_tags(
    routine_file: Path, cache: Path, tmp_path: Path, suffix: str
) -> None:
    if suffix in (".mp3", ".m4a"):
        require_program("ffmpeg")
    import mutagen

    out = tmp_path / f"s{suffix}"
    session = prepare_session(
        routine_file, SessionOptions(engine="fake", sample_rate=22_050), cache=SynthesisCache(cache)
    )
    render_session(
        session, out, OutputOptions(channels=1, tags=Tags(title="Render test", album="Test album"))
    )
    info = mutagen.File(str(out))
    assert info is not None
    expected = session.timeline.duration_ms / 1000
    # Lossy formats may add a frame or two of encoder padding.
    assert abs(info.info.length - expected) < (0.06 if suffix in (".wav", ".flac") else 0.2), (
        info.info.length,
        expected,
    )
    text = str(info.tags)
    assert "Render test" in text and "Test album" in text
    assert list(tmp_path.glob(".*.part")) == []


@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
def test_tags_made_beside_the_audio_land_in_the_file(
    routine_file: Path, cache: Path, tmp_path: Path, suffix: str
) -> None:
    """Tags given as a callable (the default ones draw a cover) are made in a thread of
    their own while the audio is written; they end up in the file all the same, and a
    failure to make them fails the render, leaving no file behind."""
    if suffix == ".mp3":
        require_program("ffmpeg")
    import mutagen

    session = prepare_session(
        routine_file, SessionOptions(engine="fake", sample_rate=22_050), cache=SynthesisCache(cache)
    )
    made: list[str] = []

    def make() -> Tags:
        import threading

        made.append(threading.current_thread().name)
        return Tags(title="Made later", album="Test album")

    out = tmp_path / f"s{suffix}"
    render_session(session, out, OutputOptions(channels=1, tags=make))
    assert made == ["acuvoice-tags"]  # the session is longer than the blocks before it
    info = mutagen.File(str(out))
    assert info is not None and "Made later" in str(info.tags)

    def broken() -> Tags:
        raise ExportError("no cover today")

    failed = tmp_path / f"failed{suffix}"
    with pytest.raises(ExportError, match="no cover today"):
        render_session(session, failed, OutputOptions(channels=1, tags=broken))
    assert not failed.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["cache", out.name, "render-test.yaml"]
    )


def test_mp3_has_chapters(routine_file: Path, cache: Path, tmp_path: Path) -> None:
    from mutagen.id3 import ID3

    out = tmp_path / "s.mp3"
    session, _ = render_wav(routine_file, cache, out)
    tags = ID3(str(out))
    chapters = tags.getall("CHAP")  # as stored in the file: in time order, not sorted here
    assert [c.sub_frames["TIT2"].text[0] for c in chapters] == [
        c.title for c in session.timeline.chapters
    ]  # type: ignore[attr-defined]
    assert [c.start_time for c in chapters] == [c.start_ms for c in session.timeline.chapters]  # type: ignore[attr-defined]
    assert tags.getall("CTOC")[0].child_element_ids == [c.element_id for c in chapters]


def test_unknown_engine_and_voice(
    routine_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(
        UnknownEngineError, match="unknown speech engine 'pipr'; did you mean 'piper'"
    ):
        prepare_session(routine_file, SessionOptions(engine="pipr"))
    code = main(
        [
            "render",
            str(routine_file),
            "--engine",
            "fake",
            "--voice",
            "nobody",
            "-o",
            str(tmp_path / "x.wav"),
        ]
    )
    assert code == 2
    assert "unknown voice 'nobody'" in capsys.readouterr().err
    assert list(tmp_path.glob("x.wav*")) == []


def test_bad_output_suffix_is_a_usage_error(
    routine_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["render", str(routine_file), "--engine", "fake", "-o", str(tmp_path / "x.mp4a")])
    assert code == 2
    assert "cannot tell the audio format of 'x.mp4a'" in capsys.readouterr().err


def test_failure_mid_write_leaves_no_file(
    routine_file: Path, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acuvoice.audio import mixer

    session = prepare_session(
        routine_file, SessionOptions(engine="fake"), cache=SynthesisCache(cache)
    )
    real = mixer.master_blocks
    calls = {"n": 0}

    def failing(plan: object, block: int = 44_100) -> object:
        for b in real(plan, block):  # type: ignore[arg-type]
            calls["n"] += 1
            # The mix is read once, by the writing pass: fail a few blocks into the file.
            if calls["n"] > 3:
                raise ExportError("simulated: the disk is full while writing s.wav")
            yield b

    monkeypatch.setattr("acuvoice.render.master_blocks", failing)
    out = tmp_path / "s.wav"
    with pytest.raises(ExportError):
        render_session(session, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "render-test.yaml"]


def test_full_disk_is_a_clear_error(routine_file: Path, cache: Path, tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(small)], capture_output=True
    )
    require(mounted.returncode == 0, "mounting a small tmpfs (needs root)")
    try:
        session = prepare_session(
            routine_file, SessionOptions(engine="fake"), cache=SynthesisCache(cache)
        )
        with pytest.raises(ExportError, match="disk is full"):
            render_session(session, small / "s.wav")
        assert list(small.iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_ctrl_c_leaves_no_file(tmp_path: Path) -> None:
    # The render writes inside a hidden staging folder until every file is complete.
    code, err = interrupt_render(tmp_path, ["-o", "long.flac"], ".acuvoice-*/.long.flac.*")
    assert code == 130
    # click turns Ctrl-C into Abort: the message must still say that nothing was left behind.
    assert err.strip().splitlines()[-1] == INTERRUPTED, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "long.yaml"]


def test_missing_sound_files_are_usage_errors(
    routine_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "x.wav"
    code = main(
        ["render", str(routine_file), "--engine", "fake", "--ambience", "rian.wav", "-o", str(out)]
    )
    assert code == 2
    assert "--ambience 'rian.wav' is neither a built-in bed" in capsys.readouterr().err
    code = main(
        ["render", str(routine_file), "--engine", "fake", "--cues", "bowls", "-o", str(out)]
    )
    assert code == 2
    assert "did you mean 'bowl'?" in capsys.readouterr().err
    assert not out.exists()


def test_an_unreadable_cue_file_fails_the_render_cleanly(
    routine_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "my-cues"
    folder.mkdir()
    (folder / "press.wav").write_bytes(b"RIFF this is not really a wave file")
    out = tmp_path / "x.mp3"
    code = main(
        [
            "render",
            str(routine_file),
            "--engine",
            "fake",
            "--cues",
            str(folder),
            "--cache-dir",
            str(tmp_path / "c"),
            "-o",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2  # a file the user gave that cannot be used: bad input, checked first
    assert "press.wav" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".x.mp3*"))


def test_output_files_get_ordinary_permissions(
    routine_file: Path, cache: Path, tmp_path: Path
) -> None:
    out = tmp_path / "s.wav"
    render_wav(routine_file, cache, out)
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_stems_sum_to_the_master(routine_file: Path, cache: Path, tmp_path: Path) -> None:
    # Quiet enough that the limiter never acts: the master is then exactly the sum.
    session = prepare_session(
        routine_file,
        SessionOptions(engine="fake", ambience="rain", loudness_lufs=-30),
        cache=SynthesisCache(cache),
    )
    out = tmp_path / "s.wav"
    render_session(session, out, OutputOptions(stems_dir=tmp_path))
    master, rate = sf.read(str(out), dtype="float64")
    stems = {
        name: sf.read(str(tmp_path / f"s.{name}.wav"), dtype="float64")
        for name in ("voice", "cues", "ambience")
    }
    assert all(r == rate and data.shape == master.shape for data, r in stems.values())
    total = sum(data for data, _ in stems.values())
    # 16-bit master against 24-bit stems: one 16-bit step (libsndfile's conversion does not
    # round to nearest), plus a 24-bit step per stem.
    assert float(np.abs(total - master).max()) <= 1 / 32768 + 3 / 2**23
    assert rms_db(stems["voice"][0]) > -60 and rms_db(stems["ambience"][0]) > -60
    # Sample-aligned: silence in the voice stem exactly where the timeline has no speech.
    first = session.timeline.of_kind(EventKind.SPEECH)[0]
    assert float(np.abs(stems["voice"][0][: ms_to_samples(first.start_ms, rate)]).max()) == 0.0


def test_stems_from_the_command_line(
    routine_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "session.mp3"
    code = main(
        [
            "render",
            str(routine_file),
            "--engine",
            "fake",
            "--cache-dir",
            str(tmp_path / "c"),
            "--stems",
            "-q",
            "-o",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    # No ambience in this routine: no ambience stem (it would be minutes of silence).
    assert sorted(p.name for p in tmp_path.glob("session*")) == [
        "session.cues.wav",
        "session.mp3",
        "session.voice.wav",
    ]
