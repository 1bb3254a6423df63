"""An executor that runs every task in a process of its own, which can be stopped alone.

A render can hang (a speech engine stuck) or be killed (out of memory, an operator); with a
shared process pool either breaks the pool for every other job. Here each task gets a fresh
process, forked from a server that has imported acuvoice already (so starting one costs
milliseconds, not the second of imports), and :meth:`ProcessPerTaskExecutor.kill` ends one
task's process without touching the others. It is a :class:`concurrent.futures.Executor`, so
the job runner works the same with a Dask client.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import queue
import threading
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

T = TypeVar("T")

#: Modules the fork server imports once, so every task process starts with them loaded
#: (``acuvoice.web.warm`` also fills the caches a render needs; ``acuvoice.app`` imports its
#: modules only when used, so the render machinery is named).
PRELOAD = (
    "acuvoice.app",
    "acuvoice.app.run",
    "acuvoice.app.key",
    "acuvoice.web.worker",
    "acuvoice.web.warm",
)


class WorkerDied(RuntimeError):
    """The process running a task ended before it returned (killed, or crashed)."""


class RemoteError(RuntimeError):
    """A task raised an exception that could not be sent back as it was."""


def _run(
    conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    try:
        result: tuple[bool, Any] = (True, fn(*args, **kwargs))
    except BaseException as exc:  # the parent re-raises it in the future
        result = (False, exc)
    try:
        conn.send(result)
    except Exception:
        detail = "".join(traceback.format_exception(result[1])) if not result[0] else ""
        conn.send((False, RemoteError(f"the task's result could not be sent back: {detail}")))
    finally:
        conn.close()


class ProcessPerTaskExecutor(Executor):
    """Run each task in a new process; at most ``max_workers`` at a time.

    Tasks and their arguments are pickled, so they must be module-level functions and plain
    data. A task whose process dies gets :class:`WorkerDied`; the executor goes on.

    Args:
        max_workers: How many tasks run at once.
        preload: Modules imported once by the fork server (``forkserver`` start method),
            so each task process starts with them.
    """

    def __init__(self, max_workers: int, preload: Sequence[str] = PRELOAD) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(list(preload))
        self._max = max_workers
        self._lock = threading.Lock()
        self._waiting: queue.SimpleQueue[
            tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None
        ] = queue.SimpleQueue()
        self._running: dict[Future[Any], BaseProcess] = {}
        self._free = threading.Semaphore(max_workers)
        self._shutdown = False
        self._dispatcher = threading.Thread(
            target=self._dispatch, name="acuvoice-dispatch", daemon=True
        )
        self._dispatcher.start()

    def start(self) -> None:
        """Start the fork server now (it imports the preloaded modules), so the first task
        does not wait for it."""
        if self._ctx.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()

    @property
    def max_workers(self) -> int:
        """How many tasks run at once."""
        return self._max

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Queue ``fn(*args, **kwargs)`` to run in a process of its own."""
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            future: Future[T] = Future()
            self._waiting.put((future, fn, args, kwargs))
        return future

    def kill(self, future: Future[Any]) -> bool:
        """End the process running ``future``'s task (or cancel it if it has not started).

        Returns:
            Whether anything was stopped.
        """
        if future.cancel():
            return True
        with self._lock:
            process = self._running.get(future)
        if process is None or not process.is_alive():
            return False
        process.kill()
        return True

    def pid(self, future: Future[Any]) -> int | None:
        """The process id running ``future``'s task, while it runs."""
        with self._lock:
            process = self._running.get(future)
        return process.pid if process is not None else None

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking tasks; with ``cancel_futures``, drop the queued ones; with ``wait``,
        wait for the running ones."""
        with self._lock:
            self._shutdown = True
        if cancel_futures:
            while True:
                try:
                    item = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        self._waiting.put(None)
        if wait:
            self._dispatcher.join()
            with self._lock:
                processes = list(self._running.values())
            for process in processes:
                process.join()

    def _dispatch(self) -> None:
        while True:
            item = self._waiting.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            self._free.acquire()
            threading.Thread(
                target=self._supervise, args=(future, fn, args, kwargs), daemon=True
            ).start()

    def _supervise(
        self,
        future: Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        try:
            receive, send = self._ctx.Pipe(duplex=False)
            process = self._ctx.Process(target=_run, args=(send, fn, args, kwargs), daemon=True)
            with self._lock:
                self._running[future] = process
            process.start()
            send.close()
            ready = multiprocessing.connection.wait([receive, process.sentinel])
            outcome: tuple[bool, Any] | None = None
            if receive in ready:
                try:
                    outcome = receive.recv()
                except (EOFError, OSError):
                    outcome = None
            process.join()
            receive.close()
            if outcome is None:
                code = process.exitcode
                how = (
                    f"was killed by signal {-code}"
                    if code is not None and code < 0
                    else f"exited with status {code}"
                )
                future.set_exception(WorkerDied(f"the render process {how} before it finished"))
            elif outcome[0]:
                future.set_result(outcome[1])
            else:
                future.set_exception(outcome[1])
        except BaseException as exc:  # never leave a future pending
            if not future.done():
                future.set_exception(exc)
        finally:
            with self._lock:
                self._running.pop(future, None)
            self._free.release()


def default_workers() -> int:
    """One worker per core (what this process may use)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)
