"""Run a render request into a folder, all-or-nothing; make a request's script; check routines."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from acuvoice.app.bundle import listed_files, manifest, write_deliverables, write_manifest
from acuvoice.app.checks import MANIFEST, CheckedRequest, validate
from acuvoice.app.request import RenderRequest
from acuvoice.app.timelines import (
    FitRange,
    RoutineSummary,
    ScriptOutcome,
    _timeline_warnings,
    builtin_summaries,
    check_routine,
    fit_range,
    script,
    summarize,
)
from acuvoice.cache import SynthesisCache, default_cache_dir
from acuvoice.engines.base import VoiceInfo
from acuvoice.errors import OutputError
from acuvoice.export.audio import EncodeOptions
from acuvoice.export.cover import generate_cover
from acuvoice.export.scripts import format_script
from acuvoice.export.tags import Tags
from acuvoice.points.library import PointLibrary, builtin_library
from acuvoice.progress import EXTRAS, Progress, Silent
from acuvoice.render import (
    OutputOptions,
    RenderResult,
    cover_subtitle,
    render_session,
    voice_session,
)
from acuvoice.timeline import Omission, Timeline


@dataclass(frozen=True)
class RenderOutcome:
    """What a render made.

    Attributes:
        key: The request's content key.
        folder: Where the files are.
        audio: The audio file.
        files: Every file written, the audio first (``manifest.json`` last in a bundle).
        result: Length, loudness, true peak, gain, synthesis counts of the audio.
        timeline: The compiled session.
        engine: The engine's name.
        voice: The voice.
        warnings: What was allowed but probably unintended.
    """

    key: str
    folder: Path
    audio: Path
    files: tuple[Path, ...]
    result: RenderResult
    timeline: Timeline
    engine: str
    voice: VoiceInfo
    warnings: tuple[str, ...]
    _manifest: Callable[[], dict[str, Any]] = field(repr=False, compare=False)

    @functools.cached_property
    def manifest(self) -> dict[str, Any]:
        """What ``manifest.json`` holds: a bundle's own; for a render that writes none, made
        from its files when first asked for (hashing an hour of WAV takes a second or two)."""
        return self._manifest()

    @property
    def omitted(self) -> tuple[Omission, ...]:
        """Points left out for the listener profile."""
        return self.timeline.omitted


def render(
    request: RenderRequest,
    folder: Path,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
    library: PointLibrary | None = None,
    live_copy: Path | None = None,
) -> RenderOutcome:
    """Check a request, voice it, and write its files into ``folder``, all or nothing.

    Every check runs before any synthesis (:func:`~acuvoice.app.checks.validate`). Files
    are made in a hidden folder inside ``folder`` and moved into place only when all are
    complete; a folder that did not exist is made, and removed again if the render fails.
    A bundle written over an earlier one removes the earlier files its new manifest does
    not list. Nothing is left behind on failure or interruption.

    Args:
        request: What to render.
        folder: Where the files go.
        cache_dir: The synthesis cache (default: ``$ACUVOICE_CACHE_DIR``, else
            ``$XDG_CACHE_HOME/acuvoice``).
        use_cache: ``False`` synthesizes every phrase and keeps nothing.
        progress: Told of each phase and of warnings.
        library: The point library (the built-in one by default).
        live_copy: For MP3: a file the audio is also written to as it is encoded, front
            to back, so a listener can hear the session before it is finished (the caller
            removes it).

    Raises:
        AcuvoiceError: As :func:`~acuvoice.app.checks.validate` before any work; then
            ``EngineError`` (synthesis failed), ``CompileError`` (the target cannot be met
            with the voice's real lengths), ``RenderError``/``ExportError`` (writing failed).
    """
    progress = progress or Silent()
    library = library or builtin_library()
    folder = Path(os.path.abspath(folder))
    checked = validate(request, folder, library=library)
    for warning in checked.warnings:
        progress.warn(warning)
    key = checked.key
    cache = SynthesisCache(cache_dir or default_cache_dir()) if use_cache else None
    session = voice_session(checked.plan, cache=cache, progress=progress)
    warnings = checked.warnings + _timeline_warnings(session.timeline)
    for warning in warnings[len(checked.warnings) :]:
        progress.warn(warning)
    output = request.output
    final_tags = _tags_with_cover(checked, session.routine.title)
    previous = listed_files(folder) if output.bundle else []
    with _Staging(folder) as staging:
        result = render_session(
            session,
            staging.path / checked.audio_name,
            OutputOptions(
                channels=output.channels,
                encode=EncodeOptions(bitrate_kbps=output.bitrate_kbps),
                tags=final_tags,
                chapters=output.chapters,
                stems_dir=staging.path if output.stems else None,
                live_copy=live_copy if output.format == "mp3" else None,
                encode_jobs=output.encode_jobs,
            ),
            progress=progress,
        )
        written = [result.path, *result.stems]
        if output.bundle:
            progress.start("Writing transcripts, chapters and the companion sheet", 1, EXTRAS)
            written += write_deliverables(
                session,
                staging.path,
                checked.stem,
                checked.audio_name,
                library,
                cover=_cover_of(final_tags()),
                pdf=output.pdf,
            )
            progress.advance()
            progress.finish()
        elif output.transcript:
            vtt = staging.path / f"{checked.stem}.vtt"
            vtt.write_text(format_script(session.timeline, "vtt"), encoding="utf-8")
            written.append(vtt)
        last = None
        if output.bundle:
            data = manifest(session, result, written, audio_name=checked.audio_name, key=key)
            last = staging.path / MANIFEST
            write_manifest(last, data)
        moved = staging.commit(written, last=last, remove=previous)
    final = [folder / p.name for p in written]

    def describe() -> dict[str, Any]:
        if output.bundle:
            return data
        return manifest(session, result, final, audio_name=checked.audio_name, key=key)

    return RenderOutcome(
        key=key,
        folder=folder,
        audio=folder / checked.audio_name,
        files=tuple(moved),
        result=dataclasses.replace(
            result,
            path=folder / checked.audio_name,
            stems=tuple(folder / p.name for p in result.stems),
        ),
        timeline=session.timeline,
        engine=session.speech.engine.name,
        voice=session.speech.voice,
        warnings=warnings,
        _manifest=describe,
    )


def _cover_of(tags: Tags) -> tuple[bytes, str] | None:
    return (tags.cover, tags.cover_mime) if tags.cover else None


def _tags_with_cover(checked: CheckedRequest, title: str) -> Callable[[], Tags]:
    """The request's tags, with a cover drawn from the title when one is asked for; made on
    first use (after the audio), then kept."""
    made: list[Tags] = []

    def tags() -> Tags:
        if not made:
            tags = checked.tags
            if tags.cover is None and checked.request.cover.generate:
                image = generate_cover(title, cover_subtitle(tags.language or "en"))
                tags = dataclasses.replace(tags, cover=image, cover_mime="image/png")
            made.append(tags)
        return made[0]

    return tags


class _Staging:
    """A hidden folder inside the output folder whose files move into place together."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.created: list[Path] = []
        self.path = folder

    def __enter__(self) -> _Staging:
        missing: list[Path] = []
        here = self.folder
        while not here.exists() and here.parent != here:
            missing.append(here)
            here = here.parent
        try:
            for folder in reversed(missing):
                folder.mkdir()
                self.created.append(folder)
            self.path = Path(tempfile.mkdtemp(prefix=".acuvoice-", dir=self.folder))
        except OSError as exc:
            self._remove_created()
            raise OutputError(f"cannot write into {self.folder}: {exc.strerror or exc}") from exc
        return self

    def commit(self, files: list[Path], *, last: Path | None, remove: list[str]) -> list[Path]:
        """Move ``files`` into the folder, delete ``remove`` (unless replaced), then ``last``.

        Returns:
            Where the files are now, in order, ``last`` at the end.
        """
        moved: list[Path] = []
        names = {p.name for p in files} | ({last.name} if last else set())
        try:
            for p in files:
                os.replace(p, self.folder / p.name)
                moved.append(self.folder / p.name)
            for name in remove:
                if name not in names:
                    (self.folder / name).unlink(missing_ok=True)
            if last is not None:
                os.replace(last, self.folder / last.name)
                moved.append(self.folder / last.name)
        except OSError as exc:
            raise OutputError(
                f"cannot move the files into {self.folder}: {exc.strerror or exc}"
            ) from exc
        return moved

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.path != self.folder:
            shutil.rmtree(self.path, ignore_errors=True)
        if kind is not None:
            self._remove_created()

    def _remove_created(self) -> None:
        for folder in reversed(self.created):
            with contextlib.suppress(OSError):  # not empty: someone else wrote there meanwhile
                folder.rmdir()


__all__ = [
    "CheckedRequest",
    "FitRange",
    "RenderOutcome",
    "RoutineSummary",
    "ScriptOutcome",
    "builtin_summaries",
    "check_routine",
    "fit_range",
    "render",
    "script",
    "summarize",
]
