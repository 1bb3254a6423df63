"""Read YAML safely into plain data plus the line and column of every key and value.

Only the safe subset is read: standard tags, no Python objects. Duplicate keys, deep
nesting and alias bombs (a few lines that expand to millions of values) are problems with a
position, never a hang or a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from acuvoice.errors import Problem

#: Largest YAML file read; routines are a few kilobytes, so this only stops accidents and abuse.
MAX_FILE_BYTES = 1_000_000
#: Most values a document may expand to (aliases counted every time they are used).
MAX_VALUES = 100_000
#: Deepest nesting of mappings and lists.
MAX_DEPTH = 64

_STANDARD_TAGS = {
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based position in a file."""

    line: int
    column: int


@dataclass(slots=True)
class Document:
    """Plain YAML data and where each part of it was written.

    Attributes:
        data: The value (dicts, lists, str, int, float, bool, None).
        values: Position of the value at each path (``("steps", 3, "hold")``).
        keys: Position of the key for each path that ends in a mapping key.
    """

    data: Any
    values: dict[Path_, Mark] = field(default_factory=dict)
    keys: dict[Path_, Mark] = field(default_factory=dict)

    def mark(self, path: Path_, *, key: bool = False) -> Mark:
        """The position for ``path``, falling back to the nearest enclosing value."""
        if key and path in self.keys:
            return self.keys[path]
        probe = tuple(path)
        while probe:
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Mark(1, 1))


class YamlProblems(Exception):
    """Raised inside this module with the problems that stop reading a file."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def read_text(path: Path, shown: str) -> str:
    """Read a routine file as UTF-8 text, refusing huge or binary files.

    Raises:
        YamlProblems: The file is missing, too large, or not UTF-8 text.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise YamlProblems(
                [
                    Problem(
                        shown,
                        1,
                        1,
                        f"file is {size / 1e6:.1f} MB; a routine may be at most "
                        f"{MAX_FILE_BYTES // 1000} kB (is this the right file?)",
                    )
                ]
            )
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise YamlProblems([Problem(shown, 0, 0, "no such file")]) from None
    except IsADirectoryError:
        raise YamlProblems([Problem(shown, 0, 0, "is a folder, not a routine file")]) from None
    except OSError as exc:
        raise YamlProblems([Problem(shown, 0, 0, f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise YamlProblems(
            [Problem(shown, 1, 1, f"file is larger than {MAX_FILE_BYTES // 1000} kB")]
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise YamlProblems(
            [Problem(shown, line, column, "file is not UTF-8 text; save it as UTF-8")]
        ) from None


def _parse_fast(text: str, shown: str) -> Document | None:
    """The document parsed with libyaml (several times faster), or ``None`` when libyaml is
    missing or the text has any problem: the pure-Python parser then reports it, with the
    messages and positions users see."""
    c_loader = getattr(yaml, "CSafeLoader", None)
    if c_loader is None:
        return None
    loader = c_loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _document(loader, node, shown)
    except (yaml.YAMLError, YamlProblems, RecursionError, ValueError, TypeError):
        return None
    finally:
        loader.dispose()


def parse_yaml(text: str, shown: str) -> Document:
    """Parse YAML text into a :class:`Document`.

    Args:
        text: The YAML source.
        shown: The file name used in problems.

    Raises:
        YamlProblems: Syntax errors, unsupported tags, duplicate keys, alias bombs.
    """
    fast = _parse_fast(text, shown)
    if fast is not None:
        return fast
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        raise YamlProblems([_reader_problem(exc, text, shown)]) from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            what = _tab_problem(text, mark) or exc.problem or "invalid YAML"
            if exc.context and exc.problem and what == exc.problem:
                what = f"{exc.context}: {exc.problem}"
            raise YamlProblems(
                [Problem(shown, line, column, f"YAML syntax error: {what}")]
            ) from None
        except yaml.reader.ReaderError as exc:
            raise YamlProblems([_reader_problem(exc, text, shown)]) from None
        except yaml.YAMLError as exc:
            raise YamlProblems([Problem(shown, 1, 1, f"YAML error: {exc}")]) from None
        except RecursionError:
            raise YamlProblems(
                [Problem(shown, 1, 1, f"nested too deeply (more than {MAX_DEPTH} levels)")]
            ) from None
        if node is None:
            return Document(data=None, values={(): Mark(1, 1)})
        return _document(loader, node, shown)
    finally:
        loader.dispose()


def _document(loader: Any, node: yaml.Node, shown: str) -> Document:
    """The document built from ``node``, with a position for every value.

    Raises:
        YamlProblems: Duplicate keys, unsupported tags, alias bombs.
    """
    builder = _Builder(loader, shown)
    data = builder.build(node, (), 0)
    if builder.problems:
        raise YamlProblems(builder.problems)
    return Document(data=data, values=builder.values, keys=builder.keys)


def _tab_problem(text: str, mark: yaml.Mark | None) -> str | None:
    """What to say when the parser stopped at a tab (YAML allows none outside quoted text)."""
    if mark is None or not 0 <= mark.index < len(text) or text[mark.index] != "\t":
        return None
    before = text[mark.index - mark.column : mark.index]
    if before.strip(" \t") == "":
        return "this line is indented with a tab; indent with spaces, not tabs"
    return "a tab where YAML needs a space; use spaces, not tabs"


def _reader_problem(exc: yaml.reader.ReaderError, text: str, shown: str) -> Problem:
    """A problem for a character YAML does not allow (control characters and the like)."""
    before = text[: exc.position]
    line = before.count("\n") + 1
    column = exc.position - (before.rfind("\n") + 1) + 1
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return Problem(
        shown, line, column, f"character U+{ord(char):04X} is not allowed in YAML; remove it"
    )


class _Builder:
    """Turns a composed node graph into plain data, counting every value it makes."""

    def __init__(self, loader: yaml.SafeLoader, shown: str) -> None:
        self.loader = loader
        self.shown = shown
        self.values: dict[Path_, Mark] = {}
        self.keys: dict[Path_, Mark] = {}
        self.problems: list[Problem] = []
        self.count = 0
        self.active: set[int] = set()

    def _problem(self, node: yaml.Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.shown, mark.line + 1, mark.column + 1, message))

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            self._problem(
                node,
                f"document expands to more than {MAX_VALUES:,} values "
                "(YAML aliases repeated too often); write the values out instead",
            )
            raise YamlProblems(self.problems)
        if depth > MAX_DEPTH:
            self._problem(node, f"nested too deeply (more than {MAX_DEPTH} levels)")
            raise YamlProblems(self.problems)
        self.values[path] = Mark(node.start_mark.line + 1, node.start_mark.column + 1)
        if node.tag not in _STANDARD_TAGS:
            self._problem(node, f"tag {node.tag!r} is not allowed in a routine")
            return None
        if id(node) in self.active:
            self._problem(node, "an alias refers to a value that contains itself")
            return None
        if isinstance(node, yaml.ScalarNode):
            try:
                return self.loader.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, OverflowError) as exc:
                self._problem(node, f"cannot read value {node.value!r}: {exc}")
                return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [
                    self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)
                ]
            assert isinstance(node, yaml.MappingNode)
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self._problem(key_node, "a key must be plain text")
                    continue
                key = key_node.value
                if key in result:
                    self._problem(key_node, f"key {key!r} appears twice in the same mapping")
                    continue
                child = (*path, key)
                self.keys[child] = Mark(
                    key_node.start_mark.line + 1, key_node.start_mark.column + 1
                )
                result[key] = self.build(value_node, child, depth + 1)
            return result
        finally:
            self.active.discard(id(node))
