"""Run a catalog: every render in its own folder, in parallel, resumable.

Each render goes into ``OUT/<name>-<key12>/`` (its request's content key), written all or
nothing by :func:`acuvoice.app.render`, with ``manifest.json`` written last: the commit
marker. A render whose folder holds a manifest with the same key and every file it lists,
at the size it lists, is reused; anything else is rendered (again). Renders run in worker
processes, one render at a time each, with one thread each; the executor is any
``concurrent.futures.Executor``, so a local process pool and a Dask client are
interchangeable. One failed render does not stop the others.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import multiprocessing
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from acuvoice.app import RenderRequest, render, validate
from acuvoice.app.checks import MANIFEST
from acuvoice.batch.catalog import Catalog
from acuvoice.batch.feed import write_feed
from acuvoice.errors import AcuvoiceError, Cancelled, OutputError, RenderError, UsageError
from acuvoice.files import write_text_atomic
from acuvoice.points.library import builtin_library
from acuvoice.procs import default_jobs, tied_to_parent

T = TypeVar("T")

#: The lock file that keeps two batches out of one folder at a time.
LOCK_NAME = ".acuvoice-batch.lock"


@dataclass(frozen=True, slots=True)
class RenderStats:
    """What one render cost and made (measured in its worker process)."""

    cpu_s: float
    wall_s: float
    bytes: int
    synthesized: int
    cached: int


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One render of a batch: ``rendered``, ``reused`` or ``failed`` (with the reason)."""

    label: str
    status: str
    folder: Path | None = None
    key: str | None = None
    reason: str = ""
    stats: RenderStats | None = None


@dataclass(frozen=True, slots=True)
class BatchReport:
    """Every render's result, in catalog order, and the batch's wall time."""

    results: tuple[ItemResult, ...]
    wall_s: float
    #: The podcast feed the catalog asked for, written when the batch ended.
    feed: Path | None = None
    #: Why that feed could not be written (the renders are kept).
    feed_problem: str | None = None

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0


#: ``on_done(result, finished, total)``: told as each render finishes (or is reused).
OnDone = Callable[[ItemResult, int, int], None]


def local_executor(jobs: int) -> ProcessPoolExecutor:
    """A pool of ``jobs`` worker processes, each rendering one session at a time with one
    thread.

    Workers are forked from this process, which has everything imported, so they start at
    once; between renders they ignore Ctrl-C (the batch decides what stops), and during a
    render it interrupts that render, which then leaves nothing behind.
    """
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("fork"),
        initializer=worker_setup,
    )


def worker_setup() -> None:
    """Make a worker process use one thread for numerical work and speech models, and
    ignore Ctrl-C between renders."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    _one_thread_engines()


def _one_thread_engines() -> None:
    from acuvoice.engines.registry import _factories

    for factory in _factories().values():
        if hasattr(factory, "threads"):
            factory.threads = 1


@contextlib.contextmanager
def dask_executor(
    address: str | None = None, scheduler_file: Path | None = None
) -> Iterator[Executor]:
    """An executor on an existing Dask distributed cluster (its scheduler's address, or the
    file a scheduler wrote with ``--scheduler-file``).

    The workers need acuvoice installed and the output and cache folders on a file system
    they all share. Dask runs a task at least once (a killed worker's task runs again
    elsewhere); renders are written all or nothing into folders named by their content
    key, so a second run of one only writes the same files again.

    Raises:
        UsageError: dask distributed is not installed, or the scheduler cannot be reached.
    """
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(
            "running a batch on a Dask cluster needs dask distributed: pip install 'acuvoice[dask]'"
        ) from None
    where = address or os.fspath(scheduler_file or "")
    try:
        client = Client(
            address,
            scheduler_file=os.fspath(scheduler_file) if scheduler_file else None,
            timeout="20s",
            set_as_default=False,
        )
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {where}: {exc}") from None
    try:
        yield _ClientExecutor(client.get_executor(pure=False))
    finally:
        client.close()


class _ClientExecutor(Executor):
    """Dask's executor with the whole ``concurrent.futures.Executor`` signature (its own
    ``shutdown`` takes no ``cancel_futures``)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = self._inner.submit(fn, *args, **kwargs)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait)


def render_one(request: RenderRequest, folder: str, cache_dir: str | None) -> RenderStats:
    """Render one request into ``folder`` and write its commit marker.

    In a process's main thread (a local batch worker) the render runs right there. In
    another thread (a Dask worker runs tasks in threads) it runs in a Python process of
    that thread's own, started with its first render and kept for the next ones (so the
    imports are paid once per worker thread, not once per render), tied to the thread: if
    the worker dies, the process and its encoder die with it. That process leaves out
    ``MALLOC_TRIM_THRESHOLD_``, which Dask's nanny sets low for its workers: with it, every
    large array is handed back to the system and faulted in again, and a render takes
    about three times as long.
    """
    if threading.current_thread() is threading.main_thread():
        return _render_here(request, folder, cache_dir)
    child = _RenderProcess.of_this_thread()
    ok, value = child.call((request, folder, cache_dir))
    if ok:
        assert isinstance(value, RenderStats)
        return value
    assert isinstance(value, BaseException)
    raise value


class _RenderProcess:
    """A Python process that renders the requests one thread sends it, one at a time:
    length-prefixed pickles both ways (``(request, folder, cache_dir)`` in, ``(True,
    stats)`` or ``(False, exception)`` out); its log goes to a temporary file, whose last
    lines explain a process that died."""

    _local = threading.local()

    def __init__(self) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - as long as the process lives
        code = "from acuvoice.batch.runner import child_main; child_main()"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            preexec_fn=tied_to_parent(),
            env={k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"},
        )
        # When its thread ends (and drops it), the process is told to stop and waited for.
        weakref.finalize(self, _stop_child, self._proc, self._log)

    @classmethod
    def of_this_thread(cls) -> _RenderProcess:
        child: _RenderProcess | None = getattr(cls._local, "child", None)
        if child is None or child._proc.poll() is not None:
            child = cls._local.child = cls()
        return child

    def call(self, job: tuple[RenderRequest, str, str | None]) -> tuple[bool, object]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            _send(self._proc.stdin, pickle.dumps(job))
            answer: tuple[bool, object] = pickle.loads(_receive(self._proc.stdout))
        except Exception:
            self._proc.kill()
            status = self._proc.wait()
            self._log.seek(0)  # the finalizer closes it
            lines = self._log.read().decode("utf-8", "replace").strip().splitlines()
            self._local.child = None
            raise RenderError(
                f"the render process ended with status {status}: {' '.join(lines[-3:])}"
            ) from None
        return answer


def _stop_child(proc: subprocess.Popen[bytes], log: Any) -> None:
    with contextlib.suppress(OSError):
        if proc.stdin is not None:
            proc.stdin.close()  # end of input: the loop returns
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    log.close()


def _send(pipe: Any, data: bytes) -> None:
    pipe.write(len(data).to_bytes(8, "little") + data)
    pipe.flush()


def _receive(pipe: Any) -> bytes:
    head = pipe.read(8)
    if len(head) < 8:
        raise EOFError("the pipe closed")
    size = int.from_bytes(head, "little")
    data: bytes = pipe.read(size)
    if len(data) < size:
        raise EOFError("the pipe closed")
    return data


def child_main() -> None:
    """The render process of :func:`render_one`: renders what comes on stdin until it
    closes, answering each on stdout (see :class:`_RenderProcess`)."""
    source, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but the results may reach the pipe
    while True:
        try:
            request, folder, cache_dir = pickle.loads(_receive(source))
        except EOFError:
            return
        try:
            result: tuple[bool, object] = (True, _render_here(request, folder, cache_dir))
        except BaseException as exc:  # sent back, raised in the worker
            result = (False, exc)
        try:
            data = pickle.dumps(result)
        except Exception as exc:
            data = pickle.dumps((False, RenderError(f"{type(exc).__name__}: {exc}")))
        _send(out, data)


def _render_here(request: RenderRequest, folder: str, cache_dir: str | None) -> RenderStats:
    started, cpu, before = time.perf_counter(), time.process_time(), os.times()
    _one_thread_engines()
    interruptible = threading.current_thread() is threading.main_thread()
    if interruptible:  # Ctrl-C stops this render (cleanly) and nothing else
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        outcome = render(request, Path(folder), cache_dir=Path(cache_dir) if cache_dir else None)
    except KeyboardInterrupt:
        raise Cancelled("interrupted") from None
    finally:
        if interruptible:
            signal.signal(signal.SIGINT, previous)
    files = list(outcome.files)
    if not request.output.bundle:  # a bundle's own manifest is written last; else write it
        text = json.dumps(outcome.manifest, indent=2, ensure_ascii=False) + "\n"
        write_text_atomic(Path(folder) / MANIFEST, text)
        files.append(Path(folder) / MANIFEST)
    after = os.times()  # the encoders this render ran (a process may render many)
    children = after.children_user + after.children_system
    children -= before.children_user + before.children_system
    return RenderStats(
        cpu_s=time.process_time() - cpu + children,
        wall_s=time.perf_counter() - started,
        bytes=sum(p.stat().st_size for p in files),
        synthesized=outcome.result.synthesized,
        cached=outcome.result.cached,
    )


def is_complete(folder: Path, key: str) -> bool:
    """Whether ``folder`` holds a finished render of ``key``: its manifest (written last)
    names the key, and every file it lists is there at the size it lists."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict) or data.get("key") != key:
        return False
    files = data.get("files")
    if not isinstance(files, list):
        return False
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            return False
        try:
            if (folder / entry["path"]).stat().st_size != entry.get("bytes"):
                return False
        except OSError:
            return False
    return True


@dataclass(frozen=True, slots=True)
class Prepared:
    """What a batch will do with one item: ``render``, ``reuse`` or ``failed`` (its checks
    failed before any synthesis: the reason says why)."""

    index: int
    label: str
    action: str
    request: RenderRequest | None = None
    folder: Path | None = None
    key: str | None = None
    reason: str = ""


def prepare(catalog: Catalog, out: Path, *, force: bool = False) -> list[Prepared]:
    """Check every item (no synthesis) and decide what to do with it: items whose checks
    fail are ``failed``; complete renders of the same key, and items equal to an earlier
    one, are ``reuse``; the rest ``render``."""
    library = builtin_library()
    seen: set[str] = set()
    out_list: list[Prepared] = []
    for i, item in enumerate(catalog.items):
        try:
            checked = validate(item.request, library=library)
        except AcuvoiceError as exc:
            out_list.append(Prepared(i, item.label, "failed", reason=str(exc)))
            continue
        key = checked.key
        folder = out / f"{checked.stem}-{key[:12]}"
        if key in seen:
            action, why = "reuse", "the same render as another item"
        elif not force and is_complete(folder, key):
            action, why = "reuse", ""
        else:
            action, why = "render", ""
        seen.add(key)
        out_list.append(Prepared(i, item.label, action, item.request, folder, key, why))
    return out_list


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    with open(out / LOCK_NAME, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputError(
                f"another batch is writing into {out}; wait for it to finish, or choose "
                "another output folder"
            ) from None
        yield


def sweep(out: Path) -> int:
    """Remove what interrupted renders left in ``out``: staging folders and temporary
    files. Returns how many were removed."""
    removed = 0
    for folder in out.iterdir() if out.is_dir() else ():
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        for leftover in folder.iterdir():
            if leftover.name.startswith(".acuvoice-") and leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
                removed += 1
            elif leftover.name.startswith(".") and leftover.name.endswith(".part"):
                leftover.unlink(missing_ok=True)
                removed += 1
        with contextlib.suppress(OSError):
            folder.rmdir()  # a render that never finished leaves an empty folder
    return removed


def run_batch(
    catalog: Catalog,
    out: Path,
    *,
    jobs: int | None = None,
    force: bool = False,
    cache_dir: Path | None = None,
    executor: Executor | None = None,
    on_done: OnDone | None = None,
) -> BatchReport:
    """Render every item of ``catalog`` into ``out`` (made if missing).

    Args:
        jobs: Renders at once (one process each); default one per core.
        force: Render everything again, even what is complete.
        cache_dir: The synthesis cache all workers share (default: the user's).
        executor: Where renders run (default: a local process pool of ``jobs``).
        on_done: Told of each result as it comes.

    Returns:
        A result per item, in catalog order; failures carry their reason.

    Raises:
        OutputError: ``out`` cannot be made, or another batch is writing into it.
        Cancelled: Interrupted (Ctrl-C); renders under way leave nothing behind.
    """
    out = Path(os.path.abspath(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot make {out}: {exc.strerror or exc}") from exc
    started = time.perf_counter()
    with _locked(out):
        sweep(out)
        results: list[ItemResult | None] = [None] * len(catalog.items)
        todo: dict[int, tuple[RenderRequest, Path, str]] = {}
        finished = 0
        total = len(catalog.items)

        def done(i: int, result: ItemResult) -> None:
            nonlocal finished
            results[i] = result
            finished += 1
            if on_done is not None:
                on_done(result, finished, total)

        for p in prepare(catalog, out, force=force):
            if p.action == "failed":
                done(p.index, ItemResult(p.label, "failed", reason=p.reason))
            elif p.action == "reuse":
                done(p.index, ItemResult(p.label, "reused", p.folder, p.key, p.reason))
            else:
                assert p.request is not None and p.folder is not None and p.key is not None
                todo[p.index] = (p.request, p.folder, p.key)
        if todo:
            pool = executor or local_executor(min(jobs or default_jobs(), len(todo)))
            own = executor is None
            futures: dict[Future[RenderStats], int] = {}
            try:
                for i, (request, folder, _) in todo.items():
                    cache = os.fspath(cache_dir) if cache_dir else None
                    futures[pool.submit(render_one, request, os.fspath(folder), cache)] = i
                for future in as_completed(futures):
                    i = futures[future]
                    request, folder, key = todo[i]
                    label = catalog.items[i].label
                    try:
                        stats = future.result()
                    except AcuvoiceError as exc:
                        done(i, ItemResult(label, "failed", folder, key, str(exc)))
                    except Exception as exc:  # a worker that died, a bug: this render only
                        why = f"{type(exc).__name__}: {exc}"
                        done(i, ItemResult(label, "failed", folder, key, why))
                    else:
                        done(i, ItemResult(label, "rendered", folder, key, stats=stats))
            except KeyboardInterrupt:
                for f in futures:
                    f.cancel()
                if own:
                    pool.shutdown(wait=True, cancel_futures=True)
                sweep(out)
                raise Cancelled("the batch was interrupted; run it again to finish") from None
            finally:
                if own:
                    pool.shutdown(wait=True, cancel_futures=True)
        sweep(out)  # what a render killed on the way (a lost worker) left behind
        report = BatchReport(
            tuple(r for r in results if r is not None), time.perf_counter() - started
        )
        write_index(out, catalog, report)
        if catalog.feed is not None and any(r.status != "failed" for r in report.results):
            try:
                report = dataclasses.replace(report, feed=write_feed(out, catalog.feed))
            except AcuvoiceError as exc:
                report = dataclasses.replace(report, feed_problem=str(exc))
    return report


#: The batch's index in its output folder: every item in catalog order (feeds number them).
INDEX_NAME = "batch.json"


def write_index(out: Path, catalog: Catalog, report: BatchReport) -> None:
    """Write ``OUT/batch.json``: the catalog's title and each item's label, status and
    folder, in catalog order."""
    data: dict[str, Any] = {
        "acuvoice_batch": 1,
        "title": catalog.title,
        "items": [
            {
                "label": r.label,
                "status": r.status,
                "folder": r.folder.name if r.folder else None,
                "key": r.key,
                **({"reason": r.reason} if r.status == "failed" else {}),
            }
            for r in report.results
        ],
    }
    if catalog.episodes:  # a series: numbered days, each playing a stage's render
        data["serial"] = True
        data["episodes"] = [
            {"number": e.number, "title": e.title, "item": e.item} for e in catalog.episodes
        ]
    write_text_atomic(out / INDEX_NAME, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
