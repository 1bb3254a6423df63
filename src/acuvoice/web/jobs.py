"""The render queue behind the web server: bounded, shared by equal requests, kept on disk.

- Each accepted request is a *job* with an unguessable id; jobs whose requests have the same
  content key share one *render*. A render already finished is served again at once.
- Renders wait in a bounded queue and run on a :class:`concurrent.futures.Executor` (one
  process per render by default; a Dask client works too), at most ``workers`` at a time.
- Progress comes from the worker's ``progress.json``; Cancel and the time limit write a
  ``cancel`` file the worker obeys, and kill the process if it does not.
- Finished renders live in ``DATA/results/KEY`` (``manifest.json`` marks them complete);
  jobs are kept in ``DATA/jobs/ID.json``, so a restart finds finished results again and
  re-queues what had been accepted but not finished. Results past the size limit are
  removed, least recently used first.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acuvoice._compat import StrEnum
from acuvoice.errors import AcuvoiceError, Cancelled
from acuvoice.web.executor import WorkerDied
from acuvoice.web.worker import (
    CANCEL_FILE,
    LIVE_FILE,
    PROGRESS_FILE,
    JobDone,
    JobSpec,
    run_job,
)

MANIFEST = "manifest.json"
#: Seconds a worker gets to stop after a cancel or the time limit, before it is killed.
STOP_GRACE_S = 5.0
#: How often the monitor looks at running renders (seconds).
TICK_S = 0.2


class JobState(StrEnum):
    """Where a job is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class QueueFull(AcuvoiceError):
    """The queue holds as many renders as it may; try again later."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"the render queue is full; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s

    def __reduce__(self) -> tuple[type[QueueFull], tuple[int]]:
        return (type(self), (self.retry_after_s,))


class UnknownJob(AcuvoiceError):
    """No job has that id."""


@dataclass(slots=True)
class _Render:
    """One render of one content key, shared by every job that asked for it."""

    key: str
    spec: JobSpec
    state: JobState = JobState.QUEUED
    future: Future[JobDone] | None = None
    queued_at: float = field(default_factory=time.time)
    started_at: float | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    stop_asked_at: float | None = None
    stop_reason: JobState | None = None
    jobs: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Job:
    id: str
    key: str
    created: float
    body: dict[str, Any]
    state: JobState | None = None  # set once this job ended on its own (cancelled) or at its end
    error: str | None = None


@dataclass(frozen=True, slots=True)
class JobView:
    """What a client sees of a job."""

    id: str
    key: str
    state: JobState
    progress: float
    phase: str
    label: str
    eta_s: float | None
    queue_position: int | None
    error: str | None
    files: tuple[tuple[str, int], ...]
    warnings: tuple[str, ...]
    live: bool

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "id": self.id,
            "key": self.key,
            "state": self.state.value,
            "progress": self.progress,
            "phase": self.phase,
            "label": self.label,
            "eta_s": self.eta_s,
            "queue_position": self.queue_position,
            "error": self.error,
            "files": [{"name": n, "bytes": b} for n, b in self.files],
            "warnings": list(self.warnings),
            "live": self.live,
        }


Translate = Callable[[Mapping[str, Any]], tuple[Any, str]]


class JobRunner:
    """Queue, run, share, keep and evict renders (see the module docstring).

    Args:
        data: The data folder (``jobs/``, ``results/``, ``work/``, ``cache/`` inside).
        executor: Runs :func:`acuvoice.web.worker.run_job`; with a ``kill(future)`` method
            a hung or cancelled render's process is stopped.
        workers: How many renders run at once.
        max_queue: How many renders may wait; more is :class:`QueueFull`.
        time_limit_s: How long one render may run.
        max_bytes: Size of ``results/`` above which the least recently used go.
        translate: Turns a stored request body back into ``(RenderRequest, key)``, to
            re-queue accepted work after a restart.
    """

    def __init__(
        self,
        data: Path,
        executor: Executor,
        *,
        workers: int,
        max_queue: int = 32,
        time_limit_s: float = 1800.0,
        max_bytes: int = 5_000_000_000,
        translate: Translate | None = None,
    ) -> None:
        self.data = data
        self.jobs_dir = data / "jobs"
        self.results = data / "results"
        self.work = data / "work"
        self.cache = data / "cache"
        for folder in (self.jobs_dir, self.results, self.work, self.cache):
            folder.mkdir(parents=True, exist_ok=True)
        self.executor = executor
        self.workers = workers
        self.max_queue = max_queue
        self.time_limit_s = time_limit_s
        self.max_bytes = max_bytes
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._renders: dict[str, _Render] = {}
        self._queue: deque[str] = deque()
        self._sizes: dict[str, int] = {}
        self._listing: dict[str, tuple[tuple[str, int], ...]] = {}
        #: Renders handed to the executor since the start (equal requests count once).
        self.renders_started = 0
        self._stop = threading.Event()
        self._sweep_stale_work()
        self._restore(translate)
        self._monitor = threading.Thread(target=self._run, name="acuvoice-jobs", daemon=True)
        self._monitor.start()

    # -- accepting ------------------------------------------------------------------------------

    def submit(self, body: Mapping[str, Any], request: Any, key: str) -> JobView:
        """Accept a checked request: a new job that shares or starts the render of ``key``.

        Raises:
            QueueFull: The queue is full (nothing was accepted).
        """
        with self._lock:
            job = _Job(secrets.token_urlsafe(18), key, time.time(), dict(body))
            if self._finished(key):
                job.state = JobState.DONE
                self._touch(key)
            elif key in self._renders and self._renders[key].state not in TERMINAL:
                self._renders[key].jobs.add(job.id)
            else:
                if len(self._queue) >= self.max_queue:
                    raise QueueFull(self._retry_after())
                self._start_render(key, request)
                self._renders[key].jobs.add(job.id)
            self._jobs[job.id] = job
            self._save(job)
            return self._view(job)

    def _start_render(self, key: str, request: Any) -> None:
        work = self.work / f"{key[:32]}-{secrets.token_hex(4)}"
        spec = JobSpec(request, key, str(work), str(self.results), str(self.cache))
        self._renders[key] = _Render(key, spec)
        self._queue.append(key)

    def _retry_after(self) -> int:
        running = [r for r in self._renders.values() if r.state is JobState.RUNNING]
        return max(5, min(120, 30 * len(self._queue) // max(1, len(running) or self.workers)))

    # -- looking ----------------------------------------------------------------------------------

    def get(self, job_id: str) -> JobView:
        """The job as a client sees it.

        Raises:
            UnknownJob: No job has that id.
        """
        with self._lock:
            return self._view(self._job(job_id))

    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJob(f"no render has the id {job_id!r}")
        return job

    def _view(self, job: _Job) -> JobView:
        render = self._renders.get(job.key)
        state = job.state
        if state is None and render is not None:
            state = render.state
        files: tuple[tuple[str, int], ...] = ()
        error = job.error
        if state is JobState.DONE:
            files = self._files(job.key)
            if not files:
                state, error = (
                    JobState.FAILED,
                    "the result was removed to make room; render it again",
                )
        elif state is None:
            state, error = JobState.FAILED, "this render was lost; render it again"
        elif render is not None and state is JobState.FAILED:
            error = error or render.error
        progress = render.progress if render is not None and state is JobState.RUNNING else {}
        fraction = 1.0 if state is JobState.DONE else float(progress.get("fraction", 0.0))
        eta = None
        if (
            state is JobState.RUNNING
            and render is not None
            and render.started_at
            and fraction > 0.02
        ):
            elapsed = time.time() - render.started_at
            eta = round(elapsed * (1.0 - fraction) / fraction, 1)
        position = None
        if state is JobState.QUEUED and job.key in self._queue:
            position = list(self._queue).index(job.key) + 1
        live = (
            state is JobState.RUNNING
            and render is not None
            and (Path(render.spec.work) / LIVE_FILE).exists()
        )
        return JobView(
            id=job.id,
            key=job.key,
            state=state,
            progress=round(fraction, 4),
            phase=str(progress.get("phase", "")),
            label=str(progress.get("label", "")),
            eta_s=eta,
            queue_position=position,
            error=error,
            files=files,
            warnings=tuple(progress.get("warnings", ())),
            live=live,
        )

    def file(self, job_id: str, name: str) -> Path | None:
        """A finished job's file by name (only names the render made), or ``None``."""
        with self._lock:
            job = self._job(job_id)
            if self._view(job).state is not JobState.DONE:
                return None
            if name not in {n for n, _ in self._files(job.key)}:
                return None
            self._touch(job.key)
            return self.results / job.key / name

    def live_file(self, job_id: str) -> Path | None:
        """The growing MP3 of a running job, once the encoder has started."""
        with self._lock:
            job = self._job(job_id)
            render = self._renders.get(job.key)
            if render is None or render.state is not JobState.RUNNING:
                return None
            path = Path(render.spec.work) / LIVE_FILE
            return path if path.exists() else None

    def result_folder(self, job_id: str) -> Path | None:
        """The folder of a finished job."""
        with self._lock:
            job = self._job(job_id)
            if self._view(job).state is not JobState.DONE:
                return None
            self._touch(job.key)
            return self.results / job.key

    # -- cancelling -------------------------------------------------------------------------------

    def cancel(self, job_id: str) -> JobView:
        """Cancel a job; its render stops when no other job shares it.

        Raises:
            UnknownJob: No job has that id.
        """
        with self._lock:
            job = self._job(job_id)
            view = self._view(job)
            if view.state in TERMINAL:
                return view
            job.state = JobState.CANCELLED
            job.error = "cancelled"
            self._save(job)
            render = self._renders.get(job.key)
            if render is not None:
                render.jobs.discard(job.id)
                if not render.jobs:
                    self._stop_render(render, JobState.CANCELLED, "cancelled")
            return self._view(job)

    def _stop_render(self, render: _Render, reason: JobState, message: str) -> None:
        if render.state is JobState.QUEUED:
            with contextlib.suppress(ValueError):
                self._queue.remove(render.key)
            render.state, render.error = reason, message
            self._finish_jobs(render)
            self._renders.pop(render.key, None)
            return
        if render.stop_asked_at is None:
            render.stop_asked_at = time.time()
            render.stop_reason = reason
            render.error = message
            with contextlib.suppress(OSError):
                (Path(render.spec.work) / CANCEL_FILE).touch()

    # -- the monitor ------------------------------------------------------------------------------

    def _run(self) -> None:
        last_evict = 0.0
        while not self._stop.wait(TICK_S):
            with self._lock:
                self._dispatch()
                self._watch()
            if time.time() - last_evict > 5.0:
                last_evict = time.time()
                self.evict()

    def _dispatch(self) -> None:
        running = sum(1 for r in self._renders.values() if r.state is JobState.RUNNING)
        while self._queue and running < self.workers:
            key = self._queue.popleft()
            render = self._renders[key]
            render.state = JobState.RUNNING
            render.started_at = time.time()
            future = self.executor.submit(run_job, render.spec)
            self.renders_started += 1
            render.future = future
            future.add_done_callback(functools.partial(self._done, key))
            running += 1

    def _watch(self) -> None:
        now = time.time()
        for render in list(self._renders.values()):
            if render.state is not JobState.RUNNING:
                continue
            with contextlib.suppress(OSError, ValueError):
                render.progress = json.loads(
                    (Path(render.spec.work) / PROGRESS_FILE).read_text(encoding="utf-8")
                )
            if render.started_at and now - render.started_at > self.time_limit_s:
                self._stop_render(
                    render,
                    JobState.FAILED,
                    f"the render took longer than {self.time_limit_s:g} s and was stopped",
                )
            if render.stop_asked_at and now - render.stop_asked_at > STOP_GRACE_S:
                kill = getattr(self.executor, "kill", None)
                if kill is not None and render.future is not None:
                    kill(render.future)

    def _done(self, key: str, future: Future[JobDone]) -> None:
        with self._lock:
            render = self._renders.get(key)
            if render is None:
                return
            try:
                done = future.result()
            except Cancelled:
                render.state = render.stop_reason or JobState.CANCELLED
            except WorkerDied as exc:
                render.state = render.stop_reason or JobState.FAILED
                render.error = render.error or f"{exc}; the server goes on, render it again"
            except AcuvoiceError as exc:
                render.state = render.stop_reason or JobState.FAILED
                render.error = render.error or str(exc)
            except BaseException as exc:  # a bug: say so, keep serving
                render.state = render.stop_reason or JobState.FAILED
                render.error = render.error or f"internal error: {type(exc).__name__}: {exc}"
            else:
                render.state = JobState.DONE
                self._sizes[key] = sum(size for _, size in done.files)
                self._touch(key)
            self._finish_jobs(render)
            # Every job of it now holds its own end state: the render need not stay in memory.
            self._renders.pop(key, None)
        shutil.rmtree(render.spec.work, ignore_errors=True)

    def _finish_jobs(self, render: _Render) -> None:
        for job_id in render.jobs:
            job = self._jobs.get(job_id)
            if job is not None and job.state is None:
                job.state = render.state
                job.error = render.error if render.state is not JobState.DONE else None
                self._save(job)

    # -- results on disk --------------------------------------------------------------------------

    def _finished(self, key: str) -> bool:
        return (self.results / key / MANIFEST).is_file()

    def _files(self, key: str) -> tuple[tuple[str, int], ...]:
        # Read once per result: status requests come many times a second under load.
        if key in self._listing:
            return self._listing[key]
        folder = self.results / key
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            listed = [(f["path"], int(f["bytes"])) for f in manifest.get("files", [])]
            files = (*listed, (MANIFEST, (folder / MANIFEST).stat().st_size))
        except (OSError, ValueError, KeyError, TypeError):
            return ()
        self._listing[key] = files
        return files

    def _touch(self, key: str) -> None:
        with contextlib.suppress(OSError):
            os.utime(self.results / key)

    def evict(self) -> list[str]:
        """Remove the least recently used results while ``results/`` is over its limit.

        Returns:
            The keys removed.
        """
        with self._lock:
            busy = {k for k, r in self._renders.items() if r.state not in TERMINAL}
            entries = []
            for folder in self.results.iterdir():
                if not folder.is_dir() or folder.name in busy:
                    continue
                size = self._sizes.get(folder.name)
                if size is None:
                    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
                    self._sizes[folder.name] = size
                entries.append((folder.stat().st_mtime, folder.name, size))
            total = sum(size for _, _, size in entries)
            removed: list[str] = []
            for _, key, size in sorted(entries):
                if total <= self.max_bytes:
                    break
                shutil.rmtree(self.results / key, ignore_errors=True)
                self._sizes.pop(key, None)
                self._listing.pop(key, None)
                total -= size
                removed.append(key)
            return removed

    # -- keeping jobs -----------------------------------------------------------------------------

    def _save(self, job: _Job) -> None:
        record = {
            "id": job.id,
            "key": job.key,
            "created": job.created,
            "body": job.body,
            "state": job.state.value if job.state else None,
            "error": job.error,
        }
        path = self.jobs_dir / f"{job.id}.json"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, path)

    def _restore(self, translate: Translate | None) -> None:
        for path in sorted(self.jobs_dir.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                job = _Job(
                    record["id"], record["key"], float(record["created"]), dict(record["body"])
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue
            state = record.get("state")
            job.state = JobState(state) if state else None
            job.error = record.get("error")
            self._jobs[job.id] = job
            if job.state is not None:
                continue
            if self._finished(job.key):
                job.state = JobState.DONE
            elif translate is None:
                job.state, job.error = JobState.FAILED, "the server restarted before it was done"
            elif job.key in self._renders:
                self._renders[job.key].jobs.add(job.id)
            else:
                try:
                    request, key = translate(job.body)
                except AcuvoiceError as exc:
                    job.state, job.error = JobState.FAILED, str(exc)
                else:
                    job.key = key
                    self._start_render(key, request)
                    self._renders[key].jobs.add(job.id)
            self._save(job)

    def _sweep_stale_work(self) -> None:
        # Work folders of a server that stopped mid-render: their renders start again.
        for folder in self.work.iterdir():
            shutil.rmtree(folder, ignore_errors=True)

    def counts(self) -> dict[str, int]:
        """Jobs by state, renders waiting and running, and renders started so far."""
        with self._lock:
            states: dict[str, int] = {}
            for job in self._jobs.values():
                state = self._view(job).state.value
                states[state] = states.get(state, 0) + 1
            return {
                **states,
                "waiting": len(self._queue),
                "running": sum(1 for r in self._renders.values() if r.state is JobState.RUNNING),
                "renders_started": self.renders_started,
            }

    def close(self) -> None:
        """Stop the monitor (running renders are left to the executor's shutdown)."""
        self._stop.set()
        self._monitor.join(timeout=5)
