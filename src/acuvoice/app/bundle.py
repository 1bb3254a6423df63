"""A bundle for creators: every deliverable of a render beside the audio, and its manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from acuvoice import __version__
from acuvoice.export.chapters import audacity_labels, podcast_chapters_json
from acuvoice.export.scripts import format_script
from acuvoice.export.sheet import render_sheet, session_diagram_svg, write_sheet_pdf
from acuvoice.files import file_sha256
from acuvoice.points.library import PointLibrary
from acuvoice.render import RenderResult, Session
from acuvoice.routine.model import Routine

MANIFEST_VERSION = 1


def write_deliverables(
    session: Session,
    folder: Path,
    stem: str,
    audio_name: str,
    library: PointLibrary,
    *,
    cover: tuple[bytes, str] | None,
    pdf: bool,
) -> list[Path]:
    """Write what a bundle holds besides the audio and its stems into ``folder``.

    Files: ``STEM.vtt``, ``STEM.srt``, ``STEM.txt`` (transcripts); ``STEM.chapters.vtt``
    and ``STEM.chapters.json`` (Podcasting 2.0); ``STEM.labels.txt`` (Audacity);
    ``STEM.timeline.json`` (the timeline, as ``script --format json`` prints it);
    ``STEM.diagram.svg`` (the body diagram, markers carrying their point's code);
    ``STEM.html`` (the companion sheet) and ``STEM.pdf`` where Chromium is installed and
    ``pdf`` is set; ``STEM.cover.png`` (or ``.jpg``) with a cover.

    Returns:
        The files written.
    """
    timeline, routine = session.timeline, session.routine
    texts = {
        f"{stem}.vtt": format_script(timeline, "vtt"),
        f"{stem}.srt": format_script(timeline, "srt"),
        f"{stem}.txt": format_script(timeline, "txt"),
        f"{stem}.chapters.vtt": format_script(timeline, "chapters-vtt"),
        f"{stem}.chapters.json": podcast_chapters_json(
            timeline, title=routine.title, author=routine.author
        ),
        f"{stem}.labels.txt": audacity_labels(timeline),
        f"{stem}.timeline.json": timeline.dumps(),
        f"{stem}.diagram.svg": session_diagram_svg(timeline, routine, library),
        f"{stem}.html": render_sheet(timeline, routine, library, audio_name=audio_name),
    }
    written: list[Path] = []
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    if pdf and write_sheet_pdf(folder / f"{stem}.html", folder / f"{stem}.pdf"):
        written.append(folder / f"{stem}.pdf")
    if cover is not None:
        suffix = ".jpg" if cover[1] == "image/jpeg" else ".png"
        path = folder / f"{stem}.cover{suffix}"
        path.write_bytes(cover[0])
        written.append(path)
    return written


def routine_sha256(routine: Routine) -> str:
    """SHA-256 over every file of the routine: each one's path (relative to the routine's
    folder) and the SHA-256 of its text, in the order they were read."""
    digest = hashlib.sha256()
    for f in routine.files:
        digest.update(f"{f.path}\0{f.sha256}\n".encode())
    return digest.hexdigest()


def manifest(
    session: Session,
    result: RenderResult,
    files: list[Path],
    *,
    audio_name: str,
    key: str,
) -> dict[str, Any]:
    """What a render made, as ``manifest.json`` holds it.

    Every file with its size and SHA-256 (named relative to its folder), the duration,
    loudness, engine, voice and its license, chapters, points left out, the routine's hash
    and the request's content key.
    """
    routine, timeline = session.routine, session.timeline
    voice = session.speech.voice
    return {
        "acuvoice_bundle": MANIFEST_VERSION,
        "generator": f"acuvoice {__version__}",
        "key": key,
        "title": routine.title,
        "summary": routine.summary,
        "routine": {
            "name": routine.name,
            "sha256": routine_sha256(routine),
            "files": [{"path": f.path, "sha256": f.sha256} for f in routine.files],
            "language": routine.language,
            "cautions": list(routine.cautions),
            "sources": list(routine.sources),
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
            "id": Path(voice.id).name if voice.id.startswith("/") else voice.id,
            "language": voice.language,
            "license": voice.license,
            "description": voice.description,
            "rate": session.speech.rate,
        },
        "chapters": [{"start_ms": c.start_ms, "title": c.title} for c in timeline.chapters],
        "omitted": [
            {"point": o.point, "step": o.step, "conditions": list(o.conditions)}
            for o in timeline.omitted
        ],
        "files": [
            {"path": p.name, "bytes": p.stat().st_size, "sha256": file_sha256(p)}
            for p in sorted(files, key=lambda p: p.name)
        ],
    }


def write_manifest(path: Path, data: dict[str, Any]) -> None:
    """Write a manifest as indented UTF-8 JSON."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def listed_files(folder: Path) -> list[str]:
    """The files an earlier bundle's manifest in ``folder`` lists (plain names only).

    An unreadable manifest, or one acuvoice did not write, lists nothing.
    """
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict) or "acuvoice_bundle" not in data:
        return []
    names: list[str] = []
    for entry in data.get("files") or []:
        name = entry.get("path") if isinstance(entry, dict) else None
        # Only plain names of visible files in this folder: a manifest cannot send us elsewhere.
        if (
            isinstance(name, str)
            and name
            and not name.startswith(".")
            and not {"/", "\\"} & set(name)
        ):
            names.append(name)
    return names
