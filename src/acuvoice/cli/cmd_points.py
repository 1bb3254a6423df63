"""``acuvoice points``: browse the point library."""

from __future__ import annotations

import textwrap

import click

from acuvoice.errors import Problem, UnknownPointError


def wrap(text: str) -> str:
    """Indent and wrap a paragraph of point text for the terminal."""
    return textwrap.fill(text, 88, initial_indent="    ", subsequent_indent="    ")


def _check(value: str | None, valid: list[str], option: str, listing: str) -> None:
    """A usage error (exit 2) naming the valid values when ``value`` is not one of them."""
    if value is not None and value not in valid:
        raise click.BadParameter(
            f"unknown value {value!r}; valid values: {', '.join(valid)} (see {listing})",
            param_hint=option,
        )


@click.command("points")
@click.argument("code", required=False)
@click.option(
    "--for",
    "topic",
    metavar="TOPIC",
    help="Only points the sources use for this topic (e.g. back, neck, sleep; see --topics).",
)
@click.option(
    "--region",
    metavar="REGION",
    help="Only points in this body region (e.g. lower-back, hand, foot; see --regions).",
)
@click.option(
    "--avoid",
    multiple=True,
    metavar="CONDITION",
    help="Leave out points to avoid with this condition (repeatable; see --conditions).",
)
@click.option(
    "--conditions", is_flag=True, help="List the conditions points can be contraindicated for."
)
@click.option("--topics", is_flag=True, help="List the topics points are used for.")
@click.option("--regions", is_flag=True, help="List the body regions of the points.")
def command(
    code: str | None,
    topic: str | None,
    region: str | None,
    avoid: tuple[str, ...],
    conditions: bool,
    topics: bool,
    regions: bool,
) -> None:
    """List the point library, or show one point (by code, name or alias) in full.

    The filters combine: a point is listed only when it matches all of them.

    \b
    Examples:
      acuvoice points
      acuvoice points BL23
      acuvoice points hegu
      acuvoice points --for sleep
      acuvoice points --region hand --for neck
      acuvoice points --for headache --avoid pregnancy
      acuvoice points --region lower-back --avoid pregnancy --avoid osteoporosis
      acuvoice points --topics
    """
    from acuvoice.points.library import builtin_library

    library = builtin_library()
    region_names = sorted({p.region for p in library if p.region})
    if conditions:
        for cond in library.conditions.values():
            click.echo(f"{cond.id:18} {cond.description}")
        return
    if topics:
        for t in library.topics.values():
            count = sum(1 for p in library if t.id in p.used_for)
            click.echo(f"{t.id:18} {t.description} ({count} point{'' if count == 1 else 's'})")
        return
    if regions:
        for name in region_names:
            click.echo(name)
        return
    if code:
        point = library.find(code)
        if point is None:
            suggestions = library.suggest(code)
            hint = f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""
            raise UnknownPointError(
                [Problem(code, 0, 0, f"no point with this code, name or alias{hint}")]
            )
        title = f"{point.code}  {point.name}" + (f" ({point.english})" if point.english else "")
        click.echo(title)
        click.echo(
            f"  meridian: {point.meridian or '-'}   region: {point.region or '-'}   default side: {point.side}"
        )
        click.echo(f"  techniques: {', '.join(point.techniques)}   pressure: {point.pressure}")
        if point.aliases:
            click.echo(f"  aliases: {', '.join(point.aliases)}")
        click.echo("  where (spoken):")
        click.echo(wrap(point.location))
        if point.hint:
            click.echo("  hint (spoken):")
            click.echo(wrap(point.hint))
        if point.caution:
            click.echo("  caution (spoken):")
            click.echo(wrap(point.caution))
        click.echo(f"  avoid with: {', '.join(point.contraindications) or 'nothing listed'}")
        click.echo(f"  used for: {', '.join(point.used_for) or 'no topic in the sources'}")
        if point.sources:
            click.echo(f"  sources: {'; '.join(point.sources)}")
        if point.notes:
            click.echo("  notes:")
            click.echo(wrap(point.notes))
        return
    _check(topic, list(library.topics), "--for", "--topics")
    _check(region, region_names, "--region", "--regions")
    for cond_id in avoid:
        _check(cond_id, list(library.conditions), "--avoid", "--conditions")
    shown = 0
    for point in library:
        if topic and topic not in point.used_for:
            continue
        if region and point.region != region:
            continue
        if set(avoid) & set(point.contraindications):
            continue
        flags = f"  avoid: {', '.join(point.contraindications)}" if point.contraindications else ""
        click.echo(f"{point.code:8} {point.name:16} {point.region:11} {point.side:9}{flags}")
        shown += 1
    if not shown:
        click.echo("no point matches these filters", err=True)
