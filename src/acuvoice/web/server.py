"""The web app: the listening page and the HTTP API it uses, over the application layer.

Routes translate HTTP into :mod:`acuvoice.app` calls and the job runner, and back; they hold
no render logic. ``/docs`` shows the API (OpenAPI).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import io
import ipaddress
import json
import os
import secrets
import threading
import time
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import soundfile as sf
from fastapi import Body, FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from acuvoice import __version__, app
from acuvoice.audio.ambience import open_ambience
from acuvoice.audio.cues import synthesize_cue_set
from acuvoice.engines.registry import engine_names, get_engine
from acuvoice.errors import AcuvoiceError, RoutineError, UsageError
from acuvoice.phrases import load_catalog
from acuvoice.plan import MAX_CONCERNS, MAX_MINUTES, MIN_MINUTES, PLAN_LANGUAGES, PlanError
from acuvoice.points.library import builtin_library
from acuvoice.routine.loader import BUILTIN_LANGUAGE, builtin_languages, builtin_routines
from acuvoice.routine.model import AMBIENCES, CUE_SETS
from acuvoice.validation import did_you_mean
from acuvoice.web.executor import ProcessPerTaskExecutor, default_workers
from acuvoice.web.jobs import TERMINAL, JobRunner, JobState, JobView, QueueFull, UnknownJob
from acuvoice.web.schemas import (
    AcceptedOut,
    ChoiceOut,
    EngineOut,
    FileOut,
    JobOut,
    LanguageOut,
    LeftOutOut,
    PlanAnswersOut,
    PlanBody,
    PlanOptionsOut,
    PlanOut,
    PlanRefusedOut,
    ProblemOut,
    RangeOut,
    RenderBody,
    RoutineOut,
    ValidateOut,
    VoiceOut,
    to_plan_request,
    to_request,
)
from acuvoice.web.worker import range_task, timeline_task

STATIC = Path(str(resources.files("acuvoice.web").joinpath("static")))
#: Largest request body (a routine is at most 1 MB of YAML, sent as JSON).
MAX_BODY_BYTES = 1_200_000
#: The page's Content-Security-Policy: everything from this server, nothing inline.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
TOKEN_COOKIE = "acuvoice_token"
#: Bodies up to this many times the limit are read (and dropped) before the 413 answer.
DRAIN_FACTOR = 16
T = TypeVar("T")
#: How the render routes take a language (OpenAPI).
LANGUAGE_NOTE = (
    " A built-in `routine` with `language` (a tag from `GET /api/languages`) is its "
    "translation, spoken in that language by a voice that speaks it; pasted `yaml` keeps its "
    "own `language:`."
)
#: Engines for tests only: the page hides them, and they make no language available.
TEST_ENGINES = frozenset({"fake"})


@dataclass(frozen=True)
class Settings:
    """How the server runs.

    Attributes:
        data: Where results, jobs, work folders and the speech cache live.
        workers: Renders at once.
        host: The address it listens on (only for deciding whether a token is needed).
        token: Required on every route when set; generated for non-loopback hosts.
        max_queue: Renders that may wait.
        time_limit_s: Longest one render may run.
        max_bytes: Size of the kept results before the least recently used are removed.
        max_body_bytes: Largest request body (413 above it).
        executor: Runs renders (default: a process per render).
    """

    data: Path
    workers: int = field(default_factory=default_workers)
    host: str = "127.0.0.1"
    token: str | None = None
    max_queue: int = 32
    time_limit_s: float = 1800.0
    max_bytes: int = 5_000_000_000
    max_body_bytes: int = MAX_BODY_BYTES
    executor: Executor | None = None


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def access_token(host: str, given: str | None) -> str | None:
    """The token the server requires: the one given, a new one off loopback, else none."""
    if given:
        return given
    return None if is_loopback(host) else secrets.token_urlsafe(24)


# -- middleware ----------------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _TooLarge(Exception):
    pass


class Guard:
    """Refuse bodies over the limit (413) and requests without the token (401); add the
    security headers to every answer."""

    def __init__(self, inner: ASGIApp, *, limit: int, token: str | None) -> None:
        self.inner = inner
        self.limit = limit
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.token is not None and not self._authorized(scope, headers):
            await _json(send, 401, {"detail": "this server needs its access token (?token=...)"})
            return
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            if int(length) <= DRAIN_FACTOR * self.limit:
                # Read what the client is sending first, so it can read the answer (a
                # client still writing into a closed connection sees a broken pipe).
                more = True
                while more:
                    message = await receive()
                    more = message.get("more_body", False) and message["type"] == "http.request"
            await _json(send, 413, {"detail": f"the request body is over {self.limit} bytes"})
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                if scope["path"] == "/" or scope["path"].startswith("/static/"):
                    extra.append((b"content-security-policy", CSP.encode()))
                if self.token is not None and scope["path"] == "/":
                    query = _query(scope)
                    if query.get("token") == self.token:
                        extra.append(
                            (
                                b"set-cookie",
                                f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode(),
                            )
                        )
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.inner(scope, limited, with_headers)
        except _TooLarge:
            if not started:
                await _json(send, 413, {"detail": f"the request body is over {self.limit} bytes"})

    def _authorized(self, scope: Scope, headers: Mapping[str, str]) -> bool:
        assert self.token is not None
        given = [_query(scope).get("token", "")]
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given.append(auth[7:].strip())
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == TOKEN_COOKIE:
                given.append(value)
        return any(hmac.compare_digest(g, self.token) for g in given if g)


def _query(scope: Scope) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


async def _json(send: Send, status: int, data: dict[str, Any]) -> None:
    body = json.dumps(data).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- the app ------------------------------------------------------------------------------------


def primary_subtag(tag: str) -> str:
    """``es`` for ``es-ES``: languages and voices match on it."""
    return tag.split("-")[0].strip().lower()


def english_first(tags: list[str]) -> list[str]:
    """Language tags sorted, English (the built-in routines' own language) first."""
    return sorted(set(tags), key=lambda t: (t != BUILTIN_LANGUAGE, t))


def builtin_language(tag: str | None) -> str:
    """The primary subtag of ``tag`` when built-in routines are written in it.

    Raises:
        UsageError: No built-in routine is written in that language (the message lists the
            languages there are).
    """
    if tag is None or not tag.strip():
        return BUILTIN_LANGUAGE
    known = english_first(builtin_languages())
    primary = primary_subtag(tag)
    if primary not in known:
        raise UsageError(
            f"no built-in routines are written in language {tag!r}"
            f"{did_you_mean(primary, known)}; they are in {', '.join(known)} "
            "(GET /api/languages lists the languages with routines and voices)"
        )
    return primary


def routine_out(summary: app.RoutineSummary, languages: list[str] | None = None) -> RoutineOut:
    """A routine's summary as the API gives it (``languages``: those it is written in;
    by default only its own)."""
    return RoutineOut(
        name=summary.name,
        title=summary.title,
        summary=summary.summary,
        duration_ms=summary.duration_ms,
        points=list(summary.points),
        names=dict(summary.names),
        cautions=list(summary.cautions),
        language=summary.language,
        languages=english_first(languages or [summary.language]),
        cues=summary.cues,
        ambience=summary.ambience,
        target_ms=summary.target_ms,
    )


def problems_of(exc: AcuvoiceError) -> list[ProblemOut]:
    """An error's problems, each with its line and column (0 for one with no place)."""
    if isinstance(exc, RoutineError):
        return [
            ProblemOut(line=p.line, column=p.column, message=p.message, severity=p.severity.value)
            for p in exc.problems
        ]
    return [ProblemOut(line=0, column=0, message=str(exc))]


def create_app(settings: Settings) -> Any:
    """The ASGI app for ``settings``: the API, the page, and the job runner behind them.

    Returns:
        The app wrapped in its guard (size limit, token, security headers); the FastAPI app
        is its ``.inner``, the runner is on ``app.state.runner``.
    """
    data = settings.data
    data.mkdir(parents=True, exist_ok=True)
    cache_dir = data / "cache"
    executor = settings.executor or ProcessPerTaskExecutor(settings.workers)
    if isinstance(executor, ProcessPerTaskExecutor):
        # The fork server imports acuvoice and warms its caches while the page loads.
        threading.Thread(target=executor.start, daemon=True).start()
    library = builtin_library()

    @functools.cache
    def voice_ids() -> frozenset[str]:
        ids: set[str] = set()
        for name in engine_names():
            engine = get_engine(name)
            if engine.availability().ok:
                ids.update(v.id for v in engine.voices())
        return frozenset(ids)

    def translate(body: Mapping[str, Any]) -> tuple[app.RenderRequest, str]:
        request = to_request(RenderBody.model_validate(body), set(voice_ids()))
        return request, app.validate(request, library=library).key

    # Checking a request loads the routine, the voice and the cue sounds: a few MB of work
    # each. Only a few at once, so fifty clients cost latency, not memory.
    checking = threading.BoundedSemaphore(max(2, settings.workers))

    def checked(fn: Callable[[], T]) -> T:
        with checking:
            return fn()

    runner = JobRunner(
        data,
        executor,
        workers=settings.workers,
        max_queue=settings.max_queue,
        time_limit_s=settings.time_limit_s,
        max_bytes=settings.max_bytes,
        translate=translate,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        runner.close()
        executor.shutdown(wait=False, cancel_futures=True)

    api = FastAPI(
        lifespan=lifespan,
        title="acuvoice",
        version=__version__,
        summary="Render guided acupressure sessions and listen to them.",
        description=(
            "The HTTP API of `acuvoice serve`, the same one its page uses. Render a built-in "
            "routine or your own YAML, follow the render (JSON or server-sent events), listen "
            "while it is made, and download what it made."
        ),
    )
    api.state.runner = runner
    api.state.executor = executor

    @api.exception_handler(AcuvoiceError)
    async def _acuvoice_error(request: Request, exc: AcuvoiceError) -> JSONResponse:
        if isinstance(exc, QueueFull):
            return JSONResponse(
                {"detail": str(exc), "problems": []},
                status_code=429,
                headers={"Retry-After": str(exc.retry_after_s)},
            )
        if isinstance(exc, UnknownJob):
            return JSONResponse({"detail": str(exc), "problems": []}, status_code=404)
        if isinstance(exc, PlanError):
            offer = exc.offer
            refused = PlanRefusedOut(
                detail=str(exc),
                kind=exc.kind,
                offer=None
                if offer is None
                else PlanAnswersOut(
                    concerns=list(offer.concerns),
                    minutes=offer.minutes,
                    avoid=list(offer.avoid),
                    level=offer.level,
                ),
            )
            return JSONResponse(refused.model_dump(), status_code=422)
        detail = "the routine has problems" if isinstance(exc, RoutineError) else str(exc)
        problems = [p.model_dump() for p in problems_of(exc)]
        return JSONResponse({"detail": detail, "problems": problems}, status_code=422)

    def job_out(view: JobView) -> JobOut:
        base = f"/api/renders/{view.id}"
        return JobOut(
            **{k: v for k, v in view.as_dict().items() if k != "files"},
            files=[FileOut(name=n, url=f"{base}/files/{n}", bytes=b) for n, b in view.files],
            stream_url=f"{base}/stream",
        )

    # -- the page ------------------------------------------------------------------------------

    @api.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    api.mount("/static", StaticFiles(directory=STATIC), name="static")

    # -- what there is --------------------------------------------------------------------------

    @api.get("/api/health", summary="The server is up")
    def health() -> dict[str, Any]:
        return {
            "ok": True,
            "version": __version__,
            "workers": settings.workers,
            "jobs": runner.counts(),
        }

    @functools.cache
    def routines(language: str) -> list[RoutineOut]:
        return [
            routine_out(s, builtin_languages(s.name))
            for s in app.builtin_summaries(library=library, language=language)
        ]

    @api.get(
        "/api/routines",
        summary="The built-in routines, in a language",
        description=(
            "Every built-in routine written in `language` (English by default), with its "
            "title, summary, points and chapters in that language; `languages` lists every "
            "language a routine is written in. An unknown language is a 422 that lists the "
            "languages there are."
        ),
        responses={422: {"description": "no built-in routine is written in that language"}},
    )
    def list_routines(
        language: str | None = Query(
            None,
            description="a BCP 47 tag (es, fr-FR, de...; its primary subtag counts); "
            "GET /api/languages lists them",
        ),
    ) -> list[RoutineOut]:
        return routines(builtin_language(language))

    @functools.cache
    def speakers() -> dict[str, int]:
        counts: dict[str, int] = {}
        for name in engine_names():
            engine = get_engine(name)
            if name in TEST_ENGINES or not engine.availability().ok:
                continue
            for voice in engine.voices():
                tag = primary_subtag(voice.language)
                counts[tag] = counts.get(tag, 0) + 1
        return counts

    @api.get(
        "/api/languages",
        summary="The languages sessions can be made in",
        description=(
            "Each language that built-in routines are written in and at least one installed, "
            "available voice speaks (matched on the primary subtag: `es-ES` and `es-419` "
            "voices speak `es`), with its name in itself, English first. Pass its `tag` as "
            "`language` to `GET /api/routines` and in a render body."
        ),
    )
    def languages() -> list[LanguageOut]:
        voiced = speakers()
        out = []
        for tag in english_first(builtin_languages()):
            if voiced.get(tag, 0) == 0:
                continue
            out.append(
                LanguageOut(
                    tag=tag,
                    name=str(load_catalog(tag).phrases.get("name", tag)),
                    routines=len(builtin_routines(tag)),
                    voices=voiced[tag],
                )
            )
        return out

    @api.post(
        "/api/describe", summary="A routine's YAML at a glance: title, length, points, cautions"
    )
    def describe(text: str = Body(..., media_type="text/plain")) -> RoutineOut:
        ref = app.RoutineRef.yaml(text, shown="routine.yaml", builtin_includes=True)
        return routine_out(checked(lambda: app.summarize(ref, library=library)))

    @api.get("/api/routines/{name}/yaml", summary="A built-in routine's YAML, to copy and edit")
    def routine_yaml(name: str) -> Response:
        found = builtin_routines().get(name)
        if found is None:
            raise UnknownJob(f"no built-in routine is called {name!r}")
        return Response(found.read_text(encoding="utf-8"), media_type="text/yaml; charset=utf-8")

    @api.get("/api/voices", summary="Engines and voices, with languages and licenses")
    def voices() -> list[EngineOut]:
        out: list[EngineOut] = []
        for name in engine_names():
            engine = get_engine(name)
            status = engine.availability()
            out.append(
                EngineOut(
                    name=name,
                    license=engine.license,
                    available=status.ok,
                    reason=status.reason,
                    voices=[
                        VoiceOut(
                            id=v.id,
                            name=v.name,
                            language=v.language,
                            license=v.license,
                            quality=v.quality,
                            description=v.description,
                        )
                        for v in (engine.voices() if status.ok else [])
                    ],
                )
            )
        return out

    @api.get("/api/conditions", summary="Conditions a session can leave points out for")
    def conditions() -> list[dict[str, str]]:
        return [
            {"id": c.id, "spoken": c.spoken, "description": c.description}
            for c in library.conditions.values()
        ]

    # -- a session of one's own ------------------------------------------------------------------

    @api.get("/api/plan/options", summary="What a personal session can be built for")
    def plan_options() -> PlanOptionsOut:
        return PlanOptionsOut(
            concerns=[
                ChoiceOut(id=t.id, description=t.description) for t in library.topics.values()
            ],
            max_concerns=MAX_CONCERNS,
            levels=[ChoiceOut(id=k, description=v) for k, v in app.plan_levels("en").items()],
            min_minutes=MIN_MINUTES,
            max_minutes=MAX_MINUTES,
            languages=list(PLAN_LANGUAGES),
        )

    @api.post(
        "/api/plan",
        summary="Build a personal routine from the point library",
        description=(
            "The routine `acuvoice plan` builds for these answers: concerns (topics from "
            "`GET /api/plan/options`), minutes, conditions to avoid (`GET /api/conditions`) "
            "and a level. Render its `yaml` like pasted YAML. When no session can be made, a "
            "422 says why, with `kind` and, when there is one, an `offer` of answers that do "
            "make a session."
        ),
        responses={422: {"model": PlanRefusedOut, "description": "no session for these answers"}},
    )
    def build_plan(body: PlanBody) -> PlanOut:
        outcome = checked(lambda: app.plan(to_plan_request(body), library=library))
        built = outcome.routine
        assert built is not None  # one routine: the body asks for no days
        return PlanOut(
            yaml=outcome.text,
            title=built.routine.title,
            points=list(built.points),
            names={code: library.get(code).name for code in built.points if code in library},
            holds_ms=list(built.holds_ms),
            left_out=[LeftOutOut(code=lo.code, name=lo.name, why=lo.why) for lo in built.left_out],
            lines=list(outcome.lines),
        )

    @api.get("/api/sounds", summary="Cue sets and ambience beds, with previews")
    def sounds() -> dict[str, list[dict[str, str]]]:
        return {
            "cues": [{"name": n, "preview_url": f"/api/previews/cues/{n}"} for n in CUE_SETS],
            "ambience": [
                {"name": n, "preview_url": f"/api/previews/ambience/{n}"} for n in AMBIENCES
            ],
        }

    @api.get("/api/previews/{kind}/{name}", summary="A few seconds of a cue set or a bed (WAV)")
    def preview(kind: str, name: str) -> Response:
        return Response(
            _preview(kind, name), media_type="audio/wav", headers={"Cache-Control": "max-age=86400"}
        )

    # -- checking -------------------------------------------------------------------------------

    @api.post("/api/validate", summary="Check a routine's YAML: every problem with line and column")
    def validate(text: str = Body(..., media_type="text/plain")) -> ValidateOut:
        found = checked(
            lambda: app.check_routine(
                app.RoutineRef.yaml(text, shown="routine.yaml", builtin_includes=True),
                library=library,
            )
        )
        problems = [
            ProblemOut(line=p.line, column=p.column, message=p.message, severity=p.severity.value)
            for p in found
        ]
        return ValidateOut(ok=not any(p.severity == "error" for p in problems), problems=problems)

    @api.post(
        "/api/range",
        summary="The lengths a session can be fitted to",
        description="The shortest and longest `target` a render body can take." + LANGUAGE_NOTE,
    )
    async def fit(
        body: RenderBody, exact: bool = Query(False, description="measure with the voice")
    ) -> RangeOut:
        request = await asyncio.to_thread(to_request, body, set(voice_ids()))
        if exact:
            # Speech is synthesized in a worker process, never in the server's.
            found = await asyncio.wrap_future(
                executor.submit(range_task, request, str(cache_dir), True)
            )
        else:
            found = await asyncio.to_thread(
                checked, lambda: app.fit_range(request, exact=False, library=library)
            )
        own = await asyncio.to_thread(request.routine.load, library)
        return RangeOut(
            shortest_ms=found.shortest_ms,
            longest_ms=found.longest_ms,
            natural_ms=found.natural_ms,
            target_ms=own.target_ms,
            measured_with=found.measured_with,
            omitted=[
                {"point": code, "name": name, "conditions": list(conds)}
                for code, name, conds in found.omitted
            ],
        )

    @api.post(
        "/api/timeline",
        summary="The timeline a render would have (speech from the voice)",
        description="Chapters, events and spoken text, with the timeline's `language`."
        + LANGUAGE_NOTE,
    )
    async def timeline(body: RenderBody) -> Response:
        request = await asyncio.to_thread(to_request, body, set(voice_ids()))
        text = await asyncio.wrap_future(executor.submit(timeline_task, request, str(cache_dir)))
        return Response(text, media_type="application/json")

    # -- renders ---------------------------------------------------------------------------------

    @api.post(
        "/api/renders",
        status_code=202,
        summary="Start a render (or share one of the same request)",
        description="Equal requests share one render; the language is part of the key."
        + LANGUAGE_NOTE,
        responses={
            413: {"description": "the body is too large"},
            422: {"description": "the routine or the options have problems"},
            429: {"description": "the queue is full; see Retry-After"},
        },
    )
    def start(body: RenderBody) -> AcceptedOut:
        request = to_request(body, set(voice_ids()))
        key = checked(lambda: app.validate(request, library=library).key)
        view = runner.submit(body.model_dump(exclude_none=True), request, key)
        base = f"/api/renders/{view.id}"
        return AcceptedOut(
            id=view.id,
            key=view.key,
            status_url=base,
            events_url=f"{base}/events",
            stream_url=f"{base}/stream",
            state=view.state.value,
        )

    @api.get("/api/renders/{job_id}", summary="Where a render is, and what it made")
    def status(job_id: str) -> JobOut:
        return job_out(runner.get(job_id))

    @api.delete("/api/renders/{job_id}", summary="Cancel a queued or running render")
    def cancel(job_id: str) -> JobOut:
        return job_out(runner.cancel(job_id))

    @api.get("/api/renders/{job_id}/events", summary="Server-sent events as the render goes")
    async def events(job_id: str, request: Request) -> StreamingResponse:
        runner.get(job_id)

        async def stream() -> AsyncIterator[str]:
            last = ""
            beat = time.monotonic()
            yield "retry: 2000\n\n"
            while True:
                out = job_out(runner.get(job_id))
                text = out.model_dump_json()
                if text != last:
                    yield f"event: status\ndata: {text}\n\n"
                    last, beat = text, time.monotonic()
                if JobState(out.state) in TERMINAL or await request.is_disconnected():
                    return
                if time.monotonic() - beat > 15:
                    yield ": still working\n\n"
                    beat = time.monotonic()
                await asyncio.sleep(0.25)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @api.get("/api/renders/{job_id}/files/{name}", summary="A file the render made (Range)")
    def file(job_id: str, name: str) -> FileResponse:
        path = runner.file(job_id, name)
        if path is None:
            raise UnknownJob(f"render {job_id!r} has no file {name!r} (yet)")
        return FileResponse(path, filename=name if name.endswith((".zip", ".pdf")) else None)

    @api.get("/api/renders/{job_id}/bundle.zip", summary="Everything the render made, zipped")
    def bundle(job_id: str) -> FileResponse:
        folder = runner.result_folder(job_id)
        if folder is None:
            raise UnknownJob(f"render {job_id!r} is not done")
        return FileResponse(
            _zip(folder), media_type="application/zip", filename=f"{_audio_stem(folder)}.zip"
        )

    @api.get("/api/renders/{job_id}/stream", summary="The audio, playable while it is made")
    async def stream_audio(job_id: str, request: Request) -> Response:
        view = runner.get(job_id)
        if view.state is JobState.DONE:
            folder = runner.result_folder(job_id)
            assert folder is not None
            return FileResponse(folder / _audio_name(folder))
        if view.state in TERMINAL:
            return JSONResponse(
                {"detail": f"the render is {view.state.value}", "problems": []}, status_code=409
            )

        async def tail() -> AsyncIterator[bytes]:
            path = None
            while path is None:
                state = runner.get(job_id).state
                if state in TERMINAL or await request.is_disconnected():
                    if state is JobState.DONE:
                        folder = runner.result_folder(job_id)
                        if folder is not None:
                            with open(folder / _audio_name(folder), "rb") as fh:
                                while chunk := fh.read(1 << 16):
                                    yield chunk
                    return
                path = runner.live_file(job_id)
                if path is None:
                    await asyncio.sleep(0.05)
            with open(path, "rb") as fh:
                while True:
                    chunk = fh.read(1 << 16)
                    if chunk:
                        yield chunk
                        continue
                    if (
                        runner.get(job_id).state is not JobState.RUNNING
                        or await request.is_disconnected()
                    ):
                        rest = fh.read()
                        if rest:
                            yield rest
                        return
                    await asyncio.sleep(0.05)

        return StreamingResponse(
            tail(), media_type="audio/mpeg", headers={"Cache-Control": "no-store"}
        )

    return Guard(api, limit=settings.max_body_bytes, token=settings.token)


def _audio_name(folder: Path) -> str:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return str(manifest["audio"]["file"])


def _audio_stem(folder: Path) -> str:
    return _audio_name(folder).rsplit(".", 1)[0]


def _zip(folder: Path) -> Path:
    """The folder's files as one zip, made once and kept beside them (audio stored as is)."""
    target = folder / ".bundle.zip"
    if target.is_file():
        return target
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    names = [f["path"] for f in manifest["files"]] + ["manifest.json"]
    stem = _audio_stem(folder)
    tmp = folder / f".bundle.zip.{os.getpid()}.{secrets.token_hex(4)}"
    with zipfile.ZipFile(tmp, "w") as zf:
        for name in names:
            packed = name.endswith((".mp3", ".m4a", ".ogg", ".flac", ".png", ".jpg", ".pdf"))
            zf.write(
                folder / name,
                arcname=f"{stem}/{name}",
                compress_type=zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED,
            )
    os.replace(tmp, target)
    return target


@functools.lru_cache(maxsize=16)
def _preview(kind: str, name: str) -> bytes:
    """A few seconds of a cue set (its cues in turn) or of an ambience bed, as WAV bytes."""
    rate = 22_050
    if kind == "cues" and name in CUE_SETS:
        cues = synthesize_cue_set(name, rate)
        gap = np.zeros((1, rate // 3), dtype=np.float32)
        pieces = []
        for cue in ("start", "press", "release", "switch", "tick", "end"):
            pieces += [cues[cue].samples, gap]
        audio = np.concatenate(pieces, axis=1)
    elif kind == "ambience" and name in AMBIENCES:
        bed = open_ambience(name, rate, 2)
        seconds = 6
        if bed is None:
            audio = np.zeros((2, rate), dtype=np.float32)
        else:
            audio = bed.read(seconds * rate) * np.float32(10 ** (-8 / 20))
            ramp = np.linspace(0, 1, rate // 2, dtype=np.float32)
            audio[:, : ramp.size] *= ramp
            audio[:, -ramp.size :] *= ramp[::-1]
    else:
        raise UnknownJob(f"no {kind} preview called {name!r}")
    out = io.BytesIO()
    sf.write(out, audio.T, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()
