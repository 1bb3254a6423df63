"""``acuvoice validate``: report every problem in one or more routines."""

from __future__ import annotations

import click

from acuvoice.cli.options import language_option, routine_arg
from acuvoice.errors import Severity, UsageError


@click.command("validate")
@click.argument("routines", nargs=-1, required=True, metavar="ROUTINE...")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@language_option
def command(routines: tuple[str, ...], strict: bool, language: str | None) -> None:
    """Check ROUTINE files and report every problem as file:line:col.

    Exit status 0 when every routine is valid, 2 when any has an error (or, with --strict,
    a warning). Warnings point out what is valid but may mislead a listener, such as a point
    not advised in pregnancy with no caution for it.
    """
    from acuvoice.app import check_routine
    from acuvoice.points.library import builtin_library

    library = builtin_library()
    failed = 0
    for source in routines:
        problems = check_routine(routine_arg(source).in_language(language), library=library)
        errors = [p for p in problems if p.severity is Severity.ERROR or strict]
        for p in problems:
            click.echo(str(p), err=True)
        if errors:
            failed += 1
            click.echo(
                f"{source}: invalid ({len(errors)} error{'s' * (len(errors) != 1)})", err=True
            )
        else:
            warnings = len(problems)
            note = f" ({warnings} warning{'s' * (warnings != 1)})" if warnings else ""
            click.echo(f"{source}: ok{note}")
    if failed:
        many = len(routines) != 1
        raise UsageError(
            f"{failed} of {len(routines)} routines {'are' if failed != 1 else 'is'} invalid"
            if many
            else "the routine is invalid"
        )
