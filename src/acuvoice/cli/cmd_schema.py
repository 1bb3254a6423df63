"""``acuvoice schema``: print the JSON Schema of routine files, for editors."""

from __future__ import annotations

import json
from pathlib import Path

import click

from acuvoice.files import write_text_atomic
from acuvoice.schema import routine_json_schema


@click.command("schema")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file."
)
def command(output: Path | None) -> None:
    """Print the JSON Schema of the routine format, for editor autocompletion.

    \b
    With VS Code's YAML extension, save it and add to the top of a routine:
      # yaml-language-server: $schema=acuvoice-routine.schema.json
    """
    text = json.dumps(routine_json_schema(), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
