"""Every check a render request gets before any synthesis, and what the checks find."""

from __future__ import annotations

import functools
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from acuvoice.app.request import RenderRequest
from acuvoice.errors import ExportError, OutputError
from acuvoice.export.audio import ffmpeg_path
from acuvoice.export.sheet import find_browser
from acuvoice.export.tags import Tags, check_year, read_cover
from acuvoice.points.library import PointLibrary, builtin_library
from acuvoice.render import SessionPlan, plan_session, session_tags

#: Files of a bundle besides the audio, by the suffix that follows the audio's name.
BUNDLE_TEXTS = (
    "vtt",
    "srt",
    "txt",
    "chapters.vtt",
    "chapters.json",
    "labels.txt",
    "timeline.json",
    "diagram.svg",
    "html",
)
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class CheckedRequest:
    """A request that passed every check: the session planned, tags and cover read.

    Attributes:
        request: The request.
        plan: The session, planned (engine and voice chosen, cue sounds loaded).
        tags: The tags to write, overrides applied (the cover as given; a generated one is
            made when the render writes).
        audio_name: The audio file's name.
        files: The name of every file the render will write, the audio first.
        warnings: What is allowed but probably unintended.
    """

    request: RenderRequest
    plan: SessionPlan
    tags: Tags
    audio_name: str
    files: tuple[str, ...]
    warnings: tuple[str, ...]

    @functools.cached_property
    def key(self) -> str:
        """The request's content key (see :func:`acuvoice.app.key.content_key`)."""
        from acuvoice.app.key import content_key

        return content_key(self)

    @property
    def stem(self) -> str:
        """The audio file's name without its suffix; every other file starts with it."""
        return self.audio_name.rsplit(".", 1)[0]


def validate(
    request: RenderRequest,
    folder: Path | None = None,
    *,
    library: PointLibrary | None = None,
) -> CheckedRequest:
    """Run every check a render needs before any synthesis.

    The routine is loaded and validated; the engine and voice are found; cue sounds are
    loaded and an ambience file is probed; the profile is checked against the routine;
    the output choices, the year and the cover are checked; with ``folder``, the files the
    render would write are checked too (a folder that does not exist yet is fine when it
    can be made).

    Raises:
        RoutineError: The routine is invalid (every problem, with line and column).
        UsageError: A value is out of range; subclasses ``SoundError`` (a sound file cannot
            be used) and ``OutputError`` (an output cannot be written as asked).
        UnknownEngineError: No engine or voice by that name.
        EngineError: The engine is not available here.
        CompileError: The profile is unsuitable for the routine.
        ExportError: The format needs ffmpeg and it is not installed.
    """
    library = library or builtin_library()
    output = request.output
    output.check()
    if output.format == "m4a" and ffmpeg_path() is None:
        raise ExportError("writing M4A needs ffmpeg; install it (sudo apt-get install ffmpeg)")
    year = check_year(request.tags.year) if request.tags.year else None
    cover = request.cover
    image = read_cover(cover.file) if cover.file is not None else None
    routine = request.routine.load(library)
    plan = plan_session(routine, request.session, library=library)
    defaults = session_tags(routine, cover=image or False)
    overrides = request.tags
    tags = Tags(
        title=overrides.title or defaults.title,
        artist=overrides.artist or defaults.artist,
        album=overrides.album or defaults.album,
        year=year,
        genre=overrides.genre or defaults.genre,
        comment=overrides.comment or defaults.comment,
        language=defaults.language,
        cover=defaults.cover,
        cover_mime=defaults.cover_mime,
    )
    stem = output.name or routine.name
    audio_name = f"{stem}.{output.suffix or output.format}"
    cover_suffix = None
    if image is not None:
        cover_suffix = "jpg" if image[1] == "image/jpeg" else "png"
    elif cover.generate:
        cover_suffix = "png"
    files = _file_names(request, plan, stem, audio_name, cover_suffix=cover_suffix)
    if folder is not None:
        check_folder(folder, files)
    return CheckedRequest(request, plan, tags, audio_name, files, plan.warnings)


def _file_names(
    request: RenderRequest,
    plan: SessionPlan,
    stem: str,
    audio_name: str,
    *,
    cover_suffix: str | None,
) -> tuple[str, ...]:
    output = request.output
    names = [audio_name]
    if output.bundle:
        names += [f"{stem}.{suffix}" for suffix in BUNDLE_TEXTS]
        if output.pdf and find_browser() is not None:
            names.append(f"{stem}.pdf")
        if cover_suffix is not None:
            names.append(f"{stem}.cover.{cover_suffix}")
    elif output.transcript:
        names.append(f"{stem}.vtt")
    if output.stems:
        names += [f"{stem}.{name}.wav" for name in stem_names(plan)]
    if output.bundle:
        names.append(MANIFEST)
    return tuple(names)


def stem_names(plan: SessionPlan) -> list[str]:
    """The stems a session has: voice; cues unless the set is silent; ambience if there is one."""
    names = ["voice"]
    if any(clip.frames for clip in plan.cues.values()):
        names.append("cues")
    if plan.ambience != "none":
        names.append("ambience")
    return names


def check_folder(folder: Path, names: tuple[str, ...]) -> None:
    """Check that ``names`` can be written into ``folder`` (made if missing).

    Raises:
        OutputError: The folder is a file or cannot be made or written, or one of the
            files is a folder or read-only.
    """
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot write into {folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write into {folder}: {existing} is not writable")
    if existing != folder:
        return
    for name in names:
        path = folder / name
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
        if stat.S_ISDIR(info.st_mode):
            raise OutputError(f"cannot write {path}: a folder has that name")
        # Write bits, not os.access: as root every file is writable, yet a read-only file
        # is still someone's way of saying "keep this".
        if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            raise OutputError(
                f"{path} is read-only, so it is not replaced; make it writable "
                "(chmod u+w) or choose another name"
            )
