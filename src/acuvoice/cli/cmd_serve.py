"""``acuvoice serve``: the listening page and its HTTP API on this machine."""

from __future__ import annotations

import contextlib
import threading
import webbrowser
from pathlib import Path

import click

from acuvoice.cli.options import UserPath, dask_scheduler, scheduler_options
from acuvoice.errors import UsageError


def default_data_dir() -> Path:
    """Where the server keeps its renders: ``$XDG_DATA_HOME/acuvoice`` (``~/.local/share``)."""
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "acuvoice"


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback needs the access token.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on.",
)
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Renders at once (default: one per core)."
)
@click.option(
    "--data-dir",
    type=UserPath(),
    help="Where renders and the speech cache are kept (default: $XDG_DATA_HOME/acuvoice).",
)
@click.option(
    "--token",
    metavar="TOKEN",
    help="Access token every request must carry (generated and printed when --host is not loopback).",
)
@click.option(
    "--queue",
    "max_queue",
    type=click.IntRange(1, 10_000),
    default=32,
    show_default=True,
    help="Renders that may wait; more are refused with 429.",
)
@click.option(
    "--time-limit",
    type=click.IntRange(10, 86_400),
    default=1800,
    show_default=True,
    help="Seconds one render may run before it is stopped.",
)
@click.option(
    "--max-size",
    "max_mb",
    type=click.IntRange(10, 10_000_000),
    default=5000,
    show_default=True,
    help="MB of finished renders to keep; the least recently used go first.",
)
@scheduler_options("the renders")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
def command(
    host: str,
    port: int,
    workers: int | None,
    data_dir: Path | None,
    token: str | None,
    max_queue: int,
    time_limit: int,
    max_mb: int,
    scheduler: str | None,
    scheduler_file: Path | None,
    open_browser: bool,
) -> None:
    """Serve the listening page and its HTTP API (API docs at /docs).

    \b
    Examples:
      acuvoice serve                 then open http://127.0.0.1:8000
      acuvoice serve --open --port 8080
      acuvoice serve --host 0.0.0.0  (prints the access token to give your devices)

    Pick a routine, set its length, voice and sounds, and press Play: the session starts
    within seconds and keeps rendering as you listen. Finished sessions are kept (and found
    again after a restart) and can be downloaded with their transcript and sheet.
    """
    import uvicorn

    from acuvoice.web.executor import default_workers
    from acuvoice.web.server import Settings, access_token, create_app, is_loopback

    if not is_loopback(host) and token is not None and len(token) < 16:
        raise UsageError("an access token should be at least 16 characters long")
    needed = access_token(host, token)
    where = dask_scheduler(scheduler, scheduler_file)
    with contextlib.ExitStack() as stack:
        executor = None
        if scheduler or where:
            from acuvoice.batch import dask_executor

            executor = stack.enter_context(dask_executor(scheduler, where))
        settings = Settings(
            data=data_dir or default_data_dir(),
            workers=workers or default_workers(),
            host=host,
            token=needed,
            max_queue=max_queue,
            time_limit_s=float(time_limit),
            max_bytes=max_mb * 1_000_000,
            executor=executor,
        )
        if port == 0:
            port = _free_port(host)
        asgi = create_app(settings)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        url = f"http://{shown}:{port}/" + (f"?token={needed}" if needed else "")
        click.echo(f"acuvoice: serving on {url}  (API: http://{shown}:{port}/docs; Ctrl-C stops)")
        runs = "a Dask cluster" if executor is not None else f"{settings.workers} worker(s)"
        click.echo(f"acuvoice: renders run on {runs}; kept in {settings.data}")
        if open_browser:
            threading.Timer(1.0, webbrowser.open, args=(url,)).start()
        uvicorn.run(asgi, host=host, port=port, log_level="warning")


def _free_port(host: str) -> int:
    """A port nothing listens on now (for ``--port 0``, so the printed address is right)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
