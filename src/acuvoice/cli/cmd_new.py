"""``acuvoice new``: write a commented starter routine."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from acuvoice.errors import UsageError
from acuvoice.files import write_text_atomic


@click.command("new")
@click.argument("name")
@click.option("--title", help="Title of the routine (default: made from NAME).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def command(name: str, title: str | None, force: bool) -> None:
    """Write NAME.yaml, a commented starter routine to edit.

    \b
    Example:
      acuvoice new evening-calm && acuvoice script evening-calm.yaml
    """
    path = Path(name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; choose another name or pass --force")
    title = (
        title or path.stem.replace("-", " ").replace("_", " ").strip().capitalize() or "My routine"
    )
    template = (
        resources.files("acuvoice").joinpath("templates/starter.yaml").read_text(encoding="utf-8")
    )
    write_text_atomic(path, template.format(title=title, file=path))
    click.echo(f"wrote {path}; next: acuvoice script {path}")
