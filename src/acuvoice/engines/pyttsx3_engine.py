"""The pyttsx3 speech engine (espeak-ng voices on Linux), run in a child process that may hang."""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import itertools
import json
import math
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import weakref
from collections import deque
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from acuvoice.audio.buffer import Clip, as_samples
from acuvoice.engines.base import Availability, VoiceInfo
from acuvoice.errors import EngineError, UnknownVoiceError

#: The worker script, run by path: ``-m acuvoice.engines._pyttsx3_worker`` would import the
#: whole ``acuvoice.engines`` package (numpy, pydantic) first, about 0.4 s per start.
WORKER = Path(__file__).with_name("_pyttsx3_worker.py")

#: espeak-ng's ``rate`` (its nominal words per minute) at acuvoice rate 1.0. espeak's real
#: pace is faster than its nominal rate: at 140 the built-in lower-back session was spoken
#: at 161 words a minute of speech (measured from its timeline); 117 brings it to about 135,
#: the calm pace of guided sessions (120-150).
CALM_WPM = 117
#: The rates espeak-ng accepts.
MIN_WPM, MAX_WPM = 80, 450

ESPEAK_LICENSE = "GPL-3.0-or-later (espeak-ng)"
INSTALL_HINT = "sudo apt-get install espeak-ng"
#: The voice ``resolve_voice(None, language)`` prefers for a bare language.
#: The espeak-ng voice for each language, where it has several (the plain, main one).
PREFERRED_VOICES = {"en": "gmw/en-us", "es": "roa/es", "fr": "roa/fr", "de": "gmw/de"}

_WORD = re.compile(r"\w+", re.UNICODE)
_SILENT_PEAK = 0.01  # -40 dBFS: espeak speaks at about -6 dBFS peak


class _Hung(Exception):
    """The worker did not answer in time."""


class _Died(Exception):
    """The worker exited."""


class _Unavailable(Exception):
    """The worker could not start: pyttsx3 or its speech driver is missing."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


def language_tag(code: str) -> str:
    """An espeak language code in BCP 47 casing: ``en-gb-x-rp`` -> ``en-GB-x-rp``.

    Args:
        code: A language code as a voice reports it (``en-us``, ``en_US``, ``cmn-latn-pinyin``).

    Returns:
        The tag with a lower-case language, upper-case region and title-case script.
    """
    parts = [p for p in code.strip().replace("_", "-").split("-") if p]
    if not parts:
        return "und"
    out = [parts[0].lower()]
    private = False
    for part in parts[1:]:
        if private or len(part) == 1:
            private = True
            out.append(part.lower())
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            out.append(part.upper())
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())
        else:
            out.append(part.lower())
    return "-".join(out)


def words_per_minute(rate: float) -> int:
    """The pyttsx3 ``rate`` property for acuvoice ``rate`` (1.0 is a calm pace).

    Raises:
        EngineError: The rate is not a positive number.
    """
    if not math.isfinite(rate) or rate <= 0:
        raise EngineError(f"speaking rate must be a positive number, not {rate!r}")
    return max(MIN_WPM, min(MAX_WPM, round(CALM_WPM * rate)))


def read_checked_wav(path: Path, text: str, wpm: float) -> Clip:
    """Read the WAV pyttsx3 wrote for ``text`` and check that it holds plausible speech.

    pyttsx3 sometimes writes an empty file instead of failing, so every file is checked: it
    exists, decodes, has samples, is not silent, and lasts about as long as ``text`` at
    ``wpm`` words a minute (from a third to three times that, with slack for numbers).

    Args:
        path: The WAV file.
        text: What was said.
        wpm: The rate it was said at, in words per minute.

    Returns:
        The clip.

    Raises:
        EngineError: The file is missing, empty, undecodable, silent or implausibly long or
            short; the message says which.
    """
    import soundfile

    if not path.is_file():
        raise EngineError(f"pyttsx3 wrote no audio file ({path.name} is missing)")
    size = path.stat().st_size
    if size <= 44:  # a bare WAV header
        raise EngineError(f"pyttsx3 wrote an empty WAV file ({size} bytes)")
    try:
        data, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise EngineError(f"pyttsx3 wrote a WAV file that cannot be decoded ({exc})") from exc
    samples = as_samples(np.asarray(data, dtype=np.float32).T)
    frames = samples.shape[1]
    if frames == 0:
        raise EngineError("pyttsx3 wrote a WAV file with no samples in it")
    words = _WORD.findall(text)
    if not words:
        return Clip(samples, int(sample_rate))
    if not np.isfinite(samples).all():
        raise EngineError("pyttsx3 wrote audio with invalid (NaN) samples")
    if float(np.abs(samples).max()) < _SILENT_PEAK:
        raise EngineError("pyttsx3 wrote a WAV file that is silent")
    seconds = frames / sample_rate
    expected = len(words) * 60.0 / wpm
    digits = sum(c.isdigit() for c in text)  # "1999" is one word but four spoken ones
    shortest = expected / 3
    longest = 3 * (expected + digits * 60.0 / wpm) + 2.0
    if not shortest <= seconds <= longest:
        raise EngineError(
            f"pyttsx3 wrote {seconds:.2f} s of audio for {len(words)} words, "
            f"expected between {shortest:.2f} and {longest:.2f} s"
        )
    return Clip(samples, int(sample_rate))


def _voice_key(voice: VoiceInfo, form: int) -> str:
    if form == 0:
        return voice.id.casefold()
    if form == 1:
        return voice.id.rsplit("/", 1)[-1].casefold()
    return voice.name.strip().casefold()


class _Worker:
    """One running worker process and the threads that read its output."""

    def __init__(self, start_timeout_s: float) -> None:
        env = dict(os.environ, PYTHONUTF8="1", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            env=env,
        )
        self.owner_pid = os.getpid()
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=20)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        # The readers hold the queue and deque, not the worker, so an unused worker can be
        # garbage-collected and its process stopped.
        readers = [
            threading.Thread(target=_read_lines, args=(self.proc.stdout, self._lines), daemon=True),
            threading.Thread(
                target=_read_stderr, args=(self.proc.stderr, self._stderr), daemon=True
            ),
        ]
        for reader in readers:
            reader.start()
        self._finalizer = weakref.finalize(self, _stop, self.proc, readers)
        try:
            self.hello = self._receive(start_timeout_s)
        except _Hung:
            self.proc.kill()
            self.close()
            raise _Unavailable(
                f"pyttsx3 did not start within {start_timeout_s:g} s", INSTALL_HINT
            ) from None
        except _Died as exc:
            self.close()
            raise _Unavailable(f"pyttsx3 could not start ({exc})", INSTALL_HINT) from None
        if not self.hello.get("ok"):
            self.close()
            error = str(self.hello.get("error", "unknown error"))
            if self.hello.get("kind") == "import":
                raise _Unavailable(f"pyttsx3 cannot be imported ({error})", "pip install pyttsx3")
            raise _Unavailable(f"pyttsx3 found no working speech driver ({error})", INSTALL_HINT)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and self.owner_pid == os.getpid()

    def _receive(self, timeout_s: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=max(timeout_s, 0.0))
        except queue.Empty:
            raise _Hung from None
        if line is None:
            code = self.proc.wait()
            tail = "; ".join(list(self._stderr)[-3:])
            raise _Died(f"the worker exited with code {code}" + (f": {tail}" if tail else ""))
        try:
            message: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError:
            # Something other than the protocol reached stdout; skip it.
            return self._receive(timeout_s)
        return message

    def request(self, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request and wait for its answer.

        Raises:
            _Hung: No answer within ``timeout_s`` (the caller kills the worker).
            _Died: The worker exited.
        """
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(payload) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise _Died(f"the worker stopped accepting requests ({exc})") from exc
        while True:
            reply = self._receive(timeout_s)
            if reply.get("id") == payload["id"]:
                return reply

    def close(self) -> None:
        """Stop the worker (kill it if it does not exit at once)."""
        if self.owner_pid == os.getpid():
            self._finalizer()
        else:
            self._finalizer.detach()  # a forked copy: the process belongs to the parent


def _read_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    with contextlib.suppress(OSError, ValueError):
        for line in stream:
            lines.put(line)
    lines.put(None)


def _read_stderr(stream: IO[str], tail: deque[str]) -> None:
    # Always drained, so a chatty worker never blocks on a full pipe.
    with contextlib.suppress(OSError, ValueError):
        for line in stream:
            if line.strip():
                tail.append(line.rstrip())


def _stop(proc: subprocess.Popen[str], readers: list[threading.Thread]) -> None:
    with contextlib.suppress(OSError, ValueError):
        if proc.stdin:
            proc.stdin.close()  # the worker exits at the end of its input
    try:
        proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5.0)
    for reader in readers:
        reader.join(timeout=2.0)
    for stream in (proc.stdout, proc.stderr):
        with contextlib.suppress(OSError, ValueError):
            if stream:
                stream.close()


class Pyttsx3Engine:
    """System voices through pyttsx3: espeak-ng on Linux, many languages, robotic but light.

    pyttsx3 can hang and sometimes writes empty files, so it runs in one persistent worker
    process per engine: a fresh process per phrase measured about 165 ms a phrase, a request
    to a running worker 15-20 ms. Every request has a timeout; a hung or crashed worker is
    killed and restarted, and an empty or implausible file is retried once.

    Thread safety: calls from several threads are safe; they take turns on the one worker.
    """

    name: ClassVar[str] = "pyttsx3"
    license: ClassVar[str] = "MPL-2.0"
    rank: ClassVar[int] = 10

    #: Seconds a request may take before the worker counts as hung, plus some per character.
    timeout_s: float = 30.0
    timeout_per_char_s: float = 0.02
    #: Seconds the worker may take to start and list its voices.
    start_timeout_s: float = 20.0

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._worker: _Worker | None = None
        self._hello: dict[str, Any] | None = None
        self._status: Availability | None = None
        self._voices: list[VoiceInfo] | None = None
        self._tmp: Path | None = None
        self._ids = itertools.count(1)
        #: How many times a worker was started after the first (hangs, crashes).
        self.restarts = 0

    # -- the worker -------------------------------------------------------------------------

    def _ensure_worker(self) -> _Worker:
        """The running worker, started (or restarted) as needed.

        Raises:
            _Unavailable: It could not start.
        """
        if self._worker is not None and self._worker.alive:
            return self._worker
        if self._worker is not None:
            self._worker.close()
            self.restarts += 1
        self._worker = None
        worker = _Worker(self.start_timeout_s)
        self._worker = worker
        if self._hello is None:
            self._hello = worker.hello
        return worker

    def _kill_worker(self) -> None:
        if self._worker is not None:
            with contextlib.suppress(OSError):
                if self._worker.alive:
                    self._worker.proc.kill()
            self._worker.close()
            self._worker = None
            self.restarts += 1

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id, or ``None`` when none is running (for diagnostics)."""
        worker = self._worker
        return worker.proc.pid if worker is not None and worker.alive else None

    def close(self) -> None:
        """Stop the worker; the next synthesis starts a new one."""
        with self._lock:
            if self._worker is not None:
                self._worker.close()
                self._worker = None

    # -- SpeechEngine -----------------------------------------------------------------------

    def availability(self) -> Availability:
        """Whether pyttsx3 and a speech driver (espeak-ng) work here; starts the worker once."""
        with self._lock:
            if self._status is None:
                if importlib.util.find_spec("pyttsx3") is None:
                    self._status = Availability(
                        False, "pyttsx3 is not installed", "pip install pyttsx3"
                    )
                else:
                    try:
                        self._ensure_worker()
                        self._status = Availability(True)
                    except _Unavailable as exc:
                        self._status = Availability(False, exc.reason, exc.hint)
            return self._status

    def _require(self) -> dict[str, Any]:
        status = self.availability()
        if not status.ok or self._hello is None:
            hint = f"; {status.hint}" if status.hint else ""
            raise EngineError(f"speech engine 'pyttsx3' is not available: {status.reason}{hint}")
        return self._hello

    def voices(self) -> list[VoiceInfo]:
        """The system voices pyttsx3 reports (queried once, in the worker)."""
        if self._voices is None:
            if not self.availability().ok or self._hello is None:
                return []
            self._voices = [self._voice_info(v) for v in self._hello.get("voices", [])]
        return list(self._voices)

    def _voice_info(self, entry: dict[str, Any]) -> VoiceInfo:
        voice_id = str(entry["id"])
        languages = [str(x) for x in entry.get("languages") or [] if str(x).strip()]
        language = language_tag(languages[0] if languages else voice_id.rsplit("/", 1)[-1])
        espeak = self._hello is not None and self._hello.get("driver") == "espeak"
        gender = f", {str(entry['gender']).lower()}" if entry.get("gender") else ""
        backend = self._hello.get("backend", "") if self._hello else ""
        return VoiceInfo(
            engine=self.name,
            id=voice_id,
            language=language,
            name=str(entry.get("name") or voice_id),
            license=ESPEAK_LICENSE if espeak else "see the system voice's license",
            quality="formant" if espeak else "system",
            description=f"{backend} voice {voice_id}{gender}".strip(),
        )

    def resolve_voice(self, voice: str | None, language: str) -> VoiceInfo:
        """The voice with this id (``gmw/en-us``), short id (``en-us``) or name, or the best
        voice for ``language`` when ``voice`` is ``None``.

        Raises:
            EngineError: pyttsx3 is unavailable, no such voice (close matches first), or no
                voice for the language.
        """
        self._require()
        voices = self.voices()
        if voice is None:
            return self._best_for(language, voices)
        wanted = voice.strip().casefold()
        # Full id first, then the id without its family ("en-us"), then the name.
        for form in range(3):
            for info in voices:
                if _voice_key(info, form) == wanted:
                    return info
        ids = [v.id for v in voices]
        close = difflib.get_close_matches(wanted, [i.casefold() for i in ids], n=5, cutoff=0.6)
        by_fold = {i.casefold(): i for i in ids}
        shown = [by_fold[c] for c in close]
        shown += [i for i in ids if i not in shown and i.rsplit("/", 1)[-1].startswith(wanted[:2])][
            : 8 - len(shown)
        ]
        shown += [i for i in ids if i not in shown][: max(0, 8 - len(shown))]
        raise UnknownVoiceError(
            f"unknown pyttsx3 voice {voice!r}; valid ids include {', '.join(shown)} "
            f"({len(ids)} in all: `acuvoice voices --all` lists them)"
        )

    def _best_for(self, language: str, voices: list[VoiceInfo]) -> VoiceInfo:
        want = language_tag(language)
        primary = want.split("-")[0]
        preferred = PREFERRED_VOICES.get(primary)
        exact = [v for v in voices if v.language.casefold() == want.casefold()]
        if exact:
            return next((v for v in exact if v.id == preferred), exact[0])
        same = [v for v in voices if v.language.split("-")[0].casefold() == primary]
        if not same:
            spoken = sorted({v.language.split("-")[0] for v in voices})
            raise EngineError(
                f"pyttsx3 has no voice for language {language!r}; it speaks {', '.join(spoken)}"
            )

        def score(v: VoiceInfo) -> tuple[int, int, int, str]:
            lang = v.language.casefold()
            return (
                v.id != preferred,
                lang != primary and lang != f"{primary}-{primary}",  # de, fr-FR before variants
                len(lang),
                v.id,
            )

        return min(same, key=score)

    def fingerprint(self, voice: VoiceInfo) -> str:
        """pyttsx3 version, speech backend version (espeak-ng), voice id and rate mapping."""
        hello = self._require()
        return f"pyttsx3-{hello.get('pyttsx3', '?')}/{hello.get('backend', '?')}/{voice.id}/{CALM_WPM}wpm"

    def synthesize(self, text: str, voice: VoiceInfo, rate: float) -> Clip:
        """Speak ``text`` in the worker; check, retry once, and return the clip.

        Raises:
            EngineError: The engine is unavailable, the voice is not a pyttsx3 voice, or
                synthesis failed twice (hung, crashed, or wrote an empty or invalid file).
        """
        wpm = words_per_minute(rate)
        if voice.engine != self.name:
            raise EngineError(f"voice {voice.id!r} belongs to engine {voice.engine!r}, not pyttsx3")
        self._require()
        if not text.strip():
            return Clip(np.zeros((1, 0), dtype=np.float32), 22_050)
        timeout = self.timeout_s + self.timeout_per_char_s * len(text)
        failures: list[str] = []
        with self._lock:
            if self._tmp is None or not self._tmp.is_dir():
                self._tmp = Path(tempfile.mkdtemp(prefix="acuvoice-pyttsx3-"))
                weakref.finalize(self, shutil.rmtree, self._tmp, ignore_errors=True)
            for _attempt in range(2):
                request_id = next(self._ids)
                path = self._tmp / f"{request_id}.wav"
                try:
                    worker = self._ensure_worker()
                    reply = worker.request(
                        {
                            "id": request_id,
                            "text": text,
                            "voice": voice.id,
                            "rate": wpm,
                            "path": str(path),
                        },
                        timeout,
                    )
                    if not reply.get("ok"):
                        failures.append(
                            f"pyttsx3 reported {reply.get('error', 'an unknown error')}"
                        )
                        continue
                    return read_checked_wav(path, text, wpm)
                except EngineError as exc:
                    failures.append(str(exc))
                except _Hung:
                    self._kill_worker()
                    failures.append(
                        f"pyttsx3 did not finish within {timeout:.3g} s, so it was stopped"
                    )
                except _Died as exc:
                    self._kill_worker()
                    failures.append(f"pyttsx3 crashed ({exc})")
                except _Unavailable as exc:
                    hint = f"; {exc.hint}" if exc.hint else ""
                    raise EngineError(
                        f"pyttsx3 could not be restarted: {exc.reason}{hint}"
                    ) from None
                finally:
                    path.unlink(missing_ok=True)
        preview = text if len(text) <= 60 else text[:57] + "..."
        raise EngineError(
            f"pyttsx3 could not speak {preview!r} with voice {voice.id!r} "
            f"(tried twice: {'; then '.join(failures)}); try again, try another voice or "
            f"the piper engine, or reinstall espeak-ng (sudo apt-get install --reinstall espeak-ng)"
        )
