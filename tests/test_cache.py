"""The synthesis cache: where it lives, that it is content-addressed, safe under concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from acuvoice.audio.buffer import Clip, quantize16
from acuvoice.cache import SynthesisCache, default_cache_dir


def test_cache_folder_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ACUVOICE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "acuvoice"
    monkeypatch.setenv("ACUVOICE_CACHE_DIR", str(tmp_path / "env"))
    assert default_cache_dir() == tmp_path / "env"
    monkeypatch.delenv("ACUVOICE_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "acuvoice"


def test_keys_depend_on_everything_that_changes_the_sound() -> None:
    base = SynthesisCache.key("piper", "fp1", "joe", 1.0, "Press now.")
    assert base == SynthesisCache.key("piper", "fp1", "joe", 1.0, "Press now.")
    others = {
        SynthesisCache.key("pyttsx3", "fp1", "joe", 1.0, "Press now."),
        SynthesisCache.key("piper", "fp2", "joe", 1.0, "Press now."),
        SynthesisCache.key("piper", "fp1", "amy", 1.0, "Press now."),
        SynthesisCache.key("piper", "fp1", "joe", 0.9, "Press now."),
        SynthesisCache.key("piper", "fp1", "joe", 1.0, "Press now!"),
    }
    assert base not in others and len(others) == 5


def test_round_trip_is_exact(tmp_path: Path) -> None:
    cache = SynthesisCache(tmp_path)
    samples = quantize16(np.sin(np.linspace(0, 100, 22_050, dtype=np.float32))[np.newaxis, :] * 0.5)
    assert cache.put("ab" * 32, Clip(samples, 22_050)) is None
    back = cache.get("ab" * 32)
    assert back is not None and back.sample_rate == 22_050
    assert np.array_equal(back.samples, samples)
    assert cache.stats.hits == 1
    assert [p.name for p in (tmp_path / "speech" / "ab").iterdir()] == ["ab" * 32 + ".flac"]


def test_an_unwritable_cache_never_fails_a_render(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = SynthesisCache(blocker)
    why = cache.put("cd" * 32, Clip(np.zeros((1, 10), dtype=np.float32), 8000))
    assert why is not None and "directory" in why.lower()  # says why, and does not raise
    assert cache.get("cd" * 32) is None and cache.stats.unwritable == 1


def test_two_renders_at_once_share_the_cache(tmp_path: Path) -> None:
    routine = tmp_path / "r.yaml"
    routine.write_text(
        "acuvoice: 1\ntitle: Together\nsafety_notice: false\nsteps:\n"
        + "".join(f"  - say: Sentence number {i} is spoken now.\n" for i in range(30))
    )
    exe = Path(sys.executable).with_name("acuvoice")
    env = {**os.environ, "ACUVOICE_CACHE_DIR": str(tmp_path / "cache")}
    procs = [
        subprocess.Popen(
            [
                str(exe),
                "render",
                "-q",
                "--engine",
                "fake",
                str(routine),
                "-o",
                str(tmp_path / f"out{i}.wav"),
            ],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert (tmp_path / "out0.wav").read_bytes() == (tmp_path / "out1.wav").read_bytes()
    entries = list((tmp_path / "cache").rglob("*.flac"))
    assert len(entries) >= 30 and not list((tmp_path / "cache").rglob("*.part"))
    cache = SynthesisCache(tmp_path / "cache")
    assert all(cache.get(p.stem) is not None for p in entries)


class _SlowEngine:
    """The fake engine, slowed down and counting its syntheses in a file."""

    def __init__(self, log: Path) -> None:
        from acuvoice.engines.fake import FakeEngine

        self.inner = FakeEngine()
        self.name = self.inner.name
        self.log = log

    def fingerprint(self, voice: object) -> str:
        return self.inner.fingerprint(voice)  # type: ignore[arg-type]

    def synthesize(self, text: str, voice: object, rate: float) -> Clip:
        import time

        with self.log.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(0.5)
        return self.inner.synthesize(text, voice, rate)  # type: ignore[arg-type]


def _speak(root: str, log: str) -> int:
    from acuvoice.engines.fake import FakeEngine
    from acuvoice.speech import Speech

    engine = _SlowEngine(Path(log))
    voice = FakeEngine().voices()[0]
    speech = Speech(engine, voice, 1.0, cache=SynthesisCache(Path(root)))  # type: ignore[arg-type]
    return speech.clip("Press now, and hold for thirty seconds.").samples.shape[1]


def test_two_processes_needing_one_phrase_synthesize_it_once(tmp_path: Path) -> None:
    import multiprocessing

    log = tmp_path / "syntheses.log"
    with multiprocessing.get_context("fork").Pool(2) as pool:
        lengths = pool.starmap(_speak, [(str(tmp_path / "cache"), str(log))] * 2)
    assert lengths[0] == lengths[1] > 0
    assert len(log.read_text().splitlines()) == 1  # the second waited and found the clip
