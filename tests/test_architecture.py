"""The house rules that keep the code's shape: who may import what, and docstrings everywhere."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "acuvoice"
MODULES = sorted(SRC.rglob("*.py"))


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_only_cli_imports_click(path: Path) -> None:
    if not rel(path).startswith("cli/"):
        assert "click" not in imports(path)


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_only_engine_adapters_import_speech_engines(path: Path) -> None:
    if not rel(path).startswith("engines/"):
        assert not {"pyttsx3", "piper"} & imports(path)


def test_the_compiler_is_pure() -> None:
    used = imports(SRC / "compiler.py")
    assert (
        not {"os", "pathlib", "subprocess", "click", "numpy", "soundfile", "pydub", "yaml", "io"}
        & used
    )
    source = (SRC / "compiler.py").read_text()
    assert "open(" not in source and "print(" not in source


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_every_module_says_its_job(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc and doc.strip(), f"{rel(path)} has no module docstring"


def test_errors_become_exit_codes_only_in_cli_main() -> None:
    for path in MODULES:
        text = path.read_text(encoding="utf-8")
        if rel(path) != "cli/__init__.py":
            assert "sys.exit(" not in text, rel(path)
