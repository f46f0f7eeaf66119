"""The `corebench` command: a click group; each command group lives in its own module.

Only parsing and printing happen here. A UserError raised anywhere below is printed as
one line `error: ...` with exit code 2, never a traceback.
"""

from __future__ import annotations

import errno
import importlib
import sqlite3
import sys

import click

from corebench_runner import __version__
from corebench_runner.errors import UserError
from corebench_runner.store import default_store_path, last_opened
from corebench_runner.store_health import store_failure

# Each module defines `commands`: a list of click commands/groups to attach to `corebench`.
COMMAND_MODULES = [
    "capsule",
    "grade",
    "images",
    "run",
    "review",
    "report",
    "maintenance",
    "health",
]


class CorebenchGroup(click.Group):
    """Turns user errors into one clean line and an exit code of 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(exc.exit_code)
        except sqlite3.DatabaseError as exc:  # a store that failed after it opened (store.open_store checks it)
            click.echo(f"error: {store_failure(last_opened() or default_store_path(), exc)}", err=True)
            sys.exit(UserError.exit_code)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            click.echo(f"error: {exc.filename or 'a file'}: no space left on the device; free space there, then "
                       "run again (`corebench run --resume RUN` finishes an interrupted run)", err=True)
            sys.exit(UserError.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=CorebenchGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="corebench")
@click.option("--suite", "suite", type=click.Path(file_okay=False), envvar="COREBENCH_SUITE",
              help="Suite folder holding capsules/ (default: the current directory if it has capsules/, "
                   "else the bundled suite). Also $COREBENCH_SUITE.")
@click.pass_context
def main(ctx: click.Context, suite: str | None) -> None:
    """Run paper-reproduction agent benchmarks: capsules in, graded, reviewed, reported."""
    ctx.ensure_object(dict)
    ctx.obj["suite"] = suite


def _attach_commands() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"corebench_runner.cli.{name}")
        for command in module.commands:
            main.add_command(command)


_attach_commands()
