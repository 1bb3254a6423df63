"""``acuvoice points``: browse the point library."""

from __future__ import annotations

import textwrap

import click

from acuvoice.errors import Problem, UnknownPointError
from acuvoice.points.library import builtin_library


def wrap(text: str) -> str:
    """Indent and wrap a paragraph of point text for the terminal."""
    return textwrap.fill(text, 88, initial_indent="    ", subsequent_indent="    ")


@click.command("points")
@click.argument("code", required=False)
@click.option("--region", help="Only points in this body region (e.g. lower-back, hand, foot).")
@click.option(
    "--avoid",
    multiple=True,
    metavar="CONDITION",
    help="Only points that are safe with this condition (repeatable).",
)
@click.option(
    "--conditions", is_flag=True, help="List the conditions points can be contraindicated for."
)
def command(code: str | None, region: str | None, avoid: tuple[str, ...], conditions: bool) -> None:
    """List the point library, or show one point (by code, name or alias) in full.

    \b
    Examples:
      acuvoice points
      acuvoice points BL23
      acuvoice points hegu
      acuvoice points --region lower-back --avoid pregnancy
    """
    library = builtin_library()
    if conditions:
        for cond in library.conditions.values():
            click.echo(f"{cond.id:18} {cond.description}")
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
        if point.notes:
            click.echo("  notes:")
            click.echo(wrap(point.notes))
        return
    unknown = [c for c in avoid if c not in library.conditions]
    if unknown:
        raise click.BadParameter(
            f"unknown condition(s) {', '.join(unknown)}; see --conditions", param_hint="--avoid"
        )
    for point in library:
        if region and point.region != region:
            continue
        if set(avoid) & set(point.contraindications):
            continue
        flags = f"  avoid: {', '.join(point.contraindications)}" if point.contraindications else ""
        click.echo(f"{point.code:8} {point.name:16} {point.region:11} {point.side:9}{flags}")
