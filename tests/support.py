"""What tests share about the machine: real components are required in CI, optional elsewhere."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

#: Set by `.ci/run` (and by most CI services): every real component must be present.
IN_CI = bool(os.environ.get("CI"))


def require(available: object, what: str, hint: str = "") -> None:
    """Skip the test when ``what`` is missing here; fail it in CI, where nothing may be missing.

    Args:
        available: Truthy when the component works on this machine.
        what: The component, as a reader would name it ("ffmpeg", "the piper engine").
        hint: How to install it.
    """
    if available:
        return
    tail = f" ({hint})" if hint else ""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is missing{tail}", pytrace=False)
    pytest.skip(f"{what} is not available here{tail}")


def require_program(name: str, package: str | None = None) -> str:
    """The path of program ``name``, or skip (fail in CI) naming the Debian package."""
    path = shutil.which(name)
    require(path, name, f"sudo apt-get install {package or name}")
    assert path is not None
    return path


@functools.cache
def ffmpeg_encoders() -> str:
    """The encoder listing of this machine's ffmpeg."""
    listing = subprocess.run(
        [require_program("ffmpeg"), "-hide_banner", "-encoders"],
        capture_output=True,
        text=True,
        check=True,
    )
    return listing.stdout


def require_encoder(encoder: str) -> None:
    """Skip here (fail in CI) when ffmpeg cannot encode with ``encoder``."""
    require(
        f" {encoder} " in ffmpeg_encoders(), f"ffmpeg's {encoder} encoder", "Debian's ffmpeg has it"
    )


def encode(samples: np.ndarray, rate: int, path: Path, args: list[str]) -> Path:
    """Encode float ``(frames, channels)`` samples with ffmpeg into ``path`` (its suffix names
    the container)."""
    ffmpeg = require_program("ffmpeg")
    source = path.with_name(f".{path.name}.source.wav")
    sf.write(source, samples, rate, subtype="PCM_16")
    subprocess.run(
        [ffmpeg, "-v", "error", "-nostdin", "-y", "-i", str(source), *args, str(path)], check=True
    )
    source.unlink()
    return path


#: A routine long enough to interrupt while it is being written.
LONG_ROUTINE = (
    "acuvoice: 1\ntitle: Long\nsafety_notice: false\nsteps:\n  - pause: 40m\n    elastic: false\n"
)


def interrupt_render(folder: Path, args: list[str], writing: str) -> tuple[int, str]:
    """Run the installed ``acuvoice render`` on a 40-minute routine in ``folder``, press
    Ctrl-C once a file matching the glob ``writing`` (relative to ``folder``) appears.

    Returns:
        The exit status and what was written to stderr.
    """
    routine = folder / "long.yaml"
    routine.write_text(LONG_ROUTINE)
    exe = Path(sys.executable).with_name("acuvoice")
    env = {**os.environ, "ACUVOICE_CACHE_DIR": str(folder / "cache")}
    proc = subprocess.Popen(
        [str(exe), "render", str(routine), "--engine", "fake", "--ambience", "rain", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=folder,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline and not list(folder.glob(writing)):
        time.sleep(0.05)
    started = bool(list(folder.glob(writing)))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert started, f"the render never started writing {writing}: {err}"
    return proc.returncode, err
