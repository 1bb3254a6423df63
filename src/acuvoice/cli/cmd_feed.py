"""``acuvoice feed``: a podcast feed of the sessions a batch rendered."""

from __future__ import annotations

import shlex
from pathlib import Path

import click


@click.command("feed")
@click.argument("out", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--base-url",
    required=True,
    metavar="URL",
    help="Where OUT will be published, e.g. https://example.org/sessions (file URLs are "
    "made from it).",
)
@click.option("--title", help="The show's title (default: the catalog's title).")
@click.option("--author", help="The show's author and owner.")
@click.option("--description", help="The show's description.")
@click.option(
    "--image",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Square PNG or JPEG artwork of 1400-3000 px (default: one made from the title).",
)
@click.option("--serial", is_flag=True, help="Episodes are meant in order (a practice plan).")
def command(
    out: Path,
    base_url: str,
    title: str | None,
    author: str | None,
    description: str | None,
    image: Path | None,
    serial: bool,
) -> None:
    """Write OUT/feed.xml: an RSS feed of every session `acuvoice batch` rendered into OUT.

    Episodes come in the catalog's order, numbered, each with its audio, duration,
    chapters (podcast:chapters) and transcripts (podcast:transcript) when the renders are
    bundles; the channel has iTunes tags, artwork and a podcast:guid. Publish OUT as it is
    at URL.

    \b
    Example:
      acuvoice batch catalog.yaml -o sessions
      acuvoice feed sessions --base-url https://example.org/sessions --author "Mei Lin"
    """
    from acuvoice.batch.feed import FeedOptions, write_feed

    options = FeedOptions(
        base_url,
        title=title,
        author=author,
        description=description,
        image=image.absolute() if image else None,
        serial=serial,
    )
    path = write_feed(out, options)
    click.echo(f"wrote {shlex.quote(str(path))}; publish {shlex.quote(str(out))} at {base_url}")
