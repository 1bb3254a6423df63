"""Shared fixtures: the library, a deterministic measure, routine files written in tmp folders."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from acuvoice.measure import WordsPerMinute
from acuvoice.points.library import PointLibrary, builtin_library
from tests.support import require_program


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite tests/golden/*.json from the current compiler instead of comparing",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.needs_program("ffmpeg", "ffprobe")``: skip here, fail in CI, without them."""
    for marker in item.iter_markers("needs_program"):
        for name in marker.args:
            require_program(name, "ffmpeg" if name == "ffprobe" else None)


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test touches the user's real cache: the default cache lives in a temporary folder."""
    root = tmp_path_factory.mktemp("cache-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACUVOICE_CACHE_DIR", str(root / "acuvoice"))
        patch.setenv("XDG_CACHE_HOME", str(root))
        yield root / "acuvoice"


@pytest.fixture(scope="session")
def library() -> PointLibrary:
    return builtin_library()


@pytest.fixture
def measure() -> WordsPerMinute:
    return WordsPerMinute()


WriteRoutine = Callable[..., Path]


@pytest.fixture
def write_routine(tmp_path: Path) -> WriteRoutine:
    """Write dedented YAML to ``tmp_path/name`` and return the path."""

    def write(text: str, name: str = "routine.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write
