"""Load a routine file (and the files it includes) into a validated :class:`Routine`.

Reading happens in two passes so that every problem in every file is reported together:
first each file is parsed and checked against the schema, with its includes read
recursively; then point codes, conditions and paths are checked on the raw data (so they are
reported even when the schema check failed) and, if nothing is wrong, steps are converted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from acuvoice.errors import Problem, RoutineError, Severity, UnknownPointError
from acuvoice.phrases import available_languages, load_catalog
from acuvoice.points.library import PointLibrary, builtin_library, point_from_input
from acuvoice.points.model import Point
from acuvoice.routine.model import (
    AMBIENCES,
    CUE_SETS,
    BreatheStep,
    BreathGuide,
    ChapterStep,
    CueStep,
    Gate,
    Origin,
    PauseStep,
    PressStep,
    Pressure,
    Routine,
    RoutineFile,
    SayStep,
    Side,
    Sound,
    Step,
    Technique,
    Voice,
)
from acuvoice.schema import (
    BreatheStepIn,
    ChapterStepIn,
    CueStepIn,
    DefaultsIn,
    IncludedFileIn,
    IncludeStepIn,
    PauseStepIn,
    PressStepIn,
    RoutineFileIn,
    SayStepIn,
)
from acuvoice.validation import did_you_mean, problems_from_validation
from acuvoice.yamlpos import Document, YamlProblems, parse_yaml, read_text

#: Folder of the built-in routines (package data).
BUILTIN_DIR = Path(str(resources.files("acuvoice").joinpath("routines")))

#: Press-step values used when neither the step nor the routine's ``defaults`` give one.
PRESS_DEFAULTS: Mapping[str, int] = {
    "hold_ms": 60_000,
    "find_ms": 8_000,
    "reminders_ms": 30_000,
    "countdown": 3,
    "repeat": 1,
}
#: The most YAML text :func:`load_routine_text` takes (the same limit as for files).
MAX_TEXT_BYTES = 1_000_000
#: How deep includes may nest, and how many files one routine may read.
MAX_INCLUDE_DEPTH = 16
MAX_FILES = 200


#: The language of the built-in routines at the top of their folder; translations of them
#: live in ``routines/<lang>/`` with the same names.
BUILTIN_LANGUAGE = "en"


def builtin_routines(language: str | None = None) -> dict[str, Path]:
    """Built-in routine names and their files (``common/`` holds include-only parts).

    Args:
        language: ``None`` or ``en`` for the English ones; another tag (its primary subtag
            counts) for those in ``routines/<lang>/``.
    """
    primary = (language or BUILTIN_LANGUAGE).split("-")[0].lower()
    folder = BUILTIN_DIR if primary == BUILTIN_LANGUAGE else BUILTIN_DIR / primary
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def builtin_languages(name: str | None = None) -> list[str]:
    """Languages with built-in routines (``name``: with that routine), English included."""
    found = [BUILTIN_LANGUAGE] if name is None or name in builtin_routines() else []
    for folder in sorted(BUILTIN_DIR.iterdir()):
        if folder.is_dir() and folder.name != "common":
            routines = builtin_routines(folder.name)
            if routines and (name is None or name in routines):
                found.append(folder.name)
    return sorted(found)


def builtin_routine_path(name: str, language: str | None = None) -> Path:
    """The file of built-in routine ``name`` in ``language`` (English by default).

    Raises:
        RoutineError: No built-in routine by that name, or none in that language (the
            message lists the languages the routine is written in).
    """
    routines = builtin_routines(language)
    if name in routines:
        return routines[name]
    everywhere = builtin_languages(name)
    if language is None or not everywhere:
        resolve_routine_path(name)  # raises with the list and a did-you-mean
    listing = ", ".join(everywhere)
    raise RoutineError(
        [
            Problem(
                name,
                0,
                0,
                f"the built-in routine {name!r} is not written in {language!r}; it is in "
                f"{listing} (`acuvoice routines --language TAG` lists the routines in a language)",
            )
        ]
    )


def resolve_routine_path(source: str | os.PathLike[str]) -> tuple[Path, str, str]:
    """Find a routine by path or built-in name.

    Returns:
        ``(path, shown, name)``: the file, how to name it in messages, the routine's name.

    Raises:
        RoutineError: Neither a file nor a built-in routine has that name.
    """
    text = os.fspath(source)
    path = Path(text)
    if path.is_file() or path.suffix.lower() in {".yaml", ".yml"} or os.sep in text:
        return path, text, path.stem
    builtins = builtin_routines()
    if text in builtins:
        return builtins[text], f"<built-in>/{builtins[text].name}", text
    hint = did_you_mean(text, builtins)
    listing = ", ".join(builtins) or "none"
    raise RoutineError(
        [
            Problem(
                text,
                0,
                0,
                f"no routine file or built-in routine by this name{hint or ''} "
                f"(built-ins: {listing}; `acuvoice new NAME` writes a starter file)",
            )
        ]
    )


def load_routine(
    source: str | os.PathLike[str],
    *,
    library: PointLibrary | None = None,
    shown: str | None = None,
) -> Routine:
    """Load, validate and expand a routine.

    Paths written in the routine (includes, a cue folder, an ambience file, a voice file)
    are relative to the routine's folder; the routine comes back with absolute ones.

    Args:
        source: A path to a routine file, or the name of a built-in routine.
        library: The point library (the built-in one by default).
        shown: How to name the file in problems (default: ``source`` as given).

    Returns:
        The routine, includes expanded, codes resolved, every press option filled in.

    Raises:
        RoutineError: The file or one it includes is unreadable or invalid; carries every
            problem found, each with file, line and column.
        UnknownPointError: As above, when every error is an unknown point.
    """
    path, default_shown, name = resolve_routine_path(source)
    loader = _Loader(library or builtin_library(), path)
    return loader.load(path, shown or default_shown, name)


def load_routine_text(
    text: str,
    *,
    name: str | None = None,
    shown: str = "<text>",
    library: PointLibrary | None = None,
    builtin_includes: bool = False,
) -> Routine:
    """Load a routine from YAML text with no file behind it (pasted into a page, sent to an API).

    Such a routine has no folder, so it cannot include files or name sound or voice files:
    those are problems, reported like any other. With ``builtin_includes`` it may include
    the parts the built-in routines share (``include: common/closing.yaml``), and nothing
    outside the built-in routines' folder.

    Args:
        text: The YAML source.
        name: The routine's name (it names output files); default: made from the title
            (``Evening calm`` -> ``evening-calm``).
        shown: How to name the text in problems.
        library: The point library (the built-in one by default).

    Raises:
        RoutineError: The text is invalid; carries every problem, with line and column.
    """
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise RoutineError(
            [Problem(shown, 1, 1, f"text is larger than {MAX_TEXT_BYTES // 1000} kB")]
        )
    loader = _Loader(library or builtin_library(), None, BUILTIN_DIR if builtin_includes else None)
    return loader.load(None, shown, name, text=text)


@dataclass(slots=True)
class _File:
    """One parsed file: its document, its validated model (if valid) and its includes.

    ``path`` is ``None`` for a routine given as text.
    """

    path: Path | None
    shown: str
    doc: Document | None
    parsed: RoutineFileIn | None
    includes: dict[int, _File | None] = field(default_factory=dict)


class _Loader:
    def __init__(
        self, library: PointLibrary, root: Path | None, include_dir: Path | None = None
    ) -> None:
        self.library = library
        # None: a routine given as text, with no folder for includes or sound files (its
        # includes may come from ``include_dir``).
        self.root_dir = root.resolve().parent if root is not None else None
        self.include_dir = include_dir.resolve() if include_dir is not None else None
        self.problems: list[Problem] = []
        self.unknown_points = 0
        self.files_read = 0
        self.cache: dict[Path, _File] = {}
        self.digests: list[RoutineFile] = []

    # -- helpers ---------------------------------------------------------------------------
    def problem(
        self, f: _File, path: tuple[str | int, ...], message: str, *, key: bool = False
    ) -> None:
        mark = f.doc.mark(path, key=key) if f.doc else None
        line, column = (mark.line, mark.column) if mark else (0, 0)
        self.problems.append(Problem(f.shown, line, column, message))

    # -- pass 1: read ----------------------------------------------------------------------
    def read(
        self,
        path: Path | None,
        shown: str,
        *,
        root: bool,
        chain: tuple[Path, ...],
        text: str | None = None,
    ) -> _File:
        resolved = path.resolve() if path is not None else None
        if resolved is not None and resolved in self.cache:
            return self.cache[resolved]
        self.files_read += 1
        f = _File(path, shown, None, None)
        try:
            if text is None:
                assert path is not None
                text = read_text(path, shown)
            self.digests.append(RoutineFile(self._digest_name(resolved), _sha256(text)))
            f.doc = parse_yaml(text, shown)
        except YamlProblems as exc:
            self.problems.extend(exc.problems)
            return f
        model: type[BaseModel] = RoutineFileIn if root else IncludedFileIn
        if f.doc.data is None:
            self.problem(
                f,
                (),
                "file is empty; a routine needs at least `acuvoice: 1`, `title:` and `steps:`",
            )
            return f
        if not isinstance(f.doc.data, dict):
            self.problem(
                f,
                (),
                "a routine is a mapping of keys (acuvoice, title, steps, ...), not a single value or list",
            )
            return f
        try:
            f.parsed = model.model_validate(f.doc.data)  # type: ignore[assignment]
        except ValidationError as exc:
            self.problems.extend(problems_from_validation(exc, f.doc, shown, model))
        if resolved is not None:
            self.cache[resolved] = f
        steps = f.doc.data.get("steps")
        if isinstance(steps, list):
            for i, raw in enumerate(steps):
                if (
                    isinstance(raw, dict)
                    and isinstance(raw.get("include"), str)
                    and set(raw) <= {"include", *GATE_KEYS}
                ):
                    here = (*chain, resolved) if resolved is not None else chain
                    f.includes[i] = self.read_include(f, i, raw["include"], here)
        return f

    def _digest_name(self, resolved: Path | None) -> str:
        folder = self.root_dir or self.include_dir
        if resolved is None or folder is None:
            return "<text>"
        return resolved.relative_to(folder).as_posix()

    def read_include(
        self, f: _File, index: int, value: str, chain: tuple[Path, ...]
    ) -> _File | None:
        where = ("steps", index, "include")
        folder = self.root_dir or self.include_dir
        if folder is None:
            self.problem(
                f,
                where,
                f"a routine given as text cannot include files; put the steps of {value!r} "
                "here instead",
            )
            return None
        if os.path.isabs(value) or value.startswith("~"):
            self.problem(f, where, f"include {value!r} must be a path relative to this file")
            return None
        target = (f.path.parent if f.path is not None else folder) / value
        resolved = target.resolve()
        try:
            resolved.relative_to(folder)
        except ValueError:
            where_to = (
                f"the routine's folder ({folder})"
                if self.root_dir is not None
                else "the built-in routines' folder"
            )
            self.problem(
                f, where, f"include {value!r} leaves {where_to}; keep included files inside it"
            )
            return None
        if resolved in chain:
            names = " -> ".join(
                os.path.relpath(p, folder) for p in (*chain, resolved)[chain.index(resolved) :]
            )
            self.problem(f, where, f"include cycle: {names}; a file may not include itself")
            return None
        if len(chain) > MAX_INCLUDE_DEPTH:
            self.problem(f, where, f"includes nest more than {MAX_INCLUDE_DEPTH} deep")
            return None
        if self.files_read >= MAX_FILES:
            self.problem(f, where, f"a routine may read at most {MAX_FILES} files")
            return None
        if not resolved.is_file():
            hint = ""
            if resolved.parent.is_dir():
                hint = did_you_mean(resolved.name, [p.name for p in resolved.parent.glob("*.y*ml")])
            self.problem(f, where, f"included file {value!r} does not exist{hint}")
            return None
        shown = os.path.normpath(os.path.join(os.path.dirname(f.shown), value))
        return self.read(target, shown, root=False, chain=chain)

    def all_files(self, f: _File) -> list[_File]:
        seen: list[_File] = []

        def walk(node: _File) -> None:
            if any(node is s for s in seen):
                return
            seen.append(node)
            for child in node.includes.values():
                if child is not None:
                    walk(child)

        walk(f)
        return seen

    # -- pass 2: check and convert ---------------------------------------------------------
    def load(
        self, path: Path | None, shown: str, name: str | None, *, text: str | None = None
    ) -> Routine:
        root = self.read(path, shown, root=True, chain=(), text=text)
        files = self.all_files(root)
        custom = self.custom_points(files)
        library = self.library.with_points(custom)
        for f in files:
            self.check_presses(f, library)
            self.check_gates(f)
            for key in ("max_hold", "min_hold"):
                if f is not root and f.parsed is not None and getattr(f.parsed.defaults, key):
                    self.problem(
                        f,
                        ("defaults", key),
                        f"{key} applies to the whole routine; set it in the defaults of the "
                        "routine that includes this file",
                    )
        self.check_root(root)
        routine: Routine | None = None
        errors = [p for p in self.problems if p.severity is Severity.ERROR]
        if not errors and root.parsed is not None:
            steps = self.convert_steps(root, library, root.parsed.defaults, (), ())
            errors = [p for p in self.problems if p.severity is Severity.ERROR]
            if not errors:
                routine = self.make_routine(
                    root.parsed,
                    tuple(steps),
                    name or slug(root.parsed.title),
                    path,
                    tuple(custom),
                )
        if routine is None:
            cls = UnknownPointError if self.unknown_points == len(errors) else RoutineError
            raise cls(_sorted(self.problems))
        return routine

    def custom_points(self, files: list[_File]) -> list[Point]:
        points: list[Point] = []
        for f in files:
            if f.parsed is None:
                continue
            for i, item in enumerate(f.parsed.points):
                code_path = ("points", i, "code")
                clash = next((p for p in self.library if p.code == item.code), None)
                if clash is not None:
                    self.problem(
                        f,
                        code_path,
                        f"point {item.code} is already in the library ({clash.code} "
                        f"{clash.name}); give your point another code, like EXTRA-1",
                    )
                    continue
                if any(p.code == item.code for p in points):
                    self.problem(f, code_path, f"point {item.code} is defined twice")
                    continue
                for j, cond in enumerate(item.contraindications):
                    if cond not in self.library.conditions:
                        self.problem(
                            f,
                            ("points", i, "contraindications", j),
                            f"unknown condition {cond!r}{did_you_mean(cond, self.library.conditions)}"
                            f" (known: {', '.join(self.library.conditions)})",
                        )
                points.append(point_from_input(item, builtin=False))
        return points

    def check_presses(self, f: _File, library: PointLibrary) -> None:
        steps = f.doc.data.get("steps") if f.doc and isinstance(f.doc.data, dict) else None
        if not isinstance(steps, list):
            return
        for i, raw in enumerate(steps):
            if not (isinstance(raw, dict) and isinstance(raw.get("press"), str)):
                continue
            code = raw["press"]
            if library.find(code) is None:
                suggestions = library.suggest(code)
                hint = f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""
                self.problem(
                    f,
                    ("steps", i, "press"),
                    f"unknown point {code!r}{hint} (`acuvoice points` lists the library; "
                    "define your own under `points:`)",
                )
                self.unknown_points += 1

    def check_gates(self, f: _File) -> None:
        """Conditions of ``if_avoiding``/``unless_avoiding`` must be the library's."""
        steps = f.doc.data.get("steps") if f.doc and isinstance(f.doc.data, dict) else None
        if not isinstance(steps, list):
            return
        known = self.library.conditions
        for i, raw in enumerate(steps):
            if not isinstance(raw, dict):
                continue
            for key in GATE_KEYS:
                value = raw.get(key)
                items: list[tuple[str, tuple[int, ...]]] = []
                if isinstance(value, str):
                    items = [(value, ())]
                if isinstance(value, list):
                    items = [(v, (j,)) for j, v in enumerate(value) if isinstance(v, str)]
                for cond, tail in items:
                    if cond not in known:
                        self.problem(
                            f,
                            ("steps", i, key, *tail),
                            f"unknown condition {cond!r} in {key}{did_you_mean(cond, known)}"
                            f" (known: {', '.join(known)}; `acuvoice points --conditions` "
                            "lists them)",
                        )

    def check_root(self, root: _File) -> None:
        parsed = root.parsed
        if parsed is None:
            return
        for i, cond in enumerate(parsed.cautions):
            if cond not in self.library.conditions:
                self.problem(
                    root,
                    ("cautions", i),
                    f"unknown condition {cond!r}{did_you_mean(cond, self.library.conditions)}"
                    f" (known: {', '.join(self.library.conditions)})",
                )
        if parsed.language.split("-")[0].lower() not in available_languages():
            self.problem(
                root,
                ("language",),
                f"no spoken phrases for language {parsed.language!r} yet; available: "
                f"{', '.join(available_languages())}",
            )
        base = root.path.parent if root.path is not None else None
        for key in ("cues", "ambience"):
            why = sound_spec_problem(key, getattr(parsed.sound, key), base)
            if why:
                self.problem(root, ("sound", key), f"{key}: {why}")
        if base is None and parsed.voice.name and looks_like_voice_file(parsed.voice.name):
            self.problem(
                root,
                ("voice", "name"),
                f"a routine given as text cannot name a voice file ({parsed.voice.name!r}); "
                "use a voice id (`acuvoice voices` lists them)",
            )

    def convert_steps(
        self,
        f: _File,
        library: PointLibrary,
        defaults: DefaultsIn,
        chain: tuple[Path, ...],
        gates: tuple[Gate, ...],
    ) -> list[Step]:
        """The steps of ``f``; ``gates`` are those of the include steps that led here."""
        assert f.parsed is not None and f.doc is not None
        out: list[Step] = []
        for i, step in enumerate(f.parsed.steps):
            mark = f.doc.mark(("steps", i))
            origin = Origin(f.shown, mark.line, mark.column)
            own = (*gates, *_gates_of(step))
            if isinstance(step, IncludeStepIn):
                child = f.includes.get(i)
                if child is None or child.parsed is None:
                    continue
                merged = _merge_defaults(defaults, child.parsed.defaults)
                here = (*chain, f.path) if f.path is not None else chain
                out.extend(self.convert_steps(child, library, merged, here, own))
                continue
            before = len(out)
            if isinstance(step, SayStepIn):
                out.append(SayStep(step.say, step.then, origin))
            elif isinstance(step, PauseStepIn):
                out.append(PauseStep(step.pause, step.elastic, origin))
            elif isinstance(step, CueStepIn):
                out.append(CueStep(step.cue, origin))
            elif isinstance(step, ChapterStepIn):
                out.append(ChapterStep(step.chapter, origin))
            elif isinstance(step, BreatheStepIn):
                b = step.breathe
                guide = step.guide or b.guide or BreathGuide.BOTH
                out.append(BreatheStep(b.cycles, b.inhale, b.exhale, b.hold, guide, origin))
            elif isinstance(step, PressStepIn):
                press = self.convert_press(f, i, step, library, defaults, origin)
                if press is not None:
                    out.append(press)
            if own and len(out) > before:
                out[-1] = dataclasses.replace(out[-1], gates=own)
        return out

    def convert_press(
        self,
        f: _File,
        i: int,
        step: PressStepIn,
        library: PointLibrary,
        defaults: DefaultsIn,
        origin: Origin,
    ) -> PressStep | None:
        point = library.find(step.press)
        if point is None:  # reported by check_presses
            return None

        def pick(name: str, fallback: Any) -> Any:
            value = getattr(step, name)
            if value is None:
                value = getattr(defaults, name, None)
            return fallback if value is None else value

        hold_ms = pick("hold", PRESS_DEFAULTS["hold_ms"])
        countdown = pick("countdown", PRESS_DEFAULTS["countdown"])
        if countdown * 1000 >= hold_ms:
            where = ("steps", i, "countdown") if step.countdown is not None else ("steps", i)
            self.problem(
                f,
                where,
                f"countdown of {countdown} s does not fit in a hold of {hold_ms / 1000:g} s; "
                "use a shorter countdown or a longer hold",
            )
            return None
        return PressStep(
            point=point.code,
            side=Side(pick("side", point.side)),
            hold_ms=hold_ms,
            technique=Technique(pick("technique", point.techniques[0])),
            pressure=Pressure(pick("pressure", point.pressure)),
            find_ms=pick("find", PRESS_DEFAULTS["find_ms"]),
            reminders_ms=pick("reminders", PRESS_DEFAULTS["reminders_ms"]),
            countdown=countdown,
            repeat=pick("repeat", PRESS_DEFAULTS["repeat"]),
            say=step.say,
            origin=origin,
        )

    def make_routine(
        self,
        parsed: RoutineFileIn,
        steps: tuple[Step, ...],
        name: str,
        path: Path | None,
        custom: tuple[Point, ...],
    ) -> Routine:
        load_catalog(parsed.language)
        base = path.resolve().parent if path is not None else None
        return Routine(
            title=parsed.title,
            steps=steps,
            name=name,
            path=path,
            summary=parsed.summary,
            language=parsed.language,
            author=parsed.author,
            license=parsed.license,
            tags=tuple(parsed.tags),
            sources=tuple(parsed.sources),
            target_ms=parsed.target,
            voice=Voice(
                parsed.voice.engine, _voice_name(parsed.voice.name, base), parsed.voice.rate
            ),
            sound=Sound(
                resolve_sound("cues", parsed.sound.cues, base),
                resolve_sound("ambience", parsed.sound.ambience, base),
                parsed.sound.ambience_db,
                parsed.sound.duck_db,
            ),
            loudness_lufs=parsed.loudness,
            safety_notice=parsed.safety_notice,
            cautions=tuple(parsed.cautions),
            points=custom,
            files=tuple(self.digests),
            max_hold_ms=parsed.defaults.max_hold,
            min_hold_ms=parsed.defaults.min_hold,
        )


def resolve_sound(key: str, value: str, base: Path | None) -> str:
    """A built-in cue set or bed name as it is; a path made absolute against ``base``.

    ``~`` is expanded. ``key`` is ``cues`` or ``ambience``.
    """
    names = CUE_SETS if key == "cues" else AMBIENCES
    if value in names:
        return value
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    return str(path.absolute())


def sound_spec_problem(key: str, value: str, base: Path | None) -> str | None:
    """Why ``value`` names no cue set/folder (``key`` "cues") or bed/file ("ambience"), or ``None``.

    Paths are relative to ``base`` (the routine's folder, or the working folder on the
    command line); with no ``base`` (a routine given as text) only built-in names are allowed.
    """
    names = CUE_SETS if key == "cues" else AMBIENCES
    if value in names:
        return None
    if base is None:
        what = "cue sets" if key == "cues" else "ambience beds"
        return (
            f"a routine given as text can use only the built-in {what} "
            f"({', '.join(names)}), not {value!r}{did_you_mean(value, names)}"
        )
    path = Path(resolve_sound(key, value, base))
    if key == "cues":
        if path.is_dir():
            return None
        return (
            f"{value!r} is neither a cue set ({', '.join(CUE_SETS)}) nor a folder of sound "
            f"files{did_you_mean(value, CUE_SETS)}"
        )
    if path.is_file():
        return None
    return (
        f"{value!r} is neither a built-in bed ({', '.join(AMBIENCES)}) nor an "
        f"audio file{did_you_mean(value, AMBIENCES)}"
    )


def looks_like_voice_file(name: str) -> bool:
    """Whether a voice name is written as a file path rather than an engine's voice id.

    Voice ids may hold a slash (espeak's ``gmw/en-us``), so only model suffixes and paths
    that start at a folder (``/``, ``~``, ``./``, ``../``) count.
    """
    return name.endswith((".onnx", ".onnx.json")) or name.startswith(("/", "~", "./", "../"))


def _voice_name(name: str | None, base: Path | None) -> str | None:
    """A voice file named relative to the routine's folder becomes absolute; ids stay as written."""
    if name is None or base is None:
        return name
    path = Path(name).expanduser()
    if not path.is_absolute():
        path = base / path
    if looks_like_voice_file(name) or path.is_file():
        return str(path.absolute())
    return name


def slug(title: str) -> str:
    """A file name made from a title: ``Evening calm (10 min)`` -> ``evening-calm-10-min``."""
    words = re.findall(r"\w+", title.casefold())
    return "-".join(words)[:60].strip("-_") or "routine"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: The step options that make a step depend on the listener profile.
GATE_KEYS = ("if_avoiding", "unless_avoiding")


def _gates_of(step: Any) -> tuple[Gate, ...]:
    """The gates a step's ``if_avoiding`` and ``unless_avoiding`` make."""
    out: list[Gate] = []
    if step.if_avoiding:
        out.append(Gate(True, tuple(step.if_avoiding)))
    if step.unless_avoiding:
        out.append(Gate(False, tuple(step.unless_avoiding)))
    return tuple(out)


def _merge_defaults(outer: DefaultsIn, inner: DefaultsIn) -> DefaultsIn:
    """An included file's own defaults win over those of the file that includes it."""
    values = outer.model_dump()
    values.update({k: v for k, v in inner.model_dump().items() if v is not None})
    return DefaultsIn.model_construct(**values)


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.path, p.line, p.column))
