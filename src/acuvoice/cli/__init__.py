"""The ``acuvoice`` command: a thin front end over the library; ``main()`` maps errors to exits."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from acuvoice.cli.app import cli
from acuvoice.errors import AcuvoiceError, RoutineError

#: What an interrupted command says: every output is written whole or not at all.
INTERRUPTED = "acuvoice: interrupted; no file was written or changed"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the only place errors become messages and exit codes.

    Exit status: 0 success, 1 a failure while rendering, 2 bad usage or an invalid routine,
    130 interrupted.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        # Without standalone mode click returns (not raises) the code of `ctx.exit(n)`.
        result = cli.main(args=args, prog_name="acuvoice", standalone_mode=False)
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C (KeyboardInterrupt) into Abort; any other Abort is a refusal.
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            click.echo(INTERRUPTED, err=True)
            return 130
        click.echo("acuvoice: aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except RoutineError as exc:
        if debug:
            raise
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        count = len(exc.errors)
        click.echo(f"acuvoice: {count} problem{'s' * (count != 1)} found", err=True)
        return exc.exit_code
    except AcuvoiceError as exc:
        if debug:
            raise
        click.echo(f"acuvoice: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:  # raised outside click's own handling (while reporting an error)
        click.echo(INTERRUPTED, err=True)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if debug:
            raise
        click.echo(
            f"acuvoice: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in acuvoice; run again with --debug for the details and report them.",
            err=True,
        )
        return 1
    return result if isinstance(result, int) else 0


__all__ = ["cli", "main"]
