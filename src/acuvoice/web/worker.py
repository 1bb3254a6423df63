"""What a render job does in its worker process: render into a work folder, report progress
to a file, stop when asked, and publish the finished folder under its content key."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from acuvoice import app
from acuvoice.app import RenderRequest
from acuvoice.errors import Cancelled
from acuvoice.progress import EXTRAS, MEASURING, PHASES, VOICING, WRITING

#: How much of the whole each phase is, for one overall fraction.
PHASE_WEIGHTS = {VOICING: 0.25, MEASURING: 0.15, WRITING: 0.55, EXTRAS: 0.05}
PROGRESS_FILE = "progress.json"
CANCEL_FILE = "cancel"
LIVE_FILE = "live.mp3"
OUT_DIR = "out"
#: Seconds between progress writes (every phase change is written at once).
WRITE_EVERY_S = 0.2


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One render for a worker: the request and where things go (plain data, picklable).

    Attributes:
        request: The render request.
        key: Its content key (the folder name under ``results``).
        work: A folder of this job's own for its progress, its live copy and its files.
        results: The folder finished renders are published in (``results/KEY``).
        cache: The synthesis cache.
    """

    request: RenderRequest
    key: str
    work: str
    results: str
    cache: str


@dataclass(frozen=True, slots=True)
class JobDone:
    """What a finished job made: the published folder and its files with sizes."""

    folder: str
    files: tuple[tuple[str, int], ...]
    duration_ms: int
    loudness_lufs: float
    warnings: tuple[str, ...]


class FileProgress:
    """A :class:`~acuvoice.progress.Progress` that writes ``progress.json`` for the server to
    read, and stops the work (raising :class:`Cancelled`) once a ``cancel`` file appears."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.path = work / PROGRESS_FILE
        self.started = time.time()
        self.phase = ""
        self.label = ""
        self.done = 0
        self.total = 0
        self.finished: dict[str, float] = {}  # weight of each phase done so far
        self.warnings: list[str] = []
        self._written = 0.0
        self._write(force=True)

    def _check(self) -> None:
        if (self.work / CANCEL_FILE).exists():
            raise Cancelled("the render was cancelled")

    def _share(self, phase: str) -> float:
        # Loudness may be measured once or twice: each pass is half the measuring weight.
        weight = PHASE_WEIGHTS.get(phase, 0.0)
        return weight / 2 if phase == MEASURING else weight

    def fraction(self) -> float:
        """The whole job's progress, 0 to 1 (never goes back)."""
        within = self.done / self.total if self.total else 0.0
        return min(1.0, sum(self.finished.values()) + self._share(self.phase) * within)

    def start(self, label: str, total: int, phase: str = "") -> None:
        self._check()
        if not phase and label.startswith(("Measuring", "Correcting")):
            phase = MEASURING
        # A later phase means the earlier ones are complete, however many passes they took.
        for earlier in PHASES[: PHASES.index(phase)] if phase in PHASES else ():
            self.finished[earlier] = PHASE_WEIGHTS[earlier]
        self.phase, self.label, self.done, self.total = phase, label, 0, total
        self._write(force=True)

    def advance(self, units: int = 1) -> None:
        self._check()
        self.done += units
        self._write()

    def finish(self) -> None:
        self.label = ""
        if self.phase:
            weight = PHASE_WEIGHTS.get(self.phase, 0.0)
            self.finished[self.phase] = min(
                weight, self.finished.get(self.phase, 0.0) + self._share(self.phase)
            )
        self.phase, self.done, self.total = "", 0, 0
        self._write(force=True)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        self._write(force=True)

    def _write(self, *, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._written < WRITE_EVERY_S:
            return
        self._written = now
        state = {
            "pid": os.getpid(),
            "phase": self.phase,
            "label": self.label,
            "fraction": round(self.fraction(), 4),
            "started": self.started,
            "updated": now,
            "warnings": self.warnings,
        }
        tmp = self.path.with_name(f".{PROGRESS_FILE}.{os.getpid()}")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.path)


def timeline_task(request: RenderRequest, cache: str) -> str:
    """The timeline ``request`` would render (speech measured with its voice), as JSON.

    Run in a worker process: synthesizing speech does not belong in the web server's.
    """
    return app.script(request, cache_dir=Path(cache)).timeline.dumps()


def range_task(request: RenderRequest, cache: str, exact: bool) -> app.FitRange:
    """The lengths ``request`` can be fitted to (see :func:`acuvoice.app.fit_range`)."""
    return app.fit_range(request, exact=exact, cache_dir=Path(cache))


def warm_up() -> None:
    """Load once what every render needs, in the process worker processes are forked from.

    The point library and phrases, the engines' registry and their voice lists, the bundled
    voice models' fingerprints (a 60 MB model is hashed once, not once per render) and the
    built-in cue sets: each render then starts in milliseconds. Speech models themselves
    are not loaded here (their thread pools do not survive a fork).
    """
    from acuvoice.audio.cues import synthesize_cue_set
    from acuvoice.engines.registry import engine_names, get_engine
    from acuvoice.phrases import load_catalog
    from acuvoice.points.library import builtin_library
    from acuvoice.routine.model import CUE_SETS

    builtin_library()
    load_catalog("en")
    for name in engine_names():
        engine = get_engine(name)
        if name in ("piper", "fake") and engine.availability().ok:
            for voice in engine.voices():
                engine.fingerprint(voice)
    for cue_set in CUE_SETS:
        synthesize_cue_set(cue_set, 44_100)


def run_job(spec: JobSpec) -> JobDone:
    """Render ``spec`` in this process and publish it as ``results/KEY``.

    If another process published the same key first, its folder is kept and this one is
    thrown away (first complete writer wins; renders of one key are the same).

    Raises:
        Cancelled: A ``cancel`` file appeared in the work folder.
        AcuvoiceError: The render failed (the message says why).
    """
    work = Path(spec.work)
    work.mkdir(parents=True, exist_ok=True)
    progress = FileProgress(work)
    out = work / OUT_DIR
    made = app.render(
        spec.request,
        out,
        cache_dir=Path(spec.cache),
        progress=progress,
        live_copy=work / LIVE_FILE if spec.request.output.format == "mp3" else None,
    )
    target = Path(spec.results) / spec.key
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(out, target)
    except OSError:
        if not (target / "manifest.json").is_file():
            raise
        shutil.rmtree(out, ignore_errors=True)
    files = tuple((p.name, (target / p.name).stat().st_size) for p in made.files)
    return JobDone(
        folder=str(target),
        files=files,
        duration_ms=made.result.duration_ms,
        loudness_lufs=made.result.loudness_lufs,
        warnings=tuple(progress.warnings),
    )
