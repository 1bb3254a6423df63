"""Child processes (ffmpeg) that never outlive the process that started them."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return lambda option, value: int(prctl(option, value))


_PRCTL = _prctl()


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: only a system call, nothing that allocates.
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def tied_to_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel kill the child when the thread that started it
    exits: an encoder started by a render that is killed (a batch worker killed by its
    cluster, say) stops too, instead of writing on into a file nobody will keep. ``None``
    where the platform has no such thing."""
    return _die_with_parent if _PRCTL is not None else None


def default_jobs() -> int:
    """One render per core."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
