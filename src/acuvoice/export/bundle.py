"""Write a render's deliverables as one bundle: audio, transcripts, chapters, labels, sheet, manifest.

Everything is written into a hidden staging folder inside the bundle folder and moved into
place only when every file is complete, so a failed bundle leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acuvoice import __version__
from acuvoice.errors import ExportError
from acuvoice.export.chapters import audacity_labels, podcast_chapters_json
from acuvoice.export.cover import generate_cover
from acuvoice.export.scripts import format_script
from acuvoice.export.sheet import render_sheet, write_sheet_pdf
from acuvoice.points.library import PointLibrary
from acuvoice.render import OutputOptions, RenderResult, Session, render_session
from acuvoice.routine.model import Routine

MANIFEST_VERSION = 1


@dataclass(frozen=True, slots=True)
class BundleResult:
    """What a bundle holds."""

    folder: Path
    render: RenderResult
    files: tuple[Path, ...]
    manifest: dict[str, Any]


def routine_sha256(routine: Routine) -> str:
    """SHA-256 over the routine's file and every file it includes (in the order they are used)."""
    digest = hashlib.sha256()
    paths: list[str] = []
    if routine.path is not None:
        paths.append(str(routine.path))
    for step in routine.steps:
        origin = step.origin.path
        if origin not in paths and Path(origin).is_file():
            paths.append(origin)
    for p in paths:
        with contextlib.suppress(OSError):
            digest.update(Path(p).read_bytes())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_bundle(
    session: Session,
    folder: Path,
    audio_name: str,
    library: PointLibrary,
    output: OutputOptions | None = None,
    *,
    pdf: bool = True,
    render: Callable[..., RenderResult] = render_session,
    **render_kwargs: Any,
) -> BundleResult:
    """Render ``session`` into ``folder`` with every deliverable a creator needs.

    Files (``NAME`` is ``audio_name`` without its suffix): the audio; ``NAME.vtt``,
    ``NAME.srt``, ``NAME.txt`` (transcripts); ``NAME.chapters.json`` (Podcasting 2.0),
    ``NAME.chapters.vtt``; ``NAME.labels.txt`` (Audacity); ``NAME.html`` (companion sheet)
    and ``NAME.pdf`` where a converter is installed; ``NAME.cover.png`` (also embedded in
    the audio) unless covers are off; stems when ``output.stems_dir`` is set;
    ``manifest.json`` listing them with sizes and checksums, durations, loudness, engine,
    voice and its license, and the routine's hash.

    Raises:
        ExportError: The folder cannot be written (nothing is left behind).
    """
    output = output or OutputOptions()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".acuvoice-bundle-", dir=folder))
    except OSError as exc:
        raise ExportError(f"cannot write the bundle folder {folder}: {exc.strerror}") from exc
    try:
        stem = Path(audio_name).stem
        cover = output.cover
        if cover is None and output.generate_cover:
            cover = (generate_cover(session.routine.title, "Guided acupressure"), "image/png")
        if cover is not None:
            suffix = ".jpg" if cover[1] == "image/jpeg" else ".png"
            (staging / f"{stem}.cover{suffix}").write_bytes(cover[0])
        result = render(
            session,
            staging / audio_name,
            dataclasses.replace(
                output,
                stems_dir=staging if output.stems_dir is not None else None,
                cover=cover,
                generate_cover=False,
            ),
            **render_kwargs,
        )
        timeline = session.timeline
        texts = {
            f"{stem}.vtt": format_script(timeline, "vtt"),
            f"{stem}.srt": format_script(timeline, "srt"),
            f"{stem}.txt": format_script(timeline, "txt"),
            f"{stem}.chapters.vtt": format_script(timeline, "chapters-vtt"),
            f"{stem}.chapters.json": podcast_chapters_json(
                timeline, title=session.routine.title, author=session.routine.author
            ),
            f"{stem}.labels.txt": audacity_labels(timeline),
            f"{stem}.html": render_sheet(timeline, session.routine, library, audio_name=audio_name),
        }
        for name, text in texts.items():
            (staging / name).write_text(text, encoding="utf-8")
        if pdf:
            write_sheet_pdf(staging / f"{stem}.html", staging / f"{stem}.pdf")
        voice = session.speech.voice
        files = sorted(p for p in staging.iterdir() if p.is_file())
        manifest: dict[str, Any] = {
            "acuvoice_bundle": MANIFEST_VERSION,
            "generator": f"acuvoice {__version__}",
            "title": session.routine.title,
            "routine": {
                "name": session.routine.name,
                "sha256": routine_sha256(session.routine),
                "language": session.routine.language,
                "cautions": list(session.routine.cautions),
                "sources": list(session.routine.sources),
            },
            "timeline_sha256": hashlib.sha256(timeline.dumps().encode("utf-8")).hexdigest(),
            "duration_ms": timeline.duration_ms,
            "audio": {
                "file": audio_name,
                "format": result.format,
                "sample_rate": result.sample_rate,
                "channels": result.channels,
                "frames": result.frames,
                "loudness_lufs": round(result.loudness_lufs, 2),
                "true_peak_dbtp": round(result.true_peak_dbtp, 2),
                "gain_db": round(result.gain_db, 2),
            },
            "engine": session.speech.engine.name,
            "engine_license": session.speech.engine.license,
            "voice": {
                "id": voice.id,
                "language": voice.language,
                "license": voice.license,
                "description": voice.description,
                "rate": session.speech.rate,
            },
            "chapters": [{"start_ms": c.start_ms, "title": c.title} for c in timeline.chapters],
            "omitted": [
                {"point": o.point, "conditions": list(o.conditions)} for o in timeline.omitted
            ],
            "files": [
                {"path": p.name, "bytes": p.stat().st_size, "sha256": _file_sha256(p)}
                for p in files
            ],
        }
        (staging / "manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        moved: list[Path] = []
        for p in [*files, staging / "manifest.json"]:
            target = folder / p.name
            os.replace(p, target)
            moved.append(target)
        return BundleResult(folder, result, tuple(moved), manifest)
    except OSError as exc:
        raise ExportError(f"cannot write the bundle in {folder}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
