"""``acuvoice batch``: render every session of a catalog, in parallel and resumable."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from acuvoice.cli.options import dask_scheduler, scheduler_options
from acuvoice.errors import RenderError
from acuvoice.procs import default_jobs
from acuvoice.units import format_ms

if TYPE_CHECKING:
    from acuvoice.batch import BatchReport, ItemResult


@click.command("batch")
@click.argument("catalog", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder the renders go into, one folder each (default: CATALOG's name "
    "beside it, e.g. catalog.yaml -> catalog/).",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    help=f"Renders at once, each in its own worker process (default: one per core, {default_jobs()} here).",
)
@click.option("--force", is_flag=True, help="Render everything again, even what is complete.")
@click.option(
    "--dry-run", is_flag=True, help="List the renders and what would be done; render nothing."
)
@scheduler_options("the renders")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The synthesis cache every render shares (default: the user's cache).",
)
def command(
    catalog: Path,
    output: Path | None,
    jobs: int | None,
    force: bool,
    dry_run: bool,
    scheduler: str | None,
    scheduler_file: Path | None,
    cache_dir: Path | None,
) -> None:
    """Render every session CATALOG names: routines x variants, one folder per render.

    Each render goes into OUTPUT/NAME-KEY/ (KEY: the start of its content key), with
    manifest.json written last. Run it again and only what is missing or changed is
    rendered (after a crash or Ctrl-C too); --force renders everything. One failed render
    does not stop the others; the exit status is 1 when any failed. The catalog format is
    in docs/routine-format.md ("Catalogs"); `acuvoice schema --catalog` prints its JSON
    Schema.

    \b
    Example catalog.yaml:
      acuvoice_catalog: 1
      routines: [lower-back-pain, neck-and-shoulders]
      variants:
        target: [10m, 15m]
        avoid: [[], [pregnancy]]
      feed: {base_url: https://example.org/sessions, author: Mei Lin}
    \b
    With feed:, the batch ends by writing OUTPUT/feed.xml as `acuvoice feed` does.
    \b
      acuvoice batch catalog.yaml -o sessions --jobs 2
      acuvoice batch catalog.yaml -o /shared/sessions --scheduler tcp://10.0.0.5:8786
    """
    from acuvoice.batch import dask_executor, load_catalog, run_batch
    from acuvoice.batch.runner import prepare

    loaded = load_catalog(catalog, shlex.quote(str(catalog)))
    out = output if output is not None else catalog.with_suffix("")
    if dry_run:
        for p in prepare(loaded, out.absolute(), force=force):
            to = f"  ->  {p.folder}" if p.folder else f": {p.reason}"
            click.echo(f"{p.action:7} {p.label}{to}")
        return
    click.echo(f"{len(loaded.items)} renders into {out}", err=True)

    started = time.perf_counter()
    interactive = sys.stderr.isatty()

    def on_done(result: ItemResult, finished: int, total: int) -> None:
        took = f" ({result.stats.wall_s:.1f} s)" if result.stats else ""
        why = f": {result.reason}" if result.status == "failed" else ""
        line = f"[{finished}/{total}] {result.status:8} {result.label}{took}{why}"
        if interactive:  # the line, then a bar over the whole batch with the time left
            elapsed = time.perf_counter() - started
            left = elapsed / finished * (total - finished) if finished < total else 0.0
            width = 30
            filled = round(width * finished / total)
            bar = "#" * filled + "-" * (width - filled)
            click.echo(f"\r\x1b[K{line}", err=True)
            click.echo(
                f"[{bar}] {finished}/{total} renders, about {format_ms(round(left * 1000))} left",
                err=True,
                nl=False,
            )
            if finished == total:
                click.echo("", err=True)
        else:
            click.echo(line, err=True)

    if interactive and loaded.items:
        click.echo(f"[{'-' * 30}] 0/{len(loaded.items)} renders", err=True, nl=False)
    file = dask_scheduler(scheduler, scheduler_file)
    if scheduler or file:
        if jobs is not None:
            raise click.UsageError("--jobs is for renders here; a Dask cluster has its workers")
        with dask_executor(scheduler, file) as ex:
            report = run_batch(
                loaded,
                out,
                force=force,
                cache_dir=cache_dir.absolute() if cache_dir else None,
                executor=ex,
                on_done=on_done,
            )
    else:
        report = run_batch(
            loaded, out, jobs=jobs, force=force, cache_dir=cache_dir, on_done=on_done
        )
    _summary(report)
    if report.feed is not None:
        click.echo(f"wrote {shlex.quote(str(report.feed))}; publish {shlex.quote(str(out))} at "
                   f"{loaded.feed.base_url if loaded.feed else ''}")  # fmt: skip
    if not report.ok:
        raise RenderError(f"{report.count('failed')} of {len(report.results)} renders failed")
    if report.feed_problem is not None:
        raise RenderError(
            f"the renders are done, but the feed was not written: {report.feed_problem}"
        )


def _summary(report: BatchReport) -> None:
    rows = [("render", "status", "CPU s", "MB", "synth/cached", "folder")]
    for r in report.results:
        s = r.stats
        rows.append(
            (
                r.label,
                r.status,
                f"{s.cpu_s:.1f}" if s else "",
                f"{s.bytes / 1e6:.1f}" if s else "",
                f"{s.synthesized}/{s.cached}" if s else "",
                r.folder.name if r.folder else (r.reason[:60] if r.reason else ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    cpu = sum(r.stats.cpu_s for r in report.results if r.stats)
    size = sum(r.stats.bytes for r in report.results if r.stats)
    synth = sum(r.stats.synthesized for r in report.results if r.stats)
    cached = sum(r.stats.cached for r in report.results if r.stats)
    click.echo(
        f"{report.count('rendered')} rendered, {report.count('reused')} reused, "
        f"{report.count('failed')} failed in {format_ms(round(report.wall_s * 1000))}; "
        f"CPU {cpu:.1f} s, {size / 1e6:.1f} MB, {synth} phrases synthesized, {cached} from cache"
    )
