"""``acuvoice new``: write a commented starter routine."""

from __future__ import annotations

import json
import shlex
from importlib import resources
from pathlib import Path

import click
import yaml

from acuvoice.errors import UsageError
from acuvoice.files import write_text_atomic

#: Column where the template's end-of-line comments start.
_COMMENT_AT = 30
#: Longest title and author the routine format allows.
_MAX_CHARS = 200


@click.command("new")
@click.argument("name")
@click.option("--title", help="Title of the routine (default: made from NAME).")
@click.option(
    "--author",
    metavar="NAME",
    help="Who made the routine: fills `author:`, the artist tag of rendered audio.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def command(name: str, title: str | None, author: str | None, force: bool) -> None:
    """Write NAME.yaml, a commented starter routine to edit.

    \b
    Example:
      acuvoice new evening-calm --author "Mei Lin" && acuvoice script evening-calm.yaml
    """
    path = Path(name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")
    shown = shlex.quote(str(path))
    if path.exists() and not force:
        raise UsageError(f"{shown} already exists; choose another name or pass --force")
    title = " ".join((title or "").split()) or (
        " ".join(path.stem.replace("-", " ").replace("_", " ").split()).capitalize() or "My routine"
    )
    template = (
        resources.files("acuvoice").joinpath("templates/starter.yaml").read_text(encoding="utf-8")
    )
    text = template.format(
        title=title,
        title_value=_scalar(_checked(title, "the title")),
        author_line=_author_line(author),
        file=shown,
    )
    write_text_atomic(path, text)
    click.echo(f"wrote {shown}; next: acuvoice script {shown}")


def _checked(value: str, what: str) -> str:
    if len(value) > _MAX_CHARS:
        raise UsageError(
            f"{what} is {len(value)} characters long; a routine allows at most {_MAX_CHARS}"
        )
    return value


def _author_line(author: str | None) -> str:
    """``author: NAME``, or without a name the same line commented out, saying what it does."""
    if author is None:
        return _with_comment("# author: Your Name", "who made it: the artist tag of rendered audio")
    name = " ".join(author.split())
    if not name:
        raise UsageError("--author needs a name, like --author 'Mei Lin'")
    return _with_comment(
        f"author: {_scalar(_checked(name, 'the author'))}",
        "becomes the artist tag of rendered audio",
    )


def _with_comment(line: str, comment: str) -> str:
    return f"{line.ljust(_COMMENT_AT - 1)} # {comment}"


def _scalar(text: str) -> str:
    """``text`` as a YAML value: plain where YAML reads it back as this text, else quoted."""
    try:
        plain = yaml.safe_load(f"key: {text}") == {"key": text} and "#" not in text
    except yaml.YAMLError:
        plain = False
    return text if plain else json.dumps(text, ensure_ascii=False)
