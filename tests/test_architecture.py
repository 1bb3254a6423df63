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
        assert not {"pyttsx3", "piper", "kokoro_onnx", "onnxruntime"} & imports(path)


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


#: Where a process may end with a status: the CLI's main() and ``python -m acuvoice``.
EXIT_ALLOWED = {"cli/__init__.py", "__main__.py"}


def exits(path: Path) -> list[str]:
    """Every way ``path`` ends the process or a click command with a status."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = ast.unparse(func)
            if name in {"sys.exit", "exit", "quit", "os._exit", "SystemExit"}:
                found.append(name)
            elif isinstance(func, ast.Attribute) and func.attr in {"exit", "Exit"}:
                found.append(name)  # ctx.exit(2), click.exceptions.Exit(2)
            elif isinstance(func, ast.Name) and func.id == "Exit":
                found.append(name)
        elif isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if ast.unparse(target).split(".")[-1] in {"SystemExit", "Exit"}:
                found.append(f"raise {ast.unparse(target)}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_errors_become_exit_codes_only_in_cli_main(path: Path) -> None:
    if rel(path) not in EXIT_ALLOWED:
        assert exits(path) == [], f"{rel(path)} ends with a status itself; raise an error instead"


def test_the_exit_check_sees_every_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import sys, click\n"
        "def a(ctx):\n    ctx.exit(2)\n"
        "def b():\n    raise click.exceptions.Exit(2)\n"
        "def c():\n    sys.exit(1)\n"
        "def d():\n    raise SystemExit(3)\n"
    )
    assert {"ctx.exit", "click.exceptions.Exit", "sys.exit", "SystemExit"} <= set(exits(sample))


#: The command line's own words: library code must not tell a web user to pass a flag.
CLI_WORDS = ("--engine", "--voice", "--cues", "--ambience", "--year", "--cover", "--target",
             "--avoid", "--bundle", "--rate", "./scripts/")  # fmt: skip


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_only_the_cli_speaks_of_flags(path: Path) -> None:
    if rel(path).startswith("cli/"):
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            for word in CLI_WORDS:
                assert word not in node.value, f"{rel(path)}: {node.value!r} speaks of {word}"
