"""The child process that runs pyttsx3, so a hang or crash in it never takes acuvoice down.

Run as ``python path/to/_pyttsx3_worker.py`` (what :mod:`acuvoice.engines.pyttsx3_engine`
does) or ``python -m acuvoice.engines._pyttsx3_worker``. It imports only the standard library
and pyttsx3, so it starts in well under a second.

Protocol: one JSON object per line. The worker first writes a hello::

    {"ok": true, "event": "ready", "driver": "espeak", "pyttsx3": "2.99",
     "backend": "espeak-ng 1.51", "voices": [{"id", "name", "languages", "gender"}, ...]}

or ``{"ok": false, "event": "failed", "kind": "import" | "driver", "error": "..."}`` and exits.
Then for each request line ``{"id": 1, "text": "...", "voice": "gmw/en-us", "rate": 140,
"path": "/tmp/x.wav"}`` it writes ``{"id": 1, "ok": true}`` once the WAV is written, or
``{"id": 1, "ok": false, "error": "..."}``. It exits when its stdin closes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import IO, Any

# Run by path, Python puts this folder first on sys.path, where sibling modules could shadow
# what pyttsx3 imports; the worker needs nothing from here.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]


def _protocol_stream() -> IO[str]:
    """Keep the real stdout for the protocol and send everything else printed to /dev/null.

    pyttsx3 prints "Audio saved to ..." for every file, and C libraries may write to fd 1
    too; none of that may reach the protocol stream.
    """
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    return proto


def _send(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _backend_version(driver: str) -> str:
    if driver != "espeak":
        return driver
    try:
        from pyttsx3.drivers import _espeak

        raw = _espeak.Info(None)
        version = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    except Exception:  # the version is informative only
        version = "unknown"
    return f"espeak-ng {version}"


def _voices(engine: Any) -> list[dict[str, Any]]:
    found = []
    for voice in engine.getProperty("voices") or []:
        languages = []
        for lang in getattr(voice, "languages", None) or []:
            languages.append(
                lang.decode("utf-8", "replace") if isinstance(lang, bytes) else str(lang)
            )
        found.append(
            {
                "id": str(voice.id),
                "name": str(getattr(voice, "name", "") or voice.id).strip(),
                "languages": languages,
                "gender": getattr(voice, "gender", None),
            }
        )
    return found


def _espeak_idle_waiter() -> Callable[[], None]:
    """A function that waits until espeak-ng has applied the properties just set.

    pyttsx3 runs espeak-ng in its asynchronous mode, where a property change is queued inside
    espeak, and ``runAndWait()`` cancels that queue when espeak looks busy. Measured over 300
    calls alternating three rates, about 60% were spoken at the previous rate and 1% gave an
    empty file; waiting for espeak to go idle before ``save_to_file`` made both 0.
    """
    from pyttsx3.drivers import _espeak

    def wait() -> None:
        deadline = time.monotonic() + 5.0
        while _espeak.IsPlaying() and time.monotonic() < deadline:
            time.sleep(0.0005)

    return wait


def main() -> None:
    """Serve synthesis requests until stdin closes."""
    out = _protocol_stream()
    try:
        import pyttsx3
    except Exception as exc:  # reported to the parent, which explains it
        _send(
            out,
            {
                "ok": False,
                "event": "failed",
                "kind": "import",
                "error": f"{type(exc).__name__}: {exc}",
            },
        )
        return
    try:
        engine = pyttsx3.init()
        driver = str(getattr(engine.proxy._module, "__name__", "")).rsplit(".", 1)[-1]
        voices = _voices(engine)
    except Exception as exc:  # e.g. espeak-ng missing: "could not initialize espeak"
        _send(
            out,
            {
                "ok": False,
                "event": "failed",
                "kind": "driver",
                "error": f"{type(exc).__name__}: {exc}",
            },
        )
        return

    wait_idle = _espeak_idle_waiter() if driver == "espeak" else lambda: None
    errors: list[str] = []
    # pyttsx3 swallows exceptions raised inside its driver and only notifies them.
    engine.connect(
        "error",
        lambda name=None, exception=None, **_: errors.append(
            f"{type(exception).__name__}: {exception}"
        ),
    )
    _send(
        out,
        {
            "ok": True,
            "event": "ready",
            "driver": driver,
            "pyttsx3": metadata.version("pyttsx3"),
            "backend": _backend_version(driver),
            "voices": voices,
            "pid": os.getpid(),
        },
    )

    current_voice = None
    for line in sys.stdin:
        if not line.strip():
            continue
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            if request.get("voice") != current_voice:
                engine.setProperty("voice", request["voice"])
                current_voice = request["voice"]
            engine.setProperty("rate", int(request["rate"]))
            wait_idle()
            errors.clear()
            path = Path(request["path"])
            path.unlink(missing_ok=True)
            # One file per runAndWait(): with several queued, pyttsx3 wrote only the last one.
            engine.save_to_file(request["text"], str(path))
            engine.runAndWait()
            if errors:
                raise RuntimeError("; ".join(errors))
            _send(out, {"id": request_id, "ok": True})
        except Exception as exc:  # one bad request must not end the worker
            current_voice = None
            _send(out, {"id": request_id, "ok": False, "error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()
