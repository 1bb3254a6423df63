"""What tests share about the machine: real components are required in CI, optional elsewhere."""

from __future__ import annotations

import os
import shutil

import pytest

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
