"""``acuvoice schema``: print the JSON Schema of routine files, for editors."""

from __future__ import annotations

import json
from pathlib import Path

import click

from acuvoice.files import write_text_atomic


@click.command("schema")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file."
)
@click.option(
    "--catalog", is_flag=True, help="The schema of catalog files (`acuvoice batch`) instead."
)
def command(output: Path | None, catalog: bool) -> None:
    """Print the JSON Schema of the routine format, for editor autocompletion.

    \b
    With VS Code's YAML extension, save it and add to the top of a routine:
      # yaml-language-server: $schema=acuvoice-routine.schema.json
    """
    if catalog:
        from acuvoice.batch import catalog_json_schema

        schema = catalog_json_schema()
    else:
        from acuvoice.schema import routine_json_schema

        schema = routine_json_schema()
    text = json.dumps(schema, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
